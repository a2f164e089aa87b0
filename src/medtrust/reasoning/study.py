"""The `reasoning` study: strategies (direct, cot, few-shot-cot, sc:N, think; the variants) or
lm-eval style log-likelihood scoring, answer extraction and grading, early-answering faithfulness.

samples.jsonl holds one record per (question, strategy), id ``"<sample id>::<strategy>"``
(``"<sample id>::loglik"`` for --scoring loglik); a batch's questions are asked under every
strategy they have no record for in one call. ``generate`` makes the model calls (the answers,
then the forced answers of early answering); ``score`` (``reasoning/scoring.py``) extracts and
grades from the saved outputs, so ``--rescore`` needs no model.
"""

from __future__ import annotations

from typing import Any, Literal, Sequence

from pydantic import BaseModel, ConfigDict, Field, field_validator

from medtrust.config import RunConfig
from medtrust.data.schema import Sample
from medtrust.errors import MedtrustError
from medtrust.models.base import Backend, Capability, GenerationRequest, LoglikRequest, prompt_hash
from medtrust.reasoning import faithfulness as fa
from medtrust.reasoning.grading import answer_key, extract_for
from medtrust.reasoning.harness import TARGET_DELIMITER, harness_request
from medtrust.reasoning.scoring import score_record, trace_of
from medtrust.reasoning.strategies import (
    Strategy,
    answer_now_messages,
    build_messages,
    default_max_tokens,
    parse_strategies,
    strategies_help,
)
from medtrust.runs.records import Output, SampleRecord
from medtrust.studies import Context, Study, Unit

LOGLIK = "loglik"


class ReasoningConfig(RunConfig):
    study: str = "reasoning"
    dataset: str = "demo-mcq"
    strategies: str = Field(default="direct,cot", description="comma-separated: " + strategies_help())
    scoring: Literal["generate", "loglik"] = Field(default="generate", description="generate (strategies) or "
                                                   "loglik (choices scored by log-likelihood as lm-evaluation-harness)")
    max_tokens: int | None = Field(default=None, ge=1, description="new tokens of a chain of thought (default "
                                   "cot/few-shot-cot/sc 1024, think 2048; embedded model: 128 and 160)")
    direct_max_tokens: int | None = Field(default=None, ge=1, description="new tokens of a direct answer "
                                          "(default 32; embedded model: 16)")
    batch_size: int = Field(default=32, ge=1, description="questions per batch (all their strategies "
                                                          "are generated together, then written)")
    temperature: float = Field(default=0.0, ge=0.0, description="for direct, cot, few-shot-cot, think (0 = greedy)")
    sc_temperature: float = Field(default=0.7, gt=0.0, description="for the samples of sc:N")
    top_p: float = Field(default=1.0, gt=0.0, le=1.0, description="nucleus sampling mass")
    shots: int = Field(default=3, ge=1, description="worked examples for few-shot-cot")
    faithfulness: bool = Field(default=True, description="early answering on each greedy chain of thought")
    early_fractions: list[float] = Field(default_factory=lambda: list(fa.FRACTIONS),
                                         description="comma-separated shares of the chain kept before the forced "
                                         "answer")
    early_max_tokens: int = Field(default=16, ge=1, description="tokens of a forced early answer")
    early_limit: int | None = Field(default=None, ge=0, description="chains of thought per strategy that get "
                                    "early answering (0 = all; default all, embedded model: the first 32)")

    @field_validator("strategies")
    @classmethod
    def _known(cls, v: str) -> str:
        return ",".join(s.name for s in parse_strategies(v))

    @field_validator("early_fractions", mode="before")
    @classmethod
    def _split_fractions(cls, v):
        return [float(x) for x in v.split(",") if x.strip()] if isinstance(v, str) else v

    @field_validator("early_fractions")
    @classmethod
    def _fractions(cls, v: list[float]) -> list[float]:
        if not v or any(not 0 <= f <= 1 for f in v) or sorted(v) != v:
            raise ValueError("early_fractions must be increasing numbers in [0, 1]")
        return v


class LoglikChoices(BaseModel):
    """A question scored the lm-evaluation-harness way: the context, each continuation and its
    summed log-prob, token count and whether it is the greedy continuation."""

    model_config = ConfigDict(extra="forbid")

    context: str
    continuations: list[str]
    logprobs: list[float]
    num_tokens: list[int]
    is_greedy: list[bool]


