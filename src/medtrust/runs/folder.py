"""The run folder: config.yaml, samples.jsonl (append-only, one ``SampleRecord`` a line),
results.json (``Results``), report.html; training runs add their own files (train/common.py)."""

from __future__ import annotations

import json
import os
import re
import secrets
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, TypeVar

import numpy as np
import yaml
from pydantic import BaseModel, ValidationError

from medtrust.errors import MedtrustError
from medtrust.runs.records import SCHEMA_VERSION, Results, SampleRecord

CONFIG, SAMPLES, RESULTS, REPORT, ARRAYS = "config.yaml", "samples.jsonl", "results.json", "report.html", "arrays"
LOCK, CORRUPT = ".lock", "samples.corrupt.jsonl"
IMAGES = "images"  # images a run drew itself (e.g. FigStep's typographic attack images)
R = TypeVar("R", bound=SampleRecord)


class SchemaError(MedtrustError):
    """A run folder written by another version of medtrust's run format."""


def slug(text: str, limit: int = 40) -> str:
    """A file-name-safe short form of a model string."""
    s = re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-")
    return s[-limit:] or "model"


class RunFolder:
    """One run on disk. Samples are appended one JSON line at a time and flushed to disk, so an
    interrupted run keeps everything written; ``--resume`` continues after the last full line."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    # ------------------------------------------------------------------ creating and opening
    @classmethod
    def create(cls, root: str | os.PathLike, study: str, model: str, config: dict[str, Any]) -> "RunFolder":
        """A new folder ``<root>/<UTC time>_<study>_<model slug>_<short id>`` holding config.yaml."""
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        run = cls(Path(root) / f"{stamp}_{study}_{slug(model)}_{secrets.token_hex(3)}")
        run.path.mkdir(parents=True, exist_ok=False)
        run.path.chmod(0o700)  # it holds prompts and answers: readable by its owner only
        run.write_config(config)
        return run

    @classmethod
    def open(cls, path: str | os.PathLike) -> "RunFolder":
        """An existing run folder, or a clear error if it is not one."""
        run = cls(path)
        if not (run.path / CONFIG).exists():
            raise MedtrustError(f"'{path}' is not a run folder (no {CONFIG}).",
                                "pass the folder a study printed, e.g. runs/20260101T000000Z_generate_embedded_ab12cd")
        return run

    # ----------------------------------------------------------------------------- config
    @contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the folder's write lock (``.lock``, with the holder's PID) while the block runs; a
        second writer stops with one message naming the holder."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no lock
            yield
            return
        f = open(self.path / LOCK, "a+", encoding="utf-8")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            f.close()
            raise MedtrustError(f"{self.path} is being written by process {holder} right now.",
                                "wait for that run to end (or stop it), then run --resume again") from None
        try:
            f.seek(0)
            f.truncate()
            f.write(str(os.getpid()))
            f.flush()
            yield
        finally:
            f.truncate(0)
            fcntl.flock(f, fcntl.LOCK_UN)
            f.close()

    def write_config(self, config: dict[str, Any]) -> None:
        _atomic_write(self.path / CONFIG, yaml.safe_dump(_plain(config), sort_keys=False, allow_unicode=True))

    @property
    def config(self) -> dict[str, Any]:
        return yaml.safe_load((self.path / CONFIG).read_text()) or {}

    # ---------------------------------------------------------------------------- samples
    @property
    def samples_path(self) -> Path:
        return self.path / SAMPLES

    def append(self, records: Iterable[SampleRecord | dict[str, Any]]) -> None:
        """Append records as JSON lines and push them to disk before returning."""
        records = list(records)
        if not records:
            return
        self._repair_tail()
        with open(self.samples_path, "a", encoding="utf-8") as f:
            for r in records:
                f.write(_line(r))
            f.flush()
            os.fsync(f.fileno())

    def iter_samples(self) -> Iterator[dict[str, Any]]:
        """Every complete line of samples.jsonl (a half-written last line is skipped)."""
        if not self.samples_path.exists():
            return
        with open(self.samples_path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if not line.endswith("\n"):
                    break  # cut off mid-write: the run was interrupted here
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as e:
                    raise MedtrustError(
                        f"Line {number} of {self.samples_path} is not a JSON record ({e.msg}, column {e.colno}); "
                        "the lines before and after it are kept.",
                        "add --drop-corrupt-lines to --resume (such lines move to samples.corrupt.jsonl and "
                        f"their samples are generated again), or repair line {number} by hand") from None
                if not isinstance(record, dict) or "id" not in record:
                    raise MedtrustError(f"Line {number} of {self.samples_path} is not a sample record (no 'id').",
                                        "add --drop-corrupt-lines to --resume, or repair that line by hand")
                yield record

    def samples(self) -> list[dict[str, Any]]:
        """One raw record (a dict) per id: the last one written (a retried error is replaced)."""
        latest: dict[str, dict[str, Any]] = {}
        for r in self.iter_samples():
            latest.pop(r["id"], None)
            latest[r["id"]] = r
        return list(latest.values())

    def records(self, record_type: type[R]) -> list[R]:
        """The records as ``record_type`` (a study's ``SampleRecord[Extras]``), one per id, the last
        written; a folder written by another schema version is a SchemaError naming the fix."""
        raw = self.samples()
        self.check_schema(raw[0] if raw else None)
        out = []
        for i, r in enumerate(raw):
            try:
                out.append(record_type.model_validate(r))
            except ValidationError as e:
                raise MedtrustError(f"Record {r.get('id', i)!r} in {self.samples_path} does not match the "
                                    f"{record_type.__name__} schema: {_problems(e)}.",
                                    "this folder was written by another study or was edited; rerun the study") from e
        return out

    def check_schema(self, first_record: dict[str, Any] | None = None) -> None:
        """Stop with one clear message when this folder's records or results are of another schema."""
        found = None
        if first_record is not None:
            found = first_record.get("schema_version", 1)
        elif (self.path / RESULTS).exists():
            raw = json.loads((self.path / RESULTS).read_text())
            found = raw.get("schema_version", 1 if "format_version" in raw else None)
        if found is None or found == SCHEMA_VERSION:
            return
        if found < SCHEMA_VERSION:
            raise SchemaError(f"'{self.path}' was written by an older medtrust (run schema {found}; this version "
                              f"reads schema {SCHEMA_VERSION}).",
                              f"convert it with: medtrust upgrade {self.path}  (writes a new run folder)")
        raise SchemaError(f"'{self.path}' was written by a newer medtrust (run schema {found}; this version "
                          f"reads schema {SCHEMA_VERSION}).", "upgrade medtrust to read it")

    def done_ids(self) -> set[str]:
        """Ids of samples already written without an error (what --resume skips)."""
        return {r["id"] for r in self.iter_samples() if not r.get("error")}

    def set_aside_corrupt_lines(self) -> int:
        """Move the lines of samples.jsonl that are no JSON record to samples.corrupt.jsonl (kept, not
        lost) and return how many; ``--resume`` then generates their samples again."""
        p = self.samples_path
        if not p.exists():
            return 0
        *lines, tail = p.read_text(encoding="utf-8", errors="surrogateescape").split("\n")
        good, bad = [], []
        for line in lines:
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                ok = isinstance(record, dict) and "id" in record
            except json.JSONDecodeError:
                ok = False
            (good if ok else bad).append(line + "\n")
        if bad:
            with open(self.path / CORRUPT, "a", encoding="utf-8", errors="surrogateescape") as f:
                f.writelines(bad)
            _atomic_write(p, "".join(good) + tail)
        return len(bad)

    def rewrite_samples(self, records: Iterable[SampleRecord | dict[str, Any]]) -> None:
        """Replace samples.jsonl (scoring, re-scoring); written to a temporary file, then renamed."""
        _atomic_write(self.samples_path, "".join(_line(r) for r in records))

    def _repair_tail(self) -> None:
        """Drop a half-written last line left by a crash, so appends start on a fresh line."""
        p = self.samples_path
        if not p.exists() or p.stat().st_size == 0:
            return
        with open(p, "rb+") as f:
            f.seek(-1, os.SEEK_END)
            if f.read(1) == b"\n":
                return
            data = p.read_bytes()
            f.truncate(data.rfind(b"\n") + 1)

    # ----------------------------------------------------------------------------- arrays
    def save_arrays(self, sample_id: str, arrays: dict[str, np.ndarray]) -> str:
        """Save arrays (e.g. hidden states) as ``arrays/<id>.npz``; returns the relative path."""
        folder = self.path / ARRAYS
        folder.mkdir(exist_ok=True)
        name = f"{slug(sample_id, 80)}.npz"
        np.savez_compressed(folder / name, **arrays)
        return f"{ARRAYS}/{name}"

    def load_arrays(self, relative: str) -> dict[str, np.ndarray]:
        with np.load(self.path / relative) as data:
            return {k: data[k] for k in data.files}

    def share_files_of(self, source: "RunFolder") -> None:
        """Give this run (a re-scored copy) the saved arrays and images of ``source``: a symlink to
        each folder, or a copy where links cannot be made."""
        import shutil
        for name in (ARRAYS, IMAGES):
            src = source.path / name
            if not src.is_dir() or (self.path / name).exists():
                continue
            try:
                (self.path / name).symlink_to(src.resolve(), target_is_directory=True)
            except OSError:
                shutil.copytree(src, self.path / name)

    # ---------------------------------------------------------------------------- results
    def write_results(self, results: Results | dict[str, Any]) -> None:
        data = results.model_dump(mode="json") if isinstance(results, BaseModel) else results
        _atomic_write(self.path / RESULTS, json.dumps(_plain(data), indent=2, ensure_ascii=False) + "\n")

    @property
    def results(self) -> dict[str, Any]:
        """results.json as a dict ({} before the run has written one)."""
        p = self.path / RESULTS
        return json.loads(p.read_text()) if p.exists() else {}

    def read_results(self) -> Results | None:
        """results.json as ``Results`` (None before the run has written one)."""
        raw = self.results
        if not raw:
            return None
        self.check_schema()
        return Results.model_validate(raw)

    @property
    def report_path(self) -> Path:
        return self.path / REPORT


def _line(record: SampleRecord | dict[str, Any]) -> str:
    data = record.model_dump(mode="json") if isinstance(record, BaseModel) else record
    return json.dumps(_plain(data), ensure_ascii=False) + "\n"


def _problems(e: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors()[:3])


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _plain(obj: Any) -> Any:
    """JSON/YAML-safe copy: numpy scalars and arrays become Python numbers and lists, NaN stays NaN."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    return obj
