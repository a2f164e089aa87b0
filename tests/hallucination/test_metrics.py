"""AUROC, AURAC, accuracy at a share answered, PRR: against hand counts and independent formulas."""

from __future__ import annotations

import numpy as np
import pytest

from medtrust.hallucination import metrics as M


def pairwise_auroc(correct, unc):
    """P(uncertainty of a wrong answer > that of a right one), ties counting one half."""
    wrong = [u for c, u in zip(correct, unc) if not c]
    right = [u for c, u in zip(correct, unc) if c]
    total = sum((w > r) + 0.5 * (w == r) for w in wrong for r in right)
    return total / (len(wrong) * len(right))


def test_auroc_against_pairwise_count_and_sklearn():
    from sklearn.metrics import roc_auc_score
    rng = np.random.default_rng(1)
    for _ in range(50):
        correct = rng.integers(0, 2, 30)
        if correct.min() == correct.max():
            continue
        unc = np.round(rng.normal(size=30) - correct, 1)  # rounding makes ties
        assert M.auroc(correct, unc) == pytest.approx(pairwise_auroc(correct, unc))
        assert M.auroc(correct, unc) == pytest.approx(roc_auc_score(1 - correct, unc))
    assert M.auroc([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert M.auroc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 0.0


def test_accuracy_at_fraction_by_hand():
    correct = [1, 1, 0, 1, 0]
    unc = [0.1, 0.2, 0.3, 0.4, 0.5]
    assert M.accuracy_at_fraction(correct, unc, 1.0) == pytest.approx(3 / 5)
    # 80% quantile of [.1..,.5] = 0.42 -> keeps the four least uncertain: 3/4
    assert M.accuracy_at_fraction(correct, unc, 0.8) == pytest.approx(3 / 4)
    assert M.accuracy_at_fraction(correct, unc, 0.5) == pytest.approx(2 / 3)  # cutoff 0.3


def test_aurac_is_the_reference_sum():
    correct = np.array([1, 1, 0, 1, 0, 0, 1, 1])
    unc = np.array([0.1, 0.2, 0.9, 0.3, 0.8, 0.7, 0.4, 0.5])
    qs = np.linspace(0.1, 1, 20)
    expected = sum(M.accuracy_at_fraction(correct, unc, q) for q in qs) * (0.9 / 19)
    assert M.aurac(correct, unc) == pytest.approx(expected)
    # a perfect ranking keeps accuracy 1 until the wrong answers must be answered
    assert M.aurac(correct, unc) > M.aurac(correct, -unc)


def lm_polygraph_prr(correct, unc, shuffles=4000, seed=42):
    """PRR as LM-Polygraph computes it: PRA of the estimator, of the oracle (-target) and the mean
    PRA of random orderings, each PRA written as in PredictionRejectionArea."""
    def pra(ue, target):
        order = np.argsort(ue, kind="stable")
        s = np.array(target, dtype=float)[order]
        cumsum = np.cumsum(s)
        n = len(s)
        scores = (cumsum / np.arange(1, n + 1))[::-1]
        return scores.sum() / n
    rng = np.random.default_rng(seed)
    rand = np.mean([pra(rng.permutation(len(correct)), correct) for _ in range(shuffles)])
    return (pra(unc, correct) - rand) / (pra(-np.asarray(correct, float), correct) - rand)


def test_prr_against_lm_polygraph_formula():
    rng = np.random.default_rng(7)
    correct = rng.integers(0, 2, 40)
    unc = rng.normal(size=40) - correct
    assert M.prr(correct, unc) == pytest.approx(lm_polygraph_prr(correct, unc), abs=0.02)
    assert M.prr([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9]) == pytest.approx(1.0)
    assert M.prr([1, 1, 0, 0], [0.9, 0.8, 0.2, 0.1]) < 0


def test_prr_by_hand():
    # correct [1, 0], perfect order: kept means [1, .5] -> PRA .75; random .5; oracle .75 -> 1
    assert M.prr([1, 0], [0.0, 1.0]) == pytest.approx(1.0)
    # reversed: kept means [0, .5] -> .25 -> (.25 - .5) / (.75 - .5) = -1
    assert M.prr([1, 0], [1.0, 0.0]) == pytest.approx(-1.0)


def test_all_right_split_gives_notes_not_nan():
    out = M.estimator_metrics([1, 1, 1, 1], [0.1, 0.5, 0.2, 0.3])
    assert out["auroc"]["value"] is None and "every answer is right" in out["auroc"]["note"]
    assert out["prr"]["value"] is None
    assert out["accuracy_at_80"]["value"] == 1.0
    wrong = M.estimator_metrics([0, 0, 0], [0.1, 0.5, 0.2])
    assert wrong["auroc"]["value"] is None and "wrong" in wrong["auroc"]["note"]


def test_estimator_metrics_skip_missing_values_and_bootstrap():
    correct = [1, 0, 1, 0, 1, 0, 1, 0]
    unc = [0.1, 0.9, 0.2, 0.8, None, 0.7, 0.3, float("nan")]
    out = M.estimator_metrics(correct, unc)
    assert out["auroc"]["n"] == 6 and out["auroc"]["value"] == 1.0
    low, high = out["auroc"]["ci"]
    assert low <= 1.0 <= high
    assert M.estimator_metrics([1, 0], [None, None])["auroc"]["note"] == "no values"
