"""Uncertainty estimators: each a plain function of one question's answers, higher = more uncertain.

The definitions follow the semantic-entropy reference code (Farquhar, Kossen, Kuhn, Gal, Nature
2024; github.com/jlko/semantic_uncertainty, ``uncertainty_measures/semantic_entropy.py``) and
LM-Polygraph (github.com/IINemo/lm-polygraph, ``estimators/``) where they come from there; each
docstring names the function it matches. docs/hallucination.md has the table with formulas.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Any, Callable, Sequence

import numpy as np


def mean_loglik(token_logprobs: Sequence[float] | None) -> float:
    """Length-normalised log-likelihood of one answer: the mean of its token log-probs
    (``log_liks_agg = [np.mean(log_lik) ...]`` in the reference ``compute_uncertainty_measures.py``).
    An answer with no tokens (the model stopped at once) counts as log-likelihood 0."""
    return float(np.mean(token_logprobs)) if token_logprobs else 0.0


def sum_loglik(token_logprobs: Sequence[float] | None) -> float:
    """Log-probability of the whole answer: the sum of its token log-probs."""
    return float(np.sum(token_logprobs)) if token_logprobs else 0.0


def _check_ids(cluster_ids: Sequence[int]) -> np.ndarray:
    ids = np.asarray(cluster_ids, dtype=int)
    if ids.size == 0:
        raise ValueError("no answers")
    if sorted(set(ids.tolist())) != list(range(ids.max() + 1)):
        raise ValueError(f"cluster ids must be 0..k-1 in use, got {ids.tolist()}")
    return ids


def logsumexp(x) -> float:
    """scipy's ``logsumexp`` (imported when first used: the CLI reads this module at start-up)."""
    from scipy.special import logsumexp as lse
    return lse(x)


def cluster_log_probs(cluster_ids: Sequence[int], log_likelihoods: Sequence[float]) -> np.ndarray:
    """Log-probability of each cluster: answer likelihoods renormalised over the answers, then
    log-sum-exp per cluster. Matches the reference ``logsumexp_by_id(..., agg='sum_normalized')``."""
    ids = _check_ids(cluster_ids)
    ll = np.asarray(log_likelihoods, dtype=float)
    normalised = ll - logsumexp(ll)
    return np.array([logsumexp(normalised[ids == c]) for c in range(ids.max() + 1)])


def semantic_entropy(cluster_ids: Sequence[int], log_likelihoods: Sequence[float]) -> float:
    """Semantic entropy: -sum_c p(c) log p(c) over the clusters, with p(c) from
    :func:`cluster_log_probs` of the mean-token log-likelihoods of the N sampled answers.
    Matches the reference ``predictive_entropy_rao(logsumexp_by_id(ids, log_liks_agg, 'sum_normalized'))``."""
    lp = cluster_log_probs(cluster_ids, log_likelihoods)
    return float(-np.sum(np.exp(lp) * lp))


def discrete_semantic_entropy(cluster_ids: Sequence[int]) -> float:
    """Entropy of the cluster counts, no likelihoods (reference ``cluster_assignment_entropy``)."""
    ids = _check_ids(cluster_ids)
    p = np.bincount(ids) / ids.size
    return float(-np.sum(p * np.log(p)))


def naive_entropy(log_likelihoods: Sequence[float]) -> float:
    """Naive (length-normalised predictive) entropy: -mean of the answers' mean-token
    log-likelihoods, a Monte Carlo estimate of E[-log p(answer)] (reference ``predictive_entropy``,
    reported there as ``regular_entropy``)."""
    ll = np.asarray(log_likelihoods, dtype=float)
    if ll.size == 0:
        raise ValueError("no answers")
    return float(-np.sum(ll) / ll.size)


def max_sequence_prob(token_logprobs: Sequence[float] | None) -> float:
    """Maximum sequence probability of the low-temperature answer as an uncertainty:
    -log p(answer) = -sum of its token log-probs (LM-Polygraph ``MaximumSequenceProbability``)."""
    return -sum_loglik(token_logprobs)


def perplexity(token_logprobs: Sequence[float] | None) -> float:
    """Log-perplexity of the low-temperature answer: -mean token log-prob (LM-Polygraph ``Perplexity``)."""
    return -mean_loglik(token_logprobs)


