"""The fixed wordings of the image-hallucination requests (CHAIR descriptions, grounding boxes),
shared by the studies that ask them and by the training data of ``embedded-vlm``, which learns to
answer exactly these (and any hub model is asked the same)."""

from __future__ import annotations

#: CHAIR (Rohrbach et al. 2018) as LLaVA-1.5 is asked in the course: a detailed description
CAPTION_PROMPT = {"en": "Please describe this image in detail.", "zh": "请详细描述这张图片。"}

#: grounding: one named finding; coordinates normalised 0-1, x to the right, y down
GROUNDING_PROMPT = {
    "en": "Return the bounding box of the {object} in the image as [x1, y1, x2, y2] with coordinates "
          "from 0 to 1.",
    "zh": "请以[x1, y1, x2, y2]（坐标在0到1之间）给出图中{object}的边界框。",
}

#: what a model that sees no such finding should answer (the embedded VLM is trained on it)
ABSENT_REPLY = {"en": "There is no {object} in the image.", "zh": "图中没有{object}。"}


def grounding_prompt(obj: str, lang: str = "en") -> str:
    """The grounding request for one object."""
    return GROUNDING_PROMPT["zh" if lang == "zh" else "en"].format(object=obj)
