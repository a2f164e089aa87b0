"""From sampled answers to clusters, correctness and every estimator's score (no generator needed:
this is also what ``--rescore`` runs)."""

from __future__ import annotations

from typing import Any, Sequence

from medtrust.hallucination import estimators as E
from medtrust.hallucination.clustering import (
    PairMatrix,
    lmpolygraph_ids,
    semantic_ids,
    similarity_matrix,
    unique_texts,
    uqlm_clusters,
)
from medtrust.hallucination.correctness import grade_records
from medtrust.hallucination.entailment import Entailment

GENERATION_ESTIMATORS = {"p_true", "verbalized_confidence", "sep"}
"""Estimators that need something beyond the saved answers (a model call or the probe)."""


FULL_MATRIX_ESTIMATORS = {"eigenvalue", "semantic_entropy_uqlm"}
"""Estimators that read every ordered pair of the entailment matrix; the others need only the
pairs bidirectional clustering depends on."""


def matrix_mode(estimators: Sequence[str] | None, strict: bool) -> str:
    """How much of the entailment matrix the estimators asked for need (clustering.MATRIX_MODES)."""
    if estimators is None or FULL_MATRIX_ESTIMATORS & set(estimators):
        return "full"
    return "strict" if strict else "lenient"


def sample_scores(record: dict[str, Any], matrix, strict: bool,
                  keep: set[str] | None = None) -> tuple[list[int], dict[str, float | None]]:
    """Cluster ids of the N samples and the estimators in ``keep`` (all by default) computed from
    the saved answers."""
    answers = record["answers"]
    texts = [a["text"] for a in answers]
    mean_ll = [E.mean_loglik(a["token_logprobs"]) for a in answers]
    ids = semantic_ids(texts, matrix, strict=strict)
    low = record["low_t_answer"]

    def uqlm() -> float:
        everything = [low["text"], *texts]
        return E.semantic_entropy_uqlm(uqlm_clusters(everything, matrix),
                                       [E.mean_loglik(low["token_logprobs"]), *mean_ll])

    estimators = {
        "semantic_entropy": lambda: E.semantic_entropy(ids, mean_ll),
        "discrete_semantic_entropy": lambda: E.discrete_semantic_entropy(ids),
        "naive_entropy": lambda: E.naive_entropy(mean_ll),
        "max_sequence_prob": lambda: E.max_sequence_prob(low["token_logprobs"]),
        "perplexity": lambda: E.perplexity(low["token_logprobs"]),
        "lexical_similarity": lambda: E.lexical_similarity(texts),
        "num_clusters": lambda: E.num_clusters(ids),
        "eigenvalue": lambda: E.eigenvalue(similarity_matrix(texts, matrix)),
        "p_true": lambda: E.p_true(record.get("p_true_logprob")),
        "verbalized_confidence": lambda: E.verbalized_confidence(record.get("confidence")),
        "semantic_entropy_lmpolygraph": lambda: E.semantic_entropy_lmpolygraph(
            lmpolygraph_ids(texts, matrix), [E.sum_loglik(a["token_logprobs"]) for a in answers]),
        "semantic_entropy_uqlm": uqlm,
    }
    return ids, {k: f() for k, f in estimators.items() if keep is None or k in keep}


def score_records(records: Sequence[dict[str, Any]], entailment: Entailment, strict: bool = True,
                  judge: str | None = None, estimators: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Fill ``cluster`` of each answer, ``correct`` and ``scores`` into the records (in place; also
    returned). One entailment batch covers every record, asking only the pairs the estimators
    need; ``sep`` is left to the probe."""
    keep = set(estimators) if estimators is not None else None
    matrices = record_matrices(records, entailment, matrix_mode(estimators, strict))
    verdicts = grade_records(records, judge=judge)
    for r, matrix, ok in zip(records, matrices, verdicts):
        ids, scores = sample_scores(r, matrix, strict, keep)
        for a, c in zip(r["answers"], ids):
            a["cluster"] = c
        low_text = r["low_t_answer"]["text"]
        low_cluster = next((c for a, c in zip(r["answers"], ids) if _same(matrix, low_text, a["text"], strict)), None)
        r["low_t_answer"]["cluster"] = low_cluster
        r["correct"] = ok
        r["entailment"] = entailment.name
        r["strict"] = strict
        r["judge"] = judge
        old_sep = (r.get("scores") or {}).get("sep")
        r["scores"] = scores
        if old_sep is not None and (keep is None or "sep" in keep):
            r["scores"]["sep"] = old_sep
    return list(records)


def record_matrices(records: Sequence[dict[str, Any]], entailment: Entailment,
                    mode: str = "full") -> list[PairMatrix]:
    """The entailment matrix of each record over its unique answer texts (low-T answer first),
    holding what ``mode`` needs.

    A record that already holds a matrix from the same method (a saved run being re-scored) starts
    from it, so re-scoring with the same settings reproduces the scores exactly and costs no model
    call; only pairs it lacks are asked, in one batch over all records. The result is saved into
    the record (``entailment_matrix``; pairs not asked are -1 / None)."""
    items = []
    for r in records:
        texts = unique_texts([r["low_t_answer"]["text"], *[a["text"] for a in r["answers"]]])
        saved = r.get("entailment_matrix") or {}
        reuse = saved.get("method") == entailment.name and saved.get("texts") == texts
        items.append((r["question"], PairMatrix.from_saved(saved) if reuse else PairMatrix.unasked(texts)))
    matrices = entailment.complete(items, mode)
    for r, m in zip(records, matrices):
        r["entailment_matrix"] = {"method": entailment.name, **m.to_saved()}
    return matrices


def _same(matrix, a: str, b: str, strict: bool) -> bool:
    from medtrust.hallucination.clustering import equivalent
    pos = matrix.index()
    i, j = pos[a], pos[b]
    return i == j or equivalent(int(matrix.labels[i, j]), int(matrix.labels[j, i]), strict)
