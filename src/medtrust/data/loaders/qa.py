"""Medical question answering: PubMedQA, MedQA, MedMCQA, MMLU (medical subjects)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from medtrust.data.loaders._common import (
    as_int,
    clean,
    find_file,
    hub_where,
    mcq,
    need,
    read_csv,
    read_json,
    read_jsonl,
)
from medtrust.data.registry import DatasetSpec, malformed, register
from medtrust.data.schema import LETTERS, Sample
from medtrust.errors import DataError

# --- PubMedQA --------------------------------------------------------------------------------------

PUBMEDQA_CHOICES = ["yes", "no", "maybe"]


def pubmedqa_sample(pubid: str, rec: dict, where, n) -> Sample:
    """One PQA-L record in the upstream layout (QUESTION, CONTEXTS, LABELS, MESHES, ...)."""
    question = need(rec, "QUESTION", where, n)
    contexts = need(rec, "CONTEXTS", where, n)
    if not isinstance(contexts, list):
        raise malformed(where, n, "'CONTEXTS' must be a list of abstract sections")
    labels = rec.get("LABELS") or []
    decision = str(need(rec, "final_decision", where, n)).lower()
    if decision not in PUBMEDQA_CHOICES:
        raise malformed(where, n, f"final_decision must be yes, no or maybe, got {decision!r}")
    labelled = len(labels) == len(contexts)
    if labelled:  # keep the section names: "BACKGROUND: ..."
        context = "\n".join(f"{lab}: {txt}" for lab, txt in zip(labels, contexts))
    else:
        context = "\n".join(contexts)
    return Sample(id=f"pubmedqa-{pubid}", question=question, answer=decision, answer_type="yes_no_maybe",
                  choices=list(PUBMEDQA_CHOICES), context=context,
                  metadata={"language": "en", "pubid": str(pubid),
                            "long_answer": clean(rec.get("LONG_ANSWER")),
                            "meshes": list(rec.get("MESHES") or []), "year": clean(rec.get("YEAR")),
                            # the labels put before the sections (harness-style prompts remove them)
                            "section_labels": [str(lab) for lab in labels] if labelled else []})


def read_pubmedqa(path: Path, split: str) -> Iterator[Sample]:
    """ori_pqal.json (split 'all'), restricted to the ids of test_ground_truth.json for 'test'."""
    file = find_file(path, ["ori_pqal.json"], "pubmedqa")
    data = read_json(file)
    if not isinstance(data, dict):
        raise malformed(file, 1, "expected a JSON object mapping PubMed ids to records")
    ids = list(data)
    if split == "test":
        gt_file = find_file(file.parent, ["test_ground_truth.json"], "pubmedqa (split 'test')")
        truth = read_json(gt_file)
        if not isinstance(truth, dict):
            raise malformed(gt_file, 1, "expected a JSON object mapping PubMed ids to yes/no/maybe")
        for pid, label in truth.items():
            if pid not in data:
                raise malformed(gt_file, pid, f"id {pid} is not in {file.name}")
            if data[pid].get("final_decision") != label:
                raise malformed(gt_file, pid, f"label {label!r} disagrees with {file.name} "
                                              f"({data[pid].get('final_decision')!r})")
        ids = list(truth)
    for pid in ids:
        if not isinstance(data[pid], dict):
            raise malformed(file, pid, "expected a JSON object")
        yield pubmedqa_sample(pid, data[pid], file, pid)


def pubmedqa_hub_row(row: dict, index: int, split: str) -> Sample:
    """qiaojin/PubMedQA (pqa_labeled): pubid, question, context{contexts, labels, meshes}, ..."""
    where = hub_where("pubmedqa", split)
    if "QUESTION" in row:  # rows already in the upstream layout
        return pubmedqa_sample(row.get("pubid", index), row, where, index + 1)
    ctx = need(row, "context", where, index + 1)
    rec = {"QUESTION": row.get("question"), "CONTEXTS": ctx.get("contexts"), "LABELS": ctx.get("labels"),
           "MESHES": ctx.get("meshes"), "LONG_ANSWER": row.get("long_answer"),
           "final_decision": row.get("final_decision")}
    return pubmedqa_sample(need(row, "pubid", where, index + 1), rec, where, index + 1)


register(DatasetSpec(
    name="pubmedqa", description="PubMedQA PQA-L: yes/no/maybe questions on PubMed abstracts (expert labels)",
    source="pubmedqa/pubmedqa (data/ori_pqal.json), MIT", splits={"all": 1000, "test": 500},
    default_split="all", local_folder="pubmedqa", read_local=read_pubmedqa,
    hub_id="qiaojin/PubMedQA", hub_config="pqa_labeled", hub_splits={"all": "train"},
    hub_row=pubmedqa_hub_row, tags=["qa", "yes_no_maybe"], harness_task="pubmedqa", harness_metrics=("acc",)))

# --- MedQA (USMLE, 4 options) ----------------------------------------------------------------------


def medqa_sample(rec: dict, id: str, where, n) -> Sample:
    """A MedQA record: question, options {A..D}, answer_idx, answer (its text), meta_info."""
    options = need(rec, "options", where, n)
    if isinstance(options, list):  # bigbio-style [{key, value}, ...]
        options = {o.get("key"): o.get("value") for o in options if isinstance(o, dict)}
    if not isinstance(options, dict) or not options:
        raise malformed(where, n, "'options' must map letters to option texts")
    keys = sorted(options)
    if keys != list(LETTERS[:len(keys)]):
        raise malformed(where, n, f"option letters must be A, B, ... in order, "
                                  f"got {', '.join(map(str, keys))}")
    letter = str(need(rec, "answer_idx", where, n)).upper()
    sample = mcq(id, need(rec, "question", where, n), [options[k] for k in keys], letter,
                 {"meta_info": clean(rec.get("meta_info"))}, where, n)
    text = clean(rec.get("answer"))
    if text is not None and text != sample.answer_text():
        raise malformed(where, n, f"answer text {text!r} is not option {letter} ({sample.answer_text()!r})")
    return sample


def read_medqa(path: Path, split: str) -> Iterator[Sample]:
    """us_4_options_test.jsonl (MIRAGE name) or phrases_no_exclude_test.jsonl (jind11/MedQA name)."""
    names = ["us_4_options_test.jsonl", "phrases_no_exclude_test.jsonl", "test.jsonl"]
    file = find_file(path, names, "medqa")
    for k, (n, rec) in enumerate(read_jsonl(file), 1):
        yield medqa_sample(rec, f"medqa-{split}-{k:04d}", file, n)


def medqa_hub_row(row: dict, index: int, split: str) -> Sample:
    """GBaker/MedQA-USMLE-4-options: question, options dict, answer_idx, answer, meta_info."""
    return medqa_sample(row, f"medqa-{split}-{index + 1:04d}", hub_where("medqa", split), index + 1)


register(DatasetSpec(
    name="medqa", description="MedQA USMLE: 4-option multiple choice from US medical licensing exams",
    source="jind11/MedQA via Teddy-XiongGZ/MIRAGE (rawdata/medqa), MIT", splits={"test": 1273},
    default_split="test", local_folder="medqa", read_local=read_medqa,
    hub_id="GBaker/MedQA-USMLE-4-options", hub_row=medqa_hub_row, tags=["qa", "mcq"],
    harness_task="medqa_4options", harness_metrics=("acc", "acc_norm")))

# --- MedMCQA ---------------------------------------------------------------------------------------
# `cop` (correct option) is 1-based (1..4 = opa..opd) in the upstream JSON release and so in dev.jsonl:
# its values are exactly {1, 2, 3, 4} (no 0 in 4,183 rows), and in every one of the 1,057 rows whose
# explanation starts "Ans. a/b/c/d" the letter equals cop as 1-based (a=1 ... d=4, no disagreement).
# The Hugging Face copy (openlifescienceai/medmcqa) shifted it to 0-based (0..3, -1 where the test
# label is hidden), so the hub converter uses 0-based.


def medmcqa_sample(rec: dict, where, n, zero_based: bool) -> Sample:
    """A MedMCQA record: question, opa..opd, cop, exp, subject_name, topic_name, choice_type, id."""
    cop = as_int(need(rec, "cop", where, n), "cop", where, n)
    first = 0 if zero_based else 1
    if cop == -1:
        raise malformed(where, n, "cop is -1: the answer is hidden (upstream test split); use the dev split")
    if not first <= cop <= first + 3:
        raise malformed(where, n, f"cop must be {first}-{first + 3} ({first}-based), got {cop}")
    options = [need(rec, k, where, n, allow_empty=True) for k in ("opa", "opb", "opc", "opd")]
    uid = clean(rec.get("id")) or f"{n}"
    subject = clean(rec.get("subject_name"))
    return mcq(f"medmcqa-{uid}", need(rec, "question", where, n), options, LETTERS[cop - first],
               {"subject": subject, "subject_name": subject, "topic_name": clean(rec.get("topic_name")),
                "explanation": clean(rec.get("exp")), "choice_type": clean(rec.get("choice_type"))}, where, n)


def read_medmcqa(path: Path, split: str) -> Iterator[Sample]:
    """dev.jsonl of the upstream release (cop 1-4)."""
    file = find_file(path, ["dev.jsonl", "dev.json"], "medmcqa")
    for n, rec in read_jsonl(file):
        yield medmcqa_sample(rec, file, n, zero_based=False)


def medmcqa_hub_row(row: dict, index: int, split: str) -> Sample:
    """openlifescienceai/medmcqa: the dev.jsonl columns with cop 0-3."""
    return medmcqa_sample(row, hub_where("medmcqa", split), index + 1, zero_based=True)


register(DatasetSpec(
    name="medmcqa", description="MedMCQA: 4-option questions from Indian medical entrance exams (dev split)",
    source="medmcqa/medmcqa via MIRAGE (rawdata/medmcqa), MIT", splits={"dev": 4183},
    default_split="dev", local_folder="medmcqa", read_local=read_medmcqa,
    hub_id="openlifescienceai/medmcqa", hub_splits={"dev": "validation"}, hub_row=medmcqa_hub_row,
    tags=["qa", "mcq"], harness_task="medmcqa", harness_metrics=("acc", "acc_norm")))

# --- MMLU, medical subjects ------------------------------------------------------------------------

MMLU_SUBJECTS = ["anatomy", "clinical_knowledge", "college_biology", "college_medicine",
                 "medical_genetics", "professional_medicine"]


def _mmlu_subject(file: Path) -> str:
    return file.stem.removesuffix("_test")


def read_mmlu(path: Path, split: str) -> Iterator[Sample]:
    """The six <subject>_test.csv files (no header: question, A, B, C, D, answer letter)."""
    if path.is_file():
        files = [path]
    else:
        files = [path / f"{s}_test.csv" for s in MMLU_SUBJECTS]
        missing = [f.name for f in files if not f.is_file()]
        if missing:
            raise DataError(f"Folder '{path}' has no file '{missing[0]}' for dataset 'mmlu-medical'.",
                            f"pass the folder with the six MMLU test files ({', '.join(missing)} missing)")
    for file in files:
        subject = _mmlu_subject(file)
        for k, (n, row) in enumerate(read_csv(file, header=False, width=6), 1):
            question = row[0].strip()
            if not question:
                raise malformed(file, n, "empty question")
            yield mcq(f"mmlu-{subject}-{k:04d}", question, row[1:5], row[5].strip().upper(),
                      {"subject": subject}, file, n)


def mmlu_hub_row(row: dict, index: int, split: str) -> Sample | None:
    """cais/mmlu: question, subject, choices (list), answer (0-based int or letter).

    Rows of other subjects (the hub's "all" config holds 57) are skipped."""
    where, n = hub_where("mmlu-medical", split), index + 1
    if row.get("subject") and clean(row.get("subject")) not in MMLU_SUBJECTS:
        return None
    choices = need(row, "choices", where, n)
    answer = need(row, "answer", where, n)
    in_range = isinstance(answer, int) and 0 <= answer < len(choices)
    letter = LETTERS[answer] if in_range else str(answer).upper()
    subject = clean(row.get("subject")) or "unknown"
    return mcq(f"mmlu-{subject}-{split}-{n:04d}", need(row, "question", where, n), choices, letter,
               {"subject": subject}, where, n)


register(DatasetSpec(
    name="mmlu-medical", description="MMLU test, six medical subjects (anatomy ... professional medicine)",
    source="hendrycks/test via MIRAGE (rawdata/mmlu), MIT", splits={"test": 1089},
    default_split="test", local_folder="mmlu_medical", read_local=read_mmlu,
    hub_id="cais/mmlu", hub_config="all", hub_row=mmlu_hub_row, tags=["qa", "mcq"],
    harness_task="mmlu", harness_metrics=("acc",)))
