"""Importing this module registers every study with the runner."""

from medtrust.runs.generate import GenerateStudy  # noqa: F401
