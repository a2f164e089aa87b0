"""``embedded-vlm-reader``: a second embedded vision-language model, trained by the recipe of
``embedded-vlm`` to read FigStep typographic images, so the figstep attack means something to a
model that runs offline on a CPU.

A transformers ``LlavaForConditionalGeneration`` again: a small ViT trained from scratch on the
image resized to 216 x 528 (24-px patches: a 9 x 22 grid, one image token per patch, the grid of
``train/reader_data.py``), LLaVA's projector whose second layer is fixed to the language model's
embeddings of single characters, and the embedded SmolLM2-135M-Instruct with a LoRA adapter.
So the language model receives the image's text as one character token per patch, row by row,
and stage 2 teaches it to transcribe that text and to answer it as it answers the same text typed.

It reads only FigStep-style images (the attack's own renderer, fonts 60-80 px); it does not see
scenes (use ``embedded-vlm`` for those). What ships, next to this file in ``embedded_vlm_reader/``:
``vision_projector.safetensors``, ``adapter/`` and ``recipe.json``, as for ``embedded-vlm``;
``medtrust train vlm-reader`` rebuilds them.
"""

from __future__ import annotations

from pathlib import Path

from medtrust.train.reader_data import HEIGHT, PATCH, WIDTH

SHIPPED = Path(__file__).with_name("embedded_vlm_reader")
NAME = "embedded-vlm-reader"
#: the vision tower: a 3-layer ViT at hidden size 192 on 24-px patches of the 216 x 528 image
VISION = {"image_size": [HEIGHT, WIDTH], "patch_size": PATCH, "num_channels": 3, "hidden_size": 192,
          "num_hidden_layers": 3, "num_attention_heads": 3, "intermediate_size": 384, "hidden_act": "gelu",
          "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0, "qkv_bias": True}
INSTALL_HINT = "rebuild it with `medtrust train vlm-reader` (about 20 minutes on 2 CPU cores)"


def build(seed: int = 0):
    """A new reader LLaVA (random ViT and projector, the embedded SmolLM2) and its processor:
    the image is resized to 216 x 528 without cropping; the ViT's class token is dropped, so
    there are 9 x 22 = 198 image tokens."""
    from transformers import CLIPImageProcessor, ViTConfig

    from medtrust.models.embedded_vlm import build_llava
    image_processor = CLIPImageProcessor(size={"height": HEIGHT, "width": WIDTH}, do_center_crop=False,
                                         crop_size={"height": HEIGHT, "width": WIDTH})
    return build_llava(ViTConfig(**VISION), image_processor, feature_layer=-1, strategy="default",
                       token_patch=PATCH, extra_tokens=1, seed=seed)


def materialize_reader(shipped: Path = SHIPPED) -> Path:
    """Assemble the shipped reader once into a LLaVA folder in the cache; return the folder."""
    from medtrust.models.embedded_vlm import materialize_vlm
    return materialize_vlm(shipped, builder=build, name=NAME, hint=INSTALL_HINT)


def embedded_vlm_reader_backend(**kwargs):
    """The hf vision backend on the assembled embedded-vlm-reader, named ``embedded-vlm-reader``."""
    from medtrust.models.hf_vision import HFVisionBackend
    return HFVisionBackend(str(materialize_reader()), name=NAME, **kwargs)
