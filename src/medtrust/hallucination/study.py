"""The `hallucination` study: sample answers, cluster them by meaning, score every estimator and
measure how well each one predicts wrong answers (docs/hallucination.md).

A record's ``outputs`` are the N high-temperature samples; ``extras`` hold the graded
low-temperature answer, the self-assessment replies (P(True), confidence), the saved hidden
states, and what ``score`` adds: the cluster of each answer and the entailment matrix.
``scores`` hold ``correct`` and one value per estimator.
"""

from __future__ import annotations

import random
from typing import Any, Literal, Sequence

from pydantic import BaseModel, ConfigDict, Field, field_validator

from medtrust.config import RunConfig, cli_field
from medtrust.data.registry import get_spec, load_dataset
from medtrust.data.schema import Sample
from medtrust.errors import MedtrustError
from medtrust.hallucination.entailment import entailment_help
from medtrust.hallucination.estimators import ESTIMATORS, check_estimators, estimators_needing
from medtrust.models.base import Backend, Capability, prompt_hash
from medtrust.runs.records import Output, SampleRecord
from medtrust.stats import mean_metric, metric, rate_metric
from medtrust.studies import Context, Study, Unit, open_component

DEFAULT_ENTAILMENT = "embedding"


class HallucinationConfig(RunConfig):
    study: str = "hallucination"
    samples: int = Field(default=10, ge=2, description="high-temperature samples per question")
    temperature: float = Field(default=1.0, gt=0.0, description="temperature of the samples")
    low_temperature: float = Field(default=0.1, ge=0.0, description="temperature of the graded answer")
    max_tokens: int | None = Field(default=None, ge=1, description="new tokens per answer (default: 16 for a brief "
                                   "option letter or yes/no/maybe, 32 for other brief answers, 64 for a sentence)")
    prompt: Literal["brief", "sentence"] = Field(default="brief", description="answer style: brief or sentence")
    entailment: str = Field(default=DEFAULT_ENTAILMENT, description="how answers are grouped by meaning: "
                            + entailment_help())
    entailment_args: dict[str, Any] = Field(default_factory=dict, description="backend argument of the entailment "
                                            "model key=value (repeatable)",
                                            json_schema_extra=cli_field("-E", flag="--entailment-arg"))
    lenient: bool = Field(default=False, description="same meaning when neither direction contradicts (default: "
                          "both entail)", json_schema_extra=cli_field(flag="--lenient/--strict"))
    judge: str | None = Field(default=None, description="grade with llm/<model> instead of rules")
    judge_args: dict[str, Any] = Field(default_factory=dict, description="backend argument of the judge model "
                                       "key=value (repeatable)", json_schema_extra=cli_field("-J", flag="--judge-arg"))
    few_shot: int = Field(default=0, ge=0, description="worked examples from the train split")
    estimators: list[str] | None = Field(default=None, description="comma-separated subset of: "
                                         + ", ".join(ESTIMATORS) + " (default: all)")
    probe_position: Literal["slt", "tbg"] = Field(default="slt", description="slt or tbg (SEP features)")
    probe_layers: str = Field(default="mid", description="mid, last or a:b (SEP layers)")
    probe_train_share: float = Field(default=0.3, gt=0.0, lt=1.0, description="share of the rows that train the "
                                     "probe when the dataset has no train split")
    probe_train_limit: int | None = Field(default=None, ge=1, description="most train-split rows for the probe")
    max_context_chars: int = Field(default=6000, ge=100, description="context characters kept in the prompt")

    @field_validator("estimators", mode="before")
    @classmethod
    def _estimators(cls, value):
        if isinstance(value, str):
            value = [e.strip() for e in value.split(",") if e.strip()]
        return check_estimators(value) if value else None

    @field_validator("entailment")
    @classmethod
    def _entailment(cls, value: str) -> str:
        from medtrust.hallucination.entailment import parse_entailment
        parse_entailment(value)
        return value.strip()

    @field_validator("judge")
    @classmethod
    def _judge(cls, value: str | None) -> str | None:
        from medtrust.hallucination.correctness import check_judge
        check_judge(value)
        return value

    def wanted(self) -> list[str]:
        """The estimators asked for (all by default), validated."""
        return check_estimators(self.estimators)


