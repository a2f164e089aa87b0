"""A randomly initialised LLaVA (CLIP vision tower + Llama text model) with the embedded tokenizer
and a chat template, saved with its processor: a real vision-language architecture for code paths
that need one (the tests' tiny model, bench/gpu.py's VLM shape). Its answers mean nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: ChatML turns with images as <image> placeholders (what the hf vision backend renders)
CHAT_TEMPLATE = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{% if m['content'] is string %}"
                 "{{ m['content'] }}{% else %}{% for p in m['content'] %}{% if p['type'] == 'image' %}<image>"
                 "{% elif p['type'] == 'text' %}{{ p['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n"
                 "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def build_random_llava(folder: str | Path, vision: dict[str, Any], text: dict[str, Any], seed: int = 0) -> Path:
    """Save a random LLaVA into ``folder``: ``vision`` are CLIPVisionConfig values (with
    ``image_size`` and ``patch_size``), ``text`` LlamaConfig values (the vocabulary is the embedded
    tokenizer's plus ``<image>``)."""
    import torch
    from transformers import (
        AutoTokenizer,
        CLIPImageProcessor,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )

    from medtrust.models.embedded import materialize
    folder = Path(folder)
    tok = AutoTokenizer.from_pretrained(materialize())
    tok.add_special_tokens({"additional_special_tokens": ["<image>"]})
    text_config = LlamaConfig(**{**text, "vocab_size": len(tok)}, bos_token_id=tok.bos_token_id,
                              eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    config = LlavaConfig(vision_config=CLIPVisionConfig(**vision), text_config=text_config,
                         image_token_id=tok.convert_tokens_to_ids("<image>"), vision_feature_layer=-1,
                         vision_feature_select_strategy="default")
    torch.manual_seed(seed)
    LlavaForConditionalGeneration(config).save_pretrained(folder)
    size = vision["image_size"]
    LlavaProcessor(image_processor=CLIPImageProcessor(size={"shortest_edge": size},
                                                      crop_size={"height": size, "width": size}),
                   tokenizer=tok, patch_size=vision["patch_size"], vision_feature_select_strategy="default",
                   chat_template=CHAT_TEMPLATE, image_token="<image>",
                   num_additional_image_tokens=1).save_pretrained(folder)
    return folder
