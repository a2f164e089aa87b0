"""From sampled answers to clusters, correctness and every estimator's score (no generator needed:
this is also what ``--rescore`` runs)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

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


def sample_scores(record: dict[str, Any], matrix, strict: bool) -> tuple[list[int], dict[str, float | None]]:
    """Cluster ids of the N samples and every estimator computed from the saved answers."""
    answers = record["answers"]
    texts = [a["text"] for a in answers]
    mean_ll = [E.mean_loglik(a["token_logprobs"]) for a in answers]
    sum_ll = [E.sum_loglik(a["token_logprobs"]) for a in answers]
    ids = semantic_ids(texts, matrix, strict=strict)
    low = record["low_t_answer"]
    everything = [low["text"], *texts]
    everything_ll = [E.mean_loglik(low["token_logprobs"]), *mean_ll]
    scores: dict[str, float | None] = {
        "semantic_entropy": E.semantic_entropy(ids, mean_ll),
        "discrete_semantic_entropy": E.discrete_semantic_entropy(ids),
        "naive_entropy": E.naive_entropy(mean_ll),
        "max_sequence_prob": E.max_sequence_prob(low["token_logprobs"]),
        "perplexity": E.perplexity(low["token_logprobs"]),
        "lexical_similarity": E.lexical_similarity(texts),
        "num_clusters": E.num_clusters(ids),
        "eigenvalue": E.eigenvalue(similarity_matrix(texts, matrix)),
        "p_true": E.p_true(record.get("p_true_logprob")),
        "verbalized_confidence": E.verbalized_confidence(record.get("confidence")),
        "semantic_entropy_lmpolygraph": E.semantic_entropy_lmpolygraph(lmpolygraph_ids(texts, matrix), sum_ll),
        "semantic_entropy_uqlm": E.semantic_entropy_uqlm(uqlm_clusters(everything, matrix), everything_ll),
    }
    return ids, scores


def score_records(records: Sequence[dict[str, Any]], entailment: Entailment, strict: bool = True,
                  judge: str | None = None, estimators: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Fill ``cluster`` of each answer, ``correct`` and ``scores`` into the records (in place; also
    returned). One entailment batch covers every record; ``sep`` is left to the probe."""
    matrices = record_matrices(records, entailment)
    verdicts = grade_records(records, judge=judge)
    keep = set(estimators) if estimators is not None else None
    for r, matrix, ok in zip(records, matrices, verdicts):
        ids, scores = sample_scores(r, matrix, strict)
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
        r["scores"] = {k: v for k, v in scores.items() if keep is None or k in keep}
        if old_sep is not None and (keep is None or "sep" in keep):
            r["scores"]["sep"] = old_sep
    return list(records)


def record_matrices(records: Sequence[dict[str, Any]], entailment: Entailment) -> list[PairMatrix]:
    """The entailment matrix of each record over its unique answer texts (low-T answer first).

    A record that already holds a matrix from the same method (a saved run being re-scored) reuses
    it, so re-scoring with the same settings reproduces the scores exactly and costs no model call;
    the others are computed in one batch and saved into the record (``entailment_matrix``)."""
    texts = [unique_texts([r["low_t_answer"]["text"], *[a["text"] for a in r["answers"]]]) for r in records]
    out: list[PairMatrix | None] = [None] * len(records)
    todo = []
    for i, (r, ts) in enumerate(zip(records, texts)):
        saved = r.get("entailment_matrix") or {}
        if saved.get("method") == entailment.name and saved.get("texts") == ts:
            out[i] = PairMatrix(ts, np.array(saved["labels"], dtype=int), np.array(saved["p_entail"], dtype=float))
        else:
            todo.append(i)
    computed = entailment.matrices([(records[i]["question"], texts[i]) for i in todo])
    for i, m in zip(todo, computed):
        out[i] = m
        records[i]["entailment_matrix"] = {"method": entailment.name, "texts": m.texts,
                                           "labels": m.labels.astype(int).tolist(),
                                           "p_entail": [[float(x) for x in row] for row in m.p_entail]}
    return out  # type: ignore[return-value]


def _same(matrix, a: str, b: str, strict: bool) -> bool:
    from medtrust.hallucination.clustering import equivalent
    pos = matrix.index()
    i, j = pos[a], pos[b]
    return i == j or equivalent(int(matrix.labels[i, j]), int(matrix.labels[j, i]), strict)
