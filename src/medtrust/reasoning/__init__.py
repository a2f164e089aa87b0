"""The reasoning study: prompting strategies, answer extraction, MedCalc-Bench grading,
log-likelihood scoring and faithfulness by early answering (see docs/architecture.md).

``medtrust.reasoning.extract`` is dependency-free and safe to import from any study.
"""
