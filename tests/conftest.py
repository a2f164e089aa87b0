"""Shared fixtures: the real embedded model, the real data in ../shared/data, a private generation cache."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MEDTRUST_TEST_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session", autouse=True)
def _private_generation_cache(tmp_path_factory):
    """Tests never read or write the user's generation cache (the materialized model is shared)."""
    path = tmp_path_factory.mktemp("gencache") / "generations.sqlite"
    old = os.environ.get("MEDTRUST_GENERATION_CACHE")
    os.environ["MEDTRUST_GENERATION_CACHE"] = str(path)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    yield path
    if old is None:
        os.environ.pop("MEDTRUST_GENERATION_CACHE", None)
    else:
        os.environ["MEDTRUST_GENERATION_CACHE"] = old


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The real benchmark files (../shared/data); tests that need them fail loudly without them."""
    if not DATA.exists():
        raise FileNotFoundError(f"test data not found at {DATA}; set MEDTRUST_TEST_DATA")
    return DATA


@pytest.fixture(scope="session")
def embedded():
    """The embedded SmolLM2-135M-Instruct behind the hf backend (materialized once per machine)."""
    from medtrust.models.registry import resolve
    return resolve("embedded")


@pytest.fixture
def cli(capsys):
    """Run the medtrust command in-process: returns (exit code, stdout, stderr)."""
    from medtrust.cli import main

    def run(*argv: str) -> tuple[int, str, str]:
        code = 0
        try:
            main(list(argv))
        except SystemExit as e:
            code = e.code or 0
        out, err = capsys.readouterr()
        return code, out, err
    return run


def build_tiny_llava(folder: Path, seed: int = 0) -> Path:
    """A tiny randomly initialised LLaVA (CLIP vision tower + Llama text model) with the embedded
    tokenizer and a chat template, saved with its processor: a real vision-language model for
    code paths that need one."""
    from medtrust.models.random_vlm import build_random_llava
    vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, image_size=32,
                  patch_size=8, projection_dim=32)
    text = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                num_key_value_heads=1, max_position_embeddings=512)
    return build_random_llava(folder, vision, text, seed)


@pytest.fixture(scope="session")
def tiny_vlm_path(tmp_path_factory) -> Path:
    """Folder of a tiny random LLaVA that loads as hf/<folder>."""
    return build_tiny_llava(tmp_path_factory.mktemp("tiny-llava"))


sys.path.insert(0, str(Path(__file__).parent))  # --import-mode=importlib does not add tests/
from local_server import fault_server  # noqa: E402,F401  (a misbehaving local OpenAI-compatible server)


@pytest.fixture
def local_model(fault_server, monkeypatch, tmp_path):  # noqa: F811 - the fixture, by name
    """The fault server as ``-m openai-api/local/m`` (LOCAL_BASE_URL set), with a private cache."""
    server, url = fault_server
    monkeypatch.setenv("LOCAL_BASE_URL", url)
    monkeypatch.setenv("MEDTRUST_GENERATION_CACHE", str(tmp_path / "cache.sqlite"))
    return server
