"""`medtrust hallucination --snowball`: hallucination snowballing, planted false turns and the
model's own wrong answers (see hallucination/snowball.py for the design, wordings and metrics)."""

from __future__ import annotations

from typing import Any, Literal, Sequence

from pydantic import BaseModel, ConfigDict, Field, field_validator

from medtrust.config import RunConfig
from medtrust.data.schema import Sample
from medtrust.hallucination.greedy import ask_once
from medtrust.hallucination.snowball import (
    CONDITIONS,
    GRADABLE,
    IMAGE_KINDS,
    KINDS,
    MODES,
    OWN,
    SnowballError,
    applicable_kinds,
    build_plan,
    claim_text,
    conversation,
    grade,
    own_metrics,
    planted_metrics,
    question_messages,
    states,
    variant_name,
    verdict,
    verification_messages,
)
from medtrust.models.base import Backend, Completion, prompt_hash
from medtrust.runs.records import Output, SampleRecord
from medtrust.stats import metric
from medtrust.studies import Context, Study, Unit

SNOWBALL_STUDY = "hallucination-snowball"


def _names(value: Any, allowed: Sequence[str], what: str) -> list[str]:
    names = [x.strip() for x in value.split(",") if x.strip()] if isinstance(value, str) else list(value)
    unknown = [x for x in names if x not in allowed]
    if unknown:
        raise ValueError(f"unknown snowball {what} {', '.join(unknown)}; use any of {', '.join(allowed)}")
    return list(dict.fromkeys(names))


class SnowballConfig(RunConfig):
    study: str = SNOWBALL_STUDY
    modes: list[str] = Field(default_factory=lambda: list(MODES), description="comma-separated: planted (a false "
                             "first turn, Zhong et al.), own (its own wrong answers checked, Zhang et al.)")
    kinds: list[str] = Field(default_factory=list, description="kinds of planted false statement, comma-separated: "
                             + ", ".join(KINDS) + " (default: every kind that fits the dataset)")
    max_tokens: int = Field(default=32, ge=1, description="new tokens per answer (greedy decoding)")

    @field_validator("modes", mode="before")
    @classmethod
    def _modes(cls, value):
        names = _names(value, MODES, "mode(s)")
        if not names:
            raise ValueError(f"no snowball mode given; use any of {', '.join(MODES)}")
        return names

    @field_validator("kinds", mode="before")
    @classmethod
    def _kinds(cls, value):
        return _names(value, list(KINDS), "kind(s)")


class Verification(BaseModel):
    """One verification request of an own-answer record and its reply."""

    model_config = ConfigDict(extra="forbid")

    prompt: list[dict[str, Any]]
    output: Output


