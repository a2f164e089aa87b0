"""CHAIR object hallucination in free descriptions (Rohrbach et al., EMNLP 2018, "Object
Hallucination in Image Captioning"): the objects a description mentions, read through a
vocabulary of synonyms, against the objects annotated in the image.

Vocabulary: ``{object: [synonym, ...]}``; every form also matches its regular plural (last word:
+es after s/x/z/ch/sh, consonant+y -> ies, else +s; irregular plurals are listed as synonyms).
demo-images has ``DEMO_VOCABULARY``; other datasets use their annotated objects (each its own
name), or a JSON / YAML file (``--vocabulary``) that replaces the built-in one; annotated objects
it does not name are added as their own entries.

Mentions: case-insensitive matches of the forms, longest form first, on word boundaries (a form
must not touch an ASCII letter or digit, so "star" is not found in "start" nor "cross" in
"across"; Chinese forms match as substrings). A mention is **negated** (not counted) when, in its
clause (text after the last . , ; : ! ? or "but", "and", "while", "whereas", "although",
"though", "however", "yet", "except"), one of the 4 words before it is a negation (no, not,
without, none, neither, nor, never, cannot, lack(s/ing), absence, or a word ending in n't), or the
words after it say it is absent ("is absent", "missing", "is not visible / present / seen / shown
/ depicted / there / found"). Chinese: 没有, 无, 不, 未, 并无 within 6 characters before, in the clause.
Colour attribute: the nearest colour word among the 2 words before the mention (Chinese: 3
characters), in its clause.

Counting (the choice made here): per description, the *distinct* objects mentioned (the paper's
set definition). CHAIR_i = sum over descriptions of distinct hallucinated objects / sum of
distinct mentioned objects; CHAIR_s = descriptions with >= 1 hallucinated object / descriptions
(a description mentioning nothing counts as not hallucinated, as in the reference code); recall =
distinct annotated objects mentioned / annotated objects. The reference code
(github.com/LisaAnne/Hallucination, utils/chair.py) counts every occurrence of an object word in
CHAIR_i; that variant is reported beside as ``chair_i_mentions``. Unlike the reference code,
negated mentions are left out. Colour hallucination (``colour_hallucination``): distinct
(object, colour) pairs, object present, whose colour is not one the object has / all such pairs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from medtrust.errors import MedtrustError
from medtrust.stats import bootstrap_ci, metric, rate_metric

DEMO_VOCABULARY: dict[str, list[str]] = {
    "circle": ["disc", "disk", "dot", "round shape", "圆形", "圆"],
    "square": ["rectangle", "square shape", "正方形", "方形", "方块"],
    "triangle": ["triangular shape", "三角形", "三角"],
    "star": ["star shape", "pentagram", "五角星", "星形"],
    "cross": ["plus sign", "plus symbol", "plus shape", "cross shape", "十字形", "十字"],
    "arrow": ["pointer", "箭头"],
}
VOCABULARIES = {"demo-images": DEMO_VOCABULARY}
COLOURS = {"red": "red", "green": "green", "blue": "blue", "yellow": "yellow", "white": "white",
           "红": "red", "绿": "green", "蓝": "blue", "黄": "yellow", "白": "white"}

NEGATIONS = {"no", "not", "without", "none", "neither", "nor", "never", "cannot", "lack", "lacks", "lacking",
             "absence"}
ABSENT_AFTER = {"present", "visible", "seen", "shown", "depicted", "there", "found"}
ZH_NEGATIONS = ("没有", "并无", "无", "不", "未")
BOUNDARY = re.compile(r"[.,;:!?，。；：！？、\n]|\b(?:but|and|while|whereas|although|though|however|yet|except)\b",
                      re.IGNORECASE)
WORD = re.compile(r"[a-z]+(?:'[a-z]+)?", re.IGNORECASE)
WINDOW, COLOUR_WINDOW, ZH_WINDOW = 4, 2, 6


class VocabularyError(MedtrustError):
    """A vocabulary file that cannot be read or is not {object: [synonym, ...]}."""


def plural(form: str) -> str:
    """The regular English plural of a form's last word (a Chinese form is its own plural)."""
    if not form.isascii():
        return form
    if re.search(r"(s|x|z|ch|sh)$", form):
        return form + "es"
    if re.search(r"[^aeiou]y$", form):
        return form[:-1] + "ies"
    return form + "s"


