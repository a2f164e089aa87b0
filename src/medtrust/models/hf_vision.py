"""Vision-language models with transformers (LLaVA, LLaVA-Med style, Qwen2-VL / Qwen2.5-VL,
MedGemma, SmolVLM, ...) through ``AutoModelForImageTextToText`` and ``AutoProcessor``.

Prompts go through the processor's own chat template; a request's n samples come from one
``generate`` call (``num_return_sequences``, which expands each model's image inputs its own
way); token log-probs and hidden states work as in the text backend.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence

from medtrust.models.base import Capability, Completion, GenerationRequest, ProgressFn, row_seed
from medtrust.models.hf import HFBackend, load_pretrained
from medtrust.models.hf_generation import generate_rows
from medtrust.models.images import load_image


def is_vision_language(model: str, revision: str | None = None, trust_remote_code: bool = False) -> bool:
    """Whether a hub id or folder holds an image-text-to-text model (by its config's model type)."""
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES
    local = Path(model).expanduser()
    try:
        config = AutoConfig.from_pretrained(str(local) if local.exists() else model, revision=revision,
                                            trust_remote_code=trust_remote_code)
    except (OSError, ValueError):
        return False  # the text backend reports the loading problem
    return config.model_type in MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES


def hf_chat_messages(messages: Sequence[dict]) -> tuple[list[dict], list]:
    """Our messages in the Hugging Face multimodal chat format, and their images in order."""
    out, images = [], []
    for m in messages:
        content = m.get("content")
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        parts = []
        for p in content or []:
            if p.get("type") in ("image", "image_url"):
                raw = p.get("image") if p.get("type") == "image" else p["image_url"]
                raw = raw["url"] if isinstance(raw, dict) else raw
                images.append(load_image(raw).convert("RGB"))
                parts.append({"type": "image"})
            else:
                parts.append({"type": "text", "text": p.get("text", "")})
        out.append({"role": m["role"], "content": parts})
    return out, images


class HFVisionBackend(HFBackend):
    """An image-text-to-text model run with transformers; same arguments as ``HFBackend``."""

    default_batch = (64, 16)

    CAPABILITIES = frozenset({Capability.LOGPROBS, Capability.HIDDEN_STATES, Capability.IMAGES,
                              Capability.TRAINABLE})

    def load(self, model: str, dtype, revision, trust_remote_code, attn_implementation) -> None:
        self.processor, self.model = _load_vision(model, self.device, dtype, revision, trust_remote_code,
                                                  attn_implementation)
        self.tokenizer = self.processor.tokenizer

    def render(self, messages: Sequence[dict]) -> str:
        """The prompt text from the processor's chat template (image placeholders included)."""
        chat, _ = hf_chat_messages(messages)
        return self.processor.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)

    def generate(self, requests: Sequence[GenerationRequest],
                 progress: ProgressFn | None = None) -> list[list[Completion]]:
        """n completions per request; requests with equal settings, n and image presence share a call."""
        results: list[list[Completion]] = [[] for _ in requests]
        groups: dict[tuple, list[int]] = defaultdict(list)
        prepared = [hf_chat_messages(r.messages) for r in requests]
        for i, r in enumerate(requests):
            groups[(r.sampling_key(), r.n, bool(prepared[i][1]))].append(i)
        for (_, n, _), indices in groups.items():
            per_call = max(1, self.batch_size // n)
            for start in range(0, len(indices), per_call):
                part = indices[start:start + per_call]
                inputs = self._inputs([prepared[i] for i in part])
                sampled = requests[part[0]].temperature > 0
                seeds = [row_seed(requests[i], k) for i in part for k in requests[i].sample_indices()] if sampled \
                    else []
                rows = generate_rows(self, requests[part[0]], inputs, seeds, num_return_sequences=n)
                for k, i in enumerate(part):
                    results[i] = rows[k * n:(k + 1) * n]
                if progress:
                    progress(len(part))
        return results

    def _inputs(self, prepared: list[tuple[list[dict], list]]) -> dict[str, Any]:
        import torch
        texts = [self.processor.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
                 for chat, _ in prepared]
        images = [imgs for _, imgs in prepared]
        kwargs: dict[str, Any] = {"text": texts, "return_tensors": "pt", "padding": True}
        if any(images):
            kwargs["images"] = images if _takes_nested_images(self.processor) else [i for im in images for i in im]
        batch = self.processor(**kwargs)
        out = {}
        for key, value in batch.items():
            if isinstance(value, torch.Tensor):
                value = value.to(self.model.device)
                if value.is_floating_point():
                    value = value.to(self.model.dtype)
            out[key] = value
        return out

    def loglik(self, requests):
        from medtrust.errors import CapabilityError
        raise CapabilityError(f"The vision-language backend '{self.name}' does not score choices by "
                              "log-likelihood here.", "use --scoring generate, or a text model")

    def info(self) -> dict[str, Any]:
        return {**super().info(), "backend": "hf-vision"}


def _takes_nested_images(processor) -> bool:
    """Processors of the Idefics / SmolVLM family want one list of images per text."""
    name = type(processor).__name__.lower()
    return any(k in name for k in ("idefics", "smolvlm", "mllama", "gemma3", "paligemma"))


def _load_vision(model: str, device: str, dtype, revision, trust_remote_code, attn_implementation):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    return load_pretrained(model, AutoProcessor, AutoModelForImageTextToText, "vision-language model", device,
                           dtype, revision, trust_remote_code, attn_implementation)