def lexical_similarity(texts: Sequence[str]) -> float:
    """Negative mean pairwise ROUGE-L F-measure of the sampled answers (``rouge-score``), as
    LM-Polygraph ``LexicalSimilarity(metric="rougeL")``; higher = answers differ more.
    One answer gives -1.0 (no disagreement can be seen)."""
    from rouge_score import rouge_scorer

    texts = list(texts)
    if len(texts) < 2:
        return -1.0
    scorer = _rouge_scorer(rouge_scorer)
    scores = [scorer.score(a, b)["rougeL"].fmeasure for a, b in combinations(texts, 2)]
    return -float(np.mean(scores))


_SCORER = None


def _rouge_scorer(module):
    global _SCORER
    if _SCORER is None:
        _SCORER = module.RougeScorer(["rougeL"], use_stemmer=True)
    return _SCORER


def num_clusters(cluster_ids: Sequence[int]) -> float:
    """Number of semantic clusters among the samples (LM-Polygraph ``NumSemSets``)."""
    return float(_check_ids(cluster_ids).max() + 1)


def eigenvalue(similarity: np.ndarray) -> float:
    """Sum of eigenvalues of the graph Laplacian, U_EigV = sum_k max(0, 1 - lambda_k) (Lin, Trivedi,
    Sun 2023), with W the symmetrised answer-similarity matrix (W + W^T) / 2 and the normalised
    Laplacian L = I - D^-1/2 W D^-1/2. Matches LM-Polygraph ``EigValLaplacian``."""
    w = np.asarray(similarity, dtype=float)
    if w.ndim != 2 or w.shape[0] != w.shape[1] or w.shape[0] == 0:
        raise ValueError(f"similarity must be a square matrix, got shape {w.shape}")
    w = (w + w.T) / 2
    d = w.sum(axis=1)
    inv_sqrt = np.where(d > 0, 1.0 / np.sqrt(np.where(d > 0, d, 1.0)), 0.0)
    laplacian = np.eye(len(w)) - inv_sqrt[:, None] * w * inv_sqrt[None, :]
    eig = np.linalg.eigvalsh(laplacian)
    return float(np.sum(np.clip(1.0 - eig, 0.0, None)))


def p_true(logprob_true: float | None) -> float | None:
    """P(True) of Kadavath et al. (2022) as an uncertainty: 1 - p("A) True"), with the log-prob of
    the answer " A" to the reference's True/False prompt (reference ``p_false_fixed`` = 1 - exp(p_true))."""
    return None if logprob_true is None else float(1.0 - np.exp(logprob_true))


def verbalized_confidence(confidence: float | None) -> float | None:
    """The model's stated confidence (0-100) turned into an uncertainty: 1 - confidence / 100."""
    return None if confidence is None else float(1.0 - confidence / 100.0)


def semantic_entropy_lmpolygraph(cluster_ids: Sequence[int], sum_logliks: Sequence[float]) -> float:
    """LM-Polygraph 0.7.0's ``SemanticEntropy``: the class log-probability is the log-sum-exp of the
    members' *summed* token log-probs (no length normalisation, no renormalisation over the samples),
    and the entropy is the Monte Carlo mean over samples, -1/N sum_j log p(class of j)."""
    ids = _check_ids(cluster_ids)
    ll = np.asarray(sum_logliks, dtype=float)
    class_lp = np.array([logsumexp(ll[ids == c]) for c in range(ids.max() + 1)])
    return float(-np.mean(class_lp[ids]))


def semantic_entropy_uqlm(clusters: Sequence[Sequence[int]], mean_logliks: Sequence[float]) -> float:
    """uqlm's token-probability semantic entropy (``NLIScorer._semantic_entropy_process``):
    response probability exp(mean token log-prob) (``length_norm_sequence_prob``), summed over each
    cluster's members, normalised over the clusters, |sum p log p|. ``clusters`` are lists of
    answer indices; uqlm's greedy clustering can place one answer in several clusters, and this
    function counts it in each, as uqlm does."""
    probs = np.exp(np.asarray(mean_logliks, dtype=float))
    mass = np.array([probs[list(c)].sum() for c in clusters], dtype=float)
    total = mass.sum()
    p = mass / total if total > 0 else np.full(len(mass), 1.0 / len(mass))
    return float(abs(np.sum([x * np.log(x) for x in p if x > 0])))


# ----------------------------------------------------------------------------------- the table
@dataclass(frozen=True)
class EstimatorSpec:
    """One estimator: its name, the function of a question's saved answers that computes it, and
    what it needs beyond the N sampled answers and their log-probs:

    - ``"full_matrix"``: every ordered entailment pair (not only those clustering needs);
    - ``"p_true"`` / ``"confidence"``: an extra model call while sampling (the P(True) question,
      the verbalised-confidence question);
    - ``"hidden_states"``: the low-temperature answer's hidden states, for the probe trained
      over the whole run (its ``compute`` is None: ``probes.fit_and_score`` writes it).
    """

    name: str
    compute: Callable[["Answers"], float | None] | None
    summary: str
    needs: frozenset[str] = frozenset()