@dataclass(frozen=True)
class Vocabulary:
    """Objects and the surface forms that name them (lower case, plurals included)."""

    forms: Mapping[str, str]  # surface form -> object

    @classmethod
    def of(cls, synonyms: Mapping[str, Sequence[str]]) -> "Vocabulary":
        """From {object: [synonym, ...]}: each object's name and synonyms, and their plurals."""
        forms: dict[str, str] = {}
        for obj, syns in synonyms.items():
            name = _clean(obj)
            for form in [name, *(_clean(s) for s in syns)]:
                for f in (form, plural(form)):
                    if forms.get(f, name) != name:
                        raise VocabularyError(f"The vocabulary form '{f}' names both '{forms[f]}' and '{name}'.",
                                              "list each synonym under one object only")
                    if f:
                        forms[f] = name
        return cls(forms)

    @property
    def objects(self) -> list[str]:
        return sorted(set(self.forms.values()))

    def canonical(self, name: str) -> str | None:
        """The object a form names (None if none); spaces and hyphens are the same."""
        return self.lookup.get(_key(name))

    @cached_property
    def lookup(self) -> dict[str, str]:
        return {_key(f): o for f, o in self.forms.items()}

    @cached_property
    def pattern(self) -> re.Pattern:
        alts = [r"[\s-]+".join(map(re.escape, f.split())) for f in sorted(self.forms, key=lambda f: (-len(f), f))]
        return re.compile(r"(?<![a-z0-9])(?:" + "|".join(alts) + r")(?![a-z0-9])", re.IGNORECASE)


def _clean(s: Any) -> str:
    return " ".join(str(s).lower().split())


def _key(s: Any) -> str:
    return re.sub(r"[\s-]+", " ", str(s).lower()).strip()


def load_vocabulary(path: str | Path) -> dict[str, list[str]]:
    """{object: [synonym, ...]} from a JSON or YAML file (a plain list names objects without synonyms)."""
    import yaml
    p = Path(path)
    fix = 'write {"object": ["synonym", ...], ...} as JSON or YAML'
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise VocabularyError(f"Cannot read the vocabulary file {p}: {e.strerror or e}.",
                              "give the path of an existing JSON or YAML file") from None
    try:
        data = json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as e:
        raise VocabularyError(f"The vocabulary file {p} is not valid {'JSON' if p.suffix == '.json' else 'YAML'} "
                              f"({str(e).splitlines()[0]}).", fix) from None
    if isinstance(data, list):
        data = {o: [] for o in data}
    if not isinstance(data, dict) or not data:
        raise VocabularyError(f"The vocabulary file {p} holds no {{object: [synonyms]}} mapping.", fix)
    out = {}
    for obj, syns in data.items():
        syns = [syns] if isinstance(syns, str) else ([] if syns is None else syns)
        if not isinstance(syns, list) or not all(isinstance(s, (str, int, float)) for s in syns):
            raise VocabularyError(f"The synonyms of '{obj}' in {p} are not a list of words.", fix)
        out[str(obj)] = [str(s) for s in syns]
    return out


def vocabulary_for(dataset: str, objects: Sequence[str], synonyms: Mapping[str, Sequence[str]] | None = None
                   ) -> Vocabulary:
    """The dataset's vocabulary (``synonyms`` from a file, else the built-in one, else the annotated
    ``objects``), with every annotated object it does not name added as its own entry."""
    base = dict(synonyms if synonyms is not None else VOCABULARIES.get(dataset, {}))
    vocab = Vocabulary.of(base)
    missing = [o for o in objects if vocab.canonical(o) is None]
    return Vocabulary.of({**base, **{o: [] for o in missing}}) if missing else vocab


# ------------------------------------------------------------------------------------ mentions
@dataclass(frozen=True)
class Mention:
    """One object word in a description: the span, the object, its colour word, negated or not."""

    start: int
    end: int
    text: str
    object: str
    colour: str | None = None
    negated: bool = False


def _clause_start(text: str, end: int) -> int:
    last = 0
    for m in BOUNDARY.finditer(text, 0, end):
        last = m.end()
    return last


def _clause_end(text: str, start: int) -> int:
    m = BOUNDARY.search(text, start)
    return m.start() if m else len(text)


def _negated(text: str, start: int, end: int, chinese: bool) -> bool:
    before = text[_clause_start(text, start):start]
    after = text[end:_clause_end(text, end)]
    if chinese:
        return any(c in before[-ZH_WINDOW:] for c in ZH_NEGATIONS) or "不存在" in after[:6]
    words = [w.lower() for w in WORD.findall(before)][-WINDOW:]
    if any(w in NEGATIONS or w.endswith("n't") for w in words):
        return True
    following = [w.lower() for w in WORD.findall(after)][:5]
    if any(w in ("absent", "missing") for w in following[:3]):
        return True
    denied = [i for i, w in enumerate(following) if w == "not" or w.endswith("n't")]
    return bool(denied) and any(w in ABSENT_AFTER for w in following[denied[0] + 1:])


def _colour(text: str, start: int, chinese: bool) -> str | None:
    before = text[_clause_start(text, start):start]
    if chinese:
        hits = [(before.rfind(c), c) for c in COLOURS if not c.isascii() and c in before[-3:]]
        return COLOURS[max(hits)[1]] if hits else None
    words = [w.lower() for w in WORD.findall(before)][-COLOUR_WINDOW:]
    found = [COLOURS[w] for w in words if w in COLOURS]
    return found[-1] if found else None


