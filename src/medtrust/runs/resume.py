"""What `--resume` may change: operational options take effect, options that change what is
computed must equal the saved config, and the data rows must be the ones the run started on."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Sequence

from medtrust.config import RunConfig
from medtrust.data.schema import Sample
from medtrust.errors import MedtrustError

#: config fields that change how a run is carried out, not what it computes
OPERATIONAL = frozenset({"batch_size", "cache"})
#: backend arguments (-M, -J, -E) of the same kind: time limits, retries, parallelism, placement
OPERATIONAL_BACKEND_ARGS = frozenset({"timeout", "max_retries", "concurrency", "batch_size", "device"})
DATA_FILE = "data.json"


def flag_of(name: str) -> str:
    """The command-line flag of a config field: ``batch_size`` -> ``--batch-size``."""
    return "--" + name.replace("_", "-")


def resumed_config(config: RunConfig, given: dict[str, Any], run_path: Any) -> RunConfig:
    """The saved ``config`` with the operational options of ``given`` (flags; None = not given)
    applied; any other option that differs from the saved value stops with every difference named."""
    values = config.model_dump()
    cls = type(config)
    differences = []
    for key, value in given.items():
        if value is None or value == {} or key not in values:
            continue
        if key.endswith("_args") and isinstance(value, dict):
            merged = dict(values[key] or {})
            for arg, v in value.items():
                if arg not in OPERATIONAL_BACKEND_ARGS and str(merged.get(arg)) != str(v):
                    shown = "not set" if arg not in merged else repr(merged[arg])
                    differences.append(f"{flag_of(key)[:-1]} {arg}: saved {shown}, given {v!r}")
                merged[arg] = v
            values[key] = merged
            continue
        try:
            wanted = cls(**{**values, key: value}).model_dump()[key]
        except Exception:  # noqa: BLE001 - an invalid value is reported like a different one
            wanted = value
        if key in OPERATIONAL:
            values[key] = wanted
        elif wanted != values[key]:
            differences.append(f"{flag_of(key)}: saved {values[key]!r}, given {wanted!r}")
    if differences:
        raise MedtrustError(
            f"--resume finishes {run_path} as it was configured, and these options differ from its config.yaml: "
            + "; ".join(differences) + ".",
            "drop them (or give the saved values) to finish this run, or start a new run without --resume; "
            "what may change on resume: --batch-size, --cache/--no-cache and backend arguments "
            + ", ".join(sorted(OPERATIONAL_BACKEND_ARGS)))
    return cls(**values)


def data_fingerprint(samples: Sequence[Sample]) -> str:
    """SHA-256 of the rows a run uses (every field of every Sample, in order)."""
    h = hashlib.sha256()
    for s in samples:
        h.update(json.dumps(s.model_dump(mode="json"), sort_keys=True, ensure_ascii=False).encode())
        h.update(b"\n")
    return h.hexdigest()


def record_data(run, samples: Sequence[Sample]) -> None:
    """Write the fingerprint of the rows into the run folder (once, when the run is created)."""
    path = run.path / DATA_FILE
    if not path.exists():
        path.write_text(json.dumps({"rows": len(samples), "sha256": data_fingerprint(samples)}, indent=2) + "\n")


def check_data(run, samples: Sequence[Sample], dataset: str) -> None:
    """Stop when the rows differ from those the run started on (a folder from before fingerprints passes)."""
    path = run.path / DATA_FILE
    if not path.exists():
        return
    saved = json.loads(path.read_text())
    if saved.get("sha256") != data_fingerprint(samples):
        raise MedtrustError(
            f"The rows of dataset '{dataset}' changed since {run.path} started ({saved.get('rows')} rows then, "
            f"{len(samples)} now, or the same count with other contents): resuming would mix old and new rows.",
            "restore the data file the run started on, or start a new run without --resume")
