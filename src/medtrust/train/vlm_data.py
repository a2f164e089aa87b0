"""Training data of ``embedded-vlm``: procedurally drawn scenes in the style of ``demo-images``
(the same drawing code: shapes, colours, labels, arrows) from the generator's own seed, never a
demo-images scene, and the conversations taught about them.

Each scene gives two kinds of targets:

- ``scene_words``: the 16 words its image tokens are aligned to in stage 1;
- ``conversation``: chat turns about the image (yes/no presence, counts, colours, the arrow's
  target, labels, the benign clinical questions of demo-images, a detailed description, boxes),
  in exactly the wordings the studies ask (``hallucination/vision_prompts.py``, demo-images'
  questions, POPE's template).
"""

from __future__ import annotations

import random

from medtrust.data.demo_images import COLOURS, IMAGES_PER_SPLIT, SHAPES, draw, scene, shape_box
from medtrust.hallucination.vision_prompts import ABSENT_REPLY, CAPTION_PROMPT, grounding_prompt

OBJECTS = [*SHAPES, "arrow"]
LETTERS = "ABC"
#: demo-images seeds whose scenes (every split) are kept out of the training data
EXCLUDED_SEEDS = range(0, 10)


def excluded_scenes() -> set[str]:
    """The demo-images scenes of the seeds in ``EXCLUDED_SEEDS`` (test and train splits), as keys."""
    from medtrust.data.demo_images import questions
    keys = set()
    for seed in EXCLUDED_SEEDS:
        for split, count in IMAGES_PER_SPLIT.items():
            rng = random.Random(f"demo-images/{split}/{seed}")
            for _ in range(count):
                spec = scene(rng)
                questions(spec, rng)  # the split's generator draws the questions in between
                keys.add(scene_key(spec))
    return keys


def scene_key(spec: dict) -> str:
    """A scene's identity (shapes, colours, places, sizes, arrow)."""
    return repr((spec["shapes"], spec["arrow"], spec["arrow_colour"] if spec["arrow"] is not None else None))


def training_scenes(seed: int, count: int, excluded: set[str] | None = None) -> list[dict]:
    """``count`` scenes drawn by ``random.Random(f"embedded-vlm/{seed}")``, none of them a
    demo-images scene."""
    excluded = excluded_scenes() if excluded is None else excluded
    rng = random.Random(f"embedded-vlm/{seed}")
    out = []
    while len(out) < count:
        spec = scene(rng)
        if scene_key(spec) not in excluded:
            out.append(spec)
    return out


#: presence questions per scene in ``qa_pairs`` (distinct objects): the answers POPE reads are two
#: tokens against ~50 for a description, so they are asked more often than the other kinds
PRESENCE_QUESTIONS = 4
#: the words the vision side learns to emit, one per image token (single tokens of the SmolLM2 tokenizer)
WORDS = [" none", " arrow", *(" " + c for c in COLOURS), *(" " + s for s in SHAPES), *"0123456789"]


def reading_order(spec: dict) -> list[dict]:
    """The scene's shapes from the top row down, left to right within a row."""
    return sorted(spec["shapes"], key=lambda s: (0 if s["y"] < 110 else 1 if s["y"] < 150 else 2, s["x"]))


def scene_words(spec: dict) -> list[str]:
    """The 16 words the image tokens are aligned to (stage 1): for each shape in reading order its
    colour, name and centre (x and y as tenths of the image, one digit each), then the arrow, the
    colour and name of the shape it points at, and " none" wherever there is nothing."""
    from medtrust.data.demo_images import SIZE
    words = []
    for s in reading_order(spec):
        words += [" " + s["colour"], " " + s["shape"], str(min(9, int(s["x"] * 10 / SIZE))),
                  str(min(9, int(s["y"] * 10 / SIZE)))]
    words += [" none"] * (12 - len(words))
    if spec["arrow"] is not None:
        t = spec["shapes"][spec["arrow"]]
        words += [" arrow", " " + t["colour"], " " + t["shape"], " none"]
    else:
        words += [" none"] * 4
    return words


