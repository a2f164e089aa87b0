"""Ctrl-C against an OpenAI-compatible server with requests hanging: the run stops within 5 s,
keeps the answers that had arrived (in the generation cache), and --resume asks only for the rest."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time


def default_sigint():  # background shells start children with SIGINT ignored
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_stops_fast_and_keeps_what_arrived(fault_server, tmp_path):
    server, url = fault_server
    server.mode, server.fast = "ok-then-hang", 5
    env = {**os.environ, "LOCAL_BASE_URL": url, "MEDTRUST_GENERATION_CACHE": str(tmp_path / "cache.sqlite")}
    argv = [sys.executable, "-m", "medtrust", "generate", "-m", "openai-api/local/m", "-d", "demo-qa",
            "--limit", "12", "--batch-size", "12", "-M", "concurrency=4",
            "--runs-dir", str(tmp_path / "runs"), "-q"]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                         preexec_fn=default_sigint)
    deadline = time.monotonic() + 60
    while server.count < 8 and time.monotonic() < deadline and p.poll() is None:  # 5 answered, 3 hanging
        time.sleep(0.05)
    assert server.count >= 8, p.communicate(timeout=5)
    time.sleep(0.3)
    sent = time.monotonic()
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=30)
    stopped = time.monotonic() - sent
    assert p.returncode == 130 and stopped < 5, (stopped, err)
    assert "Interrupted" in err and "--resume" in err and "Unexpected" not in err
    (run,) = (tmp_path / "runs").iterdir()
    server.mode, before = "ok", server.count
    done = subprocess.run([sys.executable, "-m", "medtrust", "generate", "--resume", str(run), "-q"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert server.count - before == 12 - 5  # the 5 answers that arrived before Ctrl-C were kept
    lines = [json.loads(x) for x in (run / "samples.jsonl").read_text().splitlines()]
    assert len(lines) == 12 == len({x["id"] for x in lines})
