"""``embedded-vlm-reader``: a second embedded vision-language model, trained by the recipe of
``embedded-vlm`` to read FigStep typographic images, so that the figstep attack can mean something
to a model that runs offline on a CPU. As shipped, 96% of held-out letters reach the language model
as their own embeddings and it transcribes held-out FigStep-tiny images with word accuracy 0.642
(7 of 49 exact; 0.378 on random word strings, where the language model's prior cannot help;
bench/RESULTS.md): it reads most words and guesses some from their first letters.

A transformers ``LlavaForConditionalGeneration`` again: a small Swin transformer trained from
scratch on the image resized to 216 x 528 (12-px patches, windowed attention at 18 x 44, one patch
merge to a 9 x 22 grid of 24-px cells: one image token per cell, the grid of
``train/reader_data.py``), LLaVA's projector whose second layer is fixed to the language model's
embeddings of single characters, and the embedded SmolLM2-135M-Instruct with a LoRA adapter
(attention and MLPs).
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
#: the vision tower: Swin on 12-px patches (64 channels, 2 blocks in 4 x 4 windows), one merge to
#: 24-px cells (128 channels, 2 blocks). After 535 steps a 3-layer ViT on 24-px patches had 19% of letters
#: right, this 90% (bench/RESULTS.md, embedded-vlm-reader): a patch's letter shifts inside it, and Swin's small
#: patches and local windows see that shift where one linear patch embedding cannot.
VISION = {"image_size": [HEIGHT, WIDTH], "patch_size": PATCH // 2, "num_channels": 3, "embed_dim": 64,
          "depths": [2, 2], "num_heads": [2, 4], "window_size": 4, "mlp_ratio": 2.0, "drop_path_rate": 0.0,
          "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}
INSTALL_HINT = "rebuild it with `medtrust train vlm-reader` (about 85 minutes on 2 CPU cores; it resumes if stopped)"


def build(seed: int = 0):
    """A new reader LLaVA (random Swin tower and projector, the embedded SmolLM2) and its processor:
    the image is resized to 216 x 528 without cropping; Swin's last stage is the 9 x 22 = 198
    image tokens (Swin has no class token)."""
    from transformers import CLIPImageProcessor, SwinConfig

    from medtrust.models.embedded_vlm import build_llava
    image_processor = CLIPImageProcessor(size={"height": HEIGHT, "width": WIDTH}, do_center_crop=False,
                                         crop_size={"height": HEIGHT, "width": WIDTH})
    return build_llava(SwinConfig(**VISION), image_processor, feature_layer=-1, strategy="full",
                       token_patch=PATCH, extra_tokens=0, seed=seed)


def materialize_reader(shipped: Path = SHIPPED) -> Path:
    """Assemble the shipped reader once into a LLaVA folder in the cache; return the folder."""
    from medtrust.models.embedded_vlm import materialize_vlm
    return materialize_vlm(shipped, builder=build, name=NAME, hint=INSTALL_HINT)


def embedded_vlm_reader_backend(**kwargs):
    """The hf vision backend on the assembled embedded-vlm-reader, named ``embedded-vlm-reader``."""
    from medtrust.models.hf_vision import HFVisionBackend
    return HFVisionBackend(str(materialize_reader()), name=NAME, **kwargs)
