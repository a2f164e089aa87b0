"""--resume means what it says: options that change what is computed must equal the saved ones,
operational ones take effect, the data rows are checked, and a run folder has one writer."""

from __future__ import annotations

import json
import os

import pytest

GOOD = '{"question": "Q%d?", "options": {"A": "a", "B": "b", "C": "c", "D": "d"}, "answer": "a", "answer_idx": "A"}'


@pytest.fixture
def failed_run(local_model, tmp_path, cli):
    """A generate run against the local server that failed after 2 of 6 samples."""
    server = local_model
    data = tmp_path / "us_4_options_test.jsonl"
    data.write_text("".join(GOOD % i + "\n" for i in range(6)))
    server.mode, server.fast = "ok-then-500", 2
    code, _, err = cli("generate", "-m", "openai-api/local/m", "-d", "medqa", "--data-path", str(data),
                       "--batch-size", "2", "-M", "concurrency=1", "-M", "max_retries=0", "--runs-dir",
                       str(tmp_path / "runs"), "-q")
    assert code == 2 and "2 of 6 samples are saved" in err and "--resume" in err
    (run,) = (tmp_path / "runs").iterdir()
    return server, run, data


def lines(run):
    return (run / "samples.jsonl").read_text().splitlines()


def test_options_that_change_the_numbers_cannot_change_on_resume(failed_run, cli):
    server, run, data = failed_run
    before = lines(run)
    code, _, err = cli("generate", "--resume", str(run), "--limit", "4", "--seed", "3", "-M", "dtype=float16", "-q")
    assert code == 2 and "these options differ from its config.yaml" in err
    assert "--limit: saved None, given 4" in err and "--seed: saved 0, given 3" in err
    assert "--model-arg dtype: saved not set, given 'float16'" in err and lines(run) == before


def test_operational_options_take_effect_on_resume(failed_run, cli):
    server, run, data = failed_run
    server.mode = "500-then-ok"  # the first request fails once more: -M max_retries=2 must be used
    server.count = 0
    code, _, err = cli("generate", "--resume", str(run), "-M", "max_retries=2", "-M", "timeout=20",
                       "--batch-size", "4", "-q")
    assert code == 0, err
    assert len(lines(run)) == 6 and server.count == 4 + 1  # 4 samples left, one retried
    assert json.loads((run / "results.json").read_text())["status"] == "complete"


def test_changed_data_rows_stop_the_resume(failed_run, cli):
    server, run, data = failed_run
    data.write_text("".join(GOOD % (i + (i == 4)) + "\n" for i in range(6)))  # row 5 now asks another question
    server.mode = "ok"
    code, _, err = cli("generate", "--resume", str(run), "-q")
    assert code == 2 and "changed since" in err and "resuming would mix old and new rows" in err
    assert len(lines(run)) == 2


def test_a_second_writer_is_refused_with_the_holders_pid(failed_run, cli):
    from medtrust.runs.folder import RunFolder
    server, run, data = failed_run
    server.mode = "ok"
    with RunFolder(run).lock():
        code, _, err = cli("generate", "--resume", str(run), "-q")
    assert code == 2 and f"is being written by process {os.getpid()}" in err and len(lines(run)) == 2
    code, _, err = cli("generate", "--resume", str(run), "-q")  # the lock is released with its holder
    assert code == 0, err
    assert len(lines(run)) == 6


def test_a_corrupt_middle_line_is_named_and_can_be_set_aside(failed_run, cli):
    server, run, data = failed_run
    server.mode = "ok"
    first, second = lines(run)
    (run / "samples.jsonl").write_text(first[:25] + "\n" + second + "\n")
    code, _, err = cli("generate", "--resume", str(run), "-q")
    assert code == 2 and f"Line 1 of {run / 'samples.jsonl'} is not a JSON record" in err
    assert "--drop-corrupt-lines" in err
    code, out, err = cli("generate", "--resume", str(run), "--drop-corrupt-lines", "-q")
    assert code == 0, err
    assert "1 corrupt line(s) moved" in out and (run / "samples.corrupt.jsonl").read_text() == first[:25] + "\n"
    ids = [json.loads(x)["id"] for x in lines(run)]
    assert len(ids) == 6 == len(set(ids))
