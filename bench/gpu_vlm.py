"""The LLaVA-style VLM shape of bench/gpu.py: a CLIP tower and the SmolLM2-135M text shape, built
from configs, saved with a processor and opened by medtrust's hf vision backend; image questions
from demo-images."""

from __future__ import annotations

from pathlib import Path

import torch
from gpu import TEXT_SHAPES, Memory, timed

from medtrust.models.base import GenerationRequest


def build_vlm(tok, folder: Path, device: str, dtype: str):
    """A LLaVA-style VLM (CLIP tower 12 x 384, patch 14 at 224 px, SmolLM2-135M text shape), saved with
    its processor and opened by medtrust's hf vision backend."""
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )

    from medtrust.models.hf_vision import HFVisionBackend
    tok = tok.__class__.from_pretrained(tok.name_or_path)
    tok.add_special_tokens({"additional_special_tokens": ["<image>"]})
    vision = CLIPVisionConfig(hidden_size=384, intermediate_size=1536, num_hidden_layers=12, num_attention_heads=6,
                              image_size=224, patch_size=14)
    _, values = TEXT_SHAPES["smollm2-135m"]
    text = LlamaConfig(**dict(values, vocab_size=len(tok)), bos_token_id=tok.bos_token_id,
                       eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    config = LlavaConfig(vision_config=vision, text_config=text, image_token_id=tok.convert_tokens_to_ids("<image>"),
                         vision_feature_layer=-1, vision_feature_select_strategy="default")
    torch.manual_seed(0)
    LlavaForConditionalGeneration(config).save_pretrained(folder)
    template = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{% if m['content'] is string %}{{ m['content'] }}"
                "{% else %}{% for p in m['content'] %}{% if p['type'] == 'image' %}<image>"
                "{% elif p['type'] == 'text' %}"
                "{{ p['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
                "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
    LlavaProcessor(image_processor=CLIPImageProcessor(size={"shortest_edge": 224},
                                                      crop_size={"height": 224, "width": 224}),
                   tokenizer=tok, patch_size=14, vision_feature_select_strategy="default", chat_template=template,
                   image_token="<image>", num_additional_image_tokens=1).save_pretrained(folder)
    return HFVisionBackend(str(folder), device=device, dtype=dtype)


def bench_vlm_generate(backend, a) -> dict:
    from medtrust.data.registry import load_dataset
    from medtrust.prompts import sample_messages
    rows = load_dataset("demo-images")
    msgs = [sample_messages(rows[i % len(rows)], "Answer in one sentence.") for i in range(a.questions)]
    reqs = [GenerationRequest(messages=m, n=a.samples, temperature=1.0, max_tokens=a.tokens, logprobs=True, seed=0)
            for m in msgs]
    with Memory() as mem:
        outs, secs = timed(lambda: backend.generate(reqs))
    tokens = sum(len(c.token_ids) for o in outs for c in o)
    return {"tokens": tokens, "seconds": secs, "tokens_per_s": tokens / secs, "peak_gib": mem.gib}
