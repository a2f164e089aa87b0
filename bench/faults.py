"""The fault matrix (issue 14): bad input a user produces and faults the environment causes, each
run as a real `medtrust` process against real files, folders and a local misbehaving server
(tests/faults/conftest.py, 127.0.0.1 only). One table: case, exit code, whether the message is
clear (an "Error:" with a "Fix:", or click's usage line; never "Unexpected error" or a traceback),
samples saved / lost where a run folder exists, seconds to stop.

    .venv/bin/python bench/faults.py            (about 1-2 minutes on 2 cores; the disk cases need root)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from local_server import FaultHandler, QuietServer  # noqa: E402  (the tests' fault server)

ROW = '{"question": "Q%d?", "options": {"A": "a", "B": "b", "C": "c", "D": "d"}, "answer": "a", "answer_idx": "A"}'
SERVER = ["-m", "openai-api/local/m", "-M", "max_retries=1", "-M", "timeout=2", "-q"]


def start_server():
    server = QuietServer(("127.0.0.1", 0), FaultHandler)
    server.mode, server.count, server.fast, server.hang_s, server.text = "ok", 0, 0, 30.0, "An answer."
    server.lock, server.release = threading.Lock(), threading.Event()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def medtrust(args, env, interrupt_after: float | None = None):
    """(exit code, stderr, seconds from start, or from Ctrl-C when ``interrupt_after``)."""
    p = subprocess.Popen([sys.executable, "-m", "medtrust", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=env, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    start = time.monotonic()
    if interrupt_after is not None:
        time.sleep(interrupt_after)
        start = time.monotonic()
        p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=300)
    return p.returncode, err, time.monotonic() - start


def clear(err: str) -> bool:
    bad = "Unexpected error" in err or "Traceback" in err
    return not bad and (("Error:" in err and "Fix:" in err) or "Usage:" in err)


def lines(run: Path | None) -> tuple[int, int]:
    """(records saved, duplicated ids) of a run folder."""
    if run is None or not (run / "samples.jsonl").exists():
        return 0, 0
    ids = [json.loads(x)["id"] for x in (run / "samples.jsonl").read_text().splitlines() if x.strip().endswith("}")]
    return len(set(ids)), len(ids) - len(set(ids))


def newest(runs: Path) -> Path | None:
    found = sorted(runs.glob("*/config.yaml"))
    return found[-1].parent if found else None


def mount(path: Path, options: str) -> bool:
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True)
    return done.returncode == 0


def cases(tmp: Path, server, env):
    """(name, setup() -> argv or None to skip, run folder to count or None, Ctrl-C after seconds)."""
    data = tmp / "us_4_options_test.jsonl"
    data.write_text("".join(ROW % i + "\n" for i in range(6)))
    runs = tmp / "runs"

    def with_file(name, text):
        folder = tmp / f"file-{time.monotonic_ns()}"
        folder.mkdir()
        f = folder / name
        f.write_bytes(text if isinstance(text, bytes) else text.encode())
        return f

    def failed_run():  # a run that stopped after 2 of 6 samples
        server.mode, server.fast, server.count = "ok-then-500", 2, 0
        folder = tmp / f"failed-{time.monotonic_ns()}"
        medtrust(["generate", "-d", "medqa", "--data-path", str(data), "--batch-size", "2", "-M", "concurrency=1",
                  "--runs-dir", str(folder), *SERVER], env)
        server.mode = "ok"
        return newest(folder)

    def server_mode(mode):
        def setup():
            server.mode, server.count = mode, 0
            return ["generate", "-d", "demo-qa", "--limit", "2", "--runs-dir", str(runs), *SERVER]
        return setup

    def resume_with(*extra, corrupt=False, change_data=False, verb="generate"):
        def setup():
            run = failed_run()
            if corrupt:
                text = (run / "samples.jsonl").read_text().splitlines()
                (run / "samples.jsonl").write_text(text[0][:30] + "\n" + "\n".join(text[1:]) + "\n")
            if change_data:
                data.write_text("".join(ROW % (i + 10) + "\n" for i in range(6)))
            return [verb, "--resume", str(run), *extra, "-q"]
        return setup

    yield "unknown option --limt", lambda: ["generate", "--limt", "2"], None, None
    yield "--limit abc", lambda: ["generate", "--limit", "abc"], None, None
    yield "--limit 0", lambda: ["generate", "--limit", "0", "--runs-dir", str(runs)], None, None
    yield "unknown command", lambda: ["foo"], None, None
    yield "unknown dataset", lambda: ["generate", "-d", "nope", "--runs-dir", str(runs)], None, None
    yield "unknown model string", lambda: ["generate", "-m", "gpt4", "--runs-dir", str(runs)], None, None
    yield "missing hf model folder", lambda: ["generate", "-m", "hf/./no/such", "--runs-dir", str(runs)], None, None
    yield "unknown judge", lambda: ["safety", "--judge", "nope", "--runs-dir", str(runs)], None, None
    yield "unknown estimator", lambda: ["hallucination", "--estimators", "nope", "--runs-dir", str(runs)], None, None
    yield "missing --data-path", lambda: ["generate", "-d", "medqa", "--data-path", str(tmp / "none")], None, None
    yield "-M not key=value", lambda: ["generate", "-M", "device", "--runs-dir", str(runs)], None, None
    yield "--config missing", lambda: ["generate", "--config", str(tmp / "none.yaml")], None, None
    yield "--config bad YAML", lambda: ["generate", "--config", str(with_file("b.yaml", "a: [1"))], None, None
    yield "--config unknown key", lambda: ["generate", "--config", str(with_file("k.yaml", "modle: x\n"))], None, None
    def medqa_file(text):
        return lambda: ["generate", "-d", "medqa", "--data-path", str(with_file("us_4_options_test.jsonl", text)),
                        "--runs-dir", str(runs)]
    yield "row: cut-off JSON", medqa_file(ROW % 1 + "\n" + '{"question": "cut\n'), None, None
    yield "row: question is a number", medqa_file((ROW % 1).replace('"Q1?"', "5") + "\n"), None, None
    yield "row: null option", medqa_file((ROW % 1).replace('"a", "B"', 'null, "B"') + "\n"), None, None
    yield "file: not UTF-8", medqa_file(b'{"question": "caf\xe9?"}\n'), None, None
    yield "file: empty", medqa_file(""), None, None
    yield "runs dir under a file", lambda: ["generate", "--limit", "1", "--runs-dir", str(
        with_file("afile", "x") / "runs"), *SERVER], None, None
    for mode in ("429", "500", "garbage", "html", "null-message", "hang", "trickle"):
        yield f"server: {mode}", server_mode(mode), runs, None
    yield "server: connection refused", lambda: ["generate", "-m", "openai-api/nowhere/m", "--limit", "1",
                                                 "--runs-dir", str(runs), "-q"], None, None
    yield "resume: --limit and --seed changed", resume_with("--limit", "4", "--seed", "1"), None, None
    yield "resume: wrong study verb", resume_with(verb="safety"), None, None
    yield "resume: corrupt middle line", resume_with(corrupt=True), None, None
    yield "resume: data file changed", resume_with(change_data=True), None, None
    yield "resume: -M max_retries=3 (takes effect)", resume_with("-M", "max_retries=3"), None, None
    yield "report: not a run folder", lambda: ["report", str(tmp)], None, None
    yield "upgrade: already schema 2", lambda: ["upgrade", str(failed_run())], None, None

    def hanging():
        server.mode, server.fast, server.count = "ok-then-hang", 3, 0
        return ["generate", "-d", "demo-qa", "--limit", "12", "--batch-size", "2", "-M", "concurrency=2",
                "--runs-dir", str(tmp / "ctrlc"), "-q", "-m", "openai-api/local/m"]
    yield "Ctrl-C with requests hanging", hanging, tmp / "ctrlc", 3.0
    if os.geteuid() == 0:
        def full_disk():
            disk = tmp / "full"
            if not mount(disk, "size=96k"):
                return None
            server.mode, server.text = "ok", "A long answer. " * 200
            return ["generate", "-d", "demo-qa", "--limit", "40", "--batch-size", "2",
                    "--runs-dir", str(disk / "r"), *SERVER]
        yield "disk full mid-run", full_disk, tmp / "full" / "r", None

        def read_only():
            disk = tmp / "ro"
            if not mount(disk, "size=1m,ro"):
                return None
            return ["generate", "--limit", "1", "--runs-dir", str(disk / "r"), *SERVER]
        yield "read-only disk", read_only, None, None


def main() -> None:
    server = start_server()
    rows = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        env = {**os.environ, "LOCAL_BASE_URL": f"http://127.0.0.1:{server.server_address[1]}/v1",
               "NOWHERE_BASE_URL": "http://127.0.0.1:9/v1", "MEDTRUST_GENERATION_CACHE": str(tmp / "cache.sqlite")}
        try:
            for name, setup, runs_root, interrupt in cases(tmp, server, env):
                argv = setup()
                if argv is None:
                    rows.append((name, "skipped", "", "", ""))
                    continue
                code, err, secs = medtrust(argv, env, interrupt)
                run = newest(runs_root) if runs_root is not None and runs_root.exists() else None
                saved, dup = lines(run)
                rows.append((name, code, "yes" if clear(err) or code == 0 else "NO: " + err.strip()[-120:],
                             f"{saved} saved, {dup} duplicated" if run else "", f"{secs:.1f}"))
                server.text = "An answer."
        finally:
            server.release.set()
            for disk in ("full", "ro"):
                subprocess.run(["umount", "-l", str(tmp / disk)], capture_output=True)
    print("| case | exit code | clear message | samples in the run folder | seconds to stop |")
    print("|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(str(x) for x in r) + " |")
    unclear = [r[0] for r in rows if str(r[2]).startswith("NO")]
    print(f"\n{len(rows)} cases, {len(unclear)} without a clear message"
          + (f": {', '.join(unclear)}" if unclear else ""))


if __name__ == "__main__":
    main()
