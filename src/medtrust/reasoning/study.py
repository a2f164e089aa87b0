"""The `reasoning` study: strategies (direct, cot, few-shot-cot, sc:N, think) or lm-eval style
log-likelihood scoring, answer extraction and grading, early-answering faithfulness.

samples.jsonl holds one record per (question, strategy), id ``"<sample id>::<strategy>"``
(``"<sample id>::loglik"`` for --scoring loglik). A batch's records are written together, and
on --resume a question is only asked again under the strategies it has no record for.
"""

from __future__ import annotations

from typing import Any, Literal, Sequence

from pydantic import Field, field_validator

from medtrust.config import RunConfig
from medtrust.data.schema import LETTERS, Sample
from medtrust.errors import MedtrustError
from medtrust.models.base import Backend, Capability, Completion, GenerationRequest, LoglikRequest
from medtrust.reasoning import faithfulness as fa
from medtrust.reasoning.extract import split_think
from medtrust.reasoning.grading import answer_key, extract_for, from_key, is_correct
from medtrust.reasoning.harness import TARGET_DELIMITER, gold_index, harness_request, pick
from medtrust.reasoning.strategies import (
    Strategy,
    answer_now_messages,
    build_messages,
    default_max_tokens,
    parse_strategies,
)
from medtrust.reasoning.vote import majority_vote
from medtrust.runs.execute import Study
from medtrust.runs.folder import RunFolder
from medtrust.runs.generate import prompt_hash


class ReasoningConfig(RunConfig):
    study: str = "reasoning"
    dataset: str = "demo-mcq"
    strategies: str = Field(default="direct,cot", description="comma-separated: direct, cot, few-shot-cot, "
                                                               "sc:N, think")
    scoring: Literal["generate", "loglik"] = "generate"
    max_tokens: int | None = Field(default=None, ge=1, description="new tokens of a chain of thought "
                                                                  "(default: per strategy and model)")
    direct_max_tokens: int | None = Field(default=None, ge=1, description="new tokens of a direct answer")
    batch_size: int = Field(default=32, ge=1, description="questions per batch (all their strategies "
                                                          "are generated together, then written)")
    temperature: float = Field(default=0.0, ge=0.0, description="for direct, cot, few-shot-cot, think")
    sc_temperature: float = Field(default=0.7, gt=0.0, description="for the samples of sc:N")
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    shots: int = Field(default=3, ge=1, description="worked examples for few-shot-cot")
    faithfulness: bool = True
    early_fractions: list[float] = Field(default_factory=lambda: list(fa.FRACTIONS))
    early_max_tokens: int = Field(default=16, ge=1)
    early_limit: int | None = Field(default=None, ge=0, description="chains of thought per strategy that get "
                                    "early answering; 0 = all; default all (embedded model: the first 32)")

    @field_validator("strategies")
    @classmethod
    def _known(cls, v: str) -> str:
        return ",".join(s.name for s in parse_strategies(v))

    @field_validator("early_fractions")
    @classmethod
    def _fractions(cls, v: list[float]) -> list[float]:
        if not v or any(not 0 <= f <= 1 for f in v) or sorted(v) != v:
            raise ValueError("early_fractions must be increasing numbers in [0, 1]")
        return v


def sample_dict(sample: Sample) -> dict[str, Any]:
    """The fields grading needs, saved with each record so runs can be re-scored offline."""
    return sample.model_dump(exclude={"context", "images"})


