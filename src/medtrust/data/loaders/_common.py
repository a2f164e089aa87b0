"""Helpers shared by the upstream loaders: finding files, reading rows, one loud error per problem."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any, Iterator, Sequence

from medtrust.data.registry import malformed
from medtrust.data.schema import LETTERS, Sample
from medtrust.errors import DataError

csv.field_size_limit(1 << 24)  # long model completions and patient notes

#: the file and line a loader is reading now: a Sample that fails validation while it is built from
#: that row is reported there (data/registry.py), not as a bare pydantic error
READING: dict[str, Any] = {"file": None, "row": None}


def find_file(path: Path, names: Sequence[str], dataset: str) -> Path:
    """``path`` itself when it is a file, else the first of ``names`` found inside the folder."""
    if path.is_file():
        return path
    for name in names:
        if (path / name).is_file():
            return path / name
    raise DataError(f"Folder '{path}' has no file '{names[0]}' for dataset '{dataset}'.",
                    f"pass the folder that holds the upstream file {names[0]}, or that file itself")


def glob_files(path: Path, pattern: str, dataset: str, expected: str) -> list[Path]:
    """Files under ``path`` matching ``pattern`` (recursive), sorted; ``path`` itself when a file."""
    if path.is_file():
        return [path]
    files = sorted(p for p in path.rglob(pattern) if p.is_file())
    if not files:
        raise DataError(f"Folder '{path}' has no file '{expected}' for dataset '{dataset}'.",
                        f"pass the folder that holds the upstream files (e.g. {expected})")
    return files


def _text(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise malformed(file, f"at byte {e.start}", "the file is not UTF-8 text") from e


def read_json(file: Path) -> Any:
    """A whole JSON file; a syntax error names its line."""
    try:
        return json.loads(_text(file))
    except json.JSONDecodeError as e:
        raise malformed(file, f"at line {e.lineno}", f"not valid JSON ({e.msg}, column {e.colno})") from e


def read_jsonl(file: Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line of a JSON Lines file."""
    for n, line in enumerate(_text(file).split("\n"), 1):  # not splitlines: U+2028 may sit in a string
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise malformed(file, n, f"not valid JSON ({e.msg}, column {e.colno})") from e
        if not isinstance(obj, dict):
            raise malformed(file, n, f"expected a JSON object, found {type(obj).__name__}")
        READING.update(file=file, row=n)
        yield n, obj


def read_csv(file: Path, required: Sequence[str] = (), header: bool = True,
             width: int | None = None) -> Iterator[tuple[int, Any]]:
    """(line number, row) for each record of a CSV file, quoting handled by the csv module.

    With ``header`` rows are dicts and ``required`` columns must exist; without, rows are lists
    of exactly ``width`` fields. The line number is where the record starts (the header is line 1).
    """
    reader = csv.reader(io.StringIO(_text(file), newline=""))  # splits at \n, \r, \r\n only
    columns: list[str] | None = None
    start = 1
    try:
        for record in reader:
            line, start = start, reader.line_num + 1
            if not record or all(not f.strip() for f in record):
                continue
            if header and columns is None:
                columns = [c.strip() for c in record]
                missing = [c for c in required if c not in columns]
                if missing:
                    raise malformed(file, line, f"missing column '{missing[0]}' (the header has: "
                                                f"{', '.join(repr(c) for c in columns)})")
                width = len(columns)
                continue
            if width is not None and len(record) != width:
                raise malformed(file, line, f"expected {width} fields, found {len(record)}")
            READING.update(file=file, row=line)
            yield line, (dict(zip(columns, record)) if header else record)
    except csv.Error as e:
        raise malformed(file, start, f"CSV error ({e})") from e
    if header and columns is None:
        raise malformed(file, 1, "the file is empty (no header)")


def need(row: dict, key: str, where, n, allow_empty: bool = False) -> Any:
    """``row[key]``, stripped when text; a missing (or empty) value is a malformed row."""
    if key not in row or row[key] is None:
        raise malformed(where, n, f"missing field '{key}'")
    value = row[key]
    if isinstance(value, str):
        value = value.strip()
        if not value and not allow_empty:
            raise malformed(where, n, f"empty field '{key}'")
    return value


def as_int(value: Any, key: str, where, n) -> int:
    """An integer field (``3``, ``"3"``, ``3.0``) or a malformed-row error."""
    try:
        f = float(value)
        if not math.isfinite(f) or f != int(f):
            raise ValueError
        return int(f)
    except (TypeError, ValueError):
        raise malformed(where, n, f"'{key}' must be an integer, got {value!r}") from None


def mcq(id: str, question: str, options: Sequence[Any], answer: str, metadata: dict, where, n) -> Sample:
    """A multiple-choice Sample; the answer letter must index one of the options."""
    for o in options:
        if o is None or isinstance(o, (bool, list, dict)) or (isinstance(o, str) and not o.strip()):
            raise malformed(where, n, f"option {o!r} is not text (every option must be a non-empty text or number)")
    choices = [str(o).strip() for o in options]
    letters = LETTERS[:len(choices)]
    if answer not in letters:
        raise malformed(where, n, f"answer '{answer}' is not one of the option letters {', '.join(letters)}")
    return Sample(id=id, question=question, answer=answer, answer_type="mcq", choices=choices,
                  metadata={"language": "en", **metadata})


def hub_where(dataset: str, split: str) -> str:
    """How malformed hub rows are named in errors."""
    return f"the Hugging Face rows of '{dataset}' (split '{split}')"


def clean(value: Any) -> Any:
    """Empty strings and NaN become None (optional upstream fields)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        return value.strip() or None
    return value
