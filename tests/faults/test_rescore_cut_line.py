"""--rescore of a run whose last line was cut off mid-write: the re-scored run says it is partial
(n below the samples the run meant to have) instead of reporting n = expected."""

from __future__ import annotations

import json


def test_a_cut_off_last_line_rescores_as_partial(local_model, tmp_path, cli):
    code, _, err = cli("generate", "-m", "openai-api/local/m", "-d", "demo-qa", "--limit", "4",
                       "--runs-dir", str(tmp_path / "runs"), "-q")
    assert code == 0, err
    (run,) = (tmp_path / "runs").iterdir()
    text = (run / "samples.jsonl").read_text()
    (run / "samples.jsonl").write_text(text[: len(text) - 40])  # the last record half-written
    code, _, err = cli("generate", "--rescore", str(run), "--runs-dir", str(tmp_path / "re"), "-q")
    assert code == 0, err
    (again,) = (tmp_path / "re").iterdir()
    results = json.loads((again / "results.json").read_text())
    assert (results["n"], results["expected"], results["status"]) == (3, 4, "partial")
