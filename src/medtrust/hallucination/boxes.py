"""Bounding boxes in model replies: parsing the common formats, scales and IoU.

Formats, tried in this order (the first box found wins; a reply holding several gives its first):

1. Qwen-VL tags ``<box>(x1,y1),(x2,y2)</box>`` and Qwen2-VL ``<|box_start|>(x1,y1),(x2,y2)<|box_end|>``;
2. JSON (also in a ```json fence): an object with ``bbox_2d``, ``bbox``, ``box``, ``box_2d`` or
   ``coordinates`` (four numbers), or with keys ``x1, y1, x2, y2`` (or ``xmin, ymin, xmax, ymax``),
   a list of such objects (the first with a box), or a bare list of four numbers;
3. keyed numbers outside JSON: ``x1=0.1, y1: 0.2, ...`` (quotes allowed);
4. a list ``[x1, y1, x2, y2]`` or ``(x1, y1, x2, y2)`` (commas between the numbers).

A reply with none of these (e.g. "There is no triangle in the image.") has **no box**.

Scale (``box_format``): ``pixels``, ``normalised`` (0-1) or ``1000`` (0-1000, Qwen-VL / Qwen2-VL)
applies to every box when given; ``auto`` decides per box, in this order:

1. a Qwen tag -> 1000;
2. all four values in [0, 1] -> normalised;
3. the image size known and x1, x2 <= width and y1, y2 <= height -> pixels;
4. all values in [0, 1000] -> 1000;
5. otherwise (negative values, beyond 1000 and the image): a box that fits no scale, kept as
   "gave a box" with no coordinates (IoU 0).

So under ``auto`` a 0-1000 box whose values all fit inside the image is read as pixels: give
``box_format=1000`` for a model that always answers on that scale. Boxes become 0-1 normalised
``[x1, y1, x2, y2]`` (x right, y down), corners put in order and clipped to [0, 1].
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Sequence

BOX_FORMATS = ("auto", "pixels", "normalised", "1000")
NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
TAG = re.compile(rf"(?:<box>|<\|box_start\|>)\s*\(\s*({NUMBER})\s*,\s*({NUMBER})\s*\)\s*,?\s*\(\s*({NUMBER})\s*,"
                 rf"\s*({NUMBER})\s*\)\s*(?:</box>|<\|box_end\|>)", re.IGNORECASE)
LIST = re.compile(rf"[\[(]\s*({NUMBER})\s*,\s*({NUMBER})\s*,\s*({NUMBER})\s*,\s*({NUMBER})\s*[\])]")
BOX_KEYS = ("bbox_2d", "bbox", "box", "box_2d", "coordinates")
CORNER_KEYS = (("x1", "y1", "x2", "y2"), ("xmin", "ymin", "xmax", "ymax"))


@dataclass(frozen=True)
class ParsedBox:
    """A box read from a reply: the numbers as written, their scale, where they came from, and
    the normalised box (None when the numbers fit no scale)."""

    raw: tuple[float, float, float, float]
    scale: str  # "pixels", "normalised", "1000" or "none" (fits no scale)
    source: str  # "tag", "json", "keys" or "list"
    box: tuple[float, float, float, float] | None


def _four(value: Any) -> tuple[float, ...] | None:
    if isinstance(value, (list, tuple)) and len(value) == 4 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        return tuple(float(v) for v in value)
    return None


def _from_json(value: Any) -> tuple[float, ...] | None:
    if isinstance(value, dict):
        for key in BOX_KEYS:
            found = _four(value.get(key))
            if found:
                return found
        for keys in CORNER_KEYS:
            found = _four([value.get(k) for k in keys])
            if found:
                return found
        return None
    if isinstance(value, list):
        found = _four(value)
        if found:
            return found
        for item in value:
            found = _from_json(item)
            if found:
                return found
    return None


def _json_box(text: str) -> tuple[float, ...] | None:
    decoder = json.JSONDecoder()
    for m in re.finditer(r"[\[{]", text):
        try:
            value, _ = decoder.raw_decode(text, m.start())
        except ValueError:
            continue
        found = _from_json(value)
        if found:
            return found
    return None


def _keyed_box(text: str) -> tuple[float, ...] | None:
    for keys in CORNER_KEYS:
        values = [re.search(rf"(?<![a-z]){k}['\"]?\s*[:=]\s*({NUMBER})", text, re.IGNORECASE) for k in keys]
        if all(values):
            return tuple(float(v.group(1)) for v in values)
    return None


def find_box(text: str) -> tuple[tuple[float, ...], str] | None:
    """The first box's four numbers as written and the format it came in, or None (no box)."""
    text = text or ""
    m = TAG.search(text)
    if m:
        return tuple(float(g) for g in m.groups()), "tag"
    for source, find in (("json", _json_box), ("keys", _keyed_box)):
        found = find(text)
        if found:
            return found, source
    m = LIST.search(text)
    return (tuple(float(g) for g in m.groups()), "list") if m else None


def choose_scale(raw: Sequence[float], source: str, box_format: str = "auto",
                 image_size: tuple[int, int] | None = None) -> str:
    """The scale of a box's numbers (module docstring: the ``auto`` rule)."""
    if box_format not in BOX_FORMATS:
        from medtrust.errors import MedtrustError
        raise MedtrustError(f"Unknown box format '{box_format}'.", f"use one of: {', '.join(BOX_FORMATS)}")
    if box_format != "auto":
        return box_format
    if source == "tag":
        return "1000"
    if min(raw) < 0:
        return "none"
    if max(raw) <= 1:
        return "normalised"
    if image_size and max(raw[0], raw[2]) <= image_size[0] and max(raw[1], raw[3]) <= image_size[1]:
        return "pixels"
    return "1000" if max(raw) <= 1000 else "none"


def normalise(raw: Sequence[float], scale: str, image_size: tuple[int, int] | None = None
              ) -> tuple[float, float, float, float] | None:
    """``raw`` on ``scale`` as a 0-1 box, corners in order, clipped (None: no scale, or pixels
    without an image size)."""
    if scale == "normalised":
        w = h = 1.0
    elif scale == "1000":
        w = h = 1000.0
    elif scale == "pixels" and image_size:
        w, h = float(image_size[0]), float(image_size[1])
    else:
        return None
    x1, y1, x2, y2 = raw[0] / w, raw[1] / h, raw[2] / w, raw[3] / h

    def clip(v: float) -> float:
        return min(1.0, max(0.0, v))
    return clip(min(x1, x2)), clip(min(y1, y2)), clip(max(x1, x2)), clip(max(y1, y2))


def parse_box(text: str, box_format: str = "auto", image_size: tuple[int, int] | None = None) -> ParsedBox | None:
    """The first box of a reply, read and normalised (None: the reply gives no box)."""
    found = find_box(text)
    if found is None:
        return None
    raw, source = found
    scale = choose_scale(raw, source, box_format, image_size)
    return ParsedBox(tuple(raw), scale, source, normalise(raw, scale, image_size))


def iou(a: Sequence[float] | None, b: Sequence[float] | None) -> float:
    """Intersection over union of two xyxy boxes (0 when either is missing or both are empty)."""
    if a is None or b is None:
        return 0.0
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def best_iou(box: Sequence[float] | None, truths: Sequence[Sequence[float]]) -> float:
    """The best IoU of ``box`` over the true boxes (0 without a box or true boxes)."""
    return max((iou(box, t) for t in truths), default=0.0)
