"""Estimators against hand calculations and independent transcriptions of the reference definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from medtrust.hallucination import estimators as E


# --- independent transcriptions of the reference formulas (loops, plain numpy) -------------------
def reference_semantic_entropy(ids, mean_logliks):
    """Farquhar et al.: normalise the answer likelihoods over the N answers, sum them per meaning,
    entropy of the result (loop form of logsumexp_by_id + predictive_entropy_rao)."""
    probs = [math.exp(x) for x in mean_logliks]
    total = sum(probs)
    per_cluster = {}
    for i, c in enumerate(ids):
        per_cluster[c] = per_cluster.get(c, 0.0) + probs[i] / total
    return -sum(p * math.log(p) for p in per_cluster.values())


def reference_eigval_laplacian(w):
    """LM-Polygraph EigValLaplacian written out: W sym, D, L = I - D^-1/2 W D^-1/2, sum max(0, 1 - l)."""
    from scipy.linalg import eigh
    w = (w + w.T) / 2
    d = np.diag(w.sum(axis=1))
    d_inv = np.linalg.inv(np.sqrt(d))
    lap = np.eye(len(w)) - d_inv @ w @ d_inv
    return sum(max(0.0, 1 - lam) for lam in eigh(lap, eigvals_only=True))


def test_semantic_entropy_by_hand():
    # p = [0.2, 0.1, 0.1] renormalised -> [0.5, 0.25, 0.25]; clusters {0}, {1, 2} -> [0.5, 0.5]
    lls = [math.log(0.2), math.log(0.1), math.log(0.1)]
    assert E.semantic_entropy([0, 1, 1], lls) == pytest.approx(math.log(2), abs=1e-12)
    # p = [0.5, 0.3, 0.2] -> clusters [0.8, 0.2]: -(0.8 ln 0.8 + 0.2 ln 0.2) = 0.5004024
    lls = [math.log(0.5), math.log(0.3), math.log(0.2)]
    assert E.semantic_entropy([0, 0, 1], lls) == pytest.approx(0.50040242, abs=1e-7)
    # one meaning: no uncertainty, whatever the likelihoods
    assert E.semantic_entropy([0, 0, 0, 0], [-1.0, -5.0, -0.1, -3.0]) == pytest.approx(0.0, abs=1e-12)


def test_semantic_entropy_matches_reference_definition_on_random_fixtures():
    rng = np.random.default_rng(3)
    for _ in range(200):
        n = int(rng.integers(1, 12))
        k = int(rng.integers(1, n + 1))
        ids = list(range(k)) + list(rng.integers(0, k, n - k))
        lls = list(rng.uniform(-8, 0, n))
        assert E.semantic_entropy(ids, lls) == pytest.approx(reference_semantic_entropy(ids, lls), abs=1e-10)


def test_cluster_log_probs_sum_to_one():
    lp = E.cluster_log_probs([0, 1, 0, 2], [-1.0, -2.0, -0.5, -4.0])
    assert np.exp(lp).sum() == pytest.approx(1.0)


def test_discrete_semantic_entropy_by_hand():
    # counts [2, 1, 1] of 4: -(0.5 ln 0.5 + 2 * 0.25 ln 0.25) = 1.0397208
    assert E.discrete_semantic_entropy([0, 0, 1, 2]) == pytest.approx(1.03972077, abs=1e-8)
    assert E.discrete_semantic_entropy([0] * 10) == 0.0
    assert E.discrete_semantic_entropy(list(range(10))) == pytest.approx(math.log(10))


def test_cluster_ids_must_be_contiguous():
    with pytest.raises(ValueError):
        E.discrete_semantic_entropy([0, 2])


def test_naive_entropy_and_sequence_scores_by_hand():
    assert E.naive_entropy([-1.0, -2.0, -3.0]) == pytest.approx(2.0)
    assert E.max_sequence_prob([-0.5, -1.5]) == pytest.approx(2.0)
    assert E.perplexity([-0.5, -1.5]) == pytest.approx(1.0)
    assert E.mean_loglik([]) == 0.0


def test_lexical_similarity_by_hand():
    assert E.lexical_similarity(["vitamin c", "vitamin c"]) == pytest.approx(-1.0)
    assert E.lexical_similarity(["cat", "dog"]) == pytest.approx(0.0)
    # ROUGE-L F of ("x y z", "x y") = 2 * 1 * (2/3) / (1 + 2/3) = 0.8; the other pairs share nothing
    assert E.lexical_similarity(["x y z", "x y", "w"]) == pytest.approx(-0.8 / 3)


def test_num_clusters():
    assert E.num_clusters([0, 1, 1, 2, 0]) == 3.0


def test_eigenvalue_by_hand_and_against_lm_polygraph_formula():
    assert E.eigenvalue(np.eye(3)) == pytest.approx(3.0)  # nothing alike: three meanings
    assert E.eigenvalue(np.ones((3, 3))) == pytest.approx(1.0)  # all alike: one meaning
    rng = np.random.default_rng(0)
    for _ in range(20):
        w = rng.uniform(0.01, 1, (6, 6))
        np.fill_diagonal(w, 1.0)
        assert E.eigenvalue(w) == pytest.approx(reference_eigval_laplacian(w), abs=1e-9)


def test_p_true_and_verbalized():
    assert E.p_true(math.log(0.8)) == pytest.approx(0.2)
    assert E.p_true(None) is None
    assert E.verbalized_confidence(85) == pytest.approx(0.15)
    assert E.verbalized_confidence(None) is None


def test_semantic_entropy_lmpolygraph_by_hand():
    # summed log-probs; classes {0, 1} with p = 0.2 + 0.1 and {2} with 0.3: -mean(ln .3, ln .3, ln .3)
    lls = [math.log(0.2), math.log(0.1), math.log(0.3)]
    assert E.semantic_entropy_lmpolygraph([0, 0, 1], lls) == pytest.approx(-math.log(0.3))
    # not renormalised: scaling every probability by 1/2 adds ln 2
    half = [x + math.log(0.5) for x in lls]
    assert E.semantic_entropy_lmpolygraph([0, 0, 1], half) == pytest.approx(-math.log(0.3) + math.log(2))


def test_semantic_entropy_uqlm_by_hand():
    lls = [math.log(0.2), math.log(0.2), math.log(0.4)]
    assert E.semantic_entropy_uqlm([[0, 1], [2]], lls) == pytest.approx(math.log(2))
    # an answer counted in two clusters (uqlm's greedy loop does not stop at the first match)
    # masses 0.4 and 0.2 + 0.4: p = [0.4, 0.6] -> -(0.4 ln 0.4 + 0.6 ln 0.6) = 0.6730117
    assert E.semantic_entropy_uqlm([[0, 1], [2, 1]], lls) == pytest.approx(0.67301167, abs=1e-8)
    assert E.semantic_entropy_uqlm([[0, 1, 2]], lls) == pytest.approx(0.0)