def extract_mentions(text: str, vocabulary: Vocabulary) -> list[Mention]:
    """Every mention of a vocabulary object in ``text``, left to right (module docstring: rules)."""
    out = []
    for m in vocabulary.pattern.finditer(text or ""):
        obj = vocabulary.canonical(m.group(0))
        chinese = not m.group(0).isascii()
        out.append(Mention(m.start(), m.end(), m.group(0), obj, _colour(text, m.start(), chinese),
                           _negated(text, m.start(), m.end(), chinese)))
    return out


def score_description(text: str, truth: Sequence[str], vocabulary: Vocabulary,
                      colours: Mapping[str, Sequence[str]] | None = None) -> dict[str, Any]:
    """The mentions of one description (each "right", "hallucinated" or "negated", with its colour
    judged where the object is present and its colours are known) and the distinct-object sets."""
    present = {vocabulary.canonical(o) or _clean(o) for o in truth}
    known = {vocabulary.canonical(o) or _clean(o): {_clean(c) for c in cs} for o, cs in (colours or {}).items()}
    mentions, checked, wrong = [], set(), set()
    for m in extract_mentions(text, vocabulary):
        status = "negated" if m.negated else ("right" if m.object in present else "hallucinated")
        colour_ok = None
        if status == "right" and m.colour and m.object in known:
            colour_ok = m.colour in known[m.object]
            checked.add((m.object, m.colour))
            if not colour_ok:
                wrong.add((m.object, m.colour))
        mentions.append({"start": m.start, "end": m.end, "text": m.text, "object": m.object, "colour": m.colour,
                         "status": status, "colour_right": colour_ok})
    counted = [m for m in mentions if m["status"] != "negated"]
    mentioned = sorted({m["object"] for m in counted})
    return {"mentions": mentions, "truth": sorted(present), "mentioned": mentioned,
            "hallucinated": sorted(set(mentioned) - present), "recalled": sorted(set(mentioned) & present),
            "mention_count": len(counted), "hallucinated_mention_count": sum(m["status"] == "hallucinated"
                                                                             for m in counted),
            "colour_checked": [list(p) for p in sorted(checked)], "colour_wrong": [list(p) for p in sorted(wrong)]}


# ------------------------------------------------------------------------------------- metrics
def _ratio(num: np.ndarray, den: np.ndarray) -> float:
    total = float(np.sum(den))
    return float(np.sum(num)) / total if total else float("nan")


def _ratio_metric(groups: Sequence[str], num: Sequence[float], den: Sequence[float], seed: int, note: str) -> dict:
    """sum(num) / sum(den) with a percentile bootstrap over ``groups`` (images): the descriptions
    of an image are resampled together."""
    order = list(dict.fromkeys(groups))
    index = {g: i for i, g in enumerate(order)}
    n_by = np.zeros(len(order))
    d_by = np.zeros(len(order))
    for g, a, b in zip(groups, num, den):
        n_by[index[g]] += a
        d_by[index[g]] += b
    value = _ratio(n_by, d_by)
    if np.isnan(value):
        return metric(None, n=0, note=note)
    return metric(value, bootstrap_ci([n_by, d_by], _ratio, seed=seed), n=int(d_by.sum()), count=int(n_by.sum()))


CHAIR_METRICS = ("chair_i", "chair_s", "recall", "chair_i_mentions", "colour_hallucination")


def chair_metrics(scores: Sequence[Mapping[str, Any]], images: Sequence[str], seed: int = 0) -> dict[str, Any]:
    """CHAIR_i, CHAIR_s, recall, the reference code's CHAIR_i over occurrences and colour
    hallucination (module docstring), each with its 90% interval and n; ``images`` groups the
    descriptions for the bootstrap."""
    if not scores:
        return {name: metric(None, n=0, note="no descriptions") for name in CHAIR_METRICS}
    col = {k: [len(s[k]) for s in scores] for k in ("hallucinated", "mentioned", "recalled", "truth",
                                                     "colour_wrong", "colour_checked")}
    return {
        "chair_i": _ratio_metric(images, col["hallucinated"], col["mentioned"], seed, "no object was mentioned"),
        "chair_s": rate_metric([bool(s["hallucinated"]) for s in scores]),
        "recall": _ratio_metric(images, col["recalled"], col["truth"], seed, "no annotated objects"),
        "chair_i_mentions": _ratio_metric(images, [s["hallucinated_mention_count"] for s in scores],
                                          [s["mention_count"] for s in scores], seed, "no object was mentioned"),
        "colour_hallucination": _ratio_metric(images, col["colour_wrong"], col["colour_checked"], seed,
                                              "no colour of a present object with known colours was named"),
        "objects_per_description": metric(float(np.mean(col["mentioned"])), n=len(scores)),
    }
