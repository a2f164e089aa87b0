"""The built-in demo sets, written for this project in English and Chinese; importing registers them.

Hand-written sets live in ``builtin/<name>.jsonl``, one item per line with both languages:
``{"id", "split", <shared fields>, "en": {...}, "zh": {...}}``. ``lang="all"`` returns the English
rows, then the Chinese ones; Chinese ids end in ``-zh`` (and so do the pair ids they point at).
The hand-written sets ignore ``seed`` (``load_dataset(shuffle=True)`` shuffles); demo-calc uses it.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Callable

from medtrust.data import calc
from medtrust.data.registry import DatasetSpec, malformed, register
from medtrust.data.schema import LETTERS, Sample
from medtrust.errors import DataError

BUILTIN_DIR = Path(__file__).with_name("builtin")
SOURCE = "built-in (medtrust)"
LANGS = {"en": ("en",), "zh": ("zh",), "all": ("en", "zh")}

# The nine AMA Code of Medical Ethics principles, as numbered by MedSafetyBench; the same short names
# as the medsafetybench loader (loaders/safety.py), so metrics per category line up across both.
from medtrust.data.loaders.safety import MEDSAFETY_CATEGORIES as CATEGORY_NAMES  # noqa: E402


@lru_cache(maxsize=None)
def read_rows(name: str) -> tuple[dict, ...]:
    """The rows of ``builtin/<name>.jsonl`` (e.g. "demo_qa"); a bad row raises a DataError naming it."""
    path = BUILTIN_DIR / f"{name}.jsonl"
    rows = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as e:
                raise malformed(path, n, f"invalid JSON ({e})") from e
            missing = [k for k in ("id", "split", "en", "zh") if k not in row]
            if missing:
                raise malformed(path, n, f"missing {', '.join(missing)}")
            rows.append(row)
    return tuple(rows)


def _sid(row_id: str | None, lang: str) -> str | None:
    return None if row_id is None else row_id + ("-zh" if lang == "zh" else "")


def _qa(row: dict, lang: str) -> Sample:
    t = row[lang]
    return Sample(id=_sid(row["id"], lang), question=t["question"], answer=t["answer"], answer_type="short",
                  aliases=list(t.get("aliases", [])),
                  metadata={"language": lang, "specialty": row["specialty"]})


def _mcq(row: dict, lang: str) -> Sample:
    t = row[lang]
    if row["answer"] not in LETTERS[:len(t["choices"])]:
        raise malformed(BUILTIN_DIR / "demo_mcq.jsonl", row["id"],
                        f"answer {row['answer']!r} is not one of the {len(t['choices'])} options")
    return Sample(id=_sid(row["id"], lang), question=t["question"], choices=list(t["choices"]),
                  answer=row["answer"], answer_type="mcq",
                  metadata={"language": lang, "specialty": row["specialty"]})


def _harmful(row: dict, lang: str) -> Sample:
    return Sample(id=_sid(row["id"], lang), question=row[lang]["question"], answer_type="request",
                  metadata={"language": lang, "should_refuse": True, "category": row["category"],
                            "category_name": CATEGORY_NAMES[row["category"]],
                            "benign_pair": _sid(row.get("benign_pair"), lang)})


def _benign(row: dict, lang: str) -> Sample:
    return Sample(id=_sid(row["id"], lang), question=row[lang]["question"], answer_type="request",
                  metadata={"language": lang, "should_refuse": False, "category": row["category"],
                            "harmful_pair": _sid(row.get("harmful_pair"), lang)})


def _langs(lang: str) -> tuple[str, ...]:
    if lang not in LANGS:
        raise DataError(f"Unknown language '{lang}'.", "use en, zh or all")
    return LANGS[lang]


def _maker(name: str, to_sample: Callable[[dict, str], Sample]):
    def make(split: str, seed: int = 0, lang: str = "en") -> list[Sample]:
        rows = [r for r in read_rows(name) if r["split"] == split]
        if not rows:
            raise DataError(f"Built-in set '{name}' has no split '{split}'.",
                            f"use one of: {', '.join(_split_counts(name))}")
        return [to_sample(r, lg) for lg in _langs(lang) for r in rows]

    make.__doc__ = f"Rows of builtin/{name}.jsonl for (split, seed, lang); seed is unused."
    return make


def _split_counts(name: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in read_rows(name):
        counts[r["split"]] = counts.get(r["split"], 0) + 1
    return counts


def _register_file(name: str, file: str, description: str, to_sample, tags: list[str],
                   default_split: str = "test") -> None:
    register(DatasetSpec(name=name, description=description, source=SOURCE, splits=_split_counts(file),
                         default_split=default_split, builtin=_maker(file, to_sample), tags=tags))


_register_file("demo-qa", "demo_qa", "Short-answer medical questions with accepted aliases, English and "
               "Chinese; train split for few-shot examples.", _qa, ["demo", "qa", "short", "bilingual"])
_register_file("demo-mcq", "demo_mcq", "Four-option medical multiple-choice questions, English and Chinese; "
               "train split for few-shot examples.", _mcq, ["demo", "qa", "mcq", "bilingual"])
_register_file("demo-harmful", "demo_harmful", "Harmful medical requests a safe model should refuse, in the "
               "nine AMA-ethics categories of MedSafetyBench, English and Chinese.", _harmful,
               ["demo", "safety", "bilingual"])
_register_file("demo-benign", "demo_benign", "Benign medical requests that look like harmful ones (overdose, "
               "lethal, confidential...) and should be answered, English and Chinese.", _benign,
               ["demo", "safety", "benign", "bilingual"])
_register_file("benign-requests", "benign_requests", "Everyday and medical requests worded like harmful ones "
               "(homonyms, figures of speech, fiction, history, definitions, poisoning first aid) that must be "
               "answered: the benign side of safety fine-tuning (--mix benign-requests:1); none is an XSTest prompt.",
               _benign, ["safety", "benign", "bilingual", "training"], default_split="train")
register(DatasetSpec(
    name="demo-calc", description="Seeded medical calculations (BMI, Cockcroft-Gault, QTc, anion gap, ...) "
    "with exact answers and tolerance bands, MedCalc-Bench style, English and Chinese.",
    source=SOURCE, splits=dict(calc.SPLIT_SIZES), default_split="test", builtin=calc.generate,
    tags=["demo", "reasoning", "numeric", "bilingual"]))
