"""A real interrupted run (Ctrl-C on the CLI) keeps its samples and --resume finishes it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.integration


def default_sigint():
    """A shell starts background jobs with SIGINT ignored, and Python keeps an ignored SIGINT: give
    the child the default disposition, so Python turns Ctrl-C into KeyboardInterrupt as in a terminal."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def medtrust(*args, env=None, **kw):
    return subprocess.Popen([sys.executable, "-m", "medtrust", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, preexec_fn=default_sigint, **kw)


def test_ctrl_c_keeps_samples_and_resume_regenerates_nothing(tmp_path):
    env = dict(os.environ, MEDTRUST_GENERATION_CACHE=str(tmp_path / "cache.sqlite"))
    runs = tmp_path / "runs"
    # 30 questions in batches of 2: long enough that Ctrl-C lands mid-run on an idle machine too
    p = medtrust("generate", "--dataset", "demo-qa", "--limit", "30", "--batch-size", "2", "--max-tokens", "24",
                 "--runs-dir", str(runs), "-q", env=env)
    deadline = time.time() + 180
    samples = None
    while time.time() < deadline:
        found = list(runs.glob("*/samples.jsonl"))
        if found and len(found[0].read_text().splitlines()) >= 4:
            samples = found[0]
            break
        time.sleep(0.2)
    assert samples is not None, p.communicate(timeout=5)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    assert "Interrupted." in err and "--resume" in err and "Traceback" not in err
    before = samples.read_bytes()
    kept = len(before.splitlines())
    assert 4 <= kept < 30

    done = subprocess.run([sys.executable, "-m", "medtrust", "generate", "--resume", str(samples.parent), "-q"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    after = samples.read_bytes()
    assert after.startswith(before), "samples already written are never rewritten"
    ids = [json.loads(x)["id"] for x in after.splitlines()]
    assert len(ids) == 30 == len(set(ids))
    results = json.loads((samples.parent / "results.json").read_text())
    assert results["n"] == 30
    # only the missing samples were generated: no cache hits, misses = the remainder
    assert results["cache"] == {"hits": 0, "misses": 30 - kept}
    assert (samples.parent / "report.html").exists()
