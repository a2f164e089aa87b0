"""Checking capabilities before any generation starts."""

from __future__ import annotations

from typing import Iterable

from medtrust.errors import CapabilityError
from medtrust.models.base import Backend, Capability

#: which backends have each capability, for the error message
WHO_HAS = {
    Capability.LOGPROBS: "embedded, hf/<model>, vllm/<model>, or an OpenAI-compatible server that returns logprobs",
    Capability.HIDDEN_STATES: "embedded or hf/<model> (local weights)",
    Capability.IMAGES: "hf/<vision-language model>, vllm/<vision-language model>, or openai/... with -M images=true",
    Capability.CHOICE_LOGLIK: "embedded, hf/<model> or vllm/<model>",
    Capability.TRAINABLE: "embedded or hf/<model> (local weights)",
}


def require(backend: Backend, needed: Iterable[Capability], purpose: str) -> None:
    """Stop before generating if ``backend`` lacks a capability that ``purpose`` needs."""
    missing = [c for c in needed if c not in backend.capabilities]
    if missing:
        cap = missing[0]
        raise CapabilityError(
            f"{purpose} needs the '{cap.value}' capability, which the backend '{backend.name}' does not have.",
            f"use a backend that has it: {WHO_HAS[cap]}",
        )
