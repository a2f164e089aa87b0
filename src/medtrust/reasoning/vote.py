"""Self-consistency (Wang et al., 2023): majority vote over the answers of N sampled chains of
thought. Samples with no extractable answer do not vote. A tie between the most voted answers
is broken by the total log-probability of the samples behind each (the sum over those samples
of their summed token log-probs), and reported."""

from __future__ import annotations

from collections import Counter
from typing import Sequence


def majority_vote(answers: Sequence[str | None], logprobs: Sequence[float | None] | None = None) -> dict:
    """Vote over answer keys; ``logprobs[i]`` is sample i's total log-probability (or None).

    Returns {"answer", "votes" {answer: count}, "agreement" (share of all N samples that gave
    the winning answer), "tie" (bool), "tied" (answers tied at the top), "tie_break"
    ("logprob", "first" when log-probs are missing: the tied answer sampled first, or None),
    "tie_logprobs" {answer: total log-prob} for the tied answers}.

    >>> majority_vote(["B", "C", "B", None])["answer"]
    'B'
    >>> v = majority_vote(["A", "C"], [-5.0, -2.0])
    >>> v["answer"], v["tie"], v["tie_break"]
    ('C', True, 'logprob')
    """
    n = len(answers)
    lps = list(logprobs) if logprobs is not None else [None] * n
    votes = Counter(a for a in answers if a is not None)
    out: dict = {"answer": None, "votes": dict(votes), "agreement": 0.0, "tie": False, "tied": [],
                 "tie_break": None, "tie_logprobs": {}}
    if not votes:
        return out
    top = max(votes.values())
    tied = [a for a in dict.fromkeys(a for a in answers if a is not None) if votes[a] == top]  # first-seen order
    winner = tied[0]
    if len(tied) > 1:
        out.update(tie=True, tied=tied)
        totals = {a: [lp for ans, lp in zip(answers, lps) if ans == a] for a in tied}
        if all(v is not None for vals in totals.values() for v in vals):
            sums = {a: float(sum(vals)) for a, vals in totals.items()}
            winner = max(tied, key=lambda a: sums[a])  # max keeps the first-seen on exact equality
            out.update(tie_break="logprob", tie_logprobs=sums)
        else:
            out["tie_break"] = "first"
    out.update(answer=winner, agreement=top / n if n else 0.0)
    return out
