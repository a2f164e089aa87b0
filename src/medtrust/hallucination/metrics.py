"""How well an uncertainty estimator predicts wrong answers: AUROC, AURAC, accuracy at a share
answered, PRR, each with a paired 1,000-resample bootstrap 90% interval.

Definitions follow the semantic-entropy reference code (``uncertainty/utils/eval_utils.py``:
``auroc``, ``accuracy_at_quantile``, ``area_under_thresholded_accuracy``) and LM-Polygraph
(``ue_metrics/pred_rej_area.py`` and the normalisation in ``ue_metric.normalize_metric``).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from medtrust.stats import bootstrap_ci, metric

ANSWER_FRACTIONS = (0.8, 0.9, 0.95, 1.0)


def auroc(correct: Sequence[float], uncertainty: Sequence[float]) -> float:
    """Area under the ROC curve of ``uncertainty`` as a detector of wrong answers (wrong = positive)."""
    from sklearn.metrics import roc_auc_score
    wrong = 1 - np.asarray(correct, dtype=float)
    return float(roc_auc_score(wrong, np.asarray(uncertainty, dtype=float)))


def accuracy_at_fraction(correct: Sequence[float], uncertainty: Sequence[float], fraction: float) -> float:
    """Accuracy on the questions whose uncertainty is at most its ``fraction`` quantile, i.e. when
    the most uncertain 1 - fraction are not answered (reference ``accuracy_at_quantile``)."""
    acc = np.asarray(correct, dtype=float)
    unc = np.asarray(uncertainty, dtype=float)
    cutoff = np.quantile(unc, fraction)
    return float(np.mean(acc[unc <= cutoff]))


def aurac(correct: Sequence[float], uncertainty: Sequence[float]) -> float:
    """Area under the rejection-accuracy curve, exactly as the reference
    ``area_under_thresholded_accuracy``: accuracy at 20 answered fractions linspace(0.1, 1, 20),
    each times the step 0.9 / 19, summed."""
    quantiles = np.linspace(0.1, 1, 20)
    values = np.array([accuracy_at_fraction(correct, uncertainty, q) for q in quantiles])
    return float((values * (quantiles[1] - quantiles[0])).sum())


def rejection_area(uncertainty: Sequence[float], quality: Sequence[float]) -> float:
    """Area under the prediction-rejection curve (LM-Polygraph ``PredictionRejectionArea``,
    max_rejection=1): mean quality of the kept answers, averaged over every number kept.
    Ties in ``uncertainty`` are broken by position (stable sort)."""
    q = np.asarray(quality, dtype=float)
    order = np.argsort(np.asarray(uncertainty, dtype=float), kind="stable")
    kept_means = np.cumsum(q[order]) / np.arange(1, len(q) + 1)
    return float(kept_means.mean())


def prr(correct: Sequence[float], uncertainty: Sequence[float]) -> float:
    """Prediction rejection ratio: (PRA(estimator) - PRA(random)) / (PRA(oracle) - PRA(random)),
    as LM-Polygraph normalises ``PredictionRejectionArea``: 1 = the oracle ordering, 0 = random.
    The random area is its expectation, the mean quality (LM-Polygraph averages 1,000 shuffles,
    which converges to it). Undefined (ValueError) when every answer is right or every one wrong."""
    q = np.asarray(correct, dtype=float)
    random = float(q.mean())
    oracle = rejection_area(-q, q)
    if np.isclose(oracle, random):
        raise ValueError("PRR is undefined when all answers are right or all are wrong")
    return (rejection_area(uncertainty, q) - random) / (oracle - random)


METRICS = {"auroc": auroc, "aurac": aurac, "prr": prr,
           **{f"accuracy_at_{int(f * 100)}": (lambda c, u, f=f: accuracy_at_fraction(c, u, f))
              for f in ANSWER_FRACTIONS}}
"""Metric name -> function(correct, uncertainty); all are paired-bootstrapped."""

NEEDS_BOTH_CLASSES = {"auroc", "prr"}


def estimator_metrics(correct: Sequence[float], uncertainty: Sequence[float | None],
                      seed: int = 0) -> dict[str, Any]:
    """Every metric of one estimator with its bootstrap interval; rows without a value are left
    out (``n`` says how many were used), and an all-right or all-wrong split gets a note."""
    pairs = [(float(c), float(u)) for c, u in zip(correct, uncertainty)
             if c is not None and u is not None and np.isfinite(u)]
    if not pairs:
        return {name: metric(None, n=0, note="no values") for name in METRICS}
    acc = np.array([p[0] for p in pairs])
    unc = np.array([p[1] for p in pairs])
    one_class = acc.min() == acc.max()
    note = f"every answer is {'right' if acc[0] == 1 else 'wrong'}: nothing to separate"
    out = {}
    for name, fn in METRICS.items():
        if one_class and name in NEEDS_BOTH_CLASSES:
            out[name] = metric(None, n=len(acc), note=note)
            continue
        value = fn(acc, unc)
        ci = bootstrap_ci([acc, unc], fn, seed=seed)
        out[name] = metric(value, ci, n=len(acc), note=note if one_class else None)
    return out


def roc_points(correct: Sequence[float], uncertainty: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """False- and true-positive rates of the ROC curve (wrong = positive), from scikit-learn."""
    from sklearn.metrics import roc_curve
    fpr, tpr, _ = roc_curve(1 - np.asarray(correct, dtype=float), np.asarray(uncertainty, dtype=float))
    return fpr, tpr


def rejection_curve(correct: Sequence[float], uncertainty: Sequence[float],
                    fractions: Sequence[float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy against the share of questions answered (most uncertain rejected first)."""
    fractions = np.linspace(0.1, 1.0, 19) if fractions is None else np.asarray(fractions)
    return fractions, np.array([accuracy_at_fraction(correct, uncertainty, f) for f in fractions])
