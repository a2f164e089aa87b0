"""The shape of the code the pipeline issue asked for: no import loops where code was misplaced,
small files, one door to a model, and help texts made from the registries."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "medtrust"


def imports() -> dict[str, set[str]]:
    """module -> the medtrust modules it imports anywhere in its body (function-level imports too)."""
    graph: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        module = ".".join(("medtrust", *path.relative_to(SRC).with_suffix("").parts)).removesuffix(".__init__")
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("medtrust"):
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.startswith("medtrust"))
        graph[module] = found
    return graph


def edges_between(graph, a: str, b: str) -> list[tuple[str, str]]:
    return [(m, t) for m, ts in graph.items() for t in ts if m.startswith(a) and t.startswith(b)]


def test_no_import_loop_between_report_and_runs_nor_correctness_and_entailment():
    graph = imports()
    assert edges_between(graph, "medtrust.runs", "medtrust.report") == []  # the report reads runs, not back
    assert edges_between(graph, "medtrust.report", "medtrust.pipeline") == []  # the report never runs a study
    correctness, entailment = "medtrust.hallucination.correctness", "medtrust.hallucination.entailment"
    assert not (entailment in graph[correctness] and correctness in graph[entailment])
    assert correctness not in graph[entailment] and entailment not in graph[correctness]


def test_one_door_to_a_model():
    """Only models/open.py builds backends from model strings (``registry.resolve``)."""
    users = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "medtrust.models.registry" and \
                    any(a.name == "resolve" for a in node.names):
                users.add(str(path.relative_to(SRC)))
    assert users == {"models/open.py"}


def test_no_source_file_over_400_lines():
    sizes = {str(p.relative_to(SRC)): len(p.read_text().splitlines()) for p in SRC.rglob("*.py")}
    assert {p: n for p, n in sizes.items() if n > 400} == {}


@pytest.mark.parametrize("verb, names", [
    ("safety", "medtrust.safety.attacks:ATTACKS"), ("reasoning", "medtrust.reasoning.strategies:STRATEGIES"),
    ("hallucination", "medtrust.hallucination.estimators:REGISTRY"),
    ("hallucination", "medtrust.hallucination.entailment:METHODS"), ("safety", "medtrust.safety.judges.base:JUDGES")])
def test_help_lists_the_registry_entries(cli, verb, names, monkeypatch):
    import importlib
    monkeypatch.setenv("COLUMNS", "2000")  # one line per option: no name is wrapped
    module, _, table = names.partition(":")
    entries = getattr(importlib.import_module(module), table)
    code, out, _ = cli(verb, "--help")
    assert code == 0
    flat = " ".join(out.split())
    for name, entry in entries.items():
        assert (getattr(entry, "form", None) or name).split("<")[0].rstrip("/[") in flat, (verb, name)


def test_models_lists_backends_judges_and_entailment_methods(cli):
    from medtrust.hallucination.entailment import METHODS
    from medtrust.models.registry import BACKENDS
    from medtrust.safety.judges.base import JUDGES
    code, out, _ = cli("models")
    assert code == 0
    for kind in (*BACKENDS.values(), *JUDGES.values(), *METHODS.values()):
        assert kind.form in out
