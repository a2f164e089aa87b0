"""Output clean-up shared by the extractors: <think> blocks and the answer region (unicode
normalising is ``medtrust.text.normalize_unicode``)."""

from __future__ import annotations

import re

from medtrust.text import normalize_unicode

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
    _, rest = split_think(normalize_unicode(text))
    tags = _ANSWER_TAG.findall(rest)
    if tags and tags[-1].strip():
        return tags[-1].strip()
    json_answer = _JSON_ANSWER.findall(rest)
    if json_answer:
        value = next((g for g in json_answer[-1] if g), "").strip()
        if value:
            return value
    return rest
