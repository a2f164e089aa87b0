"""Shared fixtures: the real embedded model, the real data in ../shared/data, a private generation cache."""

from __future__ import annotations

import os
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
