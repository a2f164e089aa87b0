"""Semantic entropy probes: the binarising split by hand, and a probe recovering a planted signal."""

from __future__ import annotations

import numpy as np
import pytest

from medtrust.hallucination.probes import best_split, fit_and_score, layer_range
from medtrust.runs.folder import RunFolder


def test_best_split_by_hand():
    assert best_split([0.0, 0.0, 1.0, 1.0]) == pytest.approx(0.5)
    # groups {0, 0.1} and {1.0, 1.1, 1.2}: cost 0.005 + 0.02; any other cut costs more
    assert best_split([0.0, 0.1, 1.0, 1.1, 1.2]) == pytest.approx(0.55)
    assert best_split([0.3, 0.3]) == pytest.approx(0.3)


def test_layer_range():
    assert layer_range(31, "mid") == list(range(7, 23))
    assert layer_range(31, "last") == [30]
    assert layer_range(31, "2:5") == [2, 3, 4]


def record(rid: str, role: str, hidden: str | None, scores: dict):
    """A hallucination record holding only what the probe reads."""
    from medtrust.data.schema import Sample
    from medtrust.hallucination.study import HallucinationExtras, HallucinationRecord
    from medtrust.runs.records import Output
    return HallucinationRecord(id=rid, sample_id=rid, sample=Sample(id=rid, question="?"), scores=scores,
                               extras=HallucinationExtras(role=role, hidden=hidden, low_t_answer=Output(text="")))


def test_probe_learns_a_planted_direction(tmp_path):
    rng = np.random.default_rng(0)
    run = RunFolder.create(tmp_path, "hallucination", "embedded", {"study": "hallucination"})
    records = []
    for i in range(60):
        se = float(rng.choice([0.1, 1.5]) + rng.normal(0, 0.05))
        hidden = rng.normal(size=(9, 6)).astype(np.float32)
        hidden[4, 0] = 3.0 * (se > 0.8) + rng.normal(0, 0.3)  # a mid layer carries the signal
        rid = f"q{i}"
        records.append(record(rid, "train" if i < 40 else "eval", run.save_arrays(rid, {"slt": hidden}),
                              {"semantic_entropy": se}))
    info = fit_and_score(records, run, position="slt", layers="mid")
    assert info["train_rows"] == 40 and 0.1 < info["threshold"] < 1.5
    evaluated = [r for r in records if r.extras.role == "eval"]
    from sklearn.metrics import roc_auc_score
    high = [r.scores["semantic_entropy"] > info["threshold"] for r in evaluated]
    assert roc_auc_score(high, [r.scores["sep"] for r in evaluated]) > 0.95


def test_probe_without_training_rows_says_why(tmp_path):
    run = RunFolder.create(tmp_path, "hallucination", "embedded", {"study": "hallucination"})
    rec = record("a", "eval", run.save_arrays("a", {"slt": np.zeros((3, 2))}), {"semantic_entropy": 0.2})
    assert "training rows" in fit_and_score([rec], run)["note"]
    assert "no hidden states" in fit_and_score([record("b", "eval", None, {})], run)["note"]
