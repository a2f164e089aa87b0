"""A run folder given to the wrong study verb, or a folder that is no run, is one clear message."""

from __future__ import annotations

import pytest


@pytest.fixture
def generate_run(local_model, tmp_path, cli):
    code, _, err = cli("generate", "-m", "openai-api/local/m", "-d", "demo-qa", "--limit", "2",
                       "--runs-dir", str(tmp_path / "runs"), "-q")
    assert code == 0, err
    (run,) = (tmp_path / "runs").iterdir()
    return run


@pytest.mark.parametrize("verb", ["safety", "reasoning", "hallucination"])
@pytest.mark.parametrize("how", ["--resume", "--rescore"])
def test_the_wrong_verb_names_the_right_one(generate_run, cli, verb, how):
    code, out, err = cli(verb, how, str(generate_run), "-q")
    assert code == 2 and f"is a generate run, not a {verb}" in err
    assert f"medtrust generate --resume/--rescore {generate_run}" in err
    assert "validation error" not in err and len(err.splitlines()) <= 3


def test_config_with_resume_and_a_folder_that_is_no_run(generate_run, cli, tmp_path):
    code, _, err = cli("generate", "--resume", str(generate_run), "--config", str(tmp_path / "c.yaml"))
    assert code == 2 and "--config cannot be combined with --resume" in err
    code, _, err = cli("generate", "--resume", str(tmp_path))
    assert code == 2 and "is not a run folder" in err
