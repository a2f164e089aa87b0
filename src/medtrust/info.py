"""What `medtrust models`, `medtrust datasets` and `medtrust env` print."""

from __future__ import annotations

import os
from pathlib import Path

from medtrust.models.registry import FORMS


def embedded_status() -> dict[str, str]:
    """Where the embedded models are and whether the generator is materialized."""
    from medtrust.errors import MedtrustError
    from medtrust.models import embedded
    out = {}
    for label, fn in (("generator GGUF", embedded.gguf_path), ("sentence embedder", embedded.embedder_path)):
        try:
            out[label] = str(fn())
        except MedtrustError as e:
            out[label] = f"missing ({e.fix})"
    folder = embedded.materialized_dir()
    out["materialized"] = str(folder) if (folder / "model.safetensors").exists() else \
        f"not yet ({folder}; made on first use, about 30 s)"
    from medtrust.models import embedded_vlm, embedded_vlm_reader
    for module in (embedded_vlm, embedded_vlm_reader):
        name, shipped = module.NAME, module.SHIPPED / "vision_projector.safetensors"
        out[f"{name} weights"] = str(module.SHIPPED) if shipped.exists() else f"missing ({module.INSTALL_HINT})"
        if shipped.exists():
            vlm = embedded_vlm.assembled_dir(module.SHIPPED, name)
            out[f"{name} assembled"] = str(vlm) if (vlm / "config.json").exists() else \
                f"not yet ({vlm}; made on first use, about 20 s)"
    return out


def models_text() -> str:
    """Model strings, what each backend can do, judges and entailment methods: from their tables."""
    from medtrust.hallucination.entailment import METHODS
    from medtrust.models.base import Capability
    from medtrust.models.registry import BACKENDS
    from medtrust.safety.judges.base import JUDGES
    lines = ["Model strings:", FORMS, "", "Backend arguments: -M key=value, e.g. -M device=cuda -M dtype=bfloat16 "
             "-M batch_size=64 (hf), -M tensor_parallel_size=2 (vllm), -M concurrency=16 -M images=true (openai).",
             "", "Capabilities (as each backend declares them):"]
    for kind in BACKENDS.values():
        cls = kind.backend_class()
        caps = ", ".join(c.value for c in Capability if c in cls.CAPABILITIES)
        hints = "; ".join(f"{c.value}: {h}" for c, h in kind.hints.items())
        lines.append(f"  {kind.form:<32}{caps}" + (f"  ({hints})" if hints else ""))
    lines += ["", "Judges (--judge, safety):"] + [f"  {k.form:<32}{k.summary}" for k in JUDGES.values()]
    lines += ["", "Entailment methods (--entailment, hallucination):"]
    lines += [f"  {m.form:<32}{m.summary}" for m in METHODS.values()]
    lines += ["", "Embedded models (SmolLM2-135M-Instruct + all-MiniLM-L6-v2; embedded-vlm, embedded-vlm-reader):"]
    lines += [f"  {k}: {v}" for k, v in embedded_status().items()]
    return "\n".join(lines)


def datasets_table(data_dir: str | None, count: bool) -> None:
    """Print every dataset: splits with row counts (as distributed, or counted), source, description."""
    from rich.console import Console
    from rich.table import Table

    from medtrust.data.registry import DATA_DIR_ENV, REGISTRY, _ensure_registered, load_dataset
    _ensure_registered()
    root = data_dir or os.environ.get(DATA_DIR_ENV)
    table = Table(title="medtrust datasets" + (f" (local root: {root})" if root else ""))
    for col in ("name", "splits (rows)", "source", "description"):
        table.add_column(col, overflow="fold")
    for name in sorted(REGISTRY):
        spec = REGISTRY[name]
        splits = []
        for split, rows in spec.splits.items():
            if count:
                path = None
                if spec.builtin is None:
                    if not root or not spec.local_folder or not (Path(root) / spec.local_folder).exists():
                        splits.append(f"{split}: {rows} (no local copy)")
                        continue
                    path = Path(root) / spec.local_folder
                rows = len(load_dataset(name, path=path, split=split))
            splits.append(f"{split}: {rows if rows is not None else '?'}")
        table.add_row(name, "\n".join(splits), spec.source, spec.description)
    Console().print(table)


def env_text() -> str:
    from medtrust.environment import devices, git_commit, versions
    from medtrust.paths import cache_dir, generation_cache_path
    lines = ["Versions:"]
    lines += [f"  {k}: {v or 'not installed'}" for k, v in versions().items()]
    lines += ["Devices:"] + [f"  {k}: {v}" for k, v in devices().items()]
    lines += ["Paths:", f"  cache: {cache_dir()}", f"  generation cache: {generation_cache_path()}",
              f"  MEDTRUST_DATA_DIR: {os.environ.get('MEDTRUST_DATA_DIR', 'not set')}",
              f"  git commit: {git_commit() or 'n/a'}"]
    lines += ["Embedded models:"] + [f"  {k}: {v}" for k, v in embedded_status().items()]
    return "\n".join(lines)
