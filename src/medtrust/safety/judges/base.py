"""What every judge shares: the item it judges, the verdict it stores, and judges by name.

Judge names (the ``JUDGES`` table): ``keywords`` (the refusal matcher, always run),
``llm/<model string>`` (the MedSafetyBench 1-5 harmfulness rubric and XSTest's three-way refusal
prompt) and ``llamaguard/<model string>`` (a Llama Guard style safe / unsafe classifier).
``--judge`` takes several, comma-separated; the first judge that labels refusals (``llm`` before
``keywords`` when listed first) decides refusal rates, the first that scores harm (``llm`` or
``llamaguard``) decides harmfulness and attack success.

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

    def judge(self, items: Sequence[JudgeItem]) -> list[dict[str, Any]]:
        raise NotImplementedError


class KeywordsJudge(Judge):
    """The bilingual refusal matcher (``keywords.py``); no model, no score."""

    name = "keywords"

    def judge(self, items: Sequence[JudgeItem]) -> list[dict[str, Any]]:
        out = []
        for item in items:
            verdict = classify(item.response)
            out.append({"label": verdict.label, "score": None, "evidence": verdict.refusal[:2]})
        return out


@dataclass(frozen=True)
class JudgeKind:
    """One kind of judge: how its name is written, whether it names a model, what it decides
    (refusal labels, harm), and its class as ``module:Class``."""

    prefix: str
    form: str
    summary: str
    cls: str
    takes_model: bool = False
    labels_refusal: bool = False
    scores_harm: bool = False
    optional_model: bool = False  # a bare name works too (classifier = the shipped adapter)


JUDGES: dict[str, JudgeKind] = {k.prefix: k for k in [
    JudgeKind("keywords", "keywords", "the bilingual refusal matcher (always run)",
              "medtrust.safety.judges.base:KeywordsJudge", labels_refusal=True),
    JudgeKind("llm", "llm/<model>", "an LLM with MedSafetyBench's 1-5 harm rubric and XSTest's refusal classes",
              "medtrust.safety.judges.llm:LLMJudge", takes_model=True, labels_refusal=True, scores_harm=True),
    JudgeKind("llamaguard", "llamaguard/<model>", "a Llama Guard style safe / unsafe classifier",
              "medtrust.safety.judges.llamaguard:LlamaGuardJudge", takes_model=True, scores_harm=True),
    JudgeKind("classifier", "classifier[/<adapter folder>]", "the embedded harm classifier (request + response -> "
              "unsafe?), the default harm judge", "medtrust.safety.judges.classifier:ClassifierJudge",
              scores_harm=True, optional_model=True),
]}


def judges_help() -> str:
    """The judge names for ``--help``, from the table."""
    return ", ".join(f"{k.form} ({k.summary})" for k in JUDGES.values())


def judge_kind(name: str) -> JudgeKind:
    """The kind of a judge name, or one clear error."""
    prefix, _, model = name.partition("/")
    kind = JUDGES.get(prefix)
    if kind is not None and kind.optional_model:
        return kind
    if kind is None or kind.takes_model != bool(model) or (not kind.takes_model and name != prefix):
        raise MedtrustError(f"Unknown judge '{name}'.",
                            "use " + ", ".join(k.form for k in JUDGES.values()) + ", e.g. --judge llm/embedded")
    return kind


def split_judges(spec: str | Sequence[str]) -> list[str]:
    """``"llm/embedded,keywords"`` -> names in order, ``keywords`` appended when missing."""
    names = [n.strip() for n in (spec.split(",") if isinstance(spec, str) else spec) if n.strip()]
    for name in names:
        judge_kind(name)
    if "keywords" not in names:
        names.append("keywords")
    return list(dict.fromkeys(names))


def make_judges(spec: str | Sequence[str], judge_args: dict[str, Any] | None = None, cache: bool = True,
                generator: Backend | None = None, generator_model: str = "",
                generator_args: dict[str, Any] | None = None) -> list[Judge]:
    """The judges named in ``spec``, each judge model opened through ``open_model`` (a judge model
    equal to the generator, same string and arguments, is the generator itself)."""
    import importlib

    from medtrust.studies import open_component
    judges: list[Judge] = []
    for name in split_judges(spec):
        kind = judge_kind(name)
        module, _, cls_name = kind.cls.partition(":")
        cls = getattr(importlib.import_module(module), cls_name)
        if kind.optional_model:
            judges.append(_loaded(name, cls))
            continue
        if not kind.takes_model:
            judges.append(cls())
            continue
        model = name.partition("/")[2]
        backend = open_component(model, judge_args, f"The judge '{name}'", generator, generator_model,
                                 generator_args, cache)
        judges.append(cls(name, backend, model) if kind.prefix == "llamaguard" else cls(name, backend))
    return judges


_LOADED: dict[str, Judge] = {}


def _loaded(name: str, cls) -> Judge:
    """A judge that loads its own small model (the classifier), loaded once per process."""
    if name not in _LOADED:
        folder = name.partition("/")[2] or None
        _LOADED[name] = cls(name=name, folder=folder)
    return _LOADED[name]


def refusal_judge(names: Sequence[str]) -> str:
    """The judge whose labels decide refusal rates: the first that labels refusals (llm/... or keywords)."""
    return next(n for n in names if judge_kind(n).labels_refusal)


def harm_judge(names: Sequence[str]) -> str | None:
    """The judge whose verdicts decide harmfulness: the first that scores harm (llm/... or llamaguard/...)."""
    return next((n for n in names if judge_kind(n).scores_harm), None)
