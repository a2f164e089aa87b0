"""MedCalc-Bench v1.0: a patient note, a calculation question and a verifiable answer with limits."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any, Iterator

from medtrust.data.loaders._common import as_int, clean, find_file, hub_where, need
from medtrust.data.registry import DatasetSpec, malformed, register
from medtrust.data.schema import Sample
from medtrust.errors import DataError

COLUMNS = ["Calculator ID", "Calculator Name", "Category", "Output Type", "Patient Note", "Question",
           "Ground Truth Answer", "Lower Limit", "Upper Limit"]
OPTIONAL = ["Row Number", "Note ID", "Note Type", "Relevant Entities", "Ground Truth Explanation"]
FILES = {"test": "test.parquet", "val": "val.parquet"}


def _number(value: str) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _entities(text: Any) -> Any:
    """'Relevant Entities' is a Python dict literal upstream; parse it, keep the text if that fails."""
    if not isinstance(text, str):
        return text
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def medcalc_sample(row: dict, id: str, where, n) -> Sample:
    """One calculation. Decimal/integer outputs are ``numeric`` with float limits (correct within
    [lower, upper]); dates, and the gestational-age tuples "('4 weeks', '3 days')" that upstream
    labels 'integer', are ``date``: compared exactly, limits kept as text."""
    output_type = need(row, "Output Type", where, n)
    answer = str(need(row, "Ground Truth Answer", where, n))
    lower, upper = (str(need(row, k, where, n)) for k in ("Lower Limit", "Upper Limit"))
    numeric = output_type in ("decimal", "integer") and _number(answer) is not None
    if numeric:
        lo, hi = _number(lower), _number(upper)
        if lo is None or hi is None:
            raise malformed(where, n, f"numeric answer {answer} needs numeric limits, "
                                      f"got {lower!r}, {upper!r}")
        if not lo <= float(answer) <= hi:
            raise malformed(where, n, f"answer {answer} lies outside its limits [{lower}, {upper}]")
        limits: tuple[Any, Any] = (lo, hi)
    elif output_type in ("decimal", "integer", "date"):
        limits = (lower, upper)
    else:
        raise malformed(where, n, f"unknown Output Type {output_type!r} (expected decimal, integer or date)")
    meta = {"language": "en", "lower": limits[0], "upper": limits[1], "output_type": output_type,
            "calculator_id": as_int(need(row, "Calculator ID", where, n), "Calculator ID", where, n),
            "calculator_name": need(row, "Calculator Name", where, n),
            "category": need(row, "Category", where, n),
            "explanation": clean(row.get("Ground Truth Explanation")), "note_id": clean(row.get("Note ID")),
            "note_type": clean(row.get("Note Type")), "row_number": clean(row.get("Row Number")),
            "relevant_entities": _entities(clean(row.get("Relevant Entities")))}
    return Sample(id=id, question=need(row, "Question", where, n), answer=answer,
                  answer_type="numeric" if numeric else "date", context=need(row, "Patient Note", where, n),
                  metadata=meta)


def read_medcalc(path: Path, split: str) -> Iterator[Sample]:
    """test.parquet (split 'test') or val.parquet (split 'val')."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    file = find_file(path, [FILES[split]], "medcalc")
    try:
        names = pq.read_schema(file).names
        missing = [c for c in COLUMNS if c not in names]
        if missing:
            raise DataError(f"'{file}' has no column '{missing[0]}' (dataset 'medcalc'); "
                            f"it has: {', '.join(names)}.",
                            "pass the MedCalc-Bench test.parquet / val.parquet files as distributed")
        table = pq.read_table(file, columns=COLUMNS + [c for c in OPTIONAL if c in names])
    except (pa.ArrowException, OSError) as e:
        raise DataError(f"Cannot read '{file}' as Parquet for dataset 'medcalc': {e}",
                        "pass the MedCalc-Bench test.parquet / val.parquet files as distributed") from e
    for i, row in enumerate(table.to_pylist(), 1):
        yield medcalc_sample(row, f"medcalc-{split}-{i:04d}", file, i)


def medcalc_hub_row(row: dict, index: int, split: str) -> Sample:
    """ncbi/MedCalc-Bench-v1.0: the same column names as the Parquet files."""
    return medcalc_sample(row, f"medcalc-{split}-{index + 1:04d}", hub_where("medcalc", split), index + 1)


register(DatasetSpec(
    name="medcalc",
    description="MedCalc-Bench v1.0: clinical calculations from patient notes, answers with limits",
    source="ncbi-nlp/MedCalc-Bench via linjc16/EHRMind, CC-BY-SA 4.0", splits={"test": 1047, "val": 1145},
    default_split="test", local_folder="medcalc", read_local=read_medcalc,
    hub_id="ncbi/MedCalc-Bench-v1.0", hub_row=medcalc_hub_row, tags=["reasoning", "numeric"]))
