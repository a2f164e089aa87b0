"""Model strings -> backends, and what each backend can do. Heavy backends are imported only when used.

``BACKENDS`` is the one table of backend kinds: the model-string form, the class (imported when
needed) and, per capability, what a user must write to get it (for error messages).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medtrust.errors import ModelStringError
from medtrust.models.base import Backend, Capability


@dataclass(frozen=True)
class BackendKind:
    """One kind of model string: ``form`` as users write it, the backend class as ``module:Class``,
    and hints for capabilities that need an argument or a kind of model (e.g. images)."""

    prefix: str
    form: str
    description: str
    cls: str
    hints: dict[Capability, str] = field(default_factory=dict)

    def backend_class(self) -> type[Backend]:
        module, _, name = self.cls.partition(":")
        return getattr(importlib.import_module(module), name)


BACKENDS: dict[str, BackendKind] = {k.prefix: k for k in [
    BackendKind("embedded", "embedded", "the bundled SmolLM2-135M-Instruct (offline, CPU)",
                "medtrust.models.hf:HFBackend"),
    BackendKind("embedded-vlm", "embedded-vlm", "the project's own vision-language model (LLaVA: LeViT + "
                "SmolLM2-135M + LoRA; offline, CPU; trained by medtrust train vlm)",
                "medtrust.models.hf_vision:HFVisionBackend"),
    BackendKind("embedded-vlm-reader", "embedded-vlm-reader", "the project's reader of FigStep typographic images "
                "(LLaVA: Swin + SmolLM2-135M + LoRA; offline, CPU; trained by medtrust train vlm-reader)",
                "medtrust.models.hf_vision:HFVisionBackend"),
    BackendKind("hf", "hf/<hub id or local path>", "a Hugging Face transformers model",
                "medtrust.models.hf:HFBackend", {Capability.IMAGES: "hf/<vision-language model>"}),
    BackendKind("hf-vision", "hf/<vision-language model>", "an image-text-to-text transformers model",
                "medtrust.models.hf_vision:HFVisionBackend"),
    BackendKind("vllm", "vllm/<hub id or local path>", "an in-process vLLM engine (pip install 'medtrust[vllm]')",
                "medtrust.models.vllm:VLLMBackend", {Capability.IMAGES: "vllm/<vision-language model>"}),
    BackendKind("openai", "openai/<model>", "OpenAI API (OPENAI_BASE_URL, OPENAI_API_KEY)",
                "medtrust.models.openai_api:OpenAIBackend",
                {Capability.LOGPROBS: "an OpenAI-compatible server that returns logprobs",
                 Capability.IMAGES: "openai/... with -M images=true"}),
    BackendKind("openai-api", "openai-api/<service>/<model>",
                "any OpenAI-compatible server (<SERVICE>_BASE_URL, <SERVICE>_API_KEY)",
                "medtrust.models.openai_api:OpenAIBackend"),
]}
USER_KINDS = ("embedded", "embedded-vlm", "embedded-vlm-reader", "hf", "vllm", "openai", "openai-api")
EMBEDDED = ("embedded", "embedded-vlm", "embedded-vlm-reader")
FORMS = "\n".join(f"  {BACKENDS[k].form:<32}{BACKENDS[k].description}" for k in USER_KINDS)


def who_has(capability: Capability) -> str:
    """Which model strings have ``capability``, for the error that says a backend lacks it."""
    out = []
    for kind in BACKENDS.values():
        cls = kind.backend_class()
        if capability in cls.CAPABILITIES:
            hint = kind.hints.get(capability, kind.form)
            if hint not in out:
                out.append(hint)
    return ", ".join(out)


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
    if model in ("embedded-vlm", "embedded-vlm-reader"):
        return model, model
    backend, _, rest = model.partition("/")
    if backend not in USER_KINDS or backend in EMBEDDED or not rest:
        raise ModelStringError(f"'{model}' is not a model string.", "use one of these forms:\n" + FORMS)
    if backend == "openai-api":
        service, _, name = rest.partition("/")
        if not service or not name:
            raise ModelStringError(f"'{model}' names no service or no model.",
                                   "write openai-api/<service>/<model>, e.g. openai-api/deepseek/deepseek-chat")
    return backend, rest


def backend_kind(model: str, args: dict[str, Any] | None = None) -> BackendKind:
    """The kind of backend a model string makes, known before loading (an hf/ model's config says
    whether it is a vision-language model)."""
    backend, rest = split_model_string(model)
    if backend != "hf":
        return BACKENDS[backend]
    return BACKENDS["hf-vision" if _is_vision_language(rest, args or {}) else "hf"]


def _is_vision_language(rest: str, args: dict[str, Any]) -> bool:
    from medtrust.models.hf_vision import is_vision_language
    local = Path(rest).expanduser()
    if not local.exists() and (rest.startswith((".", "/", "~")) or rest.count("/") > 1):
        return False  # a folder that does not exist: the text backend reports it
    return is_vision_language(rest, args.get("revision"), args.get("trust_remote_code", False))


def declared_capabilities(model: str, model_args: dict[str, Any] | None = None) -> frozenset[Capability]:
    """Capabilities known from the model string and arguments alone (before loading), as the
    backend class declares them (an upper bound where only the loaded model can tell)."""
    return backend_kind(model, model_args).backend_class().capabilities_for(model_args or {})


def resolve(model: str, **kwargs: Any) -> Backend:
    """Build the backend a model string names; ``kwargs`` come from ``-M key=value``.
    Studies, judges and entailment models open models through ``models.open.open_model``."""
    backend, rest = split_model_string(model)
    if backend == "embedded":
        from medtrust.models.embedded import embedded_backend
        return embedded_backend(**kwargs)
    if backend == "embedded-vlm":
        from medtrust.models.embedded_vlm import embedded_vlm_backend
        return embedded_vlm_backend(**kwargs)
    if backend == "embedded-vlm-reader":
        from medtrust.models.embedded_vlm_reader import embedded_vlm_reader_backend
        return embedded_vlm_reader_backend(**kwargs)
    if backend == "hf":
        from medtrust.models.hf import HFBackend
        from medtrust.models.hf_vision import HFVisionBackend
        if _is_vision_language(rest, kwargs):
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
    prefix = env_prefix(service)
    return OpenAIBackend(name, name=model, base_url=os.environ.get(f"{prefix}_BASE_URL"),
                         api_key=os.environ.get(f"{prefix}_API_KEY"), env_prefix=prefix, **kwargs)


def env_prefix(service: str) -> str:
    """The environment prefix of an ``openai-api/<service>/...`` model: ``LOCAL`` -> LOCAL_BASE_URL."""
    return service.upper().replace("-", "_").replace(".", "_")


def environment_of(model: str) -> tuple[str | None, ...]:
    """The environment values a model string's backend reads (server address and key), so a
    backend loaded earlier is not reused after they change."""
    import hashlib
    backend, _, rest = model.strip().partition("/")
    if backend == "openai":
        prefix = "OPENAI"
    elif backend == "openai-api":
        prefix = env_prefix(rest.partition("/")[0])
    else:
        return ()
    key = os.environ.get(f"{prefix}_API_KEY")
    return os.environ.get(f"{prefix}_BASE_URL"), hashlib.sha256(key.encode()).hexdigest() if key else None

