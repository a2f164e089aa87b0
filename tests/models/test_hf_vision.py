"""Vision-language models through the hf backend, on a tiny random LLaVA built in the test."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from medtrust.errors import CapabilityError, MedtrustError
from medtrust.models.base import Capability, GenerationRequest
from medtrust.models.hf_vision import HFVisionBackend, hf_chat_messages
from medtrust.models.open import require
from medtrust.models.registry import resolve


@pytest.fixture(scope="module")
def vlm(tiny_vlm_path):
    return resolve(f"hf/{tiny_vlm_path}")


def image_question(img, text="What colour is the square?"):
    return [{"role": "user", "content": [{"type": "image", "image": img}, {"type": "text", "text": text}]}]


def test_a_vision_language_folder_resolves_to_the_vision_backend(vlm):
    assert isinstance(vlm, HFVisionBackend)
    assert Capability.IMAGES in vlm.capabilities and Capability.LOGPROBS in vlm.capabilities
    require(vlm.name, vlm.capabilities, {Capability.IMAGES}, "POPE probing")  # no error


def test_text_models_lack_images_and_say_which_backend_has_them(embedded):
    with pytest.raises(CapabilityError, match="vision-language"):
        require(embedded.name, embedded.capabilities, {Capability.IMAGES}, "POPE probing")
    with pytest.raises(MedtrustError, match="text-only"):
        embedded.generate([GenerationRequest(messages=image_question(Image.new("RGB", (8, 8))))])


def test_generate_with_images_n_samples_and_logprobs_match_a_forward_pass(vlm, tmp_path):
    red = Image.new("RGB", (40, 30), (220, 20, 20))
    path = tmp_path / "blue.png"
    Image.new("RGB", (32, 32), (20, 20, 220)).save(path)
    reqs = [GenerationRequest(messages=image_question(red), n=3, temperature=1.0, max_tokens=6, logprobs=True, seed=0),
            GenerationRequest(messages=image_question(str(path)), n=3, temperature=1.0, max_tokens=6, logprobs=True,
                              seed=0)]
    outs = vlm.generate(reqs)
    assert [len(o) for o in outs] == [3, 3]
    for req, comps in zip(reqs, outs):
        chat, images = hf_chat_messages(req.messages)
        prompt = vlm.processor.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
        enc = vlm.processor(text=[prompt], images=images, return_tensors="pt")
        for c in comps:
            assert len(c.token_logprobs) == len(c.token_ids) > 0
            ids = torch.cat([enc["input_ids"], torch.tensor([c.token_ids])], dim=1)
            with torch.no_grad():
                logits = vlm.model(input_ids=ids, pixel_values=enc["pixel_values"]).logits[0].float()
            lp = torch.log_softmax(logits, -1)
            start = enc["input_ids"].shape[1] - 1
            ref = [lp[start + k, t].item() for k, t in enumerate(c.token_ids)]
            assert max(abs(a - b) for a, b in zip(ref, c.token_logprobs)) < 1e-4


def test_the_image_changes_the_distribution(vlm):
    def first_logprob(color):
        req = GenerationRequest(messages=image_question(Image.new("RGB", (32, 32), color)), temperature=0.0,
                                max_tokens=1, logprobs=True)
        return vlm.generate([req])[0][0]
    a, b = first_logprob((255, 0, 0)), first_logprob((0, 0, 255))
    assert a.token_logprobs[0] != pytest.approx(b.token_logprobs[0], abs=1e-6) or a.token_ids != b.token_ids


def test_text_only_prompts_and_hidden_states_work_on_a_vision_model(vlm):
    req = GenerationRequest(messages=[{"role": "user", "content": "Hello"}], temperature=0.0, max_tokens=4,
                            hidden_states=True)
    c = vlm.generate([req])[0][0]
    layers = vlm.model.config.text_config.num_hidden_layers + 1
    assert c.hidden["tbg"].shape == (layers, 32)
