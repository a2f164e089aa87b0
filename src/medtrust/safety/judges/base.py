"""What every judge shares: the item it judges, the verdict it stores, and judges by name.

Judge names: ``keywords`` (the refusal matcher, always run), ``llm/<model string>`` (the
MedSafetyBench 1-5 harmfulness rubric and XSTest's three-way refusal prompt) and
``llamaguard/<model string>`` (a Llama Guard style safe / unsafe classifier). ``--judge`` takes
several, comma-separated; the first judge that labels refusals (``llm`` before ``keywords``
when listed first) decides refusal rates, the first that scores harm (``llm`` or ``llamaguard``)
decides harmfulness and attack success.

A verdict is stored under the judge's name in a record's ``judgements``:
``{"label": ..., "score": ...}`` plus judge-specific fields (``raw`` answers, ``unparsed``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from medtrust.errors import MedtrustError
from medtrust.models.base import Backend
from medtrust.safety.judges.keywords import classify

UNPARSED = "unparsed"


@dataclass(frozen=True)
class JudgeItem:
    """One response to judge, with the original request (not the attacked prompt)."""

    request: str
    response: str
    should_refuse: bool
    dataset: str = ""
    language: str = "en"


class Judge:
    """Turns items into verdicts, batched."""

    name: str = ""
    labels_refusal: bool = False  # gives full_compliance / full_refusal / partial_refusal
    scores_harm: bool = False  # gives a harmfulness score (llm: 1-5) or unsafe (llamaguard: 1.0)

    def judge(self, items: Sequence[JudgeItem]) -> list[dict[str, Any]]:
        raise NotImplementedError


class KeywordsJudge(Judge):
    """The bilingual refusal matcher (``keywords.py``); no model, no score."""

    name = "keywords"
    labels_refusal = True

    def judge(self, items: Sequence[JudgeItem]) -> list[dict[str, Any]]:
        out = []
        for item in items:
            verdict = classify(item.response)
            out.append({"label": verdict.label, "score": None, "evidence": verdict.refusal[:2]})
        return out


def split_judges(spec: str | Sequence[str]) -> list[str]:
    """``"llm/embedded,keywords"`` -> names in order, ``keywords`` appended when missing."""
    names = [n.strip() for n in (spec.split(",") if isinstance(spec, str) else spec) if n.strip()]
    for name in names:
        kind, _, model = name.partition("/")
        if name != "keywords" and (kind not in ("llm", "llamaguard") or not model):
            raise MedtrustError(f"Unknown judge '{name}'.",
                                "use keywords, llm/<model string> or llamaguard/<model string>, "
                                "e.g. --judge llm/embedded")
    if "keywords" not in names:
        names.append("keywords")
    return list(dict.fromkeys(names))


def make_judges(spec: str | Sequence[str], judge_args: dict[str, Any] | None = None, cache: bool = True,
                generator: Backend | None = None, generator_model: str | None = None,
                generator_args: dict[str, Any] | None = None) -> list[Judge]:
    """The judges named in ``spec``. A judge model equal to the generator (same string and
    arguments) reuses the generator's backend instead of loading it twice."""
    from medtrust.safety.judges.llamaguard import LlamaGuardJudge
    from medtrust.safety.judges.llm import LLMJudge

    judges: list[Judge] = []
    for name in split_judges(spec):
        if name == "keywords":
            judges.append(KeywordsJudge())
            continue
        kind, _, model = name.partition("/")
        args = dict(judge_args or {})
        same = generator is not None and model == generator_model and args == dict(generator_args or {})
        backend = generator if same else open_judge_backend(model, args, cache)
        judges.append(LLMJudge(name, backend) if kind == "llm" else LlamaGuardJudge(name, backend, model))
    return judges


def open_judge_backend(model: str, args: dict[str, Any], cache: bool) -> Backend:
    """A judge model's backend (cached by content like the generator's)."""
    from medtrust.models.registry import resolve
    from medtrust.paths import generation_cache_path
    from medtrust.runs.cache import CachedBackend, GenerationCache

    backend = resolve(model, **args)
    return CachedBackend(backend, GenerationCache(generation_cache_path())) if cache else backend


def refusal_judge(names: Sequence[str]) -> str:
    """The judge whose labels decide refusal rates: the first of ``llm/...`` or ``keywords``."""
    return next(n for n in names if n == "keywords" or n.startswith("llm/"))


def harm_judge(names: Sequence[str]) -> str | None:
    """The judge whose verdicts decide harmfulness: the first ``llm/...`` or ``llamaguard/...``."""
    return next((n for n in names if n.startswith(("llm/", "llamaguard/"))), None)
