"""Grading an extracted answer against a Sample, with MedCalc-Bench's published rules.

MedCalc-Bench (ncbi-nlp/MedCalc-Bench, evaluation/evaluate.py ``check_correctness``) grades by
Output Type:

- decimal: correct when ``Lower Limit <= answer <= Upper Limit`` (the limits are the gold +-5%);
- integer: ``round(answer) == Ground Truth`` (Python's round, half to even; the limits equal the
  gold for every integer row, so this is also "inside the limits");
- date (calculators 13 and 68): the same calendar date (month/day/year compared as numbers);
- gestational age (calculator 69, labelled "integer", gold "('4 weeks', '3 days')"): the same
  (weeks, days) pair.

The built-in demo-calc set stores its own tolerance band in ``lower``/``upper``; its rows are
graded as decimals.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from medtrust.data.schema import LETTERS, Sample
from medtrust.reasoning.extract import (
    extract_choice,
    extract_date,
    extract_number,
    extract_short,
    extract_weeks_days,
    extract_yes_no,
)
from medtrust.text import normalize_words

_PAIR = re.compile(r"\(?[\"']?(\d+)\s*(?:weeks?)?[\"']?,?\s*[\"']?(\d+)\s*(?:days?)?[\"']?\s*\)?")


def parse_weeks_days(text: str) -> tuple[int, int] | None:
    """MedCalc-Bench's gold form "('4 weeks', '3 days')" as (4, 3)."""
    m = _PAIR.search(str(text))
    return (int(m.group(1)), int(m.group(2))) if m else None


def _same_date(answer: str, gold: str) -> bool:
    a = datetime.strptime(answer, "%m/%d/%Y")
    g = datetime.strptime(str(gold).strip(), "%m/%d/%Y")
    return (a.year, a.month, a.day) == (g.year, g.month, g.day)


def medcalc_correct(answer: Any, sample: Sample) -> bool:
    """MedCalc-Bench ``check_correctness`` for an extracted answer (float, "MM/DD/YYYY" or
    (weeks, days)); None (no answer found) is wrong."""
    if answer is None:
        return False
    meta = sample.metadata
    output_type = meta.get("output_type", "decimal")
    if sample.answer_type == "date":
        if (sample.answer or "").startswith("("):
            gold = parse_weeks_days(sample.answer or "")
            return isinstance(answer, tuple) and gold is not None and tuple(answer) == gold
        return isinstance(answer, str) and _same_date(answer, sample.answer or "")
    if not isinstance(answer, (int, float)) or isinstance(answer, bool):
        return False
    if output_type == "integer":
        return round(answer) == round(float(sample.answer or "nan"))
    return float(meta["lower"]) <= float(answer) <= float(meta["upper"])


def extract_for(sample: Sample, text: str) -> Any:
    """The answer ``text`` gives for this sample's answer type (None when it gives none).

    Yes/no questions whose options are listed also accept the option letter ("B" -> "no").
    """
    kind = sample.answer_type
    if kind == "mcq":
        return extract_choice(text, sample.choices)
    if kind in ("yes_no_maybe", "yes_no"):
        word = extract_yes_no(text, allow_maybe=kind == "yes_no_maybe")
        if word is None and sample.choices:
            letter = extract_choice(text, sample.choices)
            if letter is not None:
                word = sample.choices[LETTERS.index(letter)]
        return word
    if kind == "numeric":
        return extract_number(text)
    if kind == "date":
        if (sample.answer or "").startswith("("):
            return extract_weeks_days(text)
        return extract_date(text)
    return extract_short(text)


def is_correct(sample: Sample, answer: Any) -> bool:
    """Whether an extracted answer is right (None, "no answer found", is never right)."""
    if answer is None:
        return False
    kind = sample.answer_type
    if kind == "mcq":
        return answer == sample.answer
    if kind in ("yes_no_maybe", "yes_no"):
        return str(answer).lower() == str(sample.answer).lower()
    if kind in ("numeric", "date"):
        if "lower" not in sample.metadata and kind == "numeric":
            return abs(float(answer) - float(sample.answer or "nan")) <= 1e-9 * max(1.0, abs(float(answer)))
        return medcalc_correct(answer, sample)
    return short_answer_matches(str(answer), [sample.answer or "", *sample.aliases])


#: number words a short answer may use for a count ("two" for "2", "none" for "0")
NUMBER_WORDS = {w: str(i) for i, w in enumerate(["zero", "one", "two", "three", "four", "five", "six", "seven",
                                                 "eight", "nine", "ten"])}
NUMBER_WORDS.update({"none": "0", "no": "0", "零": "0", "一": "1", "两": "2", "二": "2", "三": "3", "四": "4",
                     "五": "5", "六": "6", "七": "7", "八": "8", "九": "9", "十": "10", "没有": "0"})
_NEGATION = re.compile(r"\b(?:not|no|isn't|neither|nor|never|or)\b|不是|没有|并非|而非|或")
_ZH_COUNT = re.compile(r"[零一二两三四五六七八九十](?=个)|没有")  # 两个 = 2; 十字形 is a shape, not 10
_COUNT_NEGATION = re.compile(r"\b(?:not|isn't|neither|nor|never|or)\b|不是|并非|而非|或")
MAX_SHORT_WORDS = 5


def short_answer_matches(answer: str, golds: list[str]) -> bool:
    """Whether a short free-text answer names a gold answer: equal after lower-casing and dropping
    punctuation ("Red." = "red"), counts in digits or words ("two" = "2", "2 circles" = "2"), or a
    gold answer inside an answer of at most MAX_SHORT_WORDS words without a negation or an
    alternative ("a red circle" names "red"; "not red" and "red or blue" do not; a count must be
    the only number: "no circles" = "0", "2 or 3" is not "2"). Chinese golds match as substrings.

    >>> short_answer_matches("A red circle.", ["red"]), short_answer_matches("not red", ["red"])
    (True, False)
    """
    norm = normalize_words(answer)
    words = [NUMBER_WORDS.get(w, w) for w in norm.split()]
    for gold in (normalize_words(g) for g in golds if g):
        if norm == gold or " ".join(words) == gold:
            return True
        count = gold.isdigit()  # "no circles" says 0, it negates nothing
        if not gold or len(words) > MAX_SHORT_WORDS or (_COUNT_NEGATION if count else _NEGATION).search(norm):
            continue
        if count:
            numbers = re.findall(r"\d+", " ".join(words)) + [NUMBER_WORDS[z] for z in _ZH_COUNT.findall(norm)]
            if numbers == [gold]:
                return True
            continue
        if re.search(r"[\u4e00-\u9fff]", gold):
            if gold in norm or gold in " ".join(words):
                return True
        elif re.search(rf"(?<!\S){re.escape(gold)}(?!\S)", " ".join(words)):
            return True
    return False


def answer_key(answer: Any) -> str | None:
    """A hashable, JSON-safe form of an extracted answer for voting and comparison (numbers
    rounded to 6 significant digits so 12.0 and 12 vote together)."""
    if answer is None:
        return None
    if isinstance(answer, bool):
        return str(answer)
    if isinstance(answer, (int, float)):
        return f"{float(answer):.6g}"
    if isinstance(answer, (tuple, list)):
        return "(" + ", ".join(str(x) for x in answer) + ")"
    return str(answer)


def from_key(sample: Sample, key: str | None) -> Any:
    """The extracted answer back from ``answer_key`` (for grading a vote)."""
    if key is None:
        return None
    if sample.answer_type == "numeric":
        return float(key)
    if sample.answer_type == "date" and key.startswith("("):
        return tuple(int(x) for x in key.strip("()").split(","))
    return key
