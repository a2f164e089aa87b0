"""From sampled answers to clusters, correctness and every estimator's score (no generator needed:
this is what the study's ``score`` runs, in a run and on ``--rescore``)."""

from __future__ import annotations

from typing import Any, Sequence

from medtrust.hallucination import estimators as E
from medtrust.hallucination.clustering import PairMatrix, equivalent, semantic_ids, unique_texts
from medtrust.hallucination.correctness import grade_records
from medtrust.hallucination.entailment import Entailment
from medtrust.models.base import Backend


def matrix_mode(estimators: Sequence[str] | None, strict: bool) -> str:
    """How much of the entailment matrix the estimators asked for need (clustering.MATRIX_MODES)."""
    if E.estimators_needing("full_matrix", estimators):
        return "full"
    return "strict" if strict else "lenient"


def sample_scores(record, matrix: PairMatrix, strict: bool,
                  keep: Sequence[str] | None = None) -> tuple[list[int], dict[str, float | None]]:
    """Cluster ids of the N samples and the estimators in ``keep`` (all by default, the probe
    aside) computed from the saved answers of a hallucination record."""
    texts = [a.text for a in record.outputs]
    ids = semantic_ids(texts, matrix, strict=strict)
    x = record.extras
    answers = E.Answers(texts=texts, token_logprobs=[a.token_logprobs for a in record.outputs], cluster_ids=ids,
                        low_text=x.low_t_answer.text, low_logprobs=x.low_t_answer.token_logprobs, matrix=matrix,
                        p_true_logprob=x.p_true_logprob, confidence=x.confidence)
    names = [n for n in (keep if keep is not None else E.ESTIMATORS) if E.REGISTRY[n].compute is not None]
    return ids, {n: E.REGISTRY[n].compute(answers) for n in names}


def score_records(records: Sequence, entailment: Entailment, strict: bool = True, judge: Backend | None = None,
                  judge_name: str | None = None, estimators: Sequence[str] | None = None) -> list:
    """Fill clusters, correctness and ``scores`` into the records (in place; also returned). One
    entailment batch covers every record, asking only the pairs the estimators need; ``sep``
    (the probe) keeps its old value here and is refitted over the whole run afterwards."""
    matrices = record_matrices(records, entailment, matrix_mode(estimators, strict))
    verdicts = grade_records(records, judge=judge)
    for r, matrix, ok in zip(records, matrices, verdicts):
        ids, scores = sample_scores(r, matrix, strict, estimators)
        x = r.extras
        x.clusters = ids
        x.low_t_cluster = next((c for a, c in zip(r.outputs, ids)
                                if _same(matrix, x.low_t_answer.text, a.text, strict)), None)
        x.entailment, x.strict, x.judge = entailment.name, strict, judge_name
        old_sep = r.scores.get("sep")
        r.scores = {"correct": ok, **scores}
        if old_sep is not None and (estimators is None or "sep" in estimators):
            r.scores["sep"] = old_sep
    return list(records)


def record_matrices(records: Sequence, entailment: Entailment, mode: str = "full") -> list[PairMatrix]:
    """The entailment matrix of each record over its unique answer texts (low-T answer first),
    holding what ``mode`` needs.

    A record that already holds a matrix from the same method (a saved run being re-scored) starts
    from it, so re-scoring with the same settings reproduces the scores exactly and costs no model
    call; only pairs it lacks are asked, in one batch over all records. The result is saved into
    the record (``extras.entailment_matrix``; pairs not asked are -1 / None)."""
    items = []
    for r in records:
        texts = unique_texts([r.extras.low_t_answer.text, *[a.text for a in r.outputs]])
        saved: dict[str, Any] = r.extras.entailment_matrix or {}
        reuse = saved.get("method") == entailment.name and saved.get("texts") == texts
        items.append((r.sample.question, PairMatrix.from_saved(saved) if reuse else PairMatrix.unasked(texts)))
    matrices = entailment.complete(items, mode)
    for r, m in zip(records, matrices):
        r.extras.entailment_matrix = {"method": entailment.name, **m.to_saved()}
    return matrices


def _same(matrix: PairMatrix, a: str, b: str, strict: bool) -> bool:
    pos = matrix.index()
    i, j = pos[a], pos[b]
    return i == j or equivalent(int(matrix.labels[i, j]), int(matrix.labels[j, i]), strict)
