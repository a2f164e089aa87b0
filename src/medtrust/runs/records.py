"""What a run folder holds, typed: one ``SampleRecord`` per line of samples.jsonl and one ``Results``
in results.json. Every study writes the same named fields; what only one study has lives in its
typed ``extras``. Both carry ``schema_version``; readers refuse other versions with a clear error.
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from medtrust.data.schema import Sample
from medtrust.models.base import Completion

SCHEMA_VERSION = 2
"""Version 1: the string-keyed records each study built its own way (before 0.2). Version 2: this file."""

VARIANT_SEPARATOR = "::"
RunStatus = Literal["running", "complete", "partial", "failed"]
"""``running``: being written; ``complete``: every sample saved and scored; ``partial``: stopped
(interrupted, or some samples failed) with what was saved kept; ``failed``: stopped by an error."""


def record_id(sample_id: str, variant: str | None) -> str:
    """``<sample id>``, or ``<sample id>::<variant>`` in a study with variants (attacks, strategies)."""
    return sample_id if variant is None else f"{sample_id}{VARIANT_SEPARATOR}{variant}"


class Output(BaseModel):
    """One completion as saved: text, token ids and log-probs (when kept), how it ended, and a
    reasoning trace the provider returned separately. ``num_tokens`` / ``cumulative_logprob`` hold
    the token count and summed log-prob where only those were kept (runs upgraded from schema 1)."""

    model_config = ConfigDict(extra="forbid")

    text: str
    token_ids: list[int] = Field(default_factory=list)
    token_logprobs: list[float] | None = None
    finish_reason: str = "stop"
    reasoning: str | None = None
    num_tokens: int | None = None
    cumulative_logprob: float | None = None

    @classmethod
    def of(cls, c: Completion) -> "Output":
        return cls(text=c.text, token_ids=list(c.token_ids), token_logprobs=c.token_logprobs,
                   finish_reason=c.finish_reason, reasoning=c.reasoning)

    @property
    def tokens(self) -> int | None:
        """Tokens generated (None when the backend returned no token ids)."""
        return len(self.token_ids) if self.token_ids else self.num_tokens

    @property
    def logprob(self) -> float | None:
        """Sum of the token log-probs (None when none were kept)."""
        if self.token_logprobs:
            return float(sum(self.token_logprobs))
        return self.cumulative_logprob


class NoExtras(BaseModel):
    """Extras of a study that needs none."""

    model_config = ConfigDict(extra="forbid")


E = TypeVar("E", bound=BaseModel)


class SampleRecord(BaseModel, Generic[E]):
    """One sample under one variant: inputs, what the model said, and the scores.

    ``prompt`` is the messages as sent (images as the paths the run saved); ``prompt_hash``
    hashes them with images by content. ``outputs`` are the completions of the main request.
    ``scores`` is what ``Study.score`` computed (re-computed by ``--rescore``); ``error`` is set
    when generating this sample failed (a resumed run tries it again).
    """

    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    id: str
    sample_id: str
    variant: str | None = None
    sample: Sample
    prompt: list[dict[str, Any]] = Field(default_factory=list)
    prompt_hash: str = ""
    outputs: list[Output] = Field(default_factory=list)
    scores: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    extras: E


class Results(BaseModel):
    """results.json: the metrics of a run and what produced them."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    schema_version: int = SCHEMA_VERSION
    kind: Literal["study", "train"] = "study"
    study: str
    status: RunStatus = "running"
    model: str = ""
    dataset: str | None = None
    n: int = 0
    expected: int = 0
    seed: int | None = None
    metrics: dict[str, Any] = Field(default_factory=dict)
    backend: dict[str, Any] | None = None
    cache: dict[str, Any] | None = None
    started: str | None = None
    finished: str | None = None
    duration_s: float | None = None
    versions: dict[str, Any] = Field(default_factory=dict)
    git_commit: str | None = None
    error: str | None = None
    rescored_from: str | None = None
