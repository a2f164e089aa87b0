"""Re-scoring saved reasoning records: extract and grade the saved outputs again (no model)."""

from __future__ import annotations

from typing import Any

from medtrust.data.schema import Sample
from medtrust.reasoning.grading import answer_key, extract_for, from_key, is_correct
from medtrust.reasoning.vote import majority_vote


def rescore_record(record: dict[str, Any]) -> dict[str, Any]:
    """The record with ``extracted``, ``correct``, votes and early-answering comparisons
    recomputed from its saved outputs and gold answer. Log-likelihood records are returned as
    they are (their scores are the model's, not an extraction)."""
    rec = dict(record)
    if rec.get("kind") == "loglik":
        return rec
    sample = Sample(**rec["sample"])
    if rec.get("samples"):
        samples = []
        for s in rec["samples"]:
            s = dict(s, extracted=answer_key(extract_for(sample, s["text"])))
            s["correct"] = is_correct(sample, from_key(sample, s["extracted"]))
            samples.append(s)
        vote = majority_vote([s["extracted"] for s in samples], [s.get("logprob") for s in samples])
        rec.update(samples=samples, vote=vote, extracted=vote["answer"])
    else:
        rec["extracted"] = answer_key(extract_for(sample, rec.get("raw_output") or ""))
    rec["extraction_failed"] = rec["extracted"] is None
    rec["correct"] = is_correct(sample, from_key(sample, rec["extracted"]))
    early = rec.get("early")
    if early:
        from medtrust.reasoning.faithfulness import early_answering_result
        points = early["points"]
        answers = [answer_key(extract_for(sample, p["output"])) for p in points]
        rec["early"] = early_answering_result([p["fraction"] for p in points], [p["kept"] for p in points],
                                              [p["output"] for p in points], answers, rec["extracted"],
                                              early.get("unit", "tokens"))
    return rec
