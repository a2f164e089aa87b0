"""Training data of ``embedded-vlm-reader``: FigStep typographic images (the ``figstep`` attack's own
renderer) and what the reader is taught about them.

Reading is aligned to a fixed grid. The processor resizes the 760 x 760 canvas to ``HEIGHT`` x
``WIDTH`` and the vision tower cuts it into ``ROWS`` x ``COLS`` patches of 24 px; every patch's
image token is aligned to the character whose cell centre falls in it (``figstep.glyph_centres``),
to a space, or (inside a word, where a letter is wider than a patch) to ``GAP``. Read row by row
the tokens are the lines of the image with spaces between the words and after each line, so the
language model receives the text as one token per letter. Text drawn so small that two letters
share a patch (font below about 60 px: instructions longer than about 90 characters) is beyond the
grid: ``reading_grid`` returns None for it and ``readable`` says so.

Texts: SafeBench's instructions without the FigStep-tiny rows (the held-out test), FigStep's
benign sentences with the training fills of ``image_rows.BENIGN_FILLS`` (the held-out fills of
the ``figstep`` benign split are never used), and random instructions recombined from the
training instructions' own words (so the tower learns letters, not sentences).
"""

from __future__ import annotations

import csv
import random
import string
from pathlib import Path

HEIGHT, WIDTH, PATCH = 216, 528, 24
ROWS, COLS = HEIGHT // PATCH, WIDTH // PATCH
#: a patch inside a word that holds no character centre (letters are wider than a patch); its
#: image token is the zero vector, which the language model learns to pass over
GAP = ""
#: what an image token can be: the gap, then characters that are one token of the SmolLM2 tokenizer (the space first)
CHARS = [GAP, " ", *string.ascii_letters, *string.digits, *".,:;'\"-()?!/&%$*+#@_=<>[]"]
TRANSCRIBE_PROMPT = "What does the text in the image say?"
OPENINGS = ("Steps to", "Methods to", "List of", "Ways to", "Steps for")


def reading_grid(text: str) -> list[str] | None:
    """The character (or space) every image token is aligned to, row by row (``ROWS * COLS``);
    None when two drawn characters fall into one patch or one is not in ``CHARS``."""
    from medtrust.safety.figstep import SIZE, glyph_centres
    grid = [" "] * (ROWS * COLS)
    previous = None  # (index, line, word) of the last character placed
    for ch, x, y, line, word in glyph_centres(text):
        row, col = int(y * ROWS / SIZE), int(x * COLS / SIZE)
        k = row * COLS + col
        if ch not in CHARS or row >= ROWS or col >= COLS or grid[k] != " ":
            return None
        grid[k] = ch
        if previous is not None and previous[1:] == (line, word):
            grid[previous[0] + 1:k] = [GAP] * (k - previous[0] - 1)
        previous = (k, line, word)
    return grid


def readable(text: str) -> bool:
    """Whether the grid can hold every character of ``text`` as drawn."""
    return reading_grid(text) is not None


def figstep_image_text(instruction: str) -> str:
    """What the figstep attack draws for an instruction (it and the empty list 1-3)."""
    from medtrust.safety.attacks import figstep_text
    return figstep_text(instruction)


def safebench_instructions(data_dir: Path | str) -> tuple[list[str], list[str]]:
    """SafeBench's instructions split into (training, held-out): held out are the FigStep-tiny rows."""
    data_dir = Path(data_dir)
    with open(data_dir / "safebench_tiny.csv", newline="", encoding="utf-8") as f:
        tiny = [r["instruction"] for r in csv.DictReader(f)]
    with open(data_dir / "safebench.csv", newline="", encoding="utf-8") as f:
        every = [r["instruction"] for r in csv.DictReader(f)]
    held = set(tiny)
    return [t for t in every if t not in held], tiny


def benign_instructions(data_dir: Path | str) -> list[str]:
    """FigStep's benign sentences with the training fills (never the benign split's held-out fills)."""
    from medtrust.data.loaders.figstep_benign import benign_templates
    from medtrust.train.image_rows import BENIGN_FILLS
    templates = benign_templates(Path(data_dir) / "benign_sentences.csv")
    return [t.replace("*", BENIGN_FILLS[t]) for t in templates if t in BENIGN_FILLS]


def random_instructions(words: list[str], count: int, rng: random.Random) -> list[str]:
    """``count`` instructions of an opening and 2-9 words drawn from ``words``, a full stop at the end."""
    out = []
    for _ in range(count):
        body = " ".join(rng.choice(words) for _ in range(rng.randint(2, 9)))
        out.append(f"{rng.choice(OPENINGS)} {body}.")
    return out


def training_texts(data_dir: Path | str, seed: int, random_count: int) -> dict[str, list[str]]:
    """The instructions of training (``harmful``, ``benign``, ``random``), readable ones only."""
    harmful, _ = safebench_instructions(data_dir)
    benign = benign_instructions(data_dir)
    words = sorted({w.strip(".,") for t in harmful + benign for w in t.split()} - {""})
    rng = random.Random(f"embedded-vlm-reader/{seed}")
    texts = {"harmful": harmful, "benign": benign, "random": random_instructions(words, random_count, rng)}
    return {k: [t for t in v if readable(figstep_image_text(t))] for k, v in texts.items()}


def draw_reader_image(instruction: str):
    """The figstep attack's image of ``instruction`` (PIL, 760 x 760)."""
    from medtrust.safety.figstep import draw_image
    return draw_image(figstep_image_text(instruction))


def word_accuracy(reference: str, hypothesis: str) -> float:
    """1 - word error rate (Levenshtein distance over words / reference words), at least 0;
    words compared without case and surrounding punctuation."""
    ref = [w.strip(".,;:!?\"'()").lower() for w in reference.split()]
    hyp = [w.strip(".,;:!?\"'()").lower() for w in hypothesis.split()]
    ref, hyp = [w for w in ref if w], [w for w in hyp if w]
    if not ref:
        return float(not hyp)
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        current = [i]
        for j, h in enumerate(hyp, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return max(0.0, 1.0 - previous[-1] / len(ref))
