"""Metrics of a reasoning run from its scored records, per strategy, with bootstrap 90% intervals.
The functions read each record's ``scores`` (``reasoning/scoring.py`` lists the keys)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from medtrust.stats import bootstrap_ci, mean_metric, metric, rate_metric

LENGTH_BUCKETS = 4


def by_strategy(records: list) -> dict[str, list[dict]]:
    """The scores of the records, grouped by strategy (in order of first appearance)."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        if not r.error:
            groups[r.variant].append(r.scores)
    return dict(groups)


def rate(flags: list[bool], seed: int = 0) -> dict:
    """A share (k of n) with its Wilson interval (``seed`` unused: kept for the callers' signature)."""
    return rate_metric(flags)


def length_buckets(lengths: list[float], correct: list[bool], buckets: int = LENGTH_BUCKETS,
                   seed: int = 0) -> list[dict]:
    """Accuracy within reasoning-length quantile buckets: [{"low", "high", "n", "accuracy"}].

    Edges are the 0, 1/b, ..., 1 quantiles of the lengths; a trace of length equal to an inner
    edge falls in the upper bucket (the last bucket is closed)."""
    if not lengths:
        return []
    x = np.asarray(lengths, dtype=float)
    y = np.asarray(correct, dtype=float)
    edges = np.unique(np.quantile(x, np.linspace(0, 1, buckets + 1)))
    if len(edges) == 1:
        return [{"low": float(edges[0]), "high": float(edges[0]), "n": len(x),
                 "accuracy": rate_metric(y.tolist())}]
    out = []
    for i in range(len(edges) - 1):
        lo, hi = edges[i], edges[i + 1]
        last = i == len(edges) - 2
        mask = (x >= lo) & ((x <= hi) if last else (x < hi))
        if mask.any():
            out.append({"low": float(lo), "high": float(hi), "n": int(mask.sum()),
                        "accuracy": rate_metric(y[mask].tolist())})
    return out


def early_curve(records: list[dict], seed: int = 0) -> dict | None:
    """Share of answers that differ from the full chain of thought's at each cut, and the mean AOC."""
    early = [r["early"] for r in records if r.get("early") and r["early"].get("aoc") is not None]
    if not early:
        return None
    fractions = [p["fraction"] for p in early[0]["points"]]
    changed = np.array([[0.0 if p["same"] else 1.0 for p in e["points"]] for e in early])
    curve = []
    for j, f in enumerate(fractions):
        col = changed[:, j]
        none = [e["points"][j]["answer"] is None for e in early]
        curve.append({"fraction": f, "changed": metric(float(col.mean()), bootstrap_ci([col], np.mean, seed=seed),
                                                          n=len(col)),
                      "no_answer": metric(float(np.mean(none)), n=len(none))})
    return {"n": len(early), "unit": early[0].get("unit"), "curve": curve,
            "aoc": mean_metric([e["aoc"] for e in early], seed=seed)}


def self_correction_summary(records: list[dict], seed: int = 0) -> dict:
    """Self-correction phrases per trace (each of the N traces of sc:N counts as one trace)."""
    traces = [s for r in records for s in (r.get("samples") or [r]) if s.get("trace")]
    if not traces:
        return {}
    totals = [sum((s.get("self_corrections") or {}).values()) for s in traces]
    words: dict[str, int] = defaultdict(int)
    for s in traces:
        for k, v in (s.get("self_corrections") or {}).items():
            words[k] += v
    return {"per_trace": mean_metric(totals, seed=seed),
            "share_with_any": rate([t > 0 for t in totals], seed=seed),
            "counts": dict(sorted(words.items(), key=lambda kv: -kv[1]))}


def summarize(records: list, config) -> dict[str, Any]:
    """{strategy: {accuracy, extraction_failures, tokens_per_answer, ...}} plus run-wide counts."""
    seed = config.seed
    out: dict[str, Any] = {}
    for name, recs in by_strategy(records).items():
        correct = [bool(r["correct"]) for r in recs]
        m: dict[str, Any] = {
            "accuracy": rate(correct, seed),
            "extraction_failures": rate([bool(r["extraction_failed"]) for r in recs], seed),
        }
        if name == "loglik":
            m["accuracy_norm"] = rate([bool(r["correct_norm"]) for r in recs], seed)
            out[name] = m
            continue
        m["tokens_per_answer"] = mean_metric([r["output_tokens"] for r in recs], seed=seed)
        finishes = [s.get("finish_reason") for r in recs for s in (r.get("samples") or [r])]
        m["cut_by_max_tokens"] = metric(sum(f == "length" for f in finishes) / len(finishes), n=len(finishes))
        traced = [r for r in recs if r.get("trace")]
        if traced:
            m["reasoning_length"] = mean_metric([r["trace_tokens"] for r in traced], seed=seed)
            m["accuracy_by_length"] = {
                f"{b['low']:.0f}-{b['high']:.0f}": b["accuracy"]
                for b in length_buckets([r["trace_tokens"] for r in traced], [bool(r["correct"]) for r in traced],
                                        seed=seed)}
        votes = [r["vote"] for r in recs if r.get("vote")]
        if votes:
            m["sc_agreement"] = mean_metric([v["agreement"] for v in votes], seed=seed)
            m["sc_ties"] = metric(sum(v["tie"] for v in votes), n=len(votes))
            m["sc_sample_accuracy"] = rate([bool(s.get("correct")) for r in recs for s in r["samples"]], seed)
        curve = early_curve(recs, seed)
        if curve:
            m["early_answering"] = {"aoc": curve["aoc"],
                                    **{f"changed_at_{int(round(p['fraction'] * 100))}%": p["changed"]
                                       for p in curve["curve"]}}
        sc = self_correction_summary(recs, seed)
        if sc:
            m["self_correction"] = {"per_trace": sc["per_trace"], "share_with_any": sc["share_with_any"]}
        out[name] = m
    return out
