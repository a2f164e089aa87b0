"""XSTest: 250 safe prompts that look unsafe (over-refusal) and 200 unsafe contrasts, plus the
human-labelled completions of five models (to measure how well a refusal judge agrees with people)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from medtrust.data.loaders._common import clean, find_file, glob_files, hub_where, need, read_csv
from medtrust.data.registry import DatasetSpec, malformed, register
from medtrust.data.schema import Sample
from medtrust.errors import DataError

PROMPT_FILES = ["xstest_prompts.csv", "xstest_v2_prompts.csv"]
PROMPT_COLUMNS = ["id", "prompt", "type", "label", "focus", "note"]
COMPLETION_COLUMNS = ["id", "type", "prompt", "completion", "final_label"]
FINAL_LABELS = ("1_full_compliance", "2_full_refusal", "3_partial_refusal")
MODELS = ["gpt4", "llama2new", "llama2orig", "mistralguard", "mistralinstruct"]


def label_of_type(prompt_type: str) -> str:
    """XSTest's unsafe prompts are exactly the ``contrast_*`` types (200 of 450).

    >>> label_of_type("contrast_homonyms"), label_of_type("homonyms")
    ('unsafe', 'safe')
    """
    return "unsafe" if prompt_type.startswith("contrast_") else "safe"


def xstest_sample(row: dict, index: int, where, n) -> Sample:
    """One XSTest prompt; should_refuse follows its label (safe -> False, unsafe -> True)."""
    label = need(row, "label", where, n).lower()
    if label not in ("safe", "unsafe"):
        raise malformed(where, n, f"label must be safe or unsafe, got {label!r}")
    pid = clean(str(row.get("id") or "")) or str(index)
    ptype = need(row, "type", where, n)
    return Sample(id=f"xstest-{pid}", question=need(row, "prompt", where, n), answer=None,
                  answer_type="request",
                  metadata={"language": "en", "should_refuse": label == "unsafe", "label": label,
                            "type": ptype, "category": ptype, "focus": clean(row.get("focus")),
                            "note": clean(row.get("note"))})


def read_xstest(path: Path, split: str) -> Iterator[Sample]:
    """xstest_prompts.csv; split 'safe' / 'unsafe' keep one label, 'all' keeps both."""
    file = find_file(path, PROMPT_FILES, "xstest")
    for n, row in read_csv(file, required=PROMPT_COLUMNS):
        sample = xstest_sample(row, n - 1, file, n)
        if split == "all" or sample.metadata["label"] == split:
            yield sample


def xstest_hub_row(row: dict, index: int, split: str) -> Sample | None:
    """walledai/XSTest (prompt, type, label, focus, note) or the CSV columns; the "safe" and
    "unsafe" splits keep the rows with that label."""
    sample = xstest_sample(row, index + 1, hub_where("xstest", split), index + 1)
    return sample if split == "all" or sample.metadata["label"] == split else None


register(DatasetSpec(
    name="xstest",
    description="XSTest: 250 safe prompts that look unsafe and 200 unsafe contrasts (over-refusal)",
    source="paul-rottger/exaggerated-safety, CC-BY-4.0", splits={"all": 450, "safe": 250, "unsafe": 200},
    default_split="all", local_folder="xstest", read_local=read_xstest,
    hub_id="walledai/XSTest", hub_splits={"all": "test", "safe": "test", "unsafe": "test"},
    hub_row=xstest_hub_row, tags=["safety", "benign", "over-refusal"], benign_split="safe"))

# --- completions with human labels -----------------------------------------------------------------


def completion_sample(row: dict, model: str, where, n) -> Sample:
    """A model's completion of an XSTest prompt with the human label (final_label)."""
    final = need(row, "final_label", where, n)
    if final not in FINAL_LABELS:
        raise malformed(where, n, f"final_label must be one of {', '.join(FINAL_LABELS)}, got {final!r}")
    ptype = need(row, "type", where, n)
    pid = str(need(row, "id", where, n)).removeprefix("v2-")
    label = label_of_type(ptype)
    agreement = clean(row.get("agreement"))
    return Sample(id=f"xstest-{model}-{pid}", question=need(row, "prompt", where, n), answer=None,
                  answer_type="request",
                  metadata={"language": "en", "model": model, "prompt_id": pid,
                            "completion": need(row, "completion", where, n, allow_empty=True),
                            "final_label": final, "annotation_1": clean(row.get("annotation_1")),
                            "annotation_2": clean(row.get("annotation_2")),
                            "agreement": None if agreement is None else str(agreement).upper() == "TRUE",
                            "type": ptype, "label": label, "should_refuse": label == "unsafe"})


def _model_name(file: Path) -> str:
    return file.stem.removeprefix("xstest_v2_completions_")


def read_completions(path: Path, split: str) -> Iterator[Sample]:
    """completions/<model>.csv (or upstream xstest_v2_completions_<model>.csv); split 'all' or a model."""
    if path.is_dir() and (path / "completions").is_dir():
        path = path / "completions"
    files = glob_files(path, "*.csv", "xstest-completions", "completions/gpt4.csv")
    if path.is_dir():
        files = [f for f in files if _model_name(f) in MODELS]
        if split != "all":
            files = [f for f in files if _model_name(f) == split]
        if not files:
            want = "gpt4" if split == "all" else split
            raise DataError(f"Folder '{path}' has no file '{want}.csv' for dataset 'xstest-completions'.",
                            "pass the XSTest folder with completions/<model>.csv")
    for file in files:
        for n, row in read_csv(file, required=COMPLETION_COLUMNS):
            yield completion_sample(row, _model_name(file), file, n)


def completions_hub_row(row: dict, index: int, split: str) -> Sample:
    """natolambert/xstest-v2-copy: one split per model (the model name is the split)."""
    where = hub_where("xstest-completions", split)
    model = clean(row.get("model")) or split
    if "completion" not in row:
        raise malformed(where, index + 1,
                        "no 'completion' column: pick a model split (e.g. gpt4), not the prompts")
    return completion_sample(row, model, where, index + 1)


register(DatasetSpec(
    name="xstest-completions",
    description="XSTest completions of 5 models with human labels (full compliance / full / partial refusal)",
    source="paul-rottger/exaggerated-safety (model_completions/), CC-BY-4.0; "
           "completions under the models' licences",
    splits={"all": 2250, **{m: 450 for m in MODELS}}, default_split="all", local_folder="xstest",
    read_local=read_completions, hub_id="natolambert/xstest-v2-copy", hub_row=completions_hub_row,
    tags=["safety", "judge-agreement"]))
