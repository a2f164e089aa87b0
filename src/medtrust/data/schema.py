"""The Sample every loader produces."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

AnswerType = Literal["mcq", "yes_no_maybe", "yes_no", "short", "list", "numeric", "date", "open", "request"]
"""How a sample is graded:

- ``mcq``: ``answer`` is an option letter (A, B, ...) indexing ``choices``
- ``yes_no_maybe`` / ``yes_no``: ``answer`` is one of the words in ``choices``
- ``short``: a short answer; ``aliases`` are also accepted
- ``list``: a list answer (BioASQ list questions); each item in ``aliases``
- ``numeric``: a number with ``lower``/``upper`` limits in metadata (MedCalc-Bench)
- ``date``: a date that must match exactly
- ``open``: free text graded by a judge
- ``request``: a request with no gold answer (safety sets); ``metadata['should_refuse']`` says what is right
"""

LETTERS = "ABCDEFGHIJ"


class Sample(BaseModel):
    """One dataset row, the same for every loader."""

    model_config = ConfigDict(extra="forbid")

    id: str
    question: str
    answer: str | None = None
    answer_type: AnswerType = "open"
    choices: list[str] | None = None
    aliases: list[str] = Field(default_factory=list)
    context: str | None = None
    images: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def should_refuse(self) -> bool | None:
        return self.metadata.get("should_refuse")

    @property
    def language(self) -> str:
        return self.metadata.get("language", "en")

    def answer_text(self) -> str | None:
        """The gold answer as text (the option's text for multiple choice)."""
        if self.answer_type == "mcq" and self.choices and self.answer:
            return self.choices[LETTERS.index(self.answer)]
        return self.answer

    def format_choices(self) -> str:
        """Options as 'A. text' lines."""
        return "\n".join(f"{LETTERS[i]}. {c}" for i, c in enumerate(self.choices or []))
