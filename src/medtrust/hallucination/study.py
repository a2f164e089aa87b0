"""The `hallucination` study: sample answers, cluster them by meaning, score every estimator and
measure how well each one predicts wrong answers (DESIGN.md, "Hallucination")."""

from __future__ import annotations

import random
from typing import Any, Literal, Sequence

from pydantic import Field

from medtrust.config import RunConfig
from medtrust.data.registry import get_spec, load_dataset
from medtrust.data.schema import Sample
from medtrust.errors import MedtrustError
from medtrust.hallucination.estimators import ESTIMATORS
from medtrust.models.base import Backend, Capability
from medtrust.runs.execute import Study
from medtrust.runs.folder import RunFolder
from medtrust.runs.generate import prompt_hash
from medtrust.stats import mean_metric, metric

DEFAULT_ENTAILMENT = "embedding"


class HallucinationConfig(RunConfig):
    study: str = "hallucination"
    samples: int = Field(default=10, ge=2, description="high-temperature samples per question")
    temperature: float = Field(default=1.0, gt=0.0)
    low_temperature: float = Field(default=0.1, ge=0.0)
    max_tokens: int | None = Field(default=None, ge=1, description="default: 16 for a brief option letter or "
                                   "yes/no/maybe, 32 for other brief answers, 64 for a sentence")
    prompt: Literal["brief", "sentence"] = "brief"
    entailment: str = DEFAULT_ENTAILMENT
    lenient: bool = False
    judge: str | None = None
    few_shot: int = Field(default=0, ge=0)
    estimators: list[str] | None = None
    probe_position: Literal["slt", "tbg"] = "slt"
    probe_layers: str = "mid"
    probe_train_share: float = Field(default=0.3, gt=0.0, lt=1.0)
    probe_train_limit: int | None = Field(default=None, ge=1)
    max_context_chars: int = Field(default=6000, ge=100)

    def wanted(self) -> list[str]:
        """The estimators asked for (all by default), validated."""
        names = list(self.estimators) if self.estimators else list(ESTIMATORS)
        unknown = [n for n in names if n not in ESTIMATORS]
        if unknown:
            raise MedtrustError(f"Unknown estimator(s): {', '.join(unknown)}.", f"use any of: {', '.join(ESTIMATORS)}")
        return names


def _wants_probe(config: HallucinationConfig) -> bool:
    """SEP runs when asked for and the model can give hidden states (or cannot be known yet)."""
    from medtrust.models.registry import declared_capabilities
    if "sep" not in config.wanted():
        return False
    caps = declared_capabilities(config.model, config.model_args)
    return caps is None or Capability.HIDDEN_STATES in caps


