"""Confidence intervals shared by every study.

A percentile bootstrap that resamples rows (paired arrays together) and drops resamples where
the statistic is undefined (e.g. AUROC of a resample holding one class only), which
``scipy.stats.bootstrap`` cannot do; tests check it against scipy where both apply.
"""

from __future__ import annotations

import math
import warnings
from typing import Callable, Sequence

import numpy as np

N_RESAMPLES = 1000
CONFIDENCE = 0.90


def metric(value: float | None, ci: tuple[float, float] | None = None, n: int | None = None,
           note: str | None = None, count: int | None = None, interval: str | None = None) -> dict:
    """The stored form of one number: {"value", "ci": [low, high], "n", "note"}; a proportion also
    has its ``count`` (k of n) and the ``interval`` method ("wilson")."""
    bad = value is None or (isinstance(value, float) and math.isnan(value))
    out: dict = {"value": None if bad else float(value)}
    if ci is not None:
        out["ci"] = [float(ci[0]), float(ci[1])]
    if n is not None:
        out["n"] = int(n)
    if count is not None:
        out["count"] = int(count)
    if interval:
        out["interval"] = interval
    if note:
        out["note"] = note
    return out


def bootstrap_ci(arrays: Sequence[Sequence[float]], statistic: Callable[..., float],
                 n_resamples: int = N_RESAMPLES, confidence: float = CONFIDENCE,
                 seed: int = 0) -> tuple[float, float] | None:
    """Percentile bootstrap interval of ``statistic(*arrays)``, rows resampled together.

    Returns None with fewer than 2 rows or when under half the resamples give a number.
    """
    arrays = [np.asarray(a) for a in arrays]
    n = len(arrays[0])
    if n < 2:
        return None
    rng = np.random.default_rng(seed)
    values = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. sklearn's "only one class present": dropped below
        for _ in range(n_resamples):
            idx = rng.integers(0, n, n)
            try:
                v = float(statistic(*(a[idx] for a in arrays)))
            except (ValueError, ZeroDivisionError, FloatingPointError):
                continue
            if not math.isnan(v):
                values.append(v)
    if len(values) < n_resamples / 2:
        return None
    alpha = (1 - confidence) / 2
    low, high = np.percentile(values, [100 * alpha, 100 * (1 - alpha)])
    return float(low), float(high)


def mean_metric(values: Sequence[float | None], seed: int = 0) -> dict:
    """Mean with a bootstrap interval, as a stored metric (None and NaN values are left out)."""
    clean = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    if not clean:
        return metric(None, n=0, note="no values")
    arr = np.array(clean)
    return metric(float(arr.mean()), bootstrap_ci([arr], np.mean, seed=seed), n=len(clean))


def rate_metric(flags: Sequence[bool | float | None], confidence: float = CONFIDENCE) -> dict:
    """A proportion (k of n; None values left out) with its Wilson score interval, which is not
    degenerate at 0 or 1 (0 of 24 gives [0, 0.10] at 90%, where a bootstrap gives [0, 0])."""
    from scipy.stats import binomtest
    clean = [bool(f) for f in flags if f is not None and not (isinstance(f, float) and math.isnan(f))]
    if not clean:
        return metric(None, n=0, note="no values")
    k, n = sum(clean), len(clean)
    ci = binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    return metric(k / n, (max(0.0, ci.low), min(1.0, ci.high)), n=n, count=k, interval="wilson")

