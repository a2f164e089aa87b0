"""``--rescore`` runs the same ``score`` as a run: re-scoring a fresh run of each study with the
same settings rewrites identical scores and metrics, without loading the generator."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.integration

RUNS = {
    "generate": ["generate", "-d", "demo-qa", "--limit", "2", "--max-tokens", "8"],
    "safety": ["safety", "-d", "demo-harmful", "--benign", "demo-benign", "--attacks", "none,roleplay", "--limit", "2",
               "--max-tokens", "12"],
    "reasoning": ["reasoning", "-d", "demo-calc", "--strategies", "direct,cot,sc:2", "--limit", "2", "--max-tokens",
                  "24"],
}


def saved(folder):
    records = [json.loads(x) for x in (folder / "samples.jsonl").read_text().splitlines()]
    return {r["id"]: r for r in records}, json.loads((folder / "results.json").read_text())


@pytest.mark.parametrize("study", list(RUNS))
def test_rescore_with_the_same_settings_rewrites_identical_scores(study, cli, tmp_path, monkeypatch, embedded):
    code, _, err = cli(*RUNS[study], "-m", "embedded", "--runs-dir", str(tmp_path / "run"), "--no-cache", "-q")
    assert code == 0, err
    (run,) = (tmp_path / "run").iterdir()
    from medtrust.models import registry
    monkeypatch.setattr(registry, "resolve", lambda *a, **k: pytest.fail("--rescore loaded a model"))
    code, _, err = cli(study, "--rescore", str(run), "--runs-dir", str(tmp_path / "re"), "-q")
    assert code == 0, err
    (again,) = (tmp_path / "re").iterdir()
    (before, results), (after, results_again) = saved(run), saved(again)
    assert list(after) == list(before)
    for rid, r in after.items():
        assert r["scores"] == before[rid]["scores"] and r["outputs"] == before[rid]["outputs"], rid
    assert results_again["metrics"] == results["metrics"]
    assert results_again["status"] == "complete" and results_again["rescored_from"] == str(run)
