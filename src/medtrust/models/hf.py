"""Hugging Face transformers backend (also serves the embedded model).

Batches across requests with left padding, draws a request's n samples in the same
``generate`` call, and reads token log-probs from the generation logits as they are produced
(no second forward pass). See docs/architecture.md.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence

from medtrust.errors import BackendUnavailable, MedtrustError
from medtrust.models.base import (
    Backend,
    Capability,
    Completion,
    GenerationRequest,
    LoglikRequest,
    LoglikResult,
    ProgressFn,
)
from medtrust.models.hf_generation import GenerationChunk, plan_chunks, run_chunk
from medtrust.models.hf_loglik import score_loglik

log = logging.getLogger(__name__)


def pick_device(device: str | None = None) -> str:
    """``device`` if given, else cuda, then mps, then cpu."""
    import torch
    if device:
        return device
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def pick_dtype(dtype: str | None, device: str):
    """A torch dtype from a name, or bf16 on GPUs that support it, fp16 on mps, fp32 on cpu."""
    import torch
    if dtype and dtype != "auto":
        names = {"float32": torch.float32, "fp32": torch.float32, "float16": torch.float16,
                 "fp16": torch.float16, "half": torch.float16, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16}
        if dtype not in names:
            raise MedtrustError(f"Unknown dtype '{dtype}'.", f"use -M dtype= one of {', '.join(names)}")
        return names[dtype]
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.startswith("mps"):
        return torch.float16
    return torch.float32


class HFBackend(Backend):
    """A causal language model run with transformers.

    Backend arguments (``-M key=value``): ``device`` (cuda, cuda:1, mps, cpu), ``dtype``
    (bfloat16, float16, float32), ``batch_size`` (most sequences in one generate call; a request
    with n samples counts n), ``revision``, ``trust_remote_code``, ``attn_implementation``,
    ``add_bos_token`` (log-likelihood scoring, as lm-evaluation-harness).
    """

    CAPABILITIES = frozenset({Capability.LOGPROBS, Capability.HIDDEN_STATES, Capability.CHOICE_LOGLIK,
                              Capability.TRAINABLE})
    #: rows per generate call when -M batch_size is not given (cuda, other devices)
    default_batch = (256, 64)

    def __init__(self, model: str, name: str | None = None, device: str | None = None,
                 dtype: str | None = None, batch_size: int | None = None, revision: str | None = None,
                 trust_remote_code: bool = False, attn_implementation: str | None = None,
                 add_bos_token: bool = False, max_length: int | None = None):
        self.model_id = model
        self.name = name or f"hf/{model}"
        self.device = pick_device(device)
        self.revision = revision
        self.add_bos_token = add_bos_token
        self.capabilities = self.CAPABILITIES
        self.load(model, pick_dtype(dtype, self.device), revision, trust_remote_code, attn_implementation)
        self.batch_size = int(batch_size or self.default_batch[0 if self.device.startswith("cuda") else 1])
        if self.batch_size < 1:
            raise MedtrustError(f"batch_size must be at least 1, got {batch_size}.", "use -M batch_size=32")
        self.max_length = int(max_length or min(getattr(self.model.config, "max_position_embeddings", 2048)
                                                or 2048, 32768))

    def load(self, model: str, dtype, revision, trust_remote_code, attn_implementation) -> None:
        """Load ``self.tokenizer`` and ``self.model``."""
        self.tokenizer, self.model = _load(model, self.device, dtype, revision, trust_remote_code,
                                           attn_implementation)

    # ----------------------------------------------------------------------------- prompts
    def render(self, messages: Sequence[dict]) -> str:
        """The prompt text for chat messages (the model's chat template, generation prompt added)."""
        messages = [_text_only(m) for m in messages]
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        # A base model without a chat template: plain text turns.
        parts = [m["content"] if m["role"] != "system" else m["content"] + "\n" for m in messages]
        return "\n\n".join(parts) + "\n\nAnswer:"

    def encode_prompt(self, messages: Sequence[dict]) -> list[int]:
        """Token ids of the rendered prompt (special tokens come from the template itself)."""
        return self.tokenizer(self.render(messages), add_special_tokens=False)["input_ids"]

    # ---------------------------------------------------------------------------- generate
    def generate(self, requests: Sequence[GenerationRequest],
                 progress: ProgressFn | None = None) -> list[list[Completion]]:
        """n completions per request, batched across requests (see module docstring)."""
        prompts = [self.encode_prompt(r.messages) for r in requests]
        results: list[list[Completion | None]] = [[None] * r.n for r in requests]
        for chunk in plan_chunks(requests, prompts, self.batch_size):
            completions = run_chunk(self, chunk)
            for (req_index, sample_index), completion in zip(chunk.slots, completions):
                results[req_index][sample_index] = completion
            if progress:
                progress(chunk.requests_finished)
        return [list(r) for r in results]  # type: ignore[arg-type]

    def loglik(self, requests: Sequence[LoglikRequest]) -> list[list[LoglikResult]]:
        """Sum of log-probs of each continuation given its context, as lm-evaluation-harness scores."""
        return score_loglik(self, requests)

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "backend": "hf", "model": self.model_id, "revision": self.revision,
                "fingerprint": _fingerprint(self.model_id),
                "device": self.device, "dtype": str(self.model.dtype).replace("torch.", ""),
                "batch_size": self.batch_size}

    def close(self) -> None:
        import gc

        import torch
        del self.model
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def _fingerprint(model: str) -> str | None:
    """For a local folder: a hash of its config and the names, sizes and times of its weight files."""
    import hashlib
    folder = Path(model).expanduser()
    if not folder.is_dir():
        return None
    h = hashlib.sha256()
    for f in sorted(folder.iterdir()):
        if f.suffix in (".json", ".safetensors", ".bin", ".gguf"):
            st = f.stat()
            h.update(f"{f.name}:{st.st_size}:{int(st.st_mtime)}".encode())
    return h.hexdigest()[:16]


