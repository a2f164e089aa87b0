"""Datasets by name: each from a local path in its upstream format, a Hugging Face id, or built in."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from medtrust.data.schema import Sample
from medtrust.errors import DataError

LocalReader = Callable[[Path, str], Iterable[Sample]]
HubRowConverter = Callable[[dict, int, str], Sample]
BuiltinMaker = Callable[[str, int, str], list[Sample]]
"""(split, seed, lang) -> samples; lang is "en", "zh" or "all"."""

DATA_DIR_ENV = "MEDTRUST_DATA_DIR"
TRAINING_SPLITS = ("train", "dev", "val")
"""Splits that may give training rows or worked examples, in order of preference."""


@dataclass
class DatasetSpec:
    """How to find and read one dataset.

    ``splits`` maps each split to its row count as distributed (documentation and a sanity
    check; None where this project has not counted it); ``local_folder`` is the folder name
    under a data root (``$MEDTRUST_DATA_DIR``).
    On the hub, ``hub_config`` names the dataset config and ``hub_splits`` maps our split names
    to the hub's (e.g. medmcqa "dev" -> "validation"); ``hub_row`` may return None to skip a row
    (e.g. to keep only the safe prompts of XSTest for our "safe" split).

    What the studies need to know about a dataset lives here too: ``benign_split`` and
    ``benign_kinds`` (the split and question kinds the safety study uses when the dataset is the
    benign side), ``harness_task`` and ``harness_metrics`` (which lm-evaluation-harness task
    format log-likelihood scoring copies and which metrics the harness reports for it).
    """

    name: str
    description: str
    source: str
    splits: dict[str, int | None]
    default_split: str
    local_folder: str | None = None
    read_local: LocalReader | None = None
    hub_id: str | None = None
    hub_row: HubRowConverter | None = None
    hub_config: str | None = None
    hub_splits: dict[str, str] = field(default_factory=dict)
    builtin: BuiltinMaker | None = None
    tags: list[str] = field(default_factory=list)
    benign_split: str | None = None
    benign_kinds: list[str] | None = None
    harness_task: str | None = None
    harness_metrics: tuple[str, ...] = ("acc",)

    @property
    def train_split(self) -> str | None:
        """The split named "train", if the dataset has one (the hallucination probe trains on it)."""
        return "train" if "train" in self.splits else None

    def example_split(self, evaluated: str | None = None) -> str | None:
        """A split other than ``evaluated`` to draw training rows or worked examples from: the
        first of TRAINING_SPLITS the dataset has (None when it has none)."""
        return next((s for s in TRAINING_SPLITS if s in self.splits and s != evaluated), None)


REGISTRY: dict[str, DatasetSpec] = {}


def register(spec: DatasetSpec) -> DatasetSpec:
    """Add a dataset to the registry (name must be new)."""
    if spec.name in REGISTRY:
        raise ValueError(f"dataset {spec.name!r} registered twice")
    REGISTRY[spec.name] = spec
    return spec


def _ensure_registered() -> None:
    # Importing the modules registers their datasets.
    from medtrust.data import builtin_sets, demo_images, loaders  # noqa: F401


def get_spec(name: str) -> DatasetSpec:
    """The spec of a dataset by name, or a clear error listing the names that exist."""
    _ensure_registered()
    if name not in REGISTRY:
        known = ", ".join(sorted(REGISTRY))
        raise DataError(f"Unknown dataset '{name}'.", f"use one of: {known} (see `medtrust datasets`)")
    return REGISTRY[name]


def default_local_path(spec: DatasetSpec) -> Path | None:
    """``$MEDTRUST_DATA_DIR/<folder>`` when that variable is set and the folder exists."""
    root = os.environ.get(DATA_DIR_ENV)
    if root and spec.local_folder:
        p = Path(root).expanduser() / spec.local_folder
        if p.exists():
            return p
    return None


def load_dataset(name: str, path: str | os.PathLike | None = None, split: str | None = None,
                 limit: int | None = None, seed: int = 0, shuffle: bool = False,
                 lang: str = "en", allow_outside_images: bool = False) -> list[Sample]:
    """Load a dataset as a list of Samples.

    ``path`` is a local file or folder in the upstream format, or ``hf:<dataset id>`` for the
    Hugging Face hub (or a local ``datasets`` folder). Without ``path``: built-in sets are made in
    code, others are read from ``$MEDTRUST_DATA_DIR/<folder>`` or fetched from the hub.
    ``shuffle`` permutes rows with ``seed`` before ``limit`` is applied. ``lang`` ("en", "zh" or
    "all") picks the language of the built-in bilingual sets; upstream sets keep their language.
    Image paths of a manifest must lie in its folder unless ``allow_outside_images``.
    """
    spec = get_spec(name)
    split = split or spec.default_split
    if split not in spec.splits:
        raise DataError(f"Dataset '{name}' has no split '{split}'.",
                        f"use --split with one of: {', '.join(spec.splits)}")
    if lang not in ("en", "zh", "all"):
        raise DataError(f"Unknown language '{lang}'.", "use --lang en, zh or all")
    from medtrust.data.loaders.vqa import ALLOW_OUTSIDE
    token = ALLOW_OUTSIDE.set(allow_outside_images)
    try:
        samples = _read(spec, path, split, seed, lang)
    finally:
        ALLOW_OUTSIDE.reset(token)
    if not samples:
        raise DataError(f"Dataset '{name}' (split '{split}') has no rows.", "check the path and the split")
    if shuffle:
        samples = list(samples)
        random.Random(seed).shuffle(samples)
    if limit is not None:
        if limit < 1:
            raise DataError(f"--limit must be at least 1, got {limit}.", "drop --limit to use every row")
        samples = samples[:limit]
    return samples


def _read(spec: DatasetSpec, path, split: str, seed: int, lang: str) -> list[Sample]:
    if path is None and spec.builtin is not None:
        return spec.builtin(split, seed, lang)
    if path is not None and str(path).startswith("hf:"):
        return _read_hub(spec, str(path)[3:], split, default_id=False)
    if path is None:
        path = default_local_path(spec)
    if path is None:
        if spec.hub_id and spec.hub_row:
            return _read_hub(spec, spec.hub_id, split)
        raise DataError(f"Dataset '{spec.name}' needs a local copy.",
                        f"pass --data-path <folder with {spec.local_folder or 'the files'}> "
                        f"or set {DATA_DIR_ENV}")
    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(f"Data path '{path}' for dataset '{spec.name}' does not exist.",
                        f"pass --data-path pointing at the upstream files (folder '{spec.local_folder}')")
    if spec.read_local is None:
        raise DataError(f"Dataset '{spec.name}' cannot be read from a local path.", "drop --data-path")
    from pydantic import ValidationError

    from medtrust.data.loaders._common import READING
    READING.update(file=None, row=None)
    try:
        return list(spec.read_local(path, split))
    except ValidationError as e:  # a value of the wrong kind, e.g. a question that is a number
        first = e.errors()[0]
        field = ".".join(str(x) for x in first["loc"]) or "row"
        raise malformed(READING["file"] or path, READING["row"] or "?",
                        f"field '{field}': {first['msg'].lower()} (got {first.get('input')!r})") from None
    finally:
        READING.update(file=None, row=None)


def _read_hub(spec: DatasetSpec, hub_id: str, split: str, default_id: bool = True) -> list[Sample]:
    if spec.hub_row is None:
        raise DataError(f"Dataset '{spec.name}' cannot be read from the Hugging Face hub.",
                        "pass --data-path with the upstream files")
    try:
        import datasets
    except ImportError as e:  # pragma: no cover - datasets is a core dependency
        raise DataError("Reading from the hub needs the 'datasets' package.", "pip install datasets") from e
    hub_split = spec.hub_splits.get(split, split)
    try:
        if Path(hub_id).is_dir():
            ds = _load_local_hf(hub_id, split, hub_split)
        else:
            config = spec.hub_config if (default_id or hub_id == spec.hub_id) else None
            ds = datasets.load_dataset(hub_id, config, split=hub_split)
    except Exception as e:  # network, missing split, wrong id
        raise DataError(f"Could not load '{hub_id}' (split '{hub_split}') for dataset '{spec.name}': "
                        f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}",
                        "check the id and your network, or pass --data-path with local files") from e
    rows = (spec.hub_row(row, i, split) for i, row in enumerate(ds))
    return [r for r in rows if r is not None]


def _load_local_hf(folder: str, split: str, hub_split: str):
    """A local `datasets` folder (save_to_disk, or data files); our split name, else the hub's."""
    import datasets
    try:
        d = datasets.load_from_disk(folder)
    except FileNotFoundError:
        try:
            return datasets.load_dataset(folder, split=split)
        except ValueError:
            return datasets.load_dataset(folder, split=hub_split)
    if isinstance(d, datasets.DatasetDict):
        return d[split] if split in d else d[hub_split]
    return d


def malformed(where: str | os.PathLike, row: int | str, problem: str) -> DataError:
    """The error for a row that cannot be parsed: names the file, the row and the problem."""
    return DataError(f"Malformed row {row} in {where}: {problem}.",
                     "fix or remove that row; the file must be in the upstream format")