class HallucinationStudy(Study):
    name = "hallucination"
    title = "Hallucination detection"
    config_class = HallucinationConfig

    def __init__(self):
        self._roles: dict[str, str] = {}
        self._examples: list[Sample] = []
        self._probe: dict[str, Any] = {}
        self._split_note = ""

    # --------------------------------------------------------------------------- inputs
    def needs(self, config: HallucinationConfig) -> set[Capability]:
        needs = {Capability.LOGPROBS}
        if config.estimators and "sep" in config.estimators:
            needs.add(Capability.HIDDEN_STATES)
        return needs

    def load_samples(self, config: HallucinationConfig) -> list[Sample]:
        """Evaluation rows, plus the probe's training rows (role "train") when SEP runs: the
        dataset's train split if it has one, else a seeded share of the loaded rows."""
        rows = super().load_samples(config)
        spec = get_spec(config.dataset)
        split = config.split or spec.default_split
        has_train = "train" in spec.splits and split != "train"
        train: list[Sample] = []
        if has_train and (config.few_shot or _wants_probe(config)):
            train = load_dataset(config.dataset, path=config.data_path, split="train", seed=config.seed,
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
            self._split_note = ""
            return rows
        if has_train:
            train = train[:config.probe_train_limit] if config.probe_train_limit else train
            self._roles.update({s.id: "train" for s in train})
            self._split_note = f"probe trained on the '{config.dataset}' train split ({len(train)} rows)"
            return rows + train
        k = max(1, round(config.probe_train_share * len(rows)))
        chosen = set(random.Random(config.seed).sample(range(len(rows)), k)) if len(rows) > 1 else set()
        for i in chosen:
            self._roles[rows[i].id] = "train"
        self._split_note = (f"'{config.dataset}' has no train split: {len(chosen)} of the {len(rows)} loaded rows "
                            f"(seeded share {config.probe_train_share:g}, seed {config.seed}) train the probe; "
                            f"every metric is on the other {len(rows) - len(chosen)}")
        return rows

    # ------------------------------------------------------------------------- sampling
    def process(self, backend: Backend, samples: Sequence[Sample], config: HallucinationConfig,
                run: RunFolder) -> list[dict[str, Any]]:
        from medtrust.hallucination.entailment import resolve_entailment
        from medtrust.hallucination.sampling import SamplingPlan, sample_batch
        from medtrust.hallucination.scoring import score_records

        wanted = config.wanted()
        caps = backend.capabilities
        plan = SamplingPlan(samples=config.samples, temperature=config.temperature,
                            low_temperature=config.low_temperature, max_tokens=config.max_tokens,
                            style=config.prompt, lang=config.lang, seed=config.seed,
                            hidden_states="sep" in wanted and Capability.HIDDEN_STATES in caps,
                            p_true="p_true" in wanted, verbalized="verbalized_confidence" in wanted,
                            max_context_chars=config.max_context_chars)
        parts = sample_batch(backend, samples, plan, self._examples)
        records = []
        for s, part in zip(samples, parts):
            hidden = part.pop("_hidden", None)
            rec = {"id": s.id, "role": self._roles.get(s.id, "eval"), "question": s.question,
                   "gold": s.answer_text(), "answer": s.answer, "aliases": list(s.aliases),
                   "answer_type": s.answer_type, "choices": s.choices, "images": list(s.images),
                   "metadata": s.metadata,
                   "prompt_hash": prompt_hash(part.pop("messages")), **part,
                   "hidden": run.save_arrays(s.id, hidden) if hidden else None}
            records.append(rec)
        entailment = resolve_entailment(config.entailment, **_entailment_args(config, backend))
        return score_records(records, entailment, strict=not config.lenient, judge=config.judge, estimators=wanted)

    # ---------------------------------------------------------------------- whole run
    def postprocess(self, records: list[dict[str, Any]], config: HallucinationConfig,
                    run: RunFolder) -> list[dict[str, Any]] | None:
        """Train the semantic entropy probe on the training rows and score every row with it."""
        from medtrust.hallucination.probes import fit_and_score
        if "sep" not in config.wanted():
            self._probe = {}
            return None
        self._probe = fit_and_score(records, run, position=config.probe_position, layers=config.probe_layers,
                                    seed=config.seed)
        return records

    def summarize(self, records: list[dict], config: HallucinationConfig) -> dict[str, Any]:
        from medtrust.hallucination.metrics import estimator_metrics
        evaluated = [r for r in records if r.get("role", "eval") == "eval"]
        graded = [r for r in evaluated if r.get("correct") is not None]
        out: dict[str, Any] = {
            "questions": metric(len(evaluated)),
            "graded": metric(len(graded), note=None if len(graded) == len(evaluated)
                             else "rows without a gold answer (or a judge) are not graded"),
            "accuracy": mean_metric([float(r["correct"]) for r in graded], seed=config.seed),
            "clusters_per_question": mean_metric([r["scores"].get("num_clusters") for r in evaluated
                                                  if r.get("scores")], seed=config.seed),
        }
        train_rows = sum(1 for r in records if r.get("role") == "train")
        if train_rows or self._probe:
            out["probe"] = {"train_rows": metric(train_rows, note=self._split_note or None),
                            **({"threshold": metric(self._probe["threshold"])} if "threshold" in self._probe else {}),
                            **({"note": self._probe["note"]} if "note" in self._probe else {})}
        names = [n for n in config.wanted() if any(n in (r.get("scores") or {}) for r in graded)]
        correct = [float(r["correct"]) for r in graded]
        out["estimators"] = {n: estimator_metrics(correct, [(r.get("scores") or {}).get(n) for r in graded],
                                                  seed=config.seed) for n in names}
        return out

    def rescore_record(self, record: dict[str, Any], config: HallucinationConfig, run: RunFolder) -> dict[str, Any]:
        """Clusters, correctness and estimators again under ``config`` (entailment, judge,
        strictness), from the saved answers and log-probs; the probe is retrained afterwards."""
        from medtrust.hallucination.entailment import resolve_entailment
        from medtrust.hallucination.scoring import score_records
        entailment = resolve_entailment(config.entailment, **_entailment_args(config, None))
        return score_records([record], entailment, strict=not config.lenient, judge=config.judge,
                             estimators=config.wanted())[0]

    # ------------------------------------------------------------------------- report
    def report_sections(self, run: RunFolder, records: list[dict], results: dict) -> list:
        from medtrust.hallucination.report import sections
        return sections(records, results)

    def browse_row(self, record: dict) -> dict[str, Any]:
        scores = record.get("scores") or {}
        return {"id": record["id"], "role": record.get("role", "eval"), "question": record.get("question", ""),
                "gold": record.get("gold"), "low_t_answer": record.get("low_t_answer", {}).get("text", ""),
                "correct": record.get("correct"), "clusters": scores.get("num_clusters"),
                "semantic_entropy": None if scores.get("semantic_entropy") is None
                else round(scores["semantic_entropy"], 4)}


def _entailment_args(config: HallucinationConfig, backend: Backend | None) -> dict[str, Any]:
    """Reuse the generator as the equivalence model when ``--entailment llm/<the same model>``."""
    if backend is not None and config.entailment == f"llm/{config.model}":
        return {"backend": backend}
    return {}