class ReasoningExtras(BaseModel):
    """What a reasoning record holds besides its outputs."""

    model_config = ConfigDict(extra="forbid")

    kind: str  # the strategy kind (direct, cot, few-shot-cot, sc, think) or loglik
    few_shot_source: str | None = None  # where few-shot-cot's examples came from
    trace_tokens: list[int] = Field(default_factory=list)  # per output: its trace's length (generator tokens)
    early: dict[str, Any] | None = None  # the forced answers: {"unit", "points": [{"fraction", "kept", "output"}]}
    loglik: LoglikChoices | None = None


ReasoningRecord = SampleRecord[ReasoningExtras]


class ReasoningStudy(Study):
    name = "reasoning"
    title = "Reasoning"
    config_class = ReasoningConfig
    extras_class = ReasoningExtras

    def __init__(self):
        self._train: dict[tuple, tuple[list[Sample] | None, str]] = {}

    def needs(self, config: ReasoningConfig) -> set[Capability]:
        return {Capability.CHOICE_LOGLIK} if config.scoring == LOGLIK else set()

    def variants(self, config: ReasoningConfig) -> list[str | None]:
        if config.scoring == LOGLIK:
            return [LOGLIK]
        return [s.name for s in parse_strategies(config.strategies)]

    def load_samples(self, config: ReasoningConfig) -> list[Sample]:
        """The dataset's samples; image questions cannot be scored by log-likelihood (checked
        before a model is loaded or a run folder made)."""
        samples = super().load_samples(config)
        if config.scoring == LOGLIK and any(s.images for s in samples):
            raise MedtrustError(f"Dataset '{config.dataset}' has image questions; --scoring loglik scores text "
                                "continuations the lm-evaluation-harness way and would ignore the images.",
                                "use --scoring generate (the default) for image datasets")
        return samples

    # ----------------------------------------------------------------------------- generate
    def generate(self, backend: Backend, batch: Sequence[Unit], ctx: Context) -> list[ReasoningRecord]:
        config: ReasoningConfig = ctx.config
        if config.scoring == LOGLIK:
            return self._loglik(backend, batch, config)
        strategies = {s.name: s for s in parse_strategies(config.strategies)}
        logprobs = Capability.LOGPROBS in backend.capabilities
        tokenizer = getattr(backend, "tokenizer", None)
        prompts, requests = [], []
        for u in batch:
            st = strategies[u.variant]
            messages = build_messages(u.sample, st, config.lang, self._examples(u.sample, st, config))
            prompts.append(messages)
            requests.append(GenerationRequest(
                messages=messages, n=st.samples, temperature=config.sc_temperature if st.kind == "sc"
                else config.temperature, top_p=config.top_p, max_tokens=_max_tokens(st, config), seed=config.seed,
                logprobs=logprobs))
        outputs = backend.generate(requests)
        records = []
        for u, m, outs in zip(batch, prompts, outputs):
            st = strategies[u.variant]
            extras = ReasoningExtras(kind=st.kind, trace_tokens=[_trace_tokens(st, c, tokenizer) for c in outs],
                                     few_shot_source=self._train_split(config)[1] if st.kind == "few-shot-cot"
                                     else None)
            records.append(self.record(u, prompt=m, prompt_hash=prompt_hash(m), outputs=[Output.of(c) for c in outs],
                                       extras=extras))
        if config.faithfulness:
            self._early_answering(backend, batch, strategies, prompts, records, config, tokenizer, ctx)
        return records

    def _examples(self, sample: Sample, st: Strategy, config: ReasoningConfig):
        if st.kind != "few-shot-cot":
            return None
        from medtrust.reasoning.examples import few_shot_examples
        train, _ = self._train_split(config)
        return few_shot_examples(train, sample, config.lang, config.shots)

    def _train_split(self, config: ReasoningConfig) -> tuple[list[Sample] | None, str]:
        """The dataset's training split (for few-shot examples), loaded once; (None, "written")
        when it has none."""
        from medtrust.data.registry import get_spec, load_dataset
        key = (config.dataset, config.data_path, config.lang)
        if key not in self._train:
            spec = get_spec(config.dataset)
            split = spec.example_split(config.split or spec.default_split)
            rows = load_dataset(config.dataset, path=config.data_path, split=split,
                                lang=config.lang) if split else None
            self._train[key] = (rows, f"{split} split" if split else "written")
        return self._train[key]

    def _early_answering(self, backend: Backend, batch: Sequence[Unit], strategies: dict[str, Strategy], prompts,
                         records: list[ReasoningRecord], config: ReasoningConfig, tokenizer, ctx: Context) -> None:
        """Cut each greedy chain of thought, force an answer at every cut, save the forced answers
        (for at most ``early_limit`` chains per strategy, counting those already saved)."""
        limit = early_limit(config)
        done = ctx.components.setdefault("early_counts", _early_counts(ctx))
        plans = []
        for u, messages, rec in zip(batch, prompts, records):
            st = strategies[u.variant]
            out = rec.outputs[0]
            trace = trace_of(st, out.text, out.reasoning)
            if st.faithfulness and trace and answer_key(extract_for(u.sample, out.text)) is not None:
                if limit and done.get(st.name, 0) >= limit:
                    continue
                done[st.name] = done.get(st.name, 0) + 1
                texts, kept, unit = fa.plan_truncations(trace, config.early_fractions, tokenizer)
                plans.append((u.sample, rec, kept, unit, [answer_now_messages(messages, t, u.sample, config.lang)
                                                           for t in texts]))
        if not plans:
            return
        requests = [GenerationRequest(messages=m, n=1, temperature=0.0, max_tokens=config.early_max_tokens,
                                      seed=config.seed) for *_, msgs in plans for m in msgs]
        outputs = iter(backend.generate(requests))
        for _, rec, kept, unit, msgs in plans:
            texts = [next(outputs)[0].text for _ in msgs]
            rec.extras.early = {"unit": unit, "points": [{"fraction": f, "kept": k, "output": t} for f, k, t in
                                                         zip(config.early_fractions, kept, texts)]}

    def _loglik(self, backend: Backend, batch: Sequence[Unit], config: ReasoningConfig) -> list[ReasoningRecord]:
        from medtrust.data.registry import get_spec
        task = get_spec(config.dataset).harness_task
        asks = [harness_request(u.sample, task) for u in batch]
        results = backend.loglik([LoglikRequest(ctx, tuple(TARGET_DELIMITER + c for c in choices))
                                  for ctx, choices in asks])
        return [self.record(u, extras=ReasoningExtras(kind=LOGLIK, loglik=LoglikChoices(
                    context=c, continuations=[TARGET_DELIMITER + x for x in choices],
                    logprobs=[r.logprob for r in res], num_tokens=[r.num_tokens for r in res],
                    is_greedy=[r.is_greedy for r in res])))
                for u, (c, choices), res in zip(batch, asks, results)]

    # ------------------------------------------------------------------------ score/report
    def score(self, records: list[ReasoningRecord], ctx: Context) -> list[ReasoningRecord]:
        """Extract and grade every saved output (``reasoning/scoring.py``); no model needed."""
        for r in records:
            r.scores = score_record(r)
        return records

    def summarize(self, records: list[ReasoningRecord], ctx: Context) -> dict[str, Any]:
        from medtrust.reasoning.metrics import summarize
        return summarize(records, ctx.config)

    def report_sections(self, run, records: list[ReasoningRecord], results: dict) -> list:
        from medtrust.reasoning.report import sections
        return sections(records, results)

    def browse_row(self, record: ReasoningRecord) -> dict[str, Any]:
        s = record.scores
        output = record.outputs[0].text if record.outputs else (record.extras.loglik.context
                                                                 if record.extras.loglik else "")
        return {"id": record.id, "strategy": record.variant, "question": record.sample.question,
                "gold": record.sample.answer, "extracted": s.get("extracted"), "correct": s.get("correct"),
                "tokens": s.get("output_tokens"), "trace": s.get("trace") or "", "output": output}


EMBEDDED_EARLY_LIMIT = 32  # 5 forced answers per chain: on a CPU the embedded model gets a sample


def early_limit(config: ReasoningConfig) -> int:
    """How many chains per strategy get early answering (0 = every one)."""
    if config.early_limit is not None:
        return config.early_limit
    return EMBEDDED_EARLY_LIMIT if config.model == "embedded" else 0


def _early_counts(ctx: Context) -> dict[str, int]:
    """Chains per strategy that already have early answering in the run folder (a resumed run)."""
    counts: dict[str, int] = {}
    for r in ctx.run.samples():
        if (r.get("extras") or {}).get("early"):
            counts[r["variant"]] = counts.get(r["variant"], 0) + 1
    return counts


def _max_tokens(st: Strategy, config: ReasoningConfig) -> int:
    given = config.direct_max_tokens if st.kind == "direct" else config.max_tokens
    return given or default_max_tokens(st.kind, config.model)


def _trace_tokens(st: Strategy, c, tokenizer) -> int:
    """The length of an output's reasoning trace in the generator's tokens (words without a tokenizer)."""
    trace = trace_of(st, c.text, c.reasoning)
    return len(fa.split_units(trace, tokenizer)[0]) if trace else 0
