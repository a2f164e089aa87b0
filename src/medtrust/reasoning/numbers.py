"""Numbers, dates and durations in model outputs (MedCalc-Bench style answers)."""

from __future__ import annotations

import re
from datetime import date

from medtrust.reasoning.text import answer_region
from medtrust.text import normalize_unicode as normalize

_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
#: numbers that are never the answer: rounding instructions and blood pressures ("108/69 mmHg" is no fraction)
_NOT_ANSWER = re.compile(r"\b(?:rounded|rounding|round)\s+(?:off\s+)?to\s+(?:the\s+nearest\s+)?(?:\d+|one|two|three)\s*"
                         r"(?:decimal\s+places?|dp\b|significant\s+(?:figures?|digits?)|sig\.?\s*figs?)"
                         r"|\b\d+\s*(?:decimal\s+places?|significant\s+(?:figures?|digits?))"
                         r"|\b\d{2,3}\s*/\s*\d{2,3}\s*(?:mm\s*hg|mmhg)\b", re.I)
_DATE_LIKE = re.compile(r"\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b\d{4}-\d{1,2}-\d{1,2}\b|\d{4}年\d{1,2}月\d{1,2}日")
_NUMBER = re.compile(
    r"(?<![A-Za-z0-9_./^])"
    r"(?P<sign>[-+](?=\.?\d))?"
    r"(?:(?P<num>\d+)\s*/\s*(?P<den>\d+)(?![\d/]|\.\d)"
    r"|(?P<mant>(?:\d{1,3}(?:,\d{3})+|\d{1,3}(?: \d{3})+(?![\d.])|\d+)(?:\.\d+)?|\.\d+)"
    r"(?:[eE](?P<e>[-+]?\d+)"
    r"|\s*(?:[x×*·]|\\times)\s*10\s*(?:\^|\*\*)?\s*\{?\(?(?P<p>[-+]?\d+)\)?\}?"
    r"|(?:\^|\*\*)\{?\(?(?P<pow>[-+]?\d+)\)?\}?)?)"
)
_NUMBER_CUE = re.compile(r"(?:final\s+|correct\s+)?answer\s*(?:is|would be|:|=|-)?|答案\s*(?:是|为|:)?|"
                         r"\b(?:is|are|of|equals|be)\s+(?:approximately|about|around|roughly|estimated at)\b|"
                         r"(?:≈|~|=)", re.I)


def parse_number(token: str) -> float | None:
    """One written number as a float: "1,234.5", "-3", "3/4", "1.2e-3", "1.2 × 10^3", "10⁻³", "½".

    >>> parse_number("2.5 x 10^-3")
    0.0025
    """
    found = _numbers(token)
    return found[0][1] if found else None


def _numbers(text: str) -> list[tuple[int, float]]:
    """(position, value) of every number in ``text``, dates masked out."""
    text = normalize(text).translate(_SUPERSCRIPT)
    text = _DATE_LIKE.sub(lambda m: "#" * len(m.group(0)), text)
    text = _NOT_ANSWER.sub(lambda m: "#" * len(m.group(0)), text)
    out = []
    for m in _NUMBER.finditer(text):
        sign = -1.0 if m.group("sign") == "-" else 1.0
        if m.group("num") is not None:
            den = float(m.group("den"))
            if den == 0:
                continue
            value = float(m.group("num")) / den
        else:
            mant = m.group("mant").replace(",", "").replace(" ", "")
            value = float(mant)
            if m.group("e") is not None:
                value *= 10.0 ** int(m.group("e"))
            elif m.group("p") is not None:
                value *= 10.0 ** int(m.group("p"))
            elif m.group("pow") is not None:
                if mant != "10":
                    continue  # "1.75^2" is an expression, not an answer
                value = 10.0 ** int(m.group("pow"))
        out.append((m.start(), sign * value))
    return out


_EXPLICIT_CUE = re.compile(r"(?:final\s+|correct\s+)?answer\s*(?:is|would be|:|=|-)?|答案\s*(?:是|为|:)?", re.I)


def stated_number(text: str) -> float | None:
    r"""The number an output cut off by the token limit states as its answer, or None: only a
    number after an explicit answer cue ("the answer is", "Answer:", "答案") counts, and not one
    that ends the text (it may be cut mid-number: "The answer is 1" of "12.5"). A cut-off output
    that only restates the question ("A patient weighing 62.7 kg ...") or stops mid-calculation
    ("= 24.2 mg. Now, we can find") gives no answer.

    >>> stated_number("4. 62.7 kg * 4 mg/kg = 24.2 mg\n5. Now, we can find") is None
    True
    >>> stated_number("The answer is 16.0 g/dL. Next we")
    16.0
    >>> stated_number("The answer is 125.6 cm2.\n\nThe answer is 1") is None
    True
    """
    if not text:
        return None
    region = normalize(answer_region(text))
    hit = _first_after_last_cue(region, _numbers(region), _EXPLICIT_CUE)
    if hit is None:
        return None
    pos, value = hit
    cut = re.fullmatch(r"[-+]?[\d.,\s]*", region[pos:].rstrip()) is not None  # nothing after the digits
    return None if cut else value


