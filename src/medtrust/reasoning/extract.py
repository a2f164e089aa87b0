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

from medtrust.reasoning.numbers import extract_date, extract_number, extract_weeks_days, parse_number
from medtrust.reasoning.text import answer_region, split_think
from medtrust.text import normalize_words

__all__ = ["split_think", "answer_region", "extract_choice", "extract_yes_no", "parse_number",
           "extract_number", "extract_date", "extract_weeks_days", "extract_short", "extract_answer",
           "lists_options_unanswered"]

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
    return normalize_words(text)


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


_OPTION_LINE = re.compile(r"^\s*(?:\*\*)?\(?([A-J])[.):]\s+\S", re.M)


def lists_options_unanswered(text: str, choices: list[str] | None = None, letters: str = "ABCDEFGHIJ") -> bool:
    r"""True when the output lists two or more options line by line ("A. ...", "B) ...") without
    stating which one is the answer, or calls three or more different options "the answer": cut
    off by the token limit, such an output is no answer.

    >>> lists_options_unanswered("Let's look at each option.\nA. Low potassium\nB. High potassium")
    True
    >>> lists_options_unanswered("A. Low potassium\nB. High potassium\nThe answer is B.")
    False
    >>> lists_options_unanswered("The answer is A. Step 2: the answer is B. Step 3: the answer is C.")
    True
    """
    region = answer_region(text or "") or ""
    valid = letters[:len(choices)] if choices else letters
    listed = {m.group(1) for m in _OPTION_LINE.finditer(region)} & set(valid)
    if len(listed) >= 2 and _last_stated(region, choices, valid) is None:
        return True
    # "The correct answer is A. ... The correct answer is B. ... The correct answer is C.": a walk
    # through the options, each called the answer, is no commitment to any of them
    stated = {_letter_after(region, m.end(), valid) for m in _CUE.finditer(region)} - {None}
    return len(stated) >= 3


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
# short free-text answers ("red", "2", "triangle")

_SHORT_CUE = re.compile(r"(?:final\s+|correct\s+)?\banswer\s*(?:is|would be|should be|:|=|-)|"
                        r"(?:最终|正确)?答案\s*(?:应该|应)?\s*(?:是|为|:)", re.I)
_SHORT_STRIP = " \t*\"'`<>()[]{}.,;:!?。，；：！？、"


def extract_short(text: str) -> str | None:
    r"""A short free-text answer: what follows the last "Answer:" / "the answer is" / "答案：" (the
    rest of that line, or the next line when it is empty), else a one-line output as it is; None
    when a longer output states no answer.

    >>> extract_short("The arrow points at a circle.\nIt is filled red.\nAnswer: **Red**.")
    'Red'
    >>> extract_short("2 circles")
    '2 circles'
    >>> extract_short("The image shows shapes.\nSome are coloured.") is None
    True
    """
    region = answer_region(text or "").strip()
    if not region:
        return None
    cues = list(_SHORT_CUE.finditer(region))
    if cues:
        lines = region[cues[-1].end():].split("\n")
        rest = next((ln for ln in lines if ln.strip(_SHORT_STRIP)), "")
        return rest.strip(_SHORT_STRIP) or None
    lines = [ln for ln in region.split("\n") if ln.strip(_SHORT_STRIP)]
    return lines[0].strip(_SHORT_STRIP) if len(lines) == 1 else None


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
    return extract_short(text)