class SnowballExtras(BaseModel):
    """A planted / clean record: the plan of its kind (its clean twin holds the same plan); an
    own-answer record: the claim verified and the two verification requests (None when right)."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["planted", "own"]
    kind: str | None = None
    condition: Literal["clean", "planted"] | None = None
    false_statement: str | None = None  # the planted assistant turn (sent only in the planted variant)
    false_answer: str | None = None  # the answer it claims, read as the follow-up is graded
    follow_up: str | None = None
    target: Sample | None = None  # the follow-up as a gradable question
    claim: str | None = None  # own: the claim verified (answer_key of the extracted answer)
    alone: Verification | None = None
    in_context: Verification | None = None


SnowballRecord = SampleRecord[SnowballExtras]


class SnowballStudy(Study):
    """Planted false turns (variants ``<kind>/clean`` and ``<kind>/planted``) and own answers
    (variant ``own``). On an image dataset a sample is one image (the first row of it, its
    objects the union of its rows'; ``--limit`` counts images) and the object vocabulary comes
    from the whole split; on a text dataset a sample is a row."""

    name = SNOWBALL_STUDY
    title = "Hallucination snowballing"
    config_class = SnowballConfig
    extras_class = SnowballExtras

    def __init__(self):
        self._plans: dict[tuple[str, str], dict[str, Any]] = {}
        self._kinds: list[str] | None = None

    # ------------------------------------------------------------------------------ inputs
    def load_samples(self, config: SnowballConfig) -> list[Sample]:
        if config.lang != "en":
            raise SnowballError("The snowball wordings are English only.", "use --lang en")
        rows = self.rows(config, lang="en")
        own = OWN in config.modes
        gradable = [r for r in rows if r.answer is not None and r.answer_type in GRADABLE]
        pool = _images(rows, own) if any(r.images for r in rows) else (gradable if own else rows)
        if not pool:
            what = "images with object annotations" if any(r.images for r in rows) else "rows"
            raise SnowballError(f"'{config.dataset}' has no {what}" + (" with a gradable answer (own answers)"
                                                                       if own else "") + ".",
                                "use demo-images, an image-manifest with 'objects', or a dataset of multiple-choice, "
                                "yes/no or short-answer questions" + (" (or --snowball-modes planted)" if own else ""))
        vocabulary = sorted({o for s in pool for o in s.metadata.get("objects") or []})
        others = {s.id: wrong_answers(s, rows) for s in pool if s.answer_type == "short"}
        kinds: list[str] = []
        if "planted" in config.modes:
            fit = {s.id: [k for k in applicable_kinds(s, others.get(s.id, ())) if k != "absent-object"
                          or set(vocabulary) - set(s.metadata.get("objects") or [])] for s in pool}
            kinds = list(config.kinds) or fit[pool[0].id]
            if not kinds:
                raise SnowballError(f"No kind of false statement fits '{config.dataset}'.",
                                    "use a dataset of images with objects, multiple-choice / yes-no questions or "
                                    "short answers, or --snowball-modes own")
            kept = [s for s in pool if all(k in fit[s.id] for k in kinds)]
            if not kept:
                fits = sorted({k for ks in fit.values() for k in ks})
                raise SnowballError(f"The kind(s) {', '.join(kinds)} fit no sample of '{config.dataset}'.",
                                    f"choose from: {', '.join(fits) or 'none'} (--snowball-kinds)")
            pool = kept
        chosen = pool[:config.limit] if config.limit else pool
        self._kinds = kinds
        self._plans = {(s.id, k): build_plan(s, k, config.seed, vocabulary, others.get(s.id, ()))
                       for s in chosen for k in kinds}
        return chosen

    def variants(self, config: SnowballConfig) -> list[str | None]:
        kinds = self._kinds if self._kinds is not None else list(config.kinds)
        planted = [variant_name(k, c) for k in kinds for c in CONDITIONS] if "planted" in config.modes else []
        return [*planted, *([OWN] if OWN in config.modes else [])]

    # ---------------------------------------------------------------------------- generate
    def generate(self, backend: Backend, batch: Sequence[Unit], ctx: Context) -> list[SampleRecord]:
        """Every first request of the batch at once (the same prompt asked once), then the
        verification requests of the own answers that are wrong."""
        config: SnowballConfig = ctx.config
        firsts, extras = [], []
        for u in batch:
            if u.variant == OWN:
                firsts.append(question_messages(u.sample))
                extras.append(SnowballExtras(mode="own"))
                continue
            kind, condition = u.variant.split("/")
            plan = self._plans[(u.sample.id, kind)]
            firsts.append(conversation(plan, condition, u.sample.images))
            extras.append(SnowballExtras(mode="planted", kind=kind, condition=condition, follow_up=plan["follow_up"],
                                         false_statement=plan["false_statement"],
                                         false_answer=plan["false_answer"], target=plan["target"]))
        replies = ask(backend, firsts, config)
        checks: list[tuple[int, str, list[dict]]] = []
        for i, (u, reply) in enumerate(zip(batch, replies)):
            if u.variant != OWN:
                continue
            answer, correct = grade(u.sample, reply.text)
            if answer is None or correct:
                continue
            extras[i].claim = claim_text(u.sample, answer)
            for side, messages in verification_messages(u.sample, firsts[i], reply.text, extras[i].claim).items():
                checks.append((i, side, messages))
        for (i, side, messages), out in zip(checks, ask(backend, [m for _, _, m in checks], config)):
            setattr(extras[i], side, Verification(prompt=messages, output=Output.of(out)))
        return [self.record(u, prompt=m, prompt_hash=prompt_hash(m), outputs=[Output.of(r)], extras=e)
                for u, m, r, e in zip(batch, firsts, replies, extras)]

    # ------------------------------------------------------------------------------- score
    def score(self, records: list[SampleRecord], ctx: Context) -> list[SampleRecord]:
        """Planted / clean: the follow-up's answer, right or not, and whether it states the planted
        false answer. Own: right or not, and the verdicts on the claim when it is the claim verified."""
        from medtrust.reasoning.grading import answer_key
        for r in records:
            text, e = response(r), r.extras
            if e.mode == OWN:
                answer, correct = grade(r.sample, text)
                claim = claim_text(r.sample, answer) if answer is not None else None
                same = claim is not None and claim == e.claim and e.alone is not None and e.in_context is not None
                r.scores = {"answer": answer_key(answer), "correct": correct, "answered": answer is not None,
                            "error": answer is not None and not correct, "claim": claim,
                            "alone": verdict(e.alone.output.text) if same else None,
                            "in_context": verdict(e.in_context.output.text) if same else None}
            else:
                answer, correct = grade(e.target, text)
                r.scores = {"answer": answer_key(answer), "correct": correct, "answered": answer is not None,
                            "follows_false": states(e.target, answer, e.false_answer)}
        return records

    def summarize(self, records: list[SampleRecord], ctx: Context) -> dict[str, Any]:
        out: dict[str, Any] = {"samples": metric(len({r.sample_id for r in records}))}
        planted = [r for r in records if r.extras.mode == "planted"]
        if planted:
            by_kind = pairs_by_kind(planted)
            out["planted"] = {k: planted_metrics(p) for k, p in by_kind.items()}
            out["planted"]["overall"] = planted_metrics([p for ps in by_kind.values() for p in ps])
        own = [r.scores for r in records if r.extras.mode == OWN]
        if own:
            out["own"] = own_metrics(own)
        return out

    # ------------------------------------------------------------------------------ report
    def report_sections(self, run, records: list[SampleRecord], results: dict) -> list:
        from medtrust.hallucination.snowball_report import snowball_sections
        return snowball_sections(records, results)

    def browse_row(self, record: SampleRecord) -> dict[str, Any]:
        e = record.extras
        return {"id": record.id, "kind": e.kind or OWN, "condition": e.condition or "",
                "question": (e.follow_up or record.sample.question)[:100], "answer": record.scores.get("answer"),
                "correct": record.scores.get("correct"), "response": response(record)[:120]}


def ask(backend: Backend, conversations: list[list[dict]], config: SnowballConfig) -> list[Completion]:
    """One greedy completion per conversation; a conversation repeated in the list is sent once."""
    return ask_once(backend, conversations, config.max_tokens, config.seed)


def _images(rows: list[Sample], own: bool) -> list[Sample]:
    """One sample per image: its first row (the first gradable one for own answers), with the
    union of its rows' objects; images without objects are left out."""
    by_image: dict[str, list[Sample]] = {}
    for r in rows:
        if r.images:
            by_image.setdefault(r.images[0], []).append(r)
    out = []
    for group in by_image.values():
        objects = sorted({str(o).strip().lower() for r in group for o in r.metadata.get("objects") or []
                          if str(o).strip()})
        usable = [r for r in group if r.answer is not None and r.answer_type in GRADABLE] if own else group
        if objects and usable:
            out.append(usable[0].model_copy(update={"metadata": {**usable[0].metadata, "objects": objects}}))
    return out


def wrong_answers(sample: Sample, rows: Sequence[Sample]) -> list[str]:
    """The other short-answer rows' gold answers that are wrong for ``sample``, those of its own
    specialty (metadata) when there are any, so the planted answer is a plausible one."""
    golds = [r for r in rows if r.answer_type == "short" and r.answer and not grade(sample, r.answer)[1]]
    same = [r for r in golds if r.metadata.get("specialty") and
            r.metadata.get("specialty") == sample.metadata.get("specialty")]
    return sorted({r.answer for r in same or golds})


def response(record: SampleRecord) -> str:
    return record.outputs[0].text if record.outputs else ""


def pairs_by_kind(records: Sequence[SampleRecord]) -> dict[str, list[dict[str, Any]]]:
    """Per kind, the samples that have both a clean and a planted record: {"clean", "planted",
    "records"} (scores, and the two records)."""
    found: dict[str, dict[str, dict[str, SampleRecord]]] = {}
    for r in records:
        found.setdefault(r.extras.kind, {}).setdefault(r.sample_id, {})[r.extras.condition] = r
    order = [k for k in KINDS if k in found]
    return {k: [{"clean": pair["clean"].scores, "planted": pair["planted"].scores, "records": pair}
                for pair in found[k].values() if set(pair) == set(CONDITIONS)] for k in order}


__all__ = ["SnowballConfig", "SnowballExtras", "SnowballStudy", "SNOWBALL_STUDY", "IMAGE_KINDS"]
