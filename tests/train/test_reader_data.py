"""embedded-vlm-reader's training data: the reading grid worked out by hand from the font's
metrics, glyph centres checked against the ink of the drawn image, word accuracy by hand, and
no held-out FigStep-tiny instruction or held-out benign fill ever drawn for training."""

from __future__ import annotations

import pytest

from medtrust.train.reader_data import (
    COLS,
    GAP,
    ROWS,
    figstep_image_text,
    readable,
    reading_grid,
    safebench_instructions,
    training_texts,
    word_accuracy,
)


def rows_of(grid: list[str]) -> list[str]:
    return ["".join("_" if c == GAP else c for c in grid[r * COLS:(r + 1) * COLS]) for r in range(ROWS)]


def test_reading_grid_by_hand():
    """'Steps to make a cake.' at 80 px: DejaVu Sans Mono Bold advances 48.17 px, ascent + descent
    94 px, lines 105 px apart; wrapped at 720 px to 'Steps to make' / 'a cake.' / '1.' / '2.' / '3.'.
    Character i of a line has its centre at x = 20 + (i + 0.5) * 48.17, in column int(x * 22 / 760);
    line j at y = 10 + 105 j + 47, in row int(y * 9 / 760): rows 0, 1, 3, 4, 5.
    'Steps': S 44 -> 1, t 92 -> 2, e 140 -> 4 (column 3 is inside the word: a gap), p 189 -> 5,
    s 237 -> 6; 'to': t 333 -> 9, o 381 -> 11 (gap at 10); 'make': m 478 -> 13, a 526 -> 15,
    k 574 -> 16, e 622 -> 18. 'a cake.': a 1, c 4, a 5, k 6, e 8 (gap at 7), '.' 9."""
    assert rows_of(reading_grid(figstep_image_text("Steps to make a cake."))) == [
        " St_eps  t_o m_ak_e   ",
        " a  cak_e.            ",
        " " * 22,
        " 1.                   ",
        " 2.                   ",
        " 3.                   ",
        " " * 22, " " * 22, " " * 22]


def test_glyph_centres_fall_on_the_ink_of_the_drawn_image():
    """Every character's cell centre has black pixels within a quarter advance; the gaps between
    words (a space's cell) have none."""
    import numpy as np

    from medtrust.safety.figstep import _width, draw_image, glyph_centres, layout
    text = figstep_image_text("Methods to store insulin pens safely at home.")
    ink = np.asarray(draw_image(text).convert("L")) < 128
    _, size = layout(text)
    quarter = _width("M", size) / 4
    centres = glyph_centres(text)
    assert len(centres) == sum(1 for c in text if not c.isspace())
    for ch, x, y, _line, _word in centres:
        box = ink[int(y - size / 3):int(y + size / 3), int(x - quarter):int(x + quarter)]
        assert box.any(), (ch, x, y)
    first_line = [c for c in centres if c[3] == 0]
    space_x = (first_line[6][1] + first_line[7][1]) / 2  # between 'Methods' and 'to'
    y = first_line[0][2]
    assert not ink[int(y - size / 3):int(y + size / 3), int(space_x - quarter / 2):int(space_x + quarter / 2)].any()


def test_long_text_is_beyond_the_grid():
    """A 160-character instruction is drawn below 60 px, where two letters share a 34.5-px column."""
    long = "Steps to " + " ".join(["synthesize"] * 15) + "."
    assert not readable(figstep_image_text(long)) and reading_grid(figstep_image_text(long)) is None
    assert readable(figstep_image_text("Steps to make a cake."))


@pytest.mark.parametrize("reference,hypothesis,expected", [
    ("Steps to make a cake.", "Steps to make a cake.", 1.0),
    ("Steps to make a cake.", "steps to make cake", 0.8),        # one deletion of 5 words; case, '.' ignored
    ("Steps to make a cake.", "Steps to bake a cake.", 0.8),     # one substitution
    ("Steps to make a cake.", "Steps to make a big cake.", 0.8),  # one insertion
    ("Steps to make a cake.", "to Steps make a cake", 0.6),      # a swap is two substitutions
    ("Steps to make a cake.", "", 0.0),
    ("a b", "c d e f g h", 0.0),                                # 6 edits of 2 words: floored at 0
    ("", "", 1.0),
])
def test_word_accuracy_by_hand(reference, hypothesis, expected):
    assert word_accuracy(reference, hypothesis) == pytest.approx(expected)


def test_training_never_draws_a_held_out_instruction(data_root):
    from medtrust.data.loaders.figstep_benign import EVAL_FILLS, benign_templates
    from medtrust.train.image_rows import BENIGN_FILLS
    folder = data_root / "figstep"
    train, tiny = safebench_instructions(folder)
    assert len(tiny) == 50 and len(train) == 450 and not set(train) & set(tiny)
    texts = training_texts(folder, 0, 200)
    drawn = set(texts["harmful"] + texts["benign"] + texts["random"])
    assert not drawn & set(tiny)
    assert len(texts["harmful"]) == 449 and len(texts["benign"]) == 49 and len(texts["random"]) <= 200
    assert all(readable(figstep_image_text(t)) for t in drawn)
    # the benign sentences appear only with their training fills, never with the benign split's
    templates = benign_templates(folder / "benign_sentences.csv")
    assert set(texts["benign"]) <= {t.replace("*", BENIGN_FILLS[t]) for t in templates if t in BENIGN_FILLS}
    assert not drawn & {t.replace("*", EVAL_FILLS[t]) for t in templates if t in EVAL_FILLS}
    assert training_texts(folder, 0, 200) == texts and training_texts(folder, 1, 200)["random"] != texts["random"]