class ReasoningStudy(Study):
    name = "reasoning"
    title = "Reasoning"
    config_class = ReasoningConfig

    def __init__(self):
        self._train: dict[tuple, tuple[list[Sample] | None, str]] = {}

    def needs(self, config: ReasoningConfig) -> set[Capability]:
        return {Capability.CHOICE_LOGLIK} if config.scoring == "loglik" else set()

    def load_samples(self, config: ReasoningConfig) -> list[Sample]:
        """The dataset's samples; image questions cannot be scored by log-likelihood (checked
        before a model is loaded or a run folder made)."""
        samples = super().load_samples(config)
        if config.scoring == "loglik" and any(s.images for s in samples):
            raise MedtrustError(f"Dataset '{config.dataset}' has image questions; --scoring loglik scores text "
                                "continuations the lm-evaluation-harness way and would ignore the images.",
                                "use --scoring generate (the default) for image datasets")
        return samples

    # ------------------------------------------------------------------------------ process
    def process(self, backend: Backend, samples: Sequence[Sample], config: ReasoningConfig,
                run: RunFolder) -> list[dict[str, Any]]:
        done = run.done_ids()
        if config.scoring == "loglik":
            return self._loglik(backend, [s for s in samples if f"{s.id}::loglik" not in done], config)
        strategies = parse_strategies(config.strategies)
        jobs = [(s, st) for s in samples for st in strategies if f"{s.id}::{st.name}" not in done]
        if not jobs:
            return []
        logprobs = Capability.LOGPROBS in backend.capabilities
        prompts, requests = [], []
        for sample, st in jobs:
            messages = build_messages(sample, st, config.lang, self._examples(sample, st, config))
            prompts.append(messages)
            requests.append(GenerationRequest(
                messages=messages, n=st.samples, temperature=config.sc_temperature if st.kind == "sc"
                else config.temperature, top_p=config.top_p, max_tokens=_max_tokens(st, config), seed=config.seed,
                logprobs=logprobs))
        outputs = backend.generate(requests)
        tokenizer = getattr(backend, "tokenizer", None)
        records = [self._record(s, st, m, outs, config, tokenizer)
                   for (s, st), m, outs in zip(jobs, prompts, outputs)]
        if config.faithfulness:
            self._early_answering(backend, jobs, prompts, records, config, tokenizer, _early_counts(run))
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
        from medtrust.reasoning.examples import TRAIN_SPLITS
        key = (config.dataset, config.data_path, config.lang)
        if key not in self._train:
            spec = get_spec(config.dataset)
            evaluated = config.split or spec.default_split
            split = next((s for s in TRAIN_SPLITS if s in spec.splits and s != evaluated), None)
            rows = load_dataset(config.dataset, path=config.data_path, split=split,
                                lang=config.lang) if split else None
            self._train[key] = (rows, f"{split} split" if split else "written")
        return self._train[key]

    def _record(self, sample: Sample, st: Strategy, messages: list[dict], outs: list[Completion],
                config: ReasoningConfig, tokenizer) -> dict[str, Any]:
        parsed = [_parse_completion(sample, st, c, tokenizer) for c in outs]
        for p in parsed:
            p["correct"] = is_correct(sample, from_key(sample, p["extracted"]))
        rec: dict[str, Any] = {
            "id": f"{sample.id}::{st.name}", "sample_id": sample.id, "strategy": st.name, "kind": st.kind,
            "question": sample.question, "gold": sample.answer, "gold_text": sample.answer_text(),
            "answer_type": sample.answer_type, "sample": sample_dict(sample), "images": list(sample.images),
            "prompt": messages, "prompt_hash": prompt_hash(messages),
            "output_tokens": sum(p["tokens"] or 0 for p in parsed),
        }
        if st.kind == "sc":
            vote = majority_vote([p["extracted"] for p in parsed], [p["logprob"] for p in parsed])
            first = parsed[0]
            rec.update(raw_output=first["text"], trace=first["trace"], samples=parsed, vote=vote,
                       extracted=vote["answer"], trace_tokens=_mean([p["trace_tokens"] for p in parsed]),
                       self_corrections=_sum_counts(p["self_corrections"] for p in parsed))
        else:
            p = parsed[0]
            rec.update(raw_output=p["text"], trace=p["trace"], extracted=p["extracted"],
                       trace_tokens=p["trace_tokens"], finish_reason=p["finish_reason"], logprob=p["logprob"],
                       self_corrections=p["self_corrections"])
        rec["extraction_failed"] = rec["extracted"] is None
        rec["correct"] = is_correct(sample, from_key(sample, rec["extracted"]))
        if st.kind == "few-shot-cot":
            rec["few_shot_source"] = self._train_split(config)[1]
        return rec

    def _early_answering(self, backend: Backend, jobs, prompts, records, config: ReasoningConfig,
                         tokenizer, done: dict[str, int]) -> None:
        """Cut each greedy chain of thought, force an answer at every cut, record the curve
        (for at most ``early_limit`` chains per strategy; ``done`` counts those already saved)."""
        limit = early_limit(config)
        plans = []
        for (sample, st), messages, rec in zip(jobs, prompts, records):
            if st.faithfulness and rec["trace"] and rec["extracted"] is not None:
                if limit and done.get(st.name, 0) >= limit:
                    continue
                done[st.name] = done.get(st.name, 0) + 1
                texts, kept, unit = fa.plan_truncations(rec["trace"], config.early_fractions, tokenizer)
                plans.append((sample, rec, kept, unit, [answer_now_messages(messages, t, sample, config.lang)
                                                         for t in texts]))
        if not plans:
            return
        requests = [GenerationRequest(messages=m, n=1, temperature=0.0, max_tokens=config.early_max_tokens,
                                      seed=config.seed) for *_, msgs in plans for m in msgs]
        outputs = iter(backend.generate(requests))
        for sample, rec, kept, unit, msgs in plans:
            texts = [next(outputs)[0].text for _ in msgs]
            answers = [answer_key(extract_for(sample, t)) for t in texts]
            rec["early"] = fa.early_answering_result(config.early_fractions, kept, texts, answers,
                                                     rec["extracted"], unit)

    def _loglik(self, backend: Backend, samples: Sequence[Sample], config: ReasoningConfig) -> list[dict]:
        if not samples:
            return []
        asks = [harness_request(s, config.dataset) for s in samples]
        results = backend.loglik([LoglikRequest(ctx, tuple(TARGET_DELIMITER + c for c in choices))
                                  for ctx, choices in asks])
        records = []
        for s, (ctx, choices), res in zip(samples, asks, results):
            lls = [r.logprob for r in res]
            pred, pred_norm = pick(lls, choices)
            gold = gold_index(s, choices)
            names = list(LETTERS[:len(choices)]) if s.answer_type == "mcq" else choices
            records.append({
                "id": f"{s.id}::loglik", "sample_id": s.id, "strategy": "loglik", "kind": "loglik",
                "question": s.question, "gold": s.answer, "gold_text": s.answer_text(), "answer_type": s.answer_type,
                "sample": sample_dict(s), "context": ctx, "continuations": [TARGET_DELIMITER + c for c in choices],
                "logprobs": lls, "num_tokens": [r.num_tokens for r in res], "is_greedy": [r.is_greedy for r in res],
                "extracted": names[pred], "extracted_norm": names[pred_norm], "correct": pred == gold,
                "correct_norm": pred_norm == gold, "extraction_failed": False, "output_tokens": 0})
        return records

    # ----------------------------------------------------------------------- results/report
    def summarize(self, records: list[dict], config: ReasoningConfig) -> dict[str, Any]:
        from medtrust.reasoning.metrics import summarize
        return summarize(records, config)

    def rescore_record(self, record: dict[str, Any], config: ReasoningConfig, run: RunFolder) -> dict[str, Any]:
        """Extract and grade the saved outputs again (e.g. after an extraction fix); no model needed."""
        from medtrust.reasoning.rescore import rescore_record
        return rescore_record(record)

    def report_sections(self, run: RunFolder, records: list[dict], results: dict) -> list:
        from medtrust.reasoning.report import sections
        return sections(records, results)

    def browse_row(self, record: dict) -> dict[str, Any]:
        return {"id": record["id"], "strategy": record.get("strategy"), "question": record.get("question", ""),
                "gold": record.get("gold"), "extracted": record.get("extracted"),
                "correct": record.get("correct"), "tokens": record.get("output_tokens"),
                "trace": record.get("trace") or "", "output": record.get("raw_output", record.get("context", ""))}


