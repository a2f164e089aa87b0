"""Fixtures for backend tests: a real llama.cpp OpenAI-compatible server on the embedded GGUF model."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

SERVER_MODEL = "smollm2"  # the --model_alias the server answers to
SERVER_API_KEY = "medtrust-test-key"  # the server checks it, so authentication errors are real
START_TIMEOUT_S = 120


@dataclass
class LlamaServer:
    """A running ``python -m llama_cpp.server``."""

    base_url: str  # e.g. http://127.0.0.1:54321/v1
    api_key: str
    model: str
    log_path: Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (at the time of asking)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _models_answer(base_url: str, api_key: str) -> bool:
    req = urllib.request.Request(f"{base_url}/models", headers={"Authorization": f"Bearer {api_key}"})
    try:
        with urllib.request.urlopen(req, timeout=2) as resp:
            return resp.status == 200 and "data" in json.loads(resp.read())
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def unused_port() -> int:
    """A local TCP port with nothing listening on it."""
    return free_port()


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory) -> LlamaServer:
    """Start llama.cpp's OpenAI-compatible server on the embedded SmolLM2 GGUF; stop it afterwards."""
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.fail("llama-cpp-python[server] is not installed: run `make test` (the dev extra installs it)")
    from medtrust.models.embedded import gguf_path

    port = free_port()
    log_path = tmp_path_factory.mktemp("llama_server") / "server.log"
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf_path()),
           "--model_alias", SERVER_MODEL, "--api_key", SERVER_API_KEY,
           "--host", "127.0.0.1", "--port", str(port),
           "--logits_all", "true", "--n_ctx", "2048", "--seed", "0"]
    base_url = f"http://127.0.0.1:{port}/v1"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _models_answer(base_url, SERVER_API_KEY):
            if proc.poll() is not None:
                pytest.fail(f"llama.cpp server exited with code {proc.returncode} before answering "
                            f"/v1/models. Command: {' '.join(cmd)}\nLog:\n{_log_tail(log_path)}")
            if time.monotonic() > deadline:
                pytest.fail(f"llama.cpp server did not answer {base_url}/models within {START_TIMEOUT_S} s."
                            f"\nLog:\n{_log_tail(log_path)}")
            time.sleep(0.25)
        yield LlamaServer(base_url=base_url, api_key=SERVER_API_KEY, model=SERVER_MODEL, log_path=log_path)
    finally:
        _stop(proc)
