"""Model strings -> backends. Heavy backends are imported only when used."""

from __future__ import annotations

import os
from typing import Any

from medtrust.errors import ModelStringError
from medtrust.models.base import Backend

FORMS = """\
  embedded                        the bundled SmolLM2-135M-Instruct (offline, CPU)
  hf/<hub id or local path>       a Hugging Face transformers model
  vllm/<hub id or local path>     an in-process vLLM engine (pip install 'medtrust[vllm]')
  openai/<model>                  OpenAI API (OPENAI_BASE_URL, OPENAI_API_KEY)
  openai-api/<service>/<model>    any OpenAI-compatible server (<SERVICE>_BASE_URL, <SERVICE>_API_KEY)"""


def parse_model_args(pairs: list[str] | None) -> dict[str, Any]:
    """Turn ``-M key=value`` pairs into typed keyword arguments (ints, floats, booleans)."""
    out: dict[str, Any] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise ModelStringError(f"Backend argument '{pair}' is not key=value.", "write it as -M key=value")
        key, value = pair.split("=", 1)
        out[key.strip().replace("-", "_")] = _typed(value.strip())
    return out


def _typed(value: str) -> Any:
    low = value.lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    if low in ("none", "null"):
        return None
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def split_model_string(model: str) -> tuple[str, str]:
    """``"hf/org/name"`` -> ``("hf", "org/name")``; validates the backend name."""
    model = (model or "").strip()
    if model == "embedded":
        return "embedded", "SmolLM2-135M-Instruct"
    backend, _, rest = model.partition("/")
    if backend not in ("hf", "vllm", "openai", "openai-api") or not rest:
        raise ModelStringError(f"'{model}' is not a model string.", "use one of these forms:\n" + FORMS)
    if backend == "openai-api":
        service, _, name = rest.partition("/")
        if not service or not name:
            raise ModelStringError(f"'{model}' names no service or no model.",
                                   "write openai-api/<service>/<model>, e.g. openai-api/deepseek/deepseek-chat")
    return backend, rest


def resolve(model: str, **kwargs: Any) -> Backend:
    """Build the backend a model string names; ``kwargs`` come from ``-M key=value``."""
    backend, rest = split_model_string(model)
    if backend == "embedded":
        from medtrust.models.embedded import embedded_backend
        return embedded_backend(**kwargs)
    if backend == "hf":
        from medtrust.models.hf import HFBackend
        from medtrust.models.hf_vision import HFVisionBackend, is_vision_language
        if is_vision_language(rest, kwargs.get("revision"), kwargs.get("trust_remote_code", False)):
            return HFVisionBackend(rest, name=model, **kwargs)
        return HFBackend(rest, name=model, **kwargs)
    if backend == "vllm":
        from medtrust.models.vllm import VLLMBackend
        return VLLMBackend(rest, name=model, **kwargs)
    from medtrust.models.openai_api import OpenAIBackend
    if backend == "openai":
        return OpenAIBackend(rest, name=model, base_url=os.environ.get("OPENAI_BASE_URL"),
                             api_key=os.environ.get("OPENAI_API_KEY"), env_prefix="OPENAI", **kwargs)
    service, _, name = rest.partition("/")
    prefix = service.upper().replace("-", "_").replace(".", "_")
    return OpenAIBackend(name, name=model, base_url=os.environ.get(f"{prefix}_BASE_URL"),
                         api_key=os.environ.get(f"{prefix}_API_KEY"), env_prefix=prefix, **kwargs)


def declared_capabilities(model: str, model_args: dict[str, Any] | None = None):
    """Capabilities known from the model string alone (before loading), or None when only the
    loaded model can tell (hf/ and vllm/ models may or may not take images)."""
    from medtrust.models.base import Capability as C
    backend, _ = split_model_string(model)
    args = model_args or {}
    if backend == "embedded":
        return {C.LOGPROBS, C.HIDDEN_STATES, C.CHOICE_LOGLIK, C.TRAINABLE}
    if backend in ("openai", "openai-api"):
        caps = set()
        if args.get("logprobs", True):
            caps.add(C.LOGPROBS)
        if args.get("images", False):
            caps.add(C.IMAGES)
        return caps
    return None
