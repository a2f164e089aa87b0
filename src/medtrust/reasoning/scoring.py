"""Scoring reasoning records from their saved outputs (no model): traces, extracted answers,
grades, self-consistency votes and the early-answering curve. A run and ``--rescore`` run this.

A generated record's ``scores``: ``extracted`` (the answer key), ``correct``,
``extraction_failed``, ``output_tokens``, ``trace``, ``trace_tokens``, ``self_corrections``; one
sample also ``finish_reason`` and ``logprob``; ``sc:N`` also ``samples`` (each sample's own
fields) and ``vote``; a chain of thought cut for early answering also ``early`` (each cut's
forced answer, whether it matches, the AOC). A log-likelihood record: ``extracted`` /
``extracted_norm`` and ``correct`` / ``correct_norm`` (lm-evaluation-harness acc and acc_norm).
"""

from __future__ import annotations

from typing import Any

from medtrust.data.schema import LETTERS, Sample
from medtrust.reasoning import faithfulness as fa
from medtrust.reasoning.extract import lists_options_unanswered, split_think
from medtrust.reasoning.grading import answer_key, extract_for, from_key, is_correct
from medtrust.reasoning.harness import TARGET_DELIMITER, gold_index, pick
from medtrust.reasoning.numbers import stated_number
from medtrust.reasoning.strategies import Strategy, parse_strategies
from medtrust.reasoning.vote import majority_vote


def trace_of(strategy: Strategy, text: str, reasoning: str | None) -> str | None:
    """The reasoning trace of an output: the provider's separate reasoning field, else an inline
    <think> block, else (chain-of-thought strategies) the output without its closing answer line."""
    inline, _ = split_think(text)
    trace = reasoning or inline or (fa.reasoning_trace(text) if strategy.reasons else None)
    return trace or None


def parse_output(sample: Sample, strategy: Strategy, output, trace_tokens: int) -> dict[str, Any]:
    """Trace, extracted answer, grade, token counts and self-corrections of one saved output."""
    trace = trace_of(strategy, output.text, output.reasoning)
    extracted = answer_key(extract_for(sample, output.text))
    if output.finish_reason == "length":  # cut off by the token limit: only an answer it states counts
        if sample.answer_type == "mcq" and lists_options_unanswered(output.text, sample.choices):
            extracted = None  # an option list, or a walk through the options, names no answer
        elif sample.answer_type == "numeric":
            extracted = answer_key(stated_number(output.text))
    return {"text": output.text, "reasoning": output.reasoning, "trace": trace, "extracted": extracted,
            "tokens": output.tokens, "trace_tokens": trace_tokens if trace else 0, "logprob": output.logprob,
            "finish_reason": output.finish_reason, "self_corrections": fa.count_self_corrections(trace),
            "correct": is_correct(sample, from_key(sample, extracted))}


def score_record(record) -> dict[str, Any]:
    """The scores of one reasoning record (see the module docstring)."""
    sample, x = record.sample, record.extras
    if x.kind == "loglik":
        return _loglik_scores(sample, x.loglik)
    strategy = parse_strategies(record.variant)[0]
    counts = x.trace_tokens or [0] * len(record.outputs)
    parsed = [parse_output(sample, strategy, o, t) for o, t in zip(record.outputs, counts)]
    scores: dict[str, Any] = {"output_tokens": sum(p["tokens"] or 0 for p in parsed)}
    if strategy.kind == "sc":
        vote = majority_vote([p["extracted"] for p in parsed], [p["logprob"] for p in parsed])
        scores.update(trace=parsed[0]["trace"], samples=parsed, vote=vote, extracted=vote["answer"],
                      trace_tokens=_mean([p["trace_tokens"] for p in parsed]),
                      self_corrections=_sum_counts(p["self_corrections"] for p in parsed))
    else:
        p = parsed[0]
        scores.update(trace=p["trace"], extracted=p["extracted"], trace_tokens=p["trace_tokens"],
                      finish_reason=p["finish_reason"], logprob=p["logprob"], self_corrections=p["self_corrections"])
    scores["extraction_failed"] = scores["extracted"] is None
    scores["correct"] = is_correct(sample, from_key(sample, scores["extracted"]))
    if x.early:
        points = x.early["points"]
        answers = [answer_key(extract_for(sample, p["output"])) for p in points]
        scores["early"] = fa.early_answering_result([p["fraction"] for p in points], [p["kept"] for p in points],
                                                    [p["output"] for p in points], answers, scores["extracted"],
                                                    x.early.get("unit", "tokens"))
    return scores


def _loglik_scores(sample: Sample, ll) -> dict[str, Any]:
    choices = [c.removeprefix(TARGET_DELIMITER) for c in ll.continuations]
    pred, pred_norm = pick(ll.logprobs, choices)
    gold = gold_index(sample, choices)
    names = list(LETTERS[:len(choices)]) if sample.answer_type == "mcq" else choices
    return {"extracted": names[pred], "extracted_norm": names[pred_norm], "correct": pred == gold,
            "correct_norm": pred_norm == gold, "extraction_failed": False, "output_tokens": 0}


def _mean(values: list[float]) -> float:
    return float(sum(values) / len(values)) if values else 0.0


def _sum_counts(counts) -> dict[str, int]:
    total: dict[str, int] = {}
    for c in counts:
        for k, v in c.items():
            total[k] = total.get(k, 0) + v
    return total
