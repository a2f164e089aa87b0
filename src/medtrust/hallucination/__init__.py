"""Hallucination detection: sampling, entailment clustering, uncertainty estimators (semantic
entropy and its rivals), correctness, metrics, semantic entropy probes, report and CLI."""