def _first_after_last_cue(region: str, nums: list[tuple[int, float]], cue: re.Pattern) -> tuple[int, float] | None:
    """(position, value) of the first number after the last ``cue`` that has one after it."""
    for m in reversed(list(cue.finditer(normalize(region)))):
        after = [(pos, v) for pos, v in nums if pos >= m.end()]
        if after:
            return after[0]
    return None


def extract_number(text: str) -> float | None:
    """The number an output gives as its answer (units, thousands separators, fractions, percent
    signs and scientific notation allowed; dates are not numbers). The first number after the last
    answer cue ("answer is", "答案", "=", "approximately"), else the last number in the answer text.

    >>> extract_number("BMI = 70 / 1.75^2 = 22.86 kg/m²")
    22.86
    >>> extract_number("No calculation possible.") is None
    True
    """
    if not text:
        return None
    region = answer_region(text)
    region = re.sub(r"\b(\d+) out of \d+\b", r"\1", region)  # "3 out of 5" is 3 (MedCalc-Bench)
    nums = _numbers(region)
    if not nums:
        return None
    hit = _first_after_last_cue(region, nums, _NUMBER_CUE)
    return hit[1] if hit else nums[-1][1]


_MONTHS = {m: i + 1 for i, m in enumerate(["january", "february", "march", "april", "may", "june", "july",
                                            "august", "september", "october", "november", "december"])}
_MONTHS.update({k[:3]: v for k, v in list(_MONTHS.items())})
_MONTHS["sept"] = 9
_MON = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|" \
       r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
_DATES = [
    (re.compile(r"(?<!\d)(\d{1,2})/(\d{1,2})/(\d{4})(?!\d)"), ("m", "d", "y")),
    (re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)"), ("y", "m", "d")),
    (re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]"), ("y", "m", "d")),
    (re.compile(_MON + r"\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})", re.I), ("M", "d", "y")),
    (re.compile(r"(?<!\d)(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MON + r",?\s+(\d{4})", re.I), ("d", "M", "y")),
]


def extract_date(text: str) -> str | None:
    """The last valid date in the answer text as "MM/DD/YYYY" (MedCalc-Bench's format). Reads
    "9/23/2014" (month first, as MedCalc-Bench writes dates), "2014-09-23", "September 23, 2014",
    "23 Sep 2014" and "2014年9月23日".

    >>> extract_date("The estimated due date is Sept 3rd, 2021.")
    '09/03/2021'
    """
    if not text:
        return None
    region = answer_region(text)
    found: list[tuple[int, str]] = []
    for pattern, order in _DATES:
        for m in pattern.finditer(region):
            parts = dict(zip(order, m.groups()))
            month = _MONTHS[parts["M"].lower().rstrip(".")] if "M" in parts else int(parts["m"])
            try:
                d = date(int(parts["y"]), month, int(parts["d"]))
            except ValueError:
                continue
            found.append((m.start(), f"{d.month:02d}/{d.day:02d}/{d.year}"))
    return max(found)[1] if found else None


_WEEKS_DAYS = re.compile(r"(\d+)\s*(?:weeks?|wks?|w|周|星期)\W{0,6}?(?:and\s+)?(\d+)\s*(?:days?|d|天|日)(?![A-Za-z])",
                         re.I)
_PAIR = re.compile(r"\(\s*['\"]?(\d+)['\"]?\s*,\s*['\"]?(\d+)['\"]?\s*\)")


def extract_weeks_days(text: str) -> tuple[int, int] | None:
    """A gestational age as (weeks, days): "4 weeks and 3 days", "('4 weeks', '3 days')", "(4, 3)",
    "4周3天"; a weeks-only answer ("6 weeks") is (6, 0). The last one stated wins.

    >>> extract_weeks_days("Gestational age: ('14 weeks', '1 days')")
    (14, 1)
    """
    if not text:
        return None
    region = answer_region(text)
    hits = [(m.start(), (int(m.group(1)), int(m.group(2)))) for m in _WEEKS_DAYS.finditer(region)]
    hits += [(m.start(), (int(m.group(1)), int(m.group(2)))) for m in _PAIR.finditer(region)]
    if not hits:
        weeks = list(re.finditer(r"(\d+)\s*(?:weeks?|周)", region, re.I))
        if weeks:
            return int(weeks[-1].group(1)), 0
        return None
    return max(hits)[1]