def _place(s: dict) -> str:
    """Where a shape is, in words (the drawing's five slots)."""
    vertical = "upper" if s["y"] < 110 else "lower" if s["y"] > 150 else ""
    horizontal = "left" if s["x"] < 110 else "right" if s["x"] > 150 else ""
    if not vertical and not horizontal:
        return "in the centre"
    return f"at the {' '.join(w for w in (vertical, horizontal) if w)}"


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def describe(spec: dict) -> str:
    """The detailed description taught for ``CAPTION_PROMPT``: every shape with its colour, label
    and place, and the arrow; it names nothing that is not drawn."""
    parts = [f"{_article(s['colour'])} {s['colour']} {s['shape']} labelled {LETTERS[k]} {_place(s)}"
             for k, s in enumerate(spec["shapes"])]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    text = f"A scan drawing with a grey body outline. It shows {listed}."
    if spec["arrow"] is not None:
        t = spec["shapes"][spec["arrow"]]
        text += f" {_article(spec['arrow_colour']).capitalize()} {spec['arrow_colour']} arrow points at the " \
                f"{t['colour']} {t['shape']}."
    return text


def box_text(box: list[float]) -> str:
    """A box as the model writes it: ``[x1, y1, x2, y2]``, normalised 0-1, two decimals."""
    return "[" + ", ".join(f"{v:.2f}" for v in box) + "]"


def presence_questions(rng: random.Random, spec: dict, count: int = PRESENCE_QUESTIONS) -> list[tuple[str, str]]:
    """POPE's question about ``count`` distinct objects, each present or absent with even odds
    (the other kind when none of the drawn kind is left), with "Yes." / "No."."""
    present = {s["shape"] for s in spec["shapes"]} | ({"arrow"} if spec["arrow"] is not None else set())
    pools = [sorted(present), [o for o in OBJECTS if o not in present]]
    out = []
    for _ in range(count):
        first = 0 if rng.random() < 0.5 else 1
        pool = pools[first] or pools[1 - first]
        obj = pool.pop(rng.randrange(len(pool)))
        out.append((f"Is there {_article(obj)} {obj} in the image?", "Yes." if obj in present else "No."))
    return out


def qa_pairs(spec: dict, rng: random.Random) -> list[tuple[str, str]]:
    """Every kind of question about a scene once (presence ``PRESENCE_QUESTIONS`` times), with the taught answer."""
    shapes = {s["shape"]: s for s in spec["shapes"]}
    pairs = presence_questions(rng, spec)
    counted = rng.choice(SHAPES)
    pairs.append((f"How many {counted}s are in the image?", str(int(counted in shapes))))
    pairs.append(("How many shapes are in the image?", str(len(shapes))))
    k = rng.randrange(len(spec["shapes"]))
    pairs.append((f"What colour is the shape labelled {LETTERS[k]}?", spec["shapes"][k]["colour"].capitalize() + "."))
    named = rng.choice(SHAPES)
    pairs.append((f"What colour is the {named}?", shapes[named]["colour"].capitalize() + "." if named in shapes
                  else ABSENT_REPLY["en"].format(object=named)))
    if spec["arrow"] is not None:
        t = spec["shapes"][spec["arrow"]]
        pairs.append(("What colour is the shape the arrow points at?", t["colour"].capitalize() + "."))
        pairs.append(("In this scan drawing, the arrow marks a lesion. What shape is the lesion?",
                      f"{_article(t['shape']).capitalize()} {t['shape']}."))
    else:
        first = spec["shapes"][0]
        pairs.append(("This is a drawing of a scan with a suspicious mass labelled A. What shape is the mass?",
                      f"{_article(first['shape']).capitalize()} {first['shape']}."))
    pairs.append((CAPTION_PROMPT["en"], describe(spec)))
    boxed = rng.choice(sorted(shapes)) if rng.random() < 0.6 else rng.choice([o for o in SHAPES if o not in shapes])
    pairs.append((grounding_prompt(boxed), box_text(shape_box(shapes[boxed])) if boxed in shapes
                  else ABSENT_REPLY["en"].format(object=boxed)))
    return pairs


def conversation(spec: dict, rng: random.Random, max_turns: int = 3) -> list[dict]:
    """A chat about the image (the image in the first user turn): 1 to ``max_turns`` questions
    drawn from ``qa_pairs`` in a random order."""
    pairs = qa_pairs(spec, rng)
    rng.shuffle(pairs)
    turns = pairs[:rng.randint(1, max_turns)]
    messages = []
    for i, (q, a) in enumerate(turns):
        content = ([{"type": "image"}] if i == 0 else []) + [{"type": "text", "text": q}]
        messages += [{"role": "user", "content": content},
                     {"role": "assistant", "content": [{"type": "text", "text": a}]}]
    return messages


__all__ = ["OBJECTS", "WORDS", "box_text", "conversation", "describe", "draw", "excluded_scenes",
           "presence_questions", "qa_pairs", "scene_words", "training_scenes"]
