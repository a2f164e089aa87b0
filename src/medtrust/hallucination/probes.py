"""Semantic entropy probes (SEP; Kossen, Han, Razzak, Schut, Malik, Gal 2024): a logistic
regression on the hidden states of the low-temperature answer, trained on a training split to
predict whether semantic entropy is high, then applied to the evaluation split.

As in the SEP code (github.com/OATML/semantic-entropy-probes, ``train-latent-probe.ipynb``): the
semantic entropies of the training rows are split into high / low at the threshold that minimises
the summed squared deviation of the two groups (``best_split``); the features are the hidden states
at one position ("slt": second-last answer token, or "tbg": token before generation) of a range of
layers, concatenated. Here the default range is the middle half of the layers (L/4 .. 3L/4), and
the features are standardised before an L2-regularised ``sklearn`` LogisticRegression.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from medtrust.runs.folder import RunFolder


def best_split(entropies: Sequence[float]) -> float:
    """The threshold t (a midpoint between sorted distinct values) minimising
    sum (x - mean_low)^2 + sum (x - mean_high)^2 over the groups x <= t and x > t."""
    x = np.sort(np.asarray(entropies, dtype=float))
    values = np.unique(x)
    if len(values) < 2:
        return float(values[0]) if len(values) else 0.0
    best, best_cost = None, np.inf
    for low, high in zip(values[:-1], values[1:]):
        t = (low + high) / 2
        a, b = x[x <= t], x[x > t]
        cost = ((a - a.mean()) ** 2).sum() + ((b - b.mean()) ** 2).sum()
        if cost < best_cost - 1e-12:
            best, best_cost = t, cost
    return float(best)


def layer_range(num_layers: int, spec: str = "mid") -> list[int]:
    """Hidden-state rows to use: "mid" = L/4 .. 3L/4 of the L+1 rows (embeddings are row 0),
    "last" = the last row, or "a:b" for rows a..b-1."""
    if spec == "mid":
        return list(range(max(1, num_layers // 4), max(2, (3 * num_layers) // 4)))
    if spec == "last":
        return [num_layers - 1]
    a, _, b = spec.partition(":")
    return list(range(int(a), int(b)))


def features(arrays: dict[str, np.ndarray], position: str, layers: Sequence[int]) -> np.ndarray:
    """One feature vector: the chosen layers' hidden states at ``position``, concatenated."""
    h = arrays[position]
    return np.concatenate([h[i] for i in layers]).astype(np.float64)


def fit_and_score(records: list, run: RunFolder, position: str = "slt",
                  layers: str = "mid", seed: int = 0) -> dict[str, Any]:
    """Train the probe on the hallucination records with role "train" and write ``scores["sep"]``
    (probability of high semantic entropy) into every record that has hidden states. Returns a
    description of the probe (threshold, rows, layers) or a note saying why none was trained."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    with_hidden = [r for r in records if r.extras.hidden and r.scores.get("semantic_entropy") is not None]
    train = [r for r in with_hidden if r.extras.role == "train"]
    if not with_hidden:
        return {"note": "no hidden states saved: the backend cannot return them, or sep was not asked for"}
    if len(train) < 4:
        return {"note": f"only {len(train)} training rows with hidden states: the probe needs at least 4"}
    cache = {r.id: run.load_arrays(r.extras.hidden) for r in with_hidden}
    num_rows = next(iter(cache.values()))[position].shape[0]
    rows = layer_range(num_rows, layers)
    se = np.array([r.scores["semantic_entropy"] for r in train])
    threshold = best_split(se)
    y = (se > threshold).astype(int)
    if y.min() == y.max():
        return {"note": "every training row has the same semantic entropy: nothing for the probe to learn",
                "train_rows": len(train)}
    X = np.stack([features(cache[r.id], position, rows) for r in train])
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
    probe.fit(X, y)
    X_all = np.stack([features(cache[r.id], position, rows) for r in with_hidden])
    for r, p in zip(with_hidden, probe.predict_proba(X_all)[:, 1]):
        r.scores["sep"] = float(p)
    return {"threshold": threshold, "train_rows": len(train), "high_share": float(y.mean()),
            "position": position, "layers": [rows[0], rows[-1]], "train_accuracy": float(probe.score(X, y))}
