"""Answer extraction from free-text model outputs (English and Chinese).

Every function returns ``None`` when the text names no answer: "no answer found" is its own
outcome, never a silent guess. Where a text states several answers ("A... wait, actually C"),
the final stated answer wins. Dependency-free (standard library only) so any study can import it.

>>> extract_choice("I think it's B, not C.")
'B'
>>> extract_yes_no("答案：否")
'no'
>>> extract_number("CrCl = 1,234.5 mL/min")
1234.5
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

__all__ = ["normalize", "split_think", "answer_region", "extract_choice", "extract_yes_no", "parse_number",
           "extract_number", "extract_date", "extract_weeks_days", "extract_answer"]

# ------------------------------------------------------------------------------------------
# text clean-up


def normalize(text: str) -> str:
    """NFKC (full-width letters, digits and punctuation to ASCII), unicode minus and dashes to '-',
    the fraction slash to '/', markdown bold/italic markers kept (patterns look for them)."""
    text = unicodedata.normalize("NFKC", text or "")
    return (text.replace("\u2212", "-").replace("\u2013", "-").replace("\u2044", "/")
            .replace("\u00a0", " ").replace("\u202f", " ").replace("\u2009", " "))


_THINK_OPEN = re.compile(r"<think(?:ing)?>", re.I)
_THINK_CLOSE = re.compile(r"</think(?:ing)?>", re.I)
_ANSWER_TAG = re.compile(r"<answer>(.*?)(?:</answer>|$)", re.I | re.S)


def split_think(text: str) -> tuple[str | None, str]:
    """Split ``<think>...</think>`` reasoning from the rest: ``(trace or None, answer text)``.

    A closing tag without an opening one (templates that open the block in the prompt) counts
    everything before it as the trace; an unclosed block (output cut off) leaves no answer text.

    >>> split_think("<think>2+2=4</think>The answer is 4.")
    ('2+2=4', 'The answer is 4.')
    """
    text = text or ""
    close = list(_THINK_CLOSE.finditer(text))
    if close:
        last = close[-1]
        before = text[:last.start()]
        opened = _THINK_OPEN.search(before)
        trace = before[opened.end():] if opened else before
        return _THINK_CLOSE.sub("", _THINK_OPEN.sub("", trace)).strip(), text[last.end():].strip()
    opened = _THINK_OPEN.search(text)
    if opened:
        return text[opened.end():].strip(), text[:opened.start()].strip()
    return None, text.strip()


_JSON_ANSWER = re.compile(r"""["']answer["']\s*:\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([^,}\n]+))""", re.I)


def answer_region(text: str) -> str:
    """The part of an output that states the answer: the text after a think block, the inside
    of the last ``<answer>`` tag, or the value of a JSON ``"answer"`` field, else the whole text."""
    _, rest = split_think(normalize(text))
    tags = _ANSWER_TAG.findall(rest)
    if tags and tags[-1].strip():
        return tags[-1].strip()
    json_answer = _JSON_ANSWER.findall(rest)
    if json_answer:
        value = next((g for g in json_answer[-1] if g), "").strip()
        if value:
            return value
    return rest


# ------------------------------------------------------------------------------------------
# multiple choice

_NEG = re.compile(r"(?:\bnot|\bisn't|\bnor|\brather than|\binstead of|\bexcept|\bexclude|\brule out"
                  r"|不是|而非|排除|并非)"
                  r"\s*(?:option|choice|answer|选项)?\s*[\s(\[*\"']*$", re.I)
_COLON = r"\s*(?:[:=\-]|\bis\b|\bwould be\b|\bshould be\b|\bwill be\b|\bmust be\b|\bseems to be\b|\bappears to be\b)?"
_EN_CUES = (
    r"(?:final|correct|right|best|most (?:likely|appropriate|accurate|probable)|true)?\s*"
    r"(?:answer|ans|option|choice|response|diagnosis)" + r"(?:\s*(?:is|would be|should be|will be|must be)\b"
    r"|\s*[:=\-]|\s+to (?:this|the) question is)",
    r"\b(?:i(?:'d| would| will)?|let's|we|so i|i'll)\s+(?:choose|pick|select|go with|opt for|say|answer)",
    r"\b(?:choose|pick|select|selecting|choosing|picking)",
    r"\b(?:it's|it is|that's|that is|this is)",
    r"\b(?:therefore|thus|hence|so|consequently)[,:]?",
    r"\\boxed\{",
)
_ZH_CUES = (r"(?:最终|正确|最佳)?答案\s*(?:应该|应当|应)?\s*(?:是|为|选|:)?", r"(?:应该|应当|应|故|所以|因此|我)?选择?",
            r"答\s*:")
_CUE = re.compile("(?:" + "|".join(_EN_CUES + _ZH_CUES) + r")" + _COLON
                  + r"\s*(?:the\s+)?(?:option|choice|letter|选项)?\s*", re.I)
_TOKEN = re.compile(r"[\s(\[*\"'{]*(?<![A-Za-z])([A-Za-z])(?![A-Za-z])"
                    r"(\)|\]|\*|\.|:|,|;|!|\?|}|\"|'|\s|$|[^\x00-\x7f])?")
_STATED_CORRECT = re.compile(r"(?<![A-Za-z])(?:option\s+|choice\s+|选项)?[(\[*]*([A-J])[)\]*]*\s*(?:is|would be)\s+"
                             r"(?:the\s+)?(?:correct|right|best|true|most likely)"
                             r"|(?<![A-Za-z])([A-J])\s*项?\s*(?:正确|对)"
                             r"|(?<![A-Za-z])[(\[*]*([A-J])[)\]*]*\s*(?:is|would be)\s+(?:the\s+)?"
                             r"(?:correct|right|best)"
                             r"\s+(?:answer|option|choice)", re.I)
_BARE = re.compile(r"[\s(\[*\"'{]*([A-Za-z])\s*[)\]*\"'}]*\s*(?:[.:)\-]\s*(.*))?", re.S)
_BOLD = re.compile(r"\*\*\s*\(?([A-J])\)?[.:]?\s*\*\*|\\(?:boxed|text)\{\s*\(?([A-J])\)?\s*\}")
_LINE_START = re.compile(r"(?m)^\s*(?:\(([A-J])\)|([A-J])[.):])")
_PAREN = re.compile(r"\(([A-J])\)|\[([A-J])\]")


def _clean_option(text: str) -> str:
    return re.sub(r"[\W_]+", " ", normalize(text).lower()).strip()


def _letter_after(text: str, pos: int, valid: str) -> str | None:
    """The option letter right after a cue (upper case, or lower case standing alone)."""
    m = _TOKEN.match(text, pos)
    if not m:
        return None
    letter, after = m.group(1), m.group(2)
    if letter.upper() not in valid:
        return None
    if letter.islower():
        rest = text[m.end(1):]
        if re.match(r"\s*[A-Za-z]", rest) and not re.match(r"\s*[)\]*]", rest):
            return None  # "the answer is a bit unclear", "choose a drug"
    elif after is None:
        return None
    elif after.isspace() or after == "":
        if re.match(r"\s+(?:[a-z]+\s+){0,1}(?:of|and|or|&)\b", text[m.end(1):]) and "option" not in text[pos - 10:pos]:
            return None
    return letter.upper()


def _negated(text: str, start: int) -> bool:
    return bool(_NEG.search(text[max(0, start - 25):start]))


def _choice_in(fragment: str, choices: list[str]) -> int | None:
    """The index of the (longest) option text found in ``fragment``, if exactly one option's is."""
    frag = f" {_clean_option(fragment)} "
    found = [i for i, c in enumerate(choices) if _clean_option(c) and f" {_clean_option(c)} " in frag]
    found = [i for i in found if not any(j != i and _clean_option(choices[i]) in _clean_option(choices[j])
                                         for j in found)]
    return found[0] if len(found) == 1 else None


def extract_choice(text: str, choices: list[str] | None = None, letters: str = "ABCDEFGHIJ") -> str | None:
    """The option letter an output chooses, or None when it names no option.

    Handles "(B)", "B.", "B)", "The answer is B", "Answer: b", "答案是B", "选B", "**B**", the
    option's own text instead of its letter, and several statements (the last one wins;
    "it's B, not C" is B). With ``choices`` only letters of existing options count.

    >>> extract_choice("答案是 C")
    'C'
    >>> extract_choice("The answer is hyperkalaemia.", ["Hypokalaemia", "Hyperkalaemia"])
    'B'
    >>> extract_choice("I am not sure.") is None
    True
    """
    if not text or not text.strip():
        return None
    valid = letters[:len(choices)] if choices else letters
    region = answer_region(text)
    if not region:
        return None
    lone = {next(g for g in m.groups() if g) for m in _PAREN.finditer(region) if not _negated(region, m.start())}
    lone |= {next(g for g in m.groups() if g) for m in _LINE_START.finditer(region)}
    lone &= set(valid)
    bare = _BARE.fullmatch(region.strip())
    if bare and bare.group(1).upper() in valid and (bare.group(2) is None or not bare.group(2).strip()):
        return bare.group(1).upper()  # "B", "(b)", "B."
    stated = _last_stated(region, choices, valid)
    if stated:
        return stated  # explicit statements win, the last one first ("A. ... The answer is C." is C)
    if bare and bare.group(1).upper() in valid and bare.group(1).isupper() and len(lone) <= 1:
        if not choices or _choice_in(bare.group(2), choices) in (None, valid.index(bare.group(1))):
            return bare.group(1)  # "B. Hypercalcaemia"
    bold = [next(g for g in m.groups() if g) for m in _BOLD.finditer(region)]
    bold = [h for h in bold if h in valid]
    if bold:
        return bold[-1]
    lead = re.match(r"\s*(?:\(([A-J])\)|([A-J])(?:[.):]|\s*$))", region)
    if lead and (lead.group(1) or lead.group(2)) in valid and len(lone) <= 1:
        return lead.group(1) or lead.group(2)  # "B. because ..." (but not a list of the options)
    if choices:
        idx = _choice_in(_drop_negated_options(region, choices), choices)
        if idx is not None:
            return valid[idx]
    return lone.pop() if len(lone) == 1 else None


def _last_stated(region: str, choices: list[str] | None, valid: str) -> str | None:
    """The last explicit statement of an answer ("answer is B", "选B", "B is correct")."""
    hits: list[tuple[int, str]] = []
    for m in _CUE.finditer(region):
        letter = _letter_after(region, m.end(), valid)
        if letter and not _negated(region, m.end()):
            hits.append((m.end(), letter))
            continue
        if choices:
            fragment = re.split(r"[.;\n。；]|,\s*(?:not|but|because|since|as)\b|，", region[m.end():], maxsplit=1)[0]
            idx = _choice_in(fragment, choices)
            if idx is not None and not re.match(r"\s*(?:not|no)\b", fragment, re.I):
                hits.append((m.end(), valid[idx]))
    for m in _STATED_CORRECT.finditer(region):
        letter = next(g for g in m.groups() if g)
        if letter in valid and not _negated(region, m.start()):
            hits.append((m.start(), letter))
    return max(hits)[1] if hits else None


def _drop_negated_options(region: str, choices: list[str]) -> str:
    """The text with "not <option text>" phrases removed (so they do not count as a choice)."""
    out = region
    for c in sorted(choices, key=len, reverse=True):
        if c.strip():
            out = re.sub(r"(?:\bnot|\brather than|\binstead of|不是|而非)\s+(?:the\s+)?" + re.escape(c), " ", out,
                         flags=re.I)
    return out


# ------------------------------------------------------------------------------------------
# yes / no / maybe

_YN_WORDS = {"yes": "yes", "no": "no", "maybe": "maybe", "possibly": "maybe", "uncertain": "maybe",
             "是": "yes", "是的": "yes", "对": "yes", "否": "no", "不是": "no", "不": "no", "不对": "no",
             "可能": "maybe", "不确定": "maybe", "也许": "maybe", "或许": "maybe"}
_YN_EN = r"(yes|no|maybe|possibly|uncertain)"
_YN_ZH = r"(不确定|不是|不对|是的|可能|也许|或许|是|否|对|不)"
_YN_STATED = re.compile(r"(?:(?:final\s+|correct\s+)?answer\s*(?:is|would be|should be|:|=|-)|"
                        r"\b(?:therefore|thus|hence|so|in conclusion|in summary)[,:]?(?:\s+the answer is)?)"
                        r"[\s\"'*(\[]*" + _YN_EN + r"\b|(?:最终|正确)?答案\s*(?:应该|应)?\s*(?:是|为|:)?\s*[\"'*(\[]*"
                        + _YN_ZH, re.I)
_YN_LEAD = re.compile(r"[\s\"'*(\[]*" + _YN_EN + r"\b(?!\s+(?:evidence|one|longer|difference|significant|data|"
                      r"study|studies|association|effect|clear|relation|relationship|more|such|other|need|reason|"
                      r"doubt|matter)\b)", re.I)
_YN_ZH_LEAD = re.compile(r"[\s\"'*(\[]*" + _YN_ZH + r"(?:[\s,，。.!！:：、]|$)")
_YN_ALONE = re.compile(r"(?<![A-Za-z])(yes|no|maybe)(?=\s*[.!。]?\s*(?:\*\*)?\s*$)"
                       r"|\*\*\s*(yes|no|maybe)\s*[.!]?\s*\*\*", re.I | re.M)


def extract_yes_no(text: str, allow_maybe: bool = True) -> str | None:
    """"yes", "no" or "maybe" (also 是/否/可能/不确定), or None when the output states none.
    With ``allow_maybe=False`` an output that answers "maybe" counts as no answer.

    >>> extract_yes_no("Yes, because the trial showed a benefit.")
    'yes'
    >>> extract_yes_no("There is no evidence either way, so the answer is maybe.")
    'maybe'
    >>> extract_yes_no("The study is about statins.") is None
    True
    """
    if not text or not text.strip():
        return None
    region = answer_region(text).strip()
    found = None
    stated = list(_YN_STATED.finditer(region))
    if stated:
        m = stated[-1]
        found = _YN_WORDS[(m.group(1) or m.group(2)).lower()]
    else:
        whole = region.strip(" \t\n.。!！*\"'()[]")
        if whole.lower() in _YN_WORDS:
            found = _YN_WORDS[whole.lower()]
        elif (m := _YN_LEAD.match(region)) is not None:
            found = _YN_WORDS[m.group(1).lower()]
        elif (m := _YN_ZH_LEAD.match(region)) is not None:
            found = _YN_WORDS[m.group(1)]
        else:
            alone = list(_YN_ALONE.finditer(region))
            if alone:
                found = _YN_WORDS[(alone[-1].group(1) or alone[-1].group(2)).lower()]
    if found == "maybe" and not allow_maybe:
        return None
    return found


# ------------------------------------------------------------------------------------------
# numbers, dates, durations

_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺", "0123456789-+")
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
    cues = list(_NUMBER_CUE.finditer(normalize(region)))
    for cue in reversed(cues):
        after = [v for pos, v in nums if pos >= cue.end()]
        if after:
            return after[0]
    return nums[-1][1]


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


def extract_answer(text: str, answer_type: str, choices: list[str] | None = None):
    """Dispatch on a Sample's ``answer_type``: mcq -> letter, yes_no(_maybe) -> word,
    numeric -> float, date -> "MM/DD/YYYY" or (weeks, days); None when nothing is found."""
    if answer_type == "mcq":
        return extract_choice(text, choices)
    if answer_type in ("yes_no_maybe", "yes_no"):
        return extract_yes_no(text, allow_maybe=answer_type == "yes_no_maybe")
    if answer_type == "numeric":
        return extract_number(text)
    if answer_type == "date":
        return extract_date(text) or extract_weeks_days(text)
    region = answer_region(text).strip()
    return region or None