EMBEDDED_EARLY_LIMIT = 32  # 5 forced answers per chain: on a CPU the embedded model gets a sample


def early_limit(config: ReasoningConfig) -> int:
    """How many chains per strategy get early answering (0 = every one)."""
    if config.early_limit is not None:
        return config.early_limit
    return EMBEDDED_EARLY_LIMIT if config.model == "embedded" else 0


def _early_counts(run: RunFolder) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in run.samples():
        if r.get("early"):
            counts[r["strategy"]] = counts.get(r["strategy"], 0) + 1
    return counts


def _max_tokens(st: Strategy, config: ReasoningConfig) -> int:
    given = config.direct_max_tokens if st.kind == "direct" else config.max_tokens
    return given or default_max_tokens(st.kind, config.model)


def _parse_completion(sample: Sample, st: Strategy, c: Completion, tokenizer) -> dict[str, Any]:
    """Trace, extracted answer, token counts and self-corrections of one completion. The trace is
    the provider's separate reasoning field, else an inline <think> block, else (chain-of-thought
    strategies) the output without its closing answer line."""
    inline, _ = split_think(c.text)
    trace = c.reasoning or inline or (fa.reasoning_trace(c.text) if st.reasons else None)
    trace = trace or None
    extracted = answer_key(extract_for(sample, c.text))
    return {"text": c.text, "reasoning": c.reasoning, "trace": trace, "extracted": extracted,
            "tokens": len(c.token_ids) if c.token_ids else None,
            "trace_tokens": len(fa.split_units(trace, tokenizer)[0]) if trace else 0,
            "logprob": float(sum(c.token_logprobs)) if c.token_logprobs else None,
            "finish_reason": c.finish_reason, "self_corrections": fa.count_self_corrections(trace)}


def _mean(values: list[float]) -> float:
    return float(sum(values) / len(values)) if values else 0.0


def _sum_counts(counts) -> dict[str, int]:
    total: dict[str, int] = {}
    for c in counts:
        for k, v in c.items():
            total[k] = total.get(k, 0) + v
    return total
