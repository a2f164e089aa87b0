"""Grouping answers into meanings by bidirectional entailment.

The entailment method gives, for each ordered pair of distinct answer texts, a label
(0 contradiction, 1 neutral, 2 entailment, as the reference ``check_implication`` returns) and a
probability of entailment. Identical texts are one meaning and never sent to the method.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

CONTRADICTION, NEUTRAL, ENTAILMENT = 0, 1, 2


@dataclass
class PairMatrix:
    """Entailment between the unique answer texts of one question: ``labels[i, j]`` says whether
    text i entails text j, ``p_entail[i, j]`` how likely. The diagonal is entailment, p = 1."""

    texts: list[str]
    labels: np.ndarray
    p_entail: np.ndarray

    def index(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self.texts)}


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
    eigenvalue estimator (LM-Polygraph's ``semantic_matrix_entail``)."""
    pos = matrix.index()
    idx = np.array([pos[t] for t in texts])
    return matrix.p_entail[np.ix_(idx, idx)]


def uqlm_clusters(texts: Sequence[str], matrix: PairMatrix) -> list[list[int]]:
    """Clusters as uqlm's ``NLIScorer._cluster_responses`` forms them: each answer is compared
    with the first member of every existing cluster and joins each one where either direction
    entails (identical texts always do); if it joins none it opens a new cluster."""
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
