"""``embedded-vlm``: the project's own vision-language model, a transformers
``LlavaForConditionalGeneration`` made of a small LeViT vision tower trained from scratch
(convolutional stem, attention at 7 x 7, an attention subsample to the 4 x 4 grid whose 16 tokens
the language model reads), a two-layer projector and the embedded SmolLM2-135M-Instruct with a LoRA adapter, trained by
``medtrust train vlm`` (``train/vlm.py``) on drawn scenes in the style of demo-images.

What ships (``embedded_vlm/`` next to this file, a few MB): ``vision_projector.safetensors``
(vision tower + projector, float16), ``adapter/`` (the PEFT LoRA adapter of the language model)
and ``recipe.json`` (the settings, seed, data generator, curves and time of the training that
made them). On first use they are assembled with the embedded language model into a plain
LLaVA folder in the user cache (adapter merged), which the hf vision backend loads like any hub
model; nothing is trained or downloaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from medtrust.errors import BackendUnavailable
from medtrust.paths import cache_dir

SHIPPED = Path(__file__).with_name("embedded_vlm")
NAME = "embedded-vlm"
IMAGE_SIZE = 112
#: the vision tower: LeViT (conv stem to 7 x 7 at 192 channels, 4 attention blocks, subsample to
#: 4 x 4 at 192 channels); LLaVA reads hidden state 1 (the 4 x 4 grid: 16 image tokens)
VISION = {"image_size": IMAGE_SIZE, "patch_size": 16, "hidden_sizes": [192, 192, 32], "num_attention_heads": [6, 6, 1],
          "depths": [4, 1, 1], "key_dim": [32, 32, 32], "mlp_ratio": [2, 2, 2], "attention_ratio": [2, 2, 2],
          "drop_path_rate": 0, "hidden_size": 192, "output_hidden_states": True}
FEATURE_LAYER = 1
TOKEN_GRID_PATCH = IMAGE_SIZE // 4  # what LlavaProcessor divides the image side by to count 16 tokens
#: ChatML with images as <image> placeholders; assistant turns marked for TRL's assistant-only loss
CHAT_TEMPLATE = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{% if m['role'] == 'assistant' %}"
                 "{% generation %}{% if m['content'] is string %}{{ m['content'] }}{% else %}"
                 "{% for p in m['content'] %}{% if p['type'] == 'text' %}{{ p['text'] }}{% endif %}{% endfor %}"
                 "{% endif %}<|im_end|>{% endgeneration %}\n{% else %}{% if m['content'] is string %}"
                 "{{ m['content'] }}{% else %}{% for p in m['content'] %}{% if p['type'] == 'image' %}<image>"
                 "{% elif p['type'] == 'text' %}{{ p['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n"
                 "{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
INSTALL_HINT = "rebuild it with `medtrust train vlm` (about 30 minutes on 2 CPU cores)"


def build(seed: int = 0):
    """A new LLaVA: random vision tower and projector, the embedded SmolLM2 as language model
    (its weights loaded, the vocabulary grown by ``<image>``), and its processor."""
    from transformers import CLIPImageProcessor, LevitConfig
    image_processor = CLIPImageProcessor(size={"shortest_edge": IMAGE_SIZE},
                                         crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE})
    return build_llava(LevitConfig(**VISION), image_processor, feature_layer=FEATURE_LAYER, strategy="full",
                       token_patch=TOKEN_GRID_PATCH, extra_tokens=0, seed=seed)


def build_llava(vision_config, image_processor, feature_layer: int, strategy: str, token_patch: int,
                extra_tokens: int, seed: int = 0):
    """A LLaVA of ``vision_config`` (random) and the embedded SmolLM2 (its weights, plus the
    ``<image>`` token), and its processor (``token_patch`` / ``extra_tokens``: how LlavaProcessor
    counts the image tokens)."""
    import torch
    from transformers import (
        AutoModelForCausalLM,
        AutoTokenizer,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )

    from medtrust.models.embedded import materialize
    lm_dir = materialize()
    tok = AutoTokenizer.from_pretrained(lm_dir)
    tok.add_special_tokens({"additional_special_tokens": ["<image>"]})
    lm = AutoModelForCausalLM.from_pretrained(lm_dir, dtype=torch.float32)
    lm.resize_token_embeddings(len(tok), mean_resizing=False)
    config = LlavaConfig(vision_config=vision_config, text_config=lm.config,
                         image_token_id=tok.convert_tokens_to_ids("<image>"), vision_feature_layer=feature_layer,
                         vision_feature_select_strategy=strategy, projector_hidden_act="gelu",
                         tie_word_embeddings=lm.config.tie_word_embeddings)
    torch.manual_seed(seed)
    model = LlavaForConditionalGeneration(config)
    model.model.language_model.load_state_dict(lm.model.state_dict())
    model.lm_head.weight = model.model.language_model.embed_tokens.weight
    model.generation_config = lm.generation_config
    processor = LlavaProcessor(image_processor=image_processor, tokenizer=tok, patch_size=token_patch,
                               vision_feature_select_strategy=strategy, chat_template=CHAT_TEMPLATE,
                               image_token="<image>", num_additional_image_tokens=extra_tokens)
    return model, processor


def vision_state(model) -> dict[str, Any]:
    """The vision tower and projector weights (what ships besides the adapter)."""
    return {k: v for k, v in model.state_dict().items()
            if k.startswith(("model.vision_tower.", "model.multi_modal_projector."))}


def _fingerprint(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def assembled_dir(shipped: Path = SHIPPED, name: str = NAME) -> Path:
    """Where the assembled model of ``shipped`` lives in the cache (keyed by the shipped files)."""
    return cache_dir() / "models" / f"{name}-{_fingerprint(shipped)}"


def materialize_vlm(shipped: Path = SHIPPED, builder=build, name: str = NAME, hint: str = INSTALL_HINT) -> Path:
    """Assemble the shipped weights (of the model ``builder`` makes) into a LLaVA folder once
    (atomic); return the folder."""
    if not (shipped / "vision_projector.safetensors").exists():
        raise BackendUnavailable(f"The weights of {name} are missing from {shipped}.", hint)
    target = assembled_dir(shipped, name)
    if (target / "config.json").exists():
        return target
    import sys

    from peft import PeftModel
    from safetensors.torch import load_file
    print(f"medtrust: assembling {name} once into {target.parent} (about 20 s)...", file=sys.stderr, flush=True)
    model, processor = builder()
    missing = model.load_state_dict({k: v.float() for k, v in load_file(shipped / "vision_projector.safetensors")
                                     .items()}, strict=False)
    if missing.unexpected_keys:
        raise BackendUnavailable(f"{shipped}: unexpected weights {missing.unexpected_keys[:3]}", hint)
    model = PeftModel.from_pretrained(model, str(shipped / "adapter")).merge_and_unload()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    try:
        model.save_pretrained(tmp)
        processor.save_pretrained(tmp)
        recipe = json.loads((shipped / "recipe.json").read_text()) if (shipped / "recipe.json").exists() else {}
        (tmp / "SOURCE.txt").write_text(f"Assembled by medtrust from {shipped} (recipe seed "
                                        f"{recipe.get('seed')}) and the embedded SmolLM2-135M-Instruct\n")
        try:
            os.rename(tmp, target)
        except OSError:
            if not (target / "config.json").exists():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def embedded_vlm_backend(**kwargs):
    """The hf vision backend on the assembled embedded-vlm, named ``embedded-vlm``."""
    from medtrust.models.hf_vision import HFVisionBackend
    return HFVisionBackend(str(materialize_vlm()), name=NAME, **kwargs)