def _text_only(message: dict) -> dict:
    content = message.get("content")
    if isinstance(content, list):
        if any(p.get("type") == "image" for p in content):
            raise MedtrustError("This hf model is text-only but the prompt holds an image.",
                                "use a vision-language model, or a text attack (e.g. figstep_text)")
        content = "".join(p.get("text", "") for p in content)
    return {"role": message["role"], "content": content}


def _load(model: str, device: str, dtype, revision, trust_remote_code, attn_implementation):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok, net = load_pretrained(model, AutoTokenizer, AutoModelForCausalLM, "model", device, dtype, revision,
                               trust_remote_code, attn_implementation)
    return tok, net


def load_pretrained(model: str, preprocessor_cls, model_cls, what: str, device: str, dtype, revision,
                    trust_remote_code, attn_implementation):
    """(preprocessor, model) from a local folder or hub id, quietly, left-padded and on ``device``.

    A folder that does not exist or a hub id that cannot be fetched gives one BackendUnavailable."""
    try:
        import transformers
    except ImportError as e:  # pragma: no cover - core dependency
        raise BackendUnavailable("The hf backend needs transformers.", "pip install transformers") from e
    local = Path(model).expanduser()
    source = str(local) if local.exists() else model
    if not local.exists() and (model.startswith((".", "/", "~")) or model.count("/") > 1):
        raise BackendUnavailable(f"The {what} folder '{model}' does not exist.",
                                 "check the path, or give a Hugging Face hub id like hf/Qwen/Qwen2.5-0.5B-Instruct")
    kwargs: dict[str, Any] = {"revision": revision, "trust_remote_code": trust_remote_code}
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    try:
        pre = preprocessor_cls.from_pretrained(source, **kwargs)
        mkw = dict(kwargs, dtype=dtype)
        if attn_implementation:
            mkw["attn_implementation"] = attn_implementation
        net = model_cls.from_pretrained(source, **mkw)
    except OSError as e:
        raise BackendUnavailable(
            f"Could not load the {what} '{model}': {str(e).splitlines()[0]}",
            "give a local folder (hf/./path/to/model) or a hub id that is downloaded or reachable "
            "(HF_HUB_OFFLINE=1 uses the local hub cache only)") from e
    finally:
        transformers.logging.set_verbosity(verbosity)
        transformers.utils.logging.enable_progress_bar()
    tok = getattr(pre, "tokenizer", pre)
    if tok is None:
        raise MedtrustError(f"The processor of '{model}' has no tokenizer.", "use a model with an AutoProcessor")
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = "left"
    _neutral_generation_config(net)
    net.to(device)
    net.eval()
    return pre, net


def _neutral_generation_config(net) -> None:
    """Drop a model's own sampling defaults (repetition penalty, top-k, ...): transformers merges
    them into any config we pass, and our requests must sample exactly as they say."""
    from transformers import GenerationConfig
    old = net.generation_config
    net.generation_config = GenerationConfig(bos_token_id=old.bos_token_id, eos_token_id=old.eos_token_id,
                                             pad_token_id=old.pad_token_id)


__all__ = ["HFBackend", "GenerationChunk", "pick_device", "pick_dtype"]
