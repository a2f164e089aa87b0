"""Text normalising and yes/no reading, shared by every study (one place for each rule).

- ``normalize_unicode``: NFKC and dash / slash / space look-alikes to ASCII (answer extraction).
- ``normalize_answer``: the official SQuAD normaliser (short-answer matching, exact entailment).
- ``normalize_words``: lower-case words with punctuation dropped (short free-text answers).
- ``normalize_response``: lower case, straight quotes, single spaces (refusal phrase matching).
- ``parse_yes_no``: "yes", "no" or None from a reply; strict (a judge told to answer yes or no)
  or lenient (a model's free answer to "Is there a ... in the image?", POPE's reading).
"""

from __future__ import annotations

import re
import string
import unicodedata
from typing import Literal

HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
"""A Chinese character (CJK unified ideographs and their extensions / compatibility forms)."""

YesNo = Literal["yes", "no"]


def normalize_unicode(text: str) -> str:
    """NFKC (full-width letters, digits and punctuation to ASCII), unicode minus and dashes to '-',
    the fraction slash to '/', non-breaking and thin spaces to ' '; markdown markers are kept.

    >>> normalize_unicode("\uff11\uff12\u2212\uff13")
    '12-3'
    """
    text = unicodedata.normalize("NFKC", text or "")
    return (text.replace("\u2212", "-").replace("\u2013", "-").replace("\u2044", "/")
            .replace("\u00a0", " ").replace("\u202f", " ").replace("\u2009", " "))


_PUNCTUATION = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """The official SQuAD ``normalize_answer``: lower case, punctuation and the articles a/an/the
    removed, whitespace collapsed.

    >>> normalize_answer("The  Vitamin-C!")
    'vitaminc'
    """
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = re.sub(r"\b(a|an|the)\b", " ", text, flags=re.UNICODE)
    return " ".join(text.split())


def normalize_words(text: str) -> str:
    """Unicode-normalised, lower-cased words with every run of punctuation or underscores turned
    into one space.

    >>> normalize_words("A red_circle, (big).")
    'a red circle big'
    """
    return re.sub(r"[\W_]+", " ", normalize_unicode(text).lower()).strip()


def normalize_response(text: str) -> str:
    """Lower case, straight quotes, non-breaking spaces to spaces, single spaces within each line."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    text = text.replace("\u00a0", " ").lower()
    return "\n".join(re.sub(r"[ \t]+", " ", line).strip() for line in text.splitlines())


# ------------------------------------------------------------------------------------ yes / no
_STRICT = re.compile(r"\b(yes|no)\b|是|否|不")
_NO_START = re.compile(r"^(no|nope|not|never|none|negative|false|there (is|are) no|there (isn't|aren't)|"
                       r"i (do not|don't|cannot|can't) see|i (can )?see no)\b")
_YES_START = re.compile(r"^(yes|yeah|yep|yup|true|correct|affirmative|there (is|are)|i (can )?see)\b")
_NO_ANYWHERE = re.compile(r"\b(no|not|isn't|aren't|doesn't|don't|cannot|can't|absent|without)\b")
_YES_ANYWHERE = re.compile(r"\b(yes|there is an?|there are|present|visible|contains?)\b")


def parse_yes_no(text: str, *, lenient: bool = False) -> YesNo | None:
    """"yes", "no", or None when the reply says neither.

    Strict (a judge asked to "respond only with yes or no"): the first whole word yes or no in
    the first 30 characters, or 是 / 否 / 不. Lenient (a free answer to a yes/no question, as
    POPE's own evaluation reads it): a yes/no word (or "there is (no) ...", "I don't see") at the
    start decides; otherwise a negation in the first sentence means no, then an affirmation
    ("there is a", "present", "visible") means yes; 是/有/对 and 否/不/没有/无 at the start.

    >>> parse_yes_no("Yes, they do."), parse_yes_no("I cannot tell")
    ('yes', None)
    >>> parse_yes_no("The image does not show a circle.", lenient=True)
    'no'
    """
    if not lenient:
        m = _STRICT.search((text or "").strip().lower()[:30])
        if not m:
            return None
        return "yes" if m.group(0) in ("yes", "是") else "no"
    t = (text or "").strip().lower().lstrip(" \"'*([-:>").replace("\u2019", "'")
    if not t:
        return None
    if t.startswith(("否", "不", "没", "无")):
        return "no"
    if t.startswith(("是", "有", "对")):
        return "yes"
    if _NO_START.match(t):
        return "no"
    if _YES_START.match(t):
        return "yes"
    first = re.split(r"[.!?\n。]", t, maxsplit=1)[0]
    if _NO_ANYWHERE.search(first):
        return "no"
    return "yes" if _YES_ANYWHERE.search(first) else None
