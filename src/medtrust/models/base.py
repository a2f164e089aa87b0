"""The backend interface every model sits behind (docs/architecture.md)."""

from __future__ import annotations

import abc
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Callable, ClassVar, Sequence

import numpy as np

Message = dict[str, Any]
"""An OpenAI-style chat message: {"role": ..., "content": str | list of parts}.

A content part is {"type": "text", "text": ...} or {"type": "image", "image": <path or PIL image>}.
"""


class Capability(str, Enum):
    """What a backend can do beyond generating text."""

    LOGPROBS = "logprobs"  # token log-probs of generated tokens
    HIDDEN_STATES = "hidden_states"  # hidden states of the model at the generated answer
    IMAGES = "images"  # accepts image parts in messages
    CHOICE_LOGLIK = "choice_loglik"  # scores continuations by log-likelihood (lm-eval style)
    TRAINABLE = "trainable"  # weights are local and can be fine-tuned with TRL


@dataclass(frozen=True)
class GenerationRequest:
    """One prompt and how to sample from it; ``n`` samples are drawn."""

    messages: tuple[Message, ...] | list[Message]
    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 256
    stop: tuple[str, ...] | None = None
    seed: int | None = None
    logprobs: bool = False
    hidden_states: bool = False
    indices: tuple[int, ...] | None = None  # which samples of the request these n are (default 0..n-1)

    def sample_indices(self) -> tuple[int, ...]:
        """The sample index of each of the n completions (what a sample's random draws depend on)."""
        if self.indices is None:
            return tuple(range(self.n))
        if len(self.indices) != self.n:
            raise ValueError(f"indices {self.indices} do not match n={self.n}")
        return tuple(self.indices)

    def sampling_key(self) -> tuple:
        """The sampling settings; requests with equal keys can share one batched call."""
        return (self.temperature, self.top_p, self.max_tokens, tuple(self.stop or ()),
                self.logprobs, self.hidden_states)

    def sampling_config(self) -> dict[str, Any]:
        """Everything but the messages and n, as a plain dict (for caching and logs)."""
        d = asdict(self)
        for key in ("messages", "n", "indices"):
            d.pop(key)
        d["stop"] = list(self.stop or [])
        return d


def _image_token(part: dict) -> dict:
    img = part.get("image")
    if isinstance(img, (str, Path)) and Path(img).exists():
        return {"type": "image", "sha256": hashlib.sha256(Path(img).read_bytes()).hexdigest()}
    if hasattr(img, "tobytes"):
        return {"type": "image", "sha256": hashlib.sha256(img.tobytes()).hexdigest(), "size": list(img.size)}
    return {"type": "image", "ref": str(img)}


def canonical_messages(messages: Sequence[Message]) -> list[dict]:
    """Messages with images replaced by the hash of their bytes (stable, JSON-safe)."""
    out = []
    for m in messages:
        content = m.get("content")
        if isinstance(content, list):
            content = [_image_token(p) if p.get("type") == "image" else p for p in content]
        out.append({"role": m["role"], "content": content})
    return out


def prompt_hash(messages: Sequence[Message]) -> str:
    """A short hash of what a prompt says (images by their bytes), as stored in every record."""
    text = json.dumps(canonical_messages(messages), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def row_seed(request: GenerationRequest, index: int) -> int:
    """The seed of sample ``index`` of ``request``: a hash of the request's seed, its prompt and its
    sampling settings, so a sample's random draws never depend on the other rows of a batch, on
    ``--limit`` or on what the cache holds. A request without a seed gets a fresh random one."""
    if request.seed is None:
        return int.from_bytes(os.urandom(8), "little") >> 1
    payload = {"seed": request.seed, "prompt": canonical_messages(request.messages),
               "sampling": request.sampling_config(), "index": int(index)}
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def server_seed(request: GenerationRequest, index: int) -> int:
    """:func:`row_seed` folded into 31 bits, the range every OpenAI-compatible server accepts."""
    return row_seed(request, index) % (2 ** 31)


@dataclass
class Completion:
    """One sampled answer.

    ``token_logprobs`` are the log-probabilities of the generated tokens under the model
    (temperature 1, before any sampling warper), end-of-sequence token excluded.
    ``hidden`` (when asked for) maps a position name to an array (layers + 1, hidden size):
    "tbg" is the last prompt token (before generation), "slt" the last answer token before the end.
    ``reasoning`` holds a reasoning trace a provider returned separately (e.g. reasoning_content).
    """

    text: str
    token_ids: list[int] = field(default_factory=list)
    token_logprobs: list[float] | None = None
    finish_reason: str = "stop"
    hidden: dict[str, np.ndarray] | None = None
    reasoning: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (hidden states are left out: they are saved as arrays)."""
        d = {"text": self.text, "token_ids": list(self.token_ids),
             "token_logprobs": self.token_logprobs, "finish_reason": self.finish_reason}
        if self.reasoning is not None:
            d["reasoning"] = self.reasoning
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Completion":
        return cls(text=d["text"], token_ids=d.get("token_ids", []),
                   token_logprobs=d.get("token_logprobs"), finish_reason=d.get("finish_reason", "stop"),
                   reasoning=d.get("reasoning"))

    @property
    def mean_logprob(self) -> float | None:
        """Mean token log-probability (length-normalised log-likelihood)."""
        if not self.token_logprobs:
            return None
        return float(np.mean(self.token_logprobs))


@dataclass(frozen=True)
class LoglikRequest:
    """Score continuations of a context by log-likelihood (as lm-evaluation-harness does).

    ``context`` is raw text (no chat template), so scores compare with harness numbers.
    """

    context: str
    continuations: tuple[str, ...]


@dataclass
class LoglikResult:
    """Sum of continuation token log-probs, whether it is the greedy continuation, its token count."""

    logprob: float
    is_greedy: bool
    num_tokens: int


ProgressFn = Callable[[int], None]


class Backend(abc.ABC):
    """A model that turns requests into completions.

    Each backend class declares once what it can do: ``CAPABILITIES`` (what every instance has)
    or, where backend arguments decide, ``capabilities_for(args)``; ``capabilities`` of an
    instance comes from that declaration.
    """

    #: the model string it was resolved from, e.g. "hf/Qwen/Qwen2.5-0.5B-Instruct"
    name: str = ""
    CAPABILITIES: ClassVar[frozenset[Capability]] = frozenset()
    capabilities: frozenset[Capability] = frozenset()

    @classmethod
    def capabilities_for(cls, args: dict[str, Any]) -> frozenset[Capability]:
        """The capabilities an instance built with backend arguments ``args`` may have (checked
        before loading; where only the loaded model can tell, an upper bound)."""
        return cls.CAPABILITIES

    @abc.abstractmethod
    def generate(self, requests: Sequence[GenerationRequest],
                 progress: ProgressFn | None = None) -> list[list[Completion]]:
        """Return, for each request, its ``n`` completions. ``progress(k)`` reports k requests done."""

    def loglik(self, requests: Sequence[LoglikRequest]) -> list[list[LoglikResult]]:
        """Log-likelihood of each continuation (needs CHOICE_LOGLIK)."""
        from medtrust.errors import CapabilityError
        raise CapabilityError(f"The backend '{self.name}' cannot score choices by log-likelihood.",
                              "use an hf/, embedded or vllm/ model, or --scoring generate")

    def info(self) -> dict[str, Any]:
        """What identifies the model for caching and run logs (id, revision, dtype, device...)."""
        return {"name": self.name}

    def close(self) -> None:
        """Free resources (GPU memory, HTTP pools)."""
