"""Grouping answers into meanings by bidirectional entailment.

The entailment method gives, for each ordered pair of distinct answer texts, a label
(0 contradiction, 1 neutral, 2 entailment, as the reference ``check_implication`` returns) and a
probability of entailment. Identical texts are one meaning and never sent to the method.

A matrix need not be complete: a pair whose answer cannot change the clusters asked for is left
``UNKNOWN`` (see ``PairMatrix.needed``), which halves the entailment calls of strict clustering.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

CONTRADICTION, NEUTRAL, ENTAILMENT = 0, 1, 2
UNKNOWN = -1
"""Label of a pair the entailment method was not asked about (its p_entail is NaN)."""

MATRIX_MODES = ("full", "strict", "lenient")
"""What a matrix must hold: every ordered pair ("full": the eigenvalue and uqlm estimators read
them all), or only the pairs strict or lenient bidirectional clustering can depend on."""


@dataclass
class PairMatrix:
    """Entailment between the unique answer texts of one question: ``labels[i, j]`` says whether
    text i entails text j, ``p_entail[i, j]`` how likely. The diagonal is entailment, p = 1;
    pairs not asked are ``UNKNOWN`` with p_entail NaN."""

    texts: list[str]
    labels: np.ndarray
    p_entail: np.ndarray

    @classmethod
    def unasked(cls, texts: Sequence[str]) -> "PairMatrix":
        """A matrix over ``texts`` where only the diagonal is known."""
        n = len(texts)
        labels = np.full((n, n), UNKNOWN, dtype=int)
        np.fill_diagonal(labels, ENTAILMENT)
        probs = np.full((n, n), np.nan)
        np.fill_diagonal(probs, 1.0)
        return cls(list(texts), labels, probs)

    @classmethod
    def from_saved(cls, saved: dict) -> "PairMatrix":
        """The matrix ``to_saved`` wrote (None in p_entail is a pair not asked)."""
        probs = [[np.nan if x is None else x for x in row] for row in saved["p_entail"]]
        return cls(list(saved["texts"]), np.array(saved["labels"], dtype=int).reshape(len(probs), len(probs)),
                   np.array(probs, dtype=float).reshape(len(probs), len(probs)))

    def to_saved(self) -> dict:
        """JSON-ready texts, labels (-1: not asked) and p_entail (None: not asked)."""
        return {"texts": list(self.texts), "labels": self.labels.astype(int).tolist(),
                "p_entail": [[None if np.isnan(x) else float(x) for x in row] for row in self.p_entail]}

    def index(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self.texts)}

    def needed(self, mode: str = "full") -> list[tuple[int, int]]:
        """The ordered pairs (i, j), "does text i entail text j?", still to ask so the matrix serves
        ``mode``. Full: every pair. Strict: each pair one way (earlier text first), the other way
        only where the first way entails (strict equivalence needs both). Lenient: the other way
        unless the first way contradicts (a contradiction rules equivalence out)."""
        if mode not in MATRIX_MODES:
            raise ValueError(f"mode must be one of {MATRIX_MODES}, got {mode!r}")
        out = []
        n = len(self.texts)
        for i in range(n):
            for j in range(i + 1, n):
                forward, back = self.labels[i, j], self.labels[j, i]
                if forward == UNKNOWN:
                    out.append((i, j))
                    if mode == "full" and back == UNKNOWN:
                        out.append((j, i))
                elif back == UNKNOWN and (mode == "full" or (mode == "strict" and forward == ENTAILMENT)
                                          or (mode == "lenient" and forward != CONTRADICTION)):
                    out.append((j, i))
        return out

    def fill(self, labels: np.ndarray, p_entail: np.ndarray) -> None:
        """Take the pairs this matrix does not know yet from a complete matrix over the same texts."""
        unknown = self.labels == UNKNOWN
        self.labels[unknown] = labels[unknown]
        self.p_entail[unknown] = p_entail[unknown]


def unique_texts(texts: Sequence[str]) -> list[str]:
    """The distinct texts in first-seen order (what the entailment method is asked about)."""
    return list(dict.fromkeys(texts))


def equivalent(label_ab: int, label_ba: int, strict: bool = True) -> bool:
    """Same meaning? Strict: both directions entail. Lenient: neither direction contradicts and
    not both are neutral (the reference ``get_semantic_ids`` with ``strict_entailment=False``)."""
    if strict:
        return label_ab == ENTAILMENT and label_ba == ENTAILMENT
    return CONTRADICTION not in (label_ab, label_ba) and (label_ab, label_ba) != (NEUTRAL, NEUTRAL)


def semantic_ids(texts: Sequence[str], matrix: PairMatrix, strict: bool = True) -> list[int]:
    """Cluster id of each answer, the reference ``get_semantic_ids`` algorithm: each answer not
    yet assigned opens a cluster and every later answer equivalent to it joins that cluster (a later
    cluster may take over an answer an earlier one took, as in the reference)."""
    pos = matrix.index()
    idx = [pos[t] for t in texts]
    ids = [-1] * len(texts)
    next_id = 0
    for i in range(len(texts)):
        if ids[i] != -1:
            continue
        ids[i] = next_id
        for j in range(i + 1, len(texts)):
            a, b = idx[i], idx[j]
            if a == b or equivalent(int(matrix.labels[a, b]), int(matrix.labels[b, a]), strict):
                ids[j] = next_id
        next_id += 1
    return ids


def similarity_matrix(texts: Sequence[str], matrix: PairMatrix) -> np.ndarray:
    """Entailment probabilities between every pair of answers (identical texts: 1), for the
    eigenvalue estimator (LM-Polygraph's ``semantic_matrix_entail``); needs a full matrix."""
    pos = matrix.index()
    idx = np.array([pos[t] for t in texts])
    out = matrix.p_entail[np.ix_(idx, idx)]
    if np.isnan(out).any():
        raise ValueError("the similarity matrix needs every pair: build the PairMatrix in mode 'full'")
    return out


def uqlm_clusters(texts: Sequence[str], matrix: PairMatrix) -> list[list[int]]:
    """Clusters as uqlm's ``NLIScorer._cluster_responses`` forms them: each answer is compared
    with the first member of every existing cluster and joins each one where either direction
    entails (identical texts always do); if it joins none it opens a new cluster. Needs a full matrix."""
    if (matrix.labels == UNKNOWN).any():
        raise ValueError("uqlm clustering needs every pair: build the PairMatrix in mode 'full'")
    pos = matrix.index()
    idx = [pos[t] for t in texts]
    clusters: list[list[int]] = [[0]]
    for i in range(1, len(texts)):
        joined = False
        for cluster in clusters:
            a, b = idx[cluster[0]], idx[i]
            if a == b or ENTAILMENT in (int(matrix.labels[a, b]), int(matrix.labels[b, a])):
                cluster.append(i)
                joined = True
        if not joined:
            clusters.append([i])
    return clusters


def lmpolygraph_ids(texts: Sequence[str], matrix: PairMatrix) -> list[int]:
    """Clusters as LM-Polygraph's ``SemanticClassesCalculator``: each answer joins the first class
    whose first member entails it and is entailed by it, else opens a new class."""
    pos = matrix.index()
    idx = [pos[t] for t in texts]
    firsts: list[int] = []
    ids = []
    for i in range(len(texts)):
        for c, first in enumerate(firsts):
            a, b = idx[first], idx[i]
            if a == b or (matrix.labels[a, b] == ENTAILMENT and matrix.labels[b, a] == ENTAILMENT):
                ids.append(c)
                break
        else:
            firsts.append(i)
            ids.append(len(firsts) - 1)
    return ids
