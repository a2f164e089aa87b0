"""The bootstrap against scipy's, and the stored metric form."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import bootstrap
from sklearn.metrics import roc_auc_score

from medtrust.stats import bootstrap_ci, mean_metric, metric


def test_percentile_interval_agrees_with_scipy():
    rng = np.random.default_rng(1)
    x = rng.normal(3.0, 2.0, size=400)
    ours = bootstrap_ci([x], np.mean, n_resamples=4000, seed=0)
    ref = bootstrap((x,), np.mean, n_resamples=4000, confidence_level=0.9, method="percentile",
                    random_state=np.random.default_rng(0)).confidence_interval
    # two independent Monte-Carlo estimates of the same interval
    assert ours[0] == pytest.approx(ref.low, abs=0.03) and ours[1] == pytest.approx(ref.high, abs=0.03)
    # and both near the normal-theory interval mean +- 1.645 sd / sqrt(n)
    half = 1.645 * x.std(ddof=1) / np.sqrt(len(x))
    assert ours[0] == pytest.approx(x.mean() - half, abs=0.04) and ours[1] == pytest.approx(x.mean() + half, abs=0.04)


def test_paired_resampling_keeps_rows_together():
    y = np.array([0, 1] * 50)
    s = y + np.random.default_rng(0).normal(0, 0.8, 100)
    low, high = bootstrap_ci([y, s], roc_auc_score, seed=0)
    auc = roc_auc_score(y, s)
    assert low < auc < high and 0.5 < low
    ref = bootstrap((y, s), roc_auc_score, paired=True, vectorized=False, n_resamples=1000,
                    confidence_level=0.9, method="percentile", random_state=np.random.default_rng(0))
    assert low == pytest.approx(ref.confidence_interval.low, abs=0.02)


def test_undefined_resamples_are_dropped_and_tiny_inputs_give_none():
    y = np.array([0] * 39 + [1])  # one positive: many resamples hold no positive at all
    s = np.arange(40.0)
    ci = bootstrap_ci([y, s], roc_auc_score, seed=0)
    assert ci is not None and ci[1] == 1.0
    assert bootstrap_ci([[1.0]], np.mean) is None
    assert bootstrap_ci([np.zeros(10), np.zeros(10)], roc_auc_score) is None  # never defined


def test_metric_forms():
    assert metric(float("nan")) == {"value": None}
    assert metric(0.5, (0.4, 0.6), n=10, note="x") == {"value": 0.5, "ci": [0.4, 0.6], "n": 10, "note": "x"}
    m = mean_metric([1.0, None, 3.0, float("nan")])
    assert m["value"] == 2.0 and m["n"] == 2 and m["ci"][0] >= 1.0 and m["ci"][1] <= 3.0
    assert mean_metric([]) == {"value": None, "n": 0, "note": "no values"}


def test_rate_metric_is_the_wilson_interval_and_not_degenerate_at_0_or_1():
    import math

    from medtrust.stats import rate_metric

    def wilson(k, n, z=1.6448536269514722):  # the textbook formula, 90% two-sided
        p = k / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        return centre - half, centre + half
    for k, n in [(0, 24), (24, 24), (3, 24), (7, 12), (1, 1)]:
        m = rate_metric([True] * k + [False] * (n - k) + [None])
        assert (m["value"], m["n"], m["count"], m["interval"]) == (k / n, n, k, "wilson")
        assert m["ci"] == pytest.approx(wilson(k, n), abs=1e-12)
    assert rate_metric([False] * 24)["ci"][1] > 0.09 and rate_metric([True] * 24)["ci"][0] < 0.91
    assert rate_metric([None]) == {"value": None, "n": 0, "note": "no values"}
