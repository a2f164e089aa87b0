"""Harmful requests: MedSafetyBench (medical, 9 AMA ethics categories) and FigStep SafeBench.

Every Sample has ``answer_type="request"`` and ``answer=None``: a request has no gold answer, what is
right is ``metadata['should_refuse']`` (schema.py). MedSafetyBench's reference refusal, the target
for safety SFT / the chosen side for DPO, is ``metadata['safe_response']``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

from medtrust.data.loaders._common import as_int, clean, find_file, glob_files, hub_where, need, read_csv
from medtrust.data.registry import DatasetSpec, malformed, register
from medtrust.data.schema import Sample
from medtrust.errors import DataError

# --- MedSafetyBench --------------------------------------------------------------------------------

MEDSAFETY_CATEGORIES = {
    1: "Competence, compassion and respect for human dignity",
    2: "Professionalism and honesty",
    3: "Respect for the law and patients' best interests",
    4: "Patient rights and confidentiality",
    5: "Continued study and scientific knowledge",
    6: "Freedom to choose whom to serve",
    7: "Community and public health",
    8: "Responsibility to the patient as paramount",
    9: "Medical care for all",
}
"""The nine principles of the AMA Code of Medical Ethics, one MedSafetyBench category each."""

MEDSAFETY_GENERATORS = ("gpt4", "llama2")
_CATEGORY_FILE = re.compile(r"category_(\d+)\.csv$")


def medsafety_sample(request: str, category: int | None, generator: str | None, index: str,
                     safe_response: str | None, split: str, where, n) -> Sample:
    """A harmful medical request; should_refuse is always True."""
    if category is not None and category not in MEDSAFETY_CATEGORIES:
        raise malformed(where, n, f"category must be 1-9, got {category}")
    return Sample(
        id=f"medsafetybench-{split}-{generator or 'x'}-c{category or 0}-{index}", question=request,
        answer=None, answer_type="request",
        metadata={"language": "en", "should_refuse": True, "category": category,
                  "category_name": MEDSAFETY_CATEGORIES.get(category), "generator": generator,
                  "safe_response": safe_response})


def _medsafety_files(path: Path, split: str) -> list[Path]:
    expected = f"{split}/gpt4/category_1.csv"
    root = path  # the datasets folder (with test/ and train/), one split or generator folder, or a file
    if path.is_dir() and any((path / s).is_dir() for s in ("test", "train")):
        root = path / split
        if not root.is_dir():
            raise DataError(f"Folder '{path}' has no file '{expected}' for dataset 'medsafetybench'.",
                            f"pass the MedSafetyBench datasets folder with a {split}/ folder")
    files = glob_files(root, "category_*.csv", "medsafetybench", expected)
    for f in files:
        if not _CATEGORY_FILE.search(f.name):
            raise DataError(f"Cannot tell the category of '{f}' for dataset 'medsafetybench'.",
                            "MedSafetyBench files are named category_<1-9>.csv")
    return files


def read_medsafetybench(path: Path, split: str) -> Iterator[Sample]:
    """<split>/{gpt4,llama2}/category_{1..9}.csv (columns: index, harmful_medical_request, safe_response)."""
    for file in _medsafety_files(path, split):
        category = int(_CATEGORY_FILE.search(file.name).group(1))
        generator = file.parent.name if file.parent.name in MEDSAFETY_GENERATORS else None
        for n, row in read_csv(file, required=["harmful_medical_request", "safe_response"]):
            index = (row.get("") or row.get("index") or row.get("Unnamed: 0") or str(n - 1)).strip()
            yield medsafety_sample(need(row, "harmful_medical_request", file, n), category, generator, index,
                                   clean(row.get("safe_response")), split, file, n)


def medsafety_hub_row(row: dict, index: int, split: str) -> Sample:
    """Rows with harmful_medical_request and optional safe_response, category (1-9), generator."""
    where, n = hub_where("medsafetybench", split), index + 1
    cat = clean(row.get("category"))
    if isinstance(cat, str) and cat.startswith("category_"):
        cat = cat.removeprefix("category_")
    category = as_int(cat, "category", where, n) if cat is not None else None
    return medsafety_sample(need(row, "harmful_medical_request", where, n), category,
                            clean(row.get("generator")), f"{n:04d}", clean(row.get("safe_response")),
                            split, where, n)


register(DatasetSpec(
    name="medsafetybench",
    description="MedSafetyBench: harmful medical requests in 9 AMA-ethics categories, with safe responses",
    source="AI4LIFE-GROUP/med-safety-bench (datasets/), MIT", splits={"test": 900, "train": 900},
    default_split="test", local_folder="medsafetybench", read_local=read_medsafetybench,
    hub_id=None, hub_row=medsafety_hub_row, tags=["safety", "harmful", "medical"]))

# --- FigStep SafeBench -----------------------------------------------------------------------------

FIGSTEP_FILES = {"safebench": "safebench.csv", "tiny": "safebench_tiny.csv"}
FIGSTEP_COLUMNS = ["category_id", "task_id", "category_name", "question", "instruction"]
# benign_sentences.csv holds the instructions with the harmful key phrase masked as "*" ("Steps to
# make *."); split "benign" fills each with a harmless phrase (figstep_benign.py): benign requests
# in FigStep's layout, the benign side of a safety run (over-refusal on benign typographic images).


def figstep_sample(row: dict, where, n) -> Sample:
    """A SafeBench question and its "Steps to ..." rewrite (the text the typographic attack draws)."""
    cat = as_int(need(row, "category_id", where, n), "category_id", where, n)
    task = as_int(need(row, "task_id", where, n), "task_id", where, n)
    name = need(row, "category_name", where, n)
    return Sample(id=f"figstep-{cat:02d}-{task:02d}", question=need(row, "question", where, n),
                  answer=None, answer_type="request",
                  metadata={"language": "en", "should_refuse": True,
                            "instruction": need(row, "instruction", where, n),
                            "category_id": cat, "category_name": name, "category": name, "task_id": task,
                            "source_dataset": clean(row.get("dataset"))})


def read_figstep(path: Path, split: str) -> Iterator[Sample]:
    """safebench.csv (split 'safebench'), safebench_tiny.csv (split 'tiny'; its rows are also in
    safebench), the filled benign_sentences.csv (split 'benign', should not be refused) or the
    SafeBench rows the vision --eval never measures (split 'train', figstep_splits.py)."""
    if split == "benign":
        from medtrust.data.loaders.figstep_benign import read_figstep_benign
        yield from read_figstep_benign(path)
        return
    if split == "train":
        from medtrust.data.loaders.figstep_splits import read_figstep_train
        yield from read_figstep_train(path)
        return
    file = find_file(path, [FIGSTEP_FILES[split]], "figstep")
    for n, row in read_csv(file, required=FIGSTEP_COLUMNS):
        yield figstep_sample(row, file, n)


def figstep_hub_row(row: dict, index: int, split: str) -> Sample:
    """Rows with the safebench.csv columns."""
    return figstep_sample(row, hub_where("figstep", split), index + 1)


register(DatasetSpec(
    name="figstep",
    description="FigStep SafeBench: 500 harmful questions (10 topics) with typographic-attack rewrites",
    source="ThuCCSLab/FigStep (data/question), MIT", splits={"safebench": 500, "tiny": 50, "benign": 49, "train": 310},
    default_split="safebench", local_folder="figstep", read_local=read_figstep, benign_split="benign",
    hub_id=None, hub_row=figstep_hub_row, tags=["safety", "harmful", "vision"]))
