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
from medtrust.hallucination.entailment import Entailment, PairwiseEntailment


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


def hallucination_record(low: tuple[str, list[float]], answers: list[tuple[str, list[float]]]):
    """A hallucination record of the question "Is it?" (gold "yes") with these answers."""
    from medtrust.data.schema import Sample
    from medtrust.hallucination.study import HallucinationExtras, HallucinationRecord
    from medtrust.runs.records import Output
    sample = Sample(id="q1", question="Is it?", answer="yes", answer_type="short")
    return HallucinationRecord(id="q1", sample_id="q1", sample=sample,
                               outputs=[Output(text=t, token_logprobs=lp) for t, lp in answers],
                               extras=HallucinationExtras(low_t_answer=Output(text=low[0], token_logprobs=low[1])))


def test_score_records_on_a_scripted_method():
    from medtrust.hallucination.scoring import score_records
    lp = {"yes": [math.log(0.5)], "Yes.": [math.log(0.3)], "no": [math.log(0.2)]}
    record = hallucination_record(("yes", lp["yes"]), [(t, lp[t]) for t in ["yes", "Yes.", "no", "yes"]])
    method = Scripted({("yes", "Yes."): E, ("Yes.", "yes"): E})
    [out] = score_records([record], method)
    assert method.asked == [["yes", "Yes.", "no"]]  # duplicates removed before the method sees them
    assert out.extras.clusters == [0, 0, 1, 0]
    assert out.extras.low_t_cluster == 0
    assert out.scores["correct"] is True
    # p = [.5, .3, .2, .5] / 1.5 -> clusters [1.3/1.5, 0.2/1.5]
    p = np.array([1.3, 0.2]) / 1.5
    assert out.scores["semantic_entropy"] == pytest.approx(float(-(p * np.log(p)).sum()))
    assert out.scores["num_clusters"] == 2.0
    assert out.scores["p_true"] is None  # not asked for in this record


# ------------------------------------------------------------------ matrices asked only in part
class ScriptedPairs(PairwiseEntailment):
    """A pairwise method answering "<q> a" entails "<q> b"? (one-word answers) from a full label matrix;
    records every pair asked."""

    name = "scripted-pairs"

    def __init__(self, texts, labels):
        self.pos = {t: i for i, t in enumerate(texts)}
        self.labels = labels
        self.asked = []

    def classify(self, pairs):
        self.asked += pairs
        out = []
        for a, b in pairs:
            lab = int(self.labels[self.pos[a.rsplit(" ", 1)[1]], self.pos[b.rsplit(" ", 1)[1]]])
            out.append((lab, float(lab == E)))
        return out


def test_needed_pairs_follow_the_mode():
    m = PairMatrix.unasked(["a", "b", "c"])
    assert m.needed("full") == [(0, 1), (1, 0), (0, 2), (2, 0), (1, 2), (2, 1)]
    assert m.needed("strict") == [(0, 1), (0, 2), (1, 2)]  # one way first
    m.labels[0, 1], m.labels[0, 2], m.labels[1, 2] = E, C, N
    assert m.needed("strict") == [(1, 0)]  # the other way only where the first way entails
    assert m.needed("lenient") == [(1, 0), (2, 1)]  # ... or, lenient, does not contradict
    assert m.needed("full") == [(1, 0), (2, 0), (2, 1)]
    with pytest.raises(ValueError):
        m.needed("some")


def test_partly_asked_matrices_cluster_exactly_as_full_ones():
    """On 300 random label tables (duplicates included), the pairs strict / lenient mode asks give
    the same clusters (reference, LM-Polygraph, low-T answer) as the whole matrix, with fewer calls."""
    from medtrust.hallucination.scoring import _same
    rng = np.random.default_rng(0)
    saved = {"strict": 0, "lenient": 0}
    for _ in range(300):
        n = int(rng.integers(2, 7))
        texts = [f"t{i}" for i in range(n)]
        labels = rng.choice([C, N, E], size=(n, n), p=[0.3, 0.2, 0.5])
        np.fill_diagonal(labels, E)
        full = PairMatrix(texts, labels, (labels == E).astype(float))
        answers = [texts[int(k)] for k in rng.integers(0, n, size=8)]
        for mode in ("strict", "lenient"):
            strict = mode == "strict"
            method = ScriptedPairs(texts, labels)
            [lazy] = method.matrices([("Q", texts)], mode=mode)
            assert semantic_ids(answers, lazy, strict) == semantic_ids(answers, full, strict)
            assert lmpolygraph_ids(answers, lazy) == lmpolygraph_ids(answers, full)
            assert [_same(lazy, texts[0], a, strict) for a in answers] == [_same(full, texts[0], a, strict)
                                                                          for a in answers]
            assert len(method.asked) == len(set(method.asked)) <= n * (n - 1)
            saved[mode] += n * (n - 1) - len(method.asked)
            if (lazy.labels == -1).any():  # what needs every pair refuses a partial matrix
                with pytest.raises(ValueError, match="mode 'full'"):
                    similarity_matrix(texts, lazy)
                with pytest.raises(ValueError, match="mode 'full'"):
                    uqlm_clusters(texts, lazy)
    assert saved["strict"] > saved["lenient"] > 0


def test_full_mode_asks_every_ordered_pair_once():
    texts = ["a", "b", "c", "d"]
    labels = np.full((4, 4), C)
    np.fill_diagonal(labels, E)
    method = ScriptedPairs(texts, labels)
    [m] = method.matrices([("Q", texts)], mode="full")
    assert sorted(method.asked) == sorted((f"Q {a}", f"Q {b}") for a in texts for b in texts if a != b)
    assert (m.labels == labels).all()
    method = ScriptedPairs(texts, labels)
    method.matrices([("Q", texts)], mode="strict")
    assert len(method.asked) == 6  # all contradict: one way each


def test_a_partial_matrix_is_saved_and_completed_on_rescore():
    """Scores that need only the clusters ask half the pairs and save -1 / None for the rest;
    re-scoring with the eigenvalue asks just the missing pairs and matches a from-scratch run."""
    import copy

    from medtrust.hallucination.scoring import score_records
    texts = ["yes", "Yes.", "no", "maybe"]
    labels = np.array([[E, E, C, N], [E, E, C, N], [C, C, E, N], [N, E, N, E]])
    record = hallucination_record(("yes", [-0.1]), [(t, [-0.5 - i / 10]) for i, t in enumerate(texts)])
    method = ScriptedPairs(texts, labels)
    [part] = score_records([copy.deepcopy(record)], method, estimators=["semantic_entropy", "num_clusters"])
    assert len(method.asked) == 6 + 1  # each pair one way, "Yes." -> "yes" because "yes" -> "Yes." entails
    assert set(part.scores) == {"correct", "semantic_entropy", "num_clusters"}
    saved = part.extras.entailment_matrix
    assert saved["labels"][1][0] == E and saved["labels"][2][0] == -1 and saved["p_entail"][2][0] is None
    method.asked.clear()
    [again] = score_records([part], method, estimators=["semantic_entropy", "eigenvalue"])
    assert len(method.asked) == 12 - 7
    [scratch] = score_records([copy.deepcopy(record)], ScriptedPairs(texts, labels))
    assert again.scores["eigenvalue"] == scratch.scores["eigenvalue"]
    assert again.scores["semantic_entropy"] == scratch.scores["semantic_entropy"]
    assert again.extras.entailment_matrix == scratch.extras.entailment_matrix
