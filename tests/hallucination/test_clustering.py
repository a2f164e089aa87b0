"""Clustering on scripted entailment outcomes: strict vs lenient, the reference's reassignment,
uqlm's and LM-Polygraph's variants, and the scoring pipeline on a scripted method."""

from __future__ import annotations

import math

import numpy as np
import pytest

from medtrust.hallucination.clustering import (
    CONTRADICTION as C,
)
from medtrust.hallucination.clustering import (
    ENTAILMENT as E,
)
from medtrust.hallucination.clustering import (
    NEUTRAL as N,
)
from medtrust.hallucination.clustering import (
    PairMatrix,
    equivalent,
    lmpolygraph_ids,
    semantic_ids,
    similarity_matrix,
    uqlm_clusters,
)
from medtrust.hallucination.entailment import Entailment


def scripted(texts, outcomes):
    """A PairMatrix from {(a, b): label} (a entails b?); unlisted pairs are neutral."""
    labels = np.full((len(texts), len(texts)), N)
    np.fill_diagonal(labels, E)
    pos = {t: i for i, t in enumerate(texts)}
    for (a, b), lab in outcomes.items():
        labels[pos[a], pos[b]] = lab
    probs = (labels == E).astype(float)
    return PairMatrix(list(texts), labels, probs)


def test_equivalence_rules():
    assert equivalent(E, E, strict=True)
    assert not equivalent(E, N, strict=True)
    assert equivalent(E, N, strict=False)  # one way entails, no contradiction
    assert not equivalent(N, N, strict=False)  # both neutral is not enough (reference rule)
    assert not equivalent(E, C, strict=False)


def test_strict_and_lenient_clustering_on_scripted_outcomes():
    texts = ["vitamin C", "ascorbic acid", "vitamin C or D", "vitamin D"]
    outcomes = {("vitamin C", "ascorbic acid"): E, ("ascorbic acid", "vitamin C"): E,
                ("vitamin C", "vitamin C or D"): E,  # one way only: lenient joins, strict does not
                ("vitamin C", "vitamin D"): C, ("vitamin D", "vitamin C"): C,
                ("vitamin C or D", "vitamin D"): N, ("vitamin D", "vitamin C or D"): N}
    m = scripted(texts, outcomes)
    answers = ["vitamin C", "ascorbic acid", "vitamin C or D", "vitamin D", "vitamin C"]
    assert semantic_ids(answers, m, strict=True) == [0, 0, 1, 2, 0]
    assert semantic_ids(answers, m, strict=False) == [0, 0, 0, 1, 0]


def test_reference_reassignment_of_a_taken_answer():
    # 0 ~ 2 and 1 ~ 2 but 0 !~ 1: answer 2 joins cluster 0, then cluster 1 takes it (as the
    # reference get_semantic_ids does), leaving ids [0, 1, 1].
    texts = ["a", "b", "c"]
    outcomes = {("a", "c"): E, ("c", "a"): E, ("b", "c"): E, ("c", "b"): E}
    assert semantic_ids(texts, scripted(texts, outcomes)) == [0, 1, 1]
    # LM-Polygraph puts each answer in the first class that fits: [0, 1, 0]
    assert lmpolygraph_ids(texts, scripted(texts, outcomes)) == [0, 1, 0]


def test_uqlm_clusters_join_on_either_direction_and_may_overlap():
    texts = ["a", "b", "c"]
    m = scripted(texts, {("a", "b"): E, ("c", "a"): E, ("c", "b"): E})
    # b joins a (a entails b); c: compared to a (c entails a) joins, and to nothing else
    assert uqlm_clusters(["a", "b", "c"], m) == [[0, 1, 2]]
    m2 = scripted(texts, {("c", "a"): E})
    assert uqlm_clusters(["a", "b", "c", "b"], m2) == [[0, 2], [1, 3]]


def test_similarity_matrix_expands_duplicates():
    texts = ["x", "y"]
    m = PairMatrix(texts, np.array([[E, N], [E, E]]), np.array([[1.0, 0.3], [0.8, 1.0]]))
    s = similarity_matrix(["x", "y", "x"], m)
    assert s.tolist() == [[1.0, 0.3, 1.0], [0.8, 1.0, 0.8], [1.0, 0.3, 1.0]]


class Scripted(Entailment):
    """An entailment method answering from a fixed table; counts the pairs it is asked."""

    name = "scripted"

    def __init__(self, outcomes):
        self.outcomes = outcomes
        self.asked = []

    def _batch(self, items):
        out_l, out_p = [], []
        for _, texts in items:
            m = scripted(texts, {k: v for k, v in self.outcomes.items() if k[0] in texts and k[1] in texts})
            self.asked.append(list(texts))
            out_l.append(m.labels)
            out_p.append(m.p_entail)
        return out_l, out_p


def test_score_records_on_a_scripted_method():
    from medtrust.hallucination.scoring import score_records
    lp = {"yes": [math.log(0.5)], "Yes.": [math.log(0.3)], "no": [math.log(0.2)]}
    record = {"id": "q1", "question": "Is it?", "gold": "yes", "answer": "yes", "answer_type": "short",
              "aliases": [], "choices": None, "metadata": {},
              "low_t_answer": {"text": "yes", "token_logprobs": lp["yes"]},
              "answers": [{"text": t, "token_logprobs": lp[t]} for t in ["yes", "Yes.", "no", "yes"]]}
    method = Scripted({("yes", "Yes."): E, ("Yes.", "yes"): E})
    [out] = score_records([record], method)
    assert method.asked == [["yes", "Yes.", "no"]]  # duplicates removed before the method sees them
    assert [a["cluster"] for a in out["answers"]] == [0, 0, 1, 0]
    assert out["low_t_answer"]["cluster"] == 0
    assert out["correct"] is True
    # p = [.5, .3, .2, .5] / 1.5 -> clusters [1.3/1.5, 0.2/1.5]
    p = np.array([1.3, 0.2]) / 1.5
    assert out["scores"]["semantic_entropy"] == pytest.approx(float(-(p * np.log(p)).sum()))
    assert out["scores"]["num_clusters"] == 2.0
    assert out["scores"]["p_true"] is None  # not asked for in this record
