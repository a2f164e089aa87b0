"""The studies medtrust knows. Each study package adds one line to each list.

- ``STUDY_MODULES``: modules that define a ``Study`` subclass (importing registers it).
- ``CLI_MODULES``: modules with ``register(app)`` adding the study's verb(s) to the CLI, and
  optionally ``demo(runs_dir, limit, progress) -> dict[str, Path]`` run by ``medtrust demo``
  (in list order). Keep heavy imports inside functions: the CLI imports these at start-up.
"""

from __future__ import annotations

import importlib
from types import ModuleType

STUDY_MODULES = [
    "medtrust.runs.generate",
    "medtrust.safety.study",
    "medtrust.hallucination.study",
    "medtrust.hallucination.pope_study",
    "medtrust.reasoning.study",
]

CLI_MODULES: list[str] = [
    "medtrust.safety.cli",
    "medtrust.hallucination.cli",
    "medtrust.reasoning.cli",
    "medtrust.train.cli",
]


def load_studies() -> None:
    """Import every study module (registers the studies with the runner)."""
    for name in STUDY_MODULES:
        importlib.import_module(name)


def cli_modules() -> list[ModuleType]:
    return [importlib.import_module(name) for name in CLI_MODULES]