@dataclass
class Answers:
    """What the estimators read from one record: the sampled texts and mean / summed token
    log-likelihoods, the cluster ids, the low-temperature answer, the entailment matrix, and the
    P(True) log-prob and stated confidence."""

    texts: list[str]
    token_logprobs: list[list[float] | None]
    cluster_ids: list[int]
    low_text: str
    low_logprobs: list[float] | None
    matrix: Any
    p_true_logprob: float | None = None
    confidence: float | None = None

    @property
    def mean_ll(self) -> list[float]:
        return [mean_loglik(lp) for lp in self.token_logprobs]


def _uqlm(a: Answers) -> float:
    from medtrust.hallucination.clustering import uqlm_clusters
    return semantic_entropy_uqlm(uqlm_clusters([a.low_text, *a.texts], a.matrix),
                                 [mean_loglik(a.low_logprobs), *a.mean_ll])


def _eigenvalue(a: Answers) -> float:
    from medtrust.hallucination.clustering import similarity_matrix
    return eigenvalue(similarity_matrix(a.texts, a.matrix))


def _lmpolygraph(a: Answers) -> float:
    from medtrust.hallucination.clustering import lmpolygraph_ids
    return semantic_entropy_lmpolygraph(lmpolygraph_ids(a.texts, a.matrix), [sum_loglik(lp) for lp in a.token_logprobs])


REGISTRY: dict[str, EstimatorSpec] = {e.name: e for e in [
    EstimatorSpec("semantic_entropy", lambda a: semantic_entropy(a.cluster_ids, a.mean_ll),
                  "entropy over meaning clusters, likelihood-weighted (Farquhar et al. 2024)"),
    EstimatorSpec("discrete_semantic_entropy", lambda a: discrete_semantic_entropy(a.cluster_ids),
                  "entropy of the cluster counts"),
    EstimatorSpec("naive_entropy", lambda a: naive_entropy(a.mean_ll), "mean negative log-likelihood of the samples"),
    EstimatorSpec("max_sequence_prob", lambda a: max_sequence_prob(a.low_logprobs),
                  "-log p of the low-temperature answer"),
    EstimatorSpec("perplexity", lambda a: perplexity(a.low_logprobs), "log-perplexity of the low-temperature answer"),
    EstimatorSpec("lexical_similarity", lambda a: lexical_similarity(a.texts), "negative mean pairwise ROUGE-L"),
    EstimatorSpec("num_clusters", lambda a: num_clusters(a.cluster_ids), "number of meaning clusters"),
    EstimatorSpec("eigenvalue", _eigenvalue, "sum of graph-Laplacian eigenvalues (Lin et al. 2023)",
                  frozenset({"full_matrix"})),
    EstimatorSpec("p_true", lambda a: p_true(a.p_true_logprob), "1 - P(True) of the answer (Kadavath et al. 2022)",
                  frozenset({"p_true"})),
    EstimatorSpec("verbalized_confidence", lambda a: verbalized_confidence(a.confidence),
                  "1 - the model's stated confidence / 100", frozenset({"confidence"})),
    EstimatorSpec("sep", None, "semantic entropy probe on hidden states (Kossen et al. 2024)",
                  frozenset({"hidden_states"})),
    EstimatorSpec("semantic_entropy_lmpolygraph", _lmpolygraph, "LM-Polygraph 0.7.0's SemanticEntropy"),
    EstimatorSpec("semantic_entropy_uqlm", _uqlm, "uqlm's semantic entropy", frozenset({"full_matrix"})),
]}

ESTIMATORS = tuple(REGISTRY)
"""Every estimator name, in report order."""


def estimators_needing(need: str, names: Sequence[str] | None = None) -> set[str]:
    """The estimators (of ``names``, default all) that need ``need``."""
    return {n for n in (names if names is not None else ESTIMATORS) if need in REGISTRY[n].needs}


def check_estimators(names: Sequence[str] | None) -> list[str]:
    """The estimators asked for (all by default), or one clear error naming the unknown ones."""
    from medtrust.errors import MedtrustError
    wanted = list(names) if names else list(ESTIMATORS)
    unknown = [n for n in wanted if n not in REGISTRY]
    if unknown:
        raise MedtrustError(f"Unknown estimator(s): {', '.join(unknown)}.", f"use any of: {', '.join(ESTIMATORS)}")
    return wanted
