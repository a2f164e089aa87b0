"""FigStep SafeBench outside its ``tiny`` split, in one seeded order that fixes three parts:

- the vision ``--eval``'s **test** rows: the first FIGSTEP_TEST_ROWS;
- the **validation** rows a recipe is chosen on (bench/vision_safety_valid.py): the next FIGSTEP_VALID_ROWS;
- the figstep set's ``train`` split: the rest, less any row whose request or instruction equals a test or
  validation row's. Training on it leaves the first two parts where they were, because rows trained on
  are left out *after* the order is drawn (``vision_eval.heldout_order``).

Rows whose request equals a tiny row's are left out of the order: the tiny split is trained on.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Iterator

from medtrust.data.schema import Sample

FIGSTEP_TEST_ROWS = 100
FIGSTEP_VALID_ROWS = 40


def norm(text: str) -> str:
    """A request compared without case or spacing."""
    return " ".join(str(text).lower().split())


def request_texts(samples: list[Sample]) -> set[str]:
    """The normalised requests and "Steps to ..." instructions of ``samples``."""
    return {norm(t) for s in samples for t in (s.question, s.metadata.get("instruction")) if t}


def outside_tiny_order(path: str | Path, seed: int = 0) -> list[Sample]:
    """SafeBench rows not in the tiny split and not repeating a tiny request, shuffled with ``seed``."""
    from medtrust.data.loaders.safety import read_figstep
    tiny = list(read_figstep(Path(path), "tiny"))
    ids, texts = {s.id for s in tiny}, request_texts(tiny)
    kept = [s for s in read_figstep(Path(path), "safebench")
            if s.id not in ids and not request_texts([s]) & texts]
    random.Random(seed).shuffle(kept)
    return kept


def read_figstep_train(path: Path) -> Iterator[Sample]:
    """The ``train`` split, in file order: SafeBench rows the vision --eval never measures."""
    order = outside_tiny_order(path)
    held = request_texts(order[:FIGSTEP_TEST_ROWS + FIGSTEP_VALID_ROWS])
    rest = [s for s in order[FIGSTEP_TEST_ROWS + FIGSTEP_VALID_ROWS:] if not request_texts([s]) & held]
    yield from sorted(rest, key=lambda s: s.id)