class HallucinationExtras(BaseModel):
    """What a hallucination record holds besides the N samples (``outputs``)."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["eval", "train"] = "eval"
    low_t_answer: Output
    hidden: str | None = None  # arrays/<id>.npz: hidden states of the low-T answer (the probe's features)
    p_true_logprob: float | None = None
    p_true_method: str | None = None  # "loglik" or "generation"
    p_true_reply: str | None = None
    confidence: float | None = None
    confidence_reply: str | None = None
    # written by score()
    clusters: list[int] = Field(default_factory=list)
    low_t_cluster: int | None = None
    entailment_matrix: dict[str, Any] | None = None
    entailment: str | None = None
    strict: bool | None = None
    judge: str | None = None


HallucinationRecord = SampleRecord[HallucinationExtras]


def _wants_probe(config: HallucinationConfig) -> bool:
    """SEP runs when asked for and the model can give hidden states."""
    from medtrust.models.registry import declared_capabilities
    if "sep" not in config.wanted():
        return False
    return Capability.HIDDEN_STATES in declared_capabilities(config.model, config.model_args)


class HallucinationStudy(Study):
    name = "hallucination"
    title = "Hallucination detection"
    config_class = HallucinationConfig
    extras_class = HallucinationExtras
    rescore_options = ("entailment", "entailment_args", "lenient", "judge", "judge_args", "estimators",
                       "probe_position", "probe_layers")

    def __init__(self):
        self._roles: dict[str, str] = {}
        self._examples: list[Sample] = []

    # --------------------------------------------------------------------------- inputs
    def needs(self, config: HallucinationConfig) -> set[Capability]:
        needs = {Capability.LOGPROBS}
        if config.estimators and "sep" in config.estimators:
            needs.add(Capability.HIDDEN_STATES)
        return needs

    def resolve(self, config: HallucinationConfig, generator: Backend | None) -> dict[str, Any]:
        """Estimators, the entailment method (and its model) and the judge, before any generation."""
        from medtrust.hallucination.correctness import check_judge
        from medtrust.hallucination.entailment import parse_entailment, resolve_entailment
        config.wanted()
        method, rest = parse_entailment(config.entailment)
        judge_model = check_judge(config.judge)
        judge = open_component(judge_model, config.judge_args, f"The judge '{config.judge}'", generator,
                               config.model, config.model_args, config.cache) if judge_model else None
        backend = None
        if method.prefix == "llm":
            backend = open_component(rest, config.entailment_args, f"The entailment method '{config.entailment}'",
                                     generator, config.model, config.model_args, config.cache)
        entailment = resolve_entailment(config.entailment, backend=backend, nli_args=config.entailment_args)
        if method.prefix == "embedding":
            from medtrust.models.embedded import sentence_embedder
            sentence_embedder()
        return {"entailment": entailment, "judge": judge, "probe": {}}

    def load_samples(self, config: HallucinationConfig) -> list[Sample]:
        """Evaluation rows, plus the probe's training rows (role "train") when SEP runs: the
        dataset's train split if it has one, else a seeded share of the loaded rows."""
        rows = super().load_samples(config)
        spec = get_spec(config.dataset)
        split = config.split or spec.default_split
        has_train = spec.train_split is not None and split != spec.train_split
        train: list[Sample] = []
        if has_train and (config.few_shot or _wants_probe(config)):
            train = load_dataset(config.dataset, path=config.data_path, split=spec.train_split, seed=config.seed,
                                 lang=config.lang)
        elif config.few_shot:
            raise MedtrustError(f"--few-shot needs a train split, and '{config.dataset}' (split '{split}') has none.",
                                "drop --few-shot, or pick a dataset with a train split (e.g. demo-qa)")
        if config.few_shot:
            self._examples = random.Random(config.seed).sample(train, min(config.few_shot, len(train)))
            used = {s.id for s in self._examples}
            train = [s for s in train if s.id not in used]
        self._roles = {s.id: "eval" for s in rows}
        if not _wants_probe(config):
            return rows
        if has_train:
            train = train[:config.probe_train_limit] if config.probe_train_limit else train
            self._roles.update({s.id: "train" for s in train})
            return rows + train
        k = max(1, round(config.probe_train_share * len(rows)))
        chosen = set(random.Random(config.seed).sample(range(len(rows)), k)) if len(rows) > 1 else set()
        for i in chosen:
            self._roles[rows[i].id] = "train"
        return rows

    # ------------------------------------------------------------------------- sampling
    def generate(self, backend: Backend, batch: Sequence[Unit], ctx: Context) -> list[HallucinationRecord]:
        from medtrust.hallucination.sampling import SamplingPlan, sample_batch
        config: HallucinationConfig = ctx.config
        wanted = config.wanted()
        plan = SamplingPlan(samples=config.samples, temperature=config.temperature,
                            low_temperature=config.low_temperature, max_tokens=config.max_tokens,
                            style=config.prompt, lang=config.lang, seed=config.seed,
                            hidden_states=bool(estimators_needing("hidden_states", wanted))
                            and Capability.HIDDEN_STATES in backend.capabilities,
                            p_true=bool(estimators_needing("p_true", wanted)),
                            verbalized=bool(estimators_needing("confidence", wanted)),
                            max_context_chars=config.max_context_chars)
        parts = sample_batch(backend, [u.sample for u in batch], plan, self._examples)
        records = []
        for u, part in zip(batch, parts):
            hidden = part.get("hidden")
            extras = HallucinationExtras(
                role=self._roles.get(u.sample.id, "eval"), low_t_answer=Output.of(part["low_t_answer"]),
                hidden=ctx.run.save_arrays(u.sample.id, hidden) if hidden else None,
                **{k: part.get(k) for k in ("p_true_logprob", "p_true_method", "p_true_reply", "confidence",
                                            "confidence_reply")})
            records.append(self.record(u, prompt=part["messages"], prompt_hash=prompt_hash(part["messages"]),
                                       outputs=[Output.of(c) for c in part["answers"]], extras=extras))
        return records

    # -------------------------------------------------------------------------- scoring
    def score(self, records: list[HallucinationRecord], ctx: Context) -> list[HallucinationRecord]:
        """Clusters, correctness and estimators from the saved answers and log-probs (one entailment
        batch over the run), then the semantic entropy probe trained on the training rows."""
        from medtrust.hallucination.probes import fit_and_score
        from medtrust.hallucination.scoring import score_records
        config: HallucinationConfig = ctx.config
        c = ctx.components
        score_records(records, c["entailment"], strict=not config.lenient, judge=c["judge"], judge_name=config.judge,
                      estimators=config.wanted())
        if "sep" in config.wanted():
            c["probe"] = fit_and_score(records, ctx.run, position=config.probe_position, layers=config.probe_layers,
                                       seed=config.seed)
        return records

    def summarize(self, records: list[HallucinationRecord], ctx: Context) -> dict[str, Any]:
        from medtrust.hallucination.metrics import estimator_metrics
        config: HallucinationConfig = ctx.config
        seed = config.seed
        evaluated = [r for r in records if r.extras.role == "eval"]
        graded = [r for r in evaluated if r.scores.get("correct") is not None]
        out: dict[str, Any] = {
            "questions": metric(len(evaluated)),
            "graded": metric(len(graded), note=None if len(graded) == len(evaluated)
                             else "rows without a gold answer (or a judge) are not graded"),
            "accuracy": rate_metric([bool(r.scores["correct"]) for r in graded]),
            "clusters_per_question": mean_metric([r.scores.get("num_clusters") for r in evaluated], seed=seed),
        }
        probe = ctx.components.get("probe") or {}
        train_rows = sum(1 for r in records if r.extras.role == "train")
        if train_rows or probe:
            out["probe"] = {"train_rows": metric(train_rows, note=_split_note(config, records) or None),
                            **({"threshold": metric(probe["threshold"])} if "threshold" in probe else {}),
                            **({"note": probe["note"]} if "note" in probe else {})}
        names = [n for n in config.wanted() if any(n in r.scores for r in graded)]
        correct = [float(r.scores["correct"]) for r in graded]
        out["estimators"] = {n: estimator_metrics(correct, [r.scores.get(n) for r in graded], seed=seed)
                             for n in names}
        return out

    # ------------------------------------------------------------------------- report
    def report_sections(self, run, records: list[HallucinationRecord], results: dict) -> list:
        from medtrust.hallucination.report import sections
        return sections(records, results)

    def browse_row(self, record: HallucinationRecord) -> dict[str, Any]:
        se = record.scores.get("semantic_entropy")
        return {"id": record.id, "role": record.extras.role, "question": record.sample.question,
                "gold": record.sample.answer_text(), "low_t_answer": record.extras.low_t_answer.text,
                "correct": record.scores.get("correct"), "clusters": record.scores.get("num_clusters"),
                "semantic_entropy": None if se is None else round(se, 4)}


def _split_note(config: HallucinationConfig, records: list[HallucinationRecord]) -> str:
    """Where the probe's training rows came from (recomputed from the records, so a re-scored run says it too)."""
    train = sum(1 for r in records if r.extras.role == "train")
    evaluated = sum(1 for r in records if r.extras.role == "eval")
    if not train:
        return ""
    spec = get_spec(config.dataset)
    split = config.split or spec.default_split
    if spec.train_split is not None and split != spec.train_split:
        return f"probe trained on the '{config.dataset}' {spec.train_split} split ({train} rows)"
    return (f"'{config.dataset}' has no train split: {train} of the {train + evaluated} loaded rows "
            f"(seeded share {config.probe_train_share:g}, seed {config.seed}) train the probe; "
            f"every metric is on the other {evaluated}")


__all__ = ["HallucinationConfig", "HallucinationStudy", "HallucinationExtras", "HallucinationRecord", "ESTIMATORS"]
