"""The reasoning study: prompting strategies, answer extraction, MedCalc-Bench grading,
log-likelihood scoring and faithfulness by early answering (see DESIGN.md, "Reasoning").

``medtrust.reasoning.extract`` is dependency-free and safe to import from any study.
"""
