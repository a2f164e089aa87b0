"""BioASQ Task B golden sets: yes/no, factoid, list and summary questions with PubMed snippets."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

from medtrust.data.loaders._common import glob_files, hub_where, need, read_json
from medtrust.data.registry import DatasetSpec, malformed, register
from medtrust.data.schema import Sample

CONTEXT_CHARS = 4000
"""Snippets are joined up to about this many characters (the median question has ~1,000; the longest
~11,000), so that a prompt stays within a small model's window."""


def snippet_context(snippets: Any, limit: int = CONTEXT_CHARS) -> tuple[str | None, bool]:
    """The distinct snippet texts joined by newlines, cut at a snippet boundary near ``limit``.

    Returns (context, truncated). A first snippet longer than ``limit`` is cut itself.

    >>> snippet_context([{"text": "a b"}, {"text": "a b"}, {"text": "c"}])
    ('a b\\nc', False)
    >>> snippet_context([{"text": "x" * 6}, {"text": "y"}], limit=4)
    ('xxxx', True)
    """
    texts: list[str] = []
    for s in snippets or []:
        text = (s.get("text") if isinstance(s, dict) else str(s) if s else "") or ""
        text = text.strip()
        if text and text not in texts:
            texts.append(text)
    if not texts:
        return None, False
    out, size = [], 0
    for text in texts:
        if size + len(text) > limit:
            if not out:
                out.append(text[:limit])
            return "\n".join(out), True
        out.append(text)
        size += len(text) + 1
    return "\n".join(out), False


def _synonym_lists(exact: Any, where, n) -> list[list[str]]:
    """Factoid/list exact answers: a list of entries, each a list of synonyms (or a bare string)."""
    if isinstance(exact, str):
        exact = [exact]
    if not isinstance(exact, list) or not exact:
        raise malformed(where, n, "'exact_answer' must be a non-empty list")
    entries = []
    for e in exact:
        syns = [str(s).strip() for s in (e if isinstance(e, list) else [e]) if str(s).strip()]
        if syns:
            entries.append(syns)
    if not entries:
        raise malformed(where, n, "'exact_answer' has no non-empty answer")
    return entries


def bioasq_sample(q: dict, batch: str | None, where, n) -> Sample:
    """One question of a golden file, mapped by its type."""
    qtype = need(q, "type", where, n)
    ideal = q.get("ideal_answer") or []
    ideal = [ideal] if isinstance(ideal, str) else [str(i).strip() for i in ideal if str(i).strip()]
    context, truncated = snippet_context(q.get("snippets"))
    meta = {"language": "en", "type": qtype, "batch": batch, "ideal_answer": ideal}
    if truncated:
        meta["context_truncated"] = True
    fields: dict[str, Any] = {}
    if qtype == "yesno":
        answer = str(need(q, "exact_answer", where, n)).strip().lower()
        if answer not in ("yes", "no"):
            raise malformed(where, n, f"a yesno exact_answer must be yes or no, got {answer!r}")
        fields = {"answer": answer, "answer_type": "yes_no", "choices": ["yes", "no"]}
    elif qtype == "factoid":
        entries = _synonym_lists(need(q, "exact_answer", where, n), where, n)
        aliases = [s for e in entries for s in e]
        fields = {"answer": entries[0][0], "answer_type": "short", "aliases": aliases}
        meta["exact_answer"] = entries
    elif qtype == "list":
        entries = _synonym_lists(need(q, "exact_answer", where, n), where, n)
        fields = {"answer": "; ".join(e[0] for e in entries), "answer_type": "list",
                  "aliases": [s for e in entries for s in e]}
        meta["exact_answer"] = entries
    elif qtype == "summary":
        if not ideal:
            raise malformed(where, n, "a summary question needs an 'ideal_answer'")
        fields = {"answer": ideal[0], "answer_type": "open"}
    else:
        raise malformed(where, n, f"unknown question type {qtype!r} (expected yesno, factoid, list, summary)")
    qid = q.get("id") or f"{batch}-{n}"
    return Sample(id=f"bioasq-{qid}", question=need(q, "body", where, n), context=context,
                  metadata=meta, **fields)


def _batch(file: Path) -> str:
    m = re.match(r"(\d+B\d+)", file.name)
    return m.group(1) if m else file.stem.removesuffix("_golden")


def read_bioasq(path: Path, split: str) -> Iterator[Sample]:
    """Every *_golden.json file (11B1 ... 11B4), in name order."""
    for file in glob_files(path, "*golden*.json", "bioasq", "11B1_golden.json"):
        data = read_json(file)
        questions = data.get("questions") if isinstance(data, dict) else None
        if not isinstance(questions, list):
            raise malformed(file, 1, "expected {\"questions\": [...]}")
        for i, q in enumerate(questions, 1):
            where_row = f"{i} (questions[{i - 1}])"
            if not isinstance(q, dict):
                raise malformed(file, where_row, "expected a JSON object")
            yield bioasq_sample(q, _batch(file), file, where_row)


def bioasq_hub_row(row: dict, index: int, split: str) -> Sample:
    """Rows with the golden-file fields (body, type, exact_answer, ideal_answer, snippets, id)."""
    return bioasq_sample(row, row.get("batch"), hub_where("bioasq", split), index + 1)


register(DatasetSpec(
    name="bioasq",
    description="BioASQ Task 11B golden sets: yes/no, factoid, list, summary questions with snippets",
    source="BioASQ via MIRAGE (rawdata/bioasq), BioASQ terms (research use)", splits={"test": 327},
    default_split="test", local_folder="bioasq", read_local=read_bioasq,
    hub_id=None, hub_row=bioasq_hub_row, tags=["qa", "short", "list", "open"]))
