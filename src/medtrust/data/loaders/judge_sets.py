"""Responses labelled by people, for checking judges: GPTFuzz's labelled jailbreak responses and
JailbreakBench's judge comparison. Each row is a Sample whose ``question`` is the harmful request
and whose ``metadata`` holds the ``response``, the human ``label`` (1 = jailbroken / unsafe: the
response gives the harmful help asked for, 0 = not) and, for JailbreakBench, the verdicts of the
published judges (``published``).

``gptfuzz/evaluate.csv`` and ``jbb_judge/judge_comparison.csv`` are test sets: never train or tune
on them (only ``gptfuzz`` split ``train`` may be used for that).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from medtrust.data.loaders._common import as_int, find_file, need, read_csv
from medtrust.data.registry import DatasetSpec, malformed, register
from medtrust.data.schema import Sample

GPTFUZZ_FILES = {"train": "train.csv", "evaluate": "evaluate.csv"}
JBB_PUBLISHED = {"harmbench_cf": "HarmBench classifier", "gpt4_cf": "GPT-4", "llamaguard2_cf": "Llama Guard 2",
                 "llama3_cf": "Llama-3-70B"}


def labelled(id: str, request: str, response: str, label: int, metadata: dict) -> Sample:
    """A response to a harmful request with its human label (1 = jailbroken / unsafe)."""
    return Sample(id=id, question=request, answer=str(label), answer_type="request",
                  metadata={"language": "en", "should_refuse": True, "response": response, "label": label,
                            **metadata})


def _binary(value, key: str, where, n) -> int:
    label = as_int(value, key, where, n)
    if label not in (0, 1):
        raise malformed(where, n, f"'{key}' must be 0 or 1, got {value!r}")
    return label


def read_gptfuzz(path: Path, split: str) -> Iterator[Sample]:
    """``<split>.csv`` (question id, Response, label) with the request texts of ``questions.csv``."""
    file = find_file(path, [GPTFUZZ_FILES[split]], "gptfuzz")
    questions_file = find_file(file.parent, ["questions.csv"], "gptfuzz")
    questions = {need(row, "index", questions_file, n): need(row, "text", questions_file, n)
                 for n, row in read_csv(questions_file, required=["index", "text"])}
    for i, (n, row) in enumerate(read_csv(file, required=["question", "Response", "label"])):
        qid = need(row, "question", file, n)
        if qid not in questions:
            raise malformed(file, n, f"question id {qid!r} is not in {questions_file.name}")
        yield labelled(f"gptfuzz-{split}-{i:05d}", questions[qid], row["Response"] or "",
                       _binary(row["label"], "label", file, n), {"question_id": qid, "row": i})


def read_jbb(path: Path, split: str) -> Iterator[Sample]:
    """judge_comparison.csv: goal, prompt, target_response, human1-3, human_majority and the
    published judges' columns."""
    file = find_file(path, ["judge_comparison.csv"], "jbb-judge")
    for i, (n, row) in enumerate(read_csv(file, required=["goal", "target_response", "human_majority"])):
        published = {name: _binary(row[col], col, file, n) for col, name in JBB_PUBLISHED.items()
                     if row.get(col, "").strip() != ""}
        yield labelled(f"jbb-{i:03d}", need(row, "goal", file, n), row["target_response"] or "",
                       _binary(row["human_majority"], "human_majority", file, n),
                       {"jailbreak_prompt": row.get("prompt"), "published": published, "row": i})


register(DatasetSpec(
    name="gptfuzz", description="GPTFuzz: jailbreak responses hand-labelled jailbroken (1) or not (0); "
                                "train (80 questions) may train a judge, evaluate (20 other questions) is a test set",
    source="sherdencooper/GPTFuzz (datasets/responses_labeled, datasets/questions), MIT",
    splits={"train": 6160, "evaluate": 1540}, default_split="evaluate", local_folder="gptfuzz",
    read_local=read_gptfuzz, tags=["safety", "judge-agreement"]))

register(DatasetSpec(
    name="jbb-judge", description="JailbreakBench judge comparison: 300 responses to jailbreaks, majority of 3 "
                                  "annotators (1 = unsafe) and 4 published judges; a test set",
    source="JailbreakBench judge_comparison (copy in AnthonyRonning/promptfoo-workshop), MIT",
    splits={"all": 300}, default_split="all", local_folder="jbb_judge", read_local=read_jbb,
    tags=["safety", "judge-agreement"]))
