"""Versions, devices and paths: what `medtrust env` prints and every results.json records."""

from __future__ import annotations

import importlib.metadata
import platform
import subprocess
from pathlib import Path

PACKAGES = ["medtrust", "torch", "transformers", "accelerate", "sentence-transformers", "datasets", "openai",
            "scikit-learn", "scipy", "numpy", "trl", "peft", "vllm", "llama-cpp-python", "pydantic", "typer"]


def versions() -> dict[str, str | None]:
    """Installed versions of Python and the packages medtrust uses (None when missing)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for p in PACKAGES:
        try:
            out[p] = importlib.metadata.version(p)
        except importlib.metadata.PackageNotFoundError:
            out[p] = None
    return out


def git_commit() -> str | None:
    """The commit of the medtrust source tree, when it is a git checkout."""
    src = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=src, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=src,
                           capture_output=True, text=True, timeout=5).stdout.strip()
    return out.stdout.strip() + ("-dirty" if dirty else "")


def devices() -> dict[str, object]:
    """Accelerators torch can see."""
    try:
        import torch
    except ImportError:
        return {"torch": "not installed"}
    info: dict[str, object] = {"cpu_threads": torch.get_num_threads(), "cuda": torch.cuda.is_available()}
    if torch.cuda.is_available():
        info["cuda_devices"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    info["mps"] = bool(mps and mps.is_available())
    return info
