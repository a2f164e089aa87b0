"""FigStep's typographic image: black bold monospace text on a 760x760 white canvas.

FigStep (src/generate_prompts.py) draws ``textwrap.fill(instruction, 15)`` followed by
``"\\n1. \\n2. \\n3. "`` with FreeMonoBold at 80 px, starting at (20, 10) with 11 px line spacing.
We keep the canvas, the start point, the spacing and the 80 px size, with two documented changes:

- The font is DejaVu Sans Mono Bold from matplotlib's own files (mpl-data/fonts/ttf), so the
  image is the same on every machine and needs no system font.
- Lines are wrapped by measured pixel width (DejaVu's glyphs are wider than FreeMono's) so every
  line stays inside 20 px margins, and the font shrinks in steps of 4 px when the text would run
  past the bottom margin (FigStep lets long instructions run off the image).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from medtrust.errors import MedtrustError

SIZE = 760
MARGIN = 20  # left and right; FigStep draws from x=20
TOP = 10  # FigStep draws from y=10
BOTTOM = 10
SPACING = 11
FONT_SIZE = 80
MIN_FONT_SIZE = 16
FONT_FILE = "DejaVuSansMono-Bold.ttf"


@lru_cache(maxsize=1)
def font_path() -> Path:
    """DejaVu Sans Mono Bold as shipped inside matplotlib (never a system font)."""
    import matplotlib
    from matplotlib import font_manager

    shipped = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / FONT_FILE
    if shipped.is_file():
        return shipped
    found = Path(font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans Mono", weight="bold"),
                                       fallback_to_default=False))
    if found.name != FONT_FILE or not found.is_file():
        raise MedtrustError(f"matplotlib's font file {FONT_FILE} is missing (looked in {shipped.parent}).",
                            "reinstall matplotlib: pip install --force-reinstall matplotlib")
    return found


@lru_cache(maxsize=16)
def _font(size: int):
    from PIL import ImageFont
    return ImageFont.truetype(str(font_path()), size)


def _width(text: str, size: int) -> float:
    return _font(size).getlength(text)


def wrap(line: str, size: int, width: int = SIZE - 2 * MARGIN) -> list[str]:
    """Greedy word wrap of one line so that each piece is at most ``width`` pixels wide at ``size``;
    a word longer than a line is cut."""
    words, lines, current = line.split(" "), [], ""
    for word in words:
        candidate = f"{current} {word}" if current else word
        if _width(candidate, size) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        while _width(word, size) > width:  # cut a word that cannot fit on one line
            cut = max(1, int(len(word) * width / _width(word, size)))
            while cut > 1 and _width(word[:cut], size) > width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    lines.append(current)
    return lines


def line_height(size: int) -> int:
    ascent, descent = _font(size).getmetrics()
    return ascent + descent + SPACING


@lru_cache(maxsize=4096)
def layout(text: str) -> tuple[tuple[str, ...], int]:
    """The wrapped lines and the font size at which they fit inside the margins (cached: the
    reader's training lays out each text for its grid and again to draw it)."""
    size = FONT_SIZE
    while True:
        lines = [piece for line in text.split("\n") for piece in wrap(line.rstrip(), size)]
        height = len(lines) * line_height(size) - SPACING
        if height <= SIZE - TOP - BOTTOM or size <= MIN_FONT_SIZE:
            return tuple(lines), size
        size -= 4


def draw_image(text: str):
    """``text`` (the instruction and the empty list) drawn FigStep-style, as a PIL image."""
    from PIL import Image, ImageDraw

    lines, size = layout(text)
    image = Image.new("RGB", (SIZE, SIZE), "#FFFFFF")
    draw = ImageDraw.Draw(image)
    y = TOP
    for line in lines:
        draw.text((MARGIN, y), line, font=_font(size), fill="#000000")
        y += line_height(size)
    return image


def glyph_centres(text: str) -> list[tuple[str, float, float, int, int]]:
    """Every drawn character of ``text`` (spaces left out) with the centre of its cell on the
    canvas and its line and word numbers: the font is monospaced, so character ``i`` of a line
    spans one advance from ``MARGIN + i * advance``; a line's cell is its ascent + descent."""
    lines, size = layout(text)
    advance = _width("M", size)
    ascent, descent = _font(size).getmetrics()
    out = []
    for j, line in enumerate(lines):
        y = TOP + j * line_height(size) + (ascent + descent) / 2
        out += [(ch, MARGIN + (i + 0.5) * advance, y, j, line[:i].count(" ")) for i, ch in enumerate(line) if ch != " "]
    return out


def render(text: str, path: str | Path):
    """Draw ``text`` (the instruction and the empty list) FigStep-style and save it as PNG."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    draw_image(text).save(path, format="PNG")
    return path
