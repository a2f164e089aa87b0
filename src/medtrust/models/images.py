"""Image message parts for backends: load them, encode them as data URLs, convert messages.

Our messages hold images as ``{"type": "image", "image": <path or PIL image>}``; the OpenAI
chat format (also read by vLLM's ``LLM.chat``) wants ``{"type": "image_url", "image_url":
{"url": "data:image/png;base64,..."}}``.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from medtrust.errors import DataError

#: PIL modes PNG can store as they are; anything else (CMYK, YCbCr, ...) is converted to RGB
_PNG_MODES = {"1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"}


def load_image(image: Any):
    """A PIL image from a PIL image, a path, raw bytes or a base64 data URL."""
    from PIL import Image

    if isinstance(image, Image.Image):
        return image
    if isinstance(image, (bytes, bytearray)):
        return Image.open(io.BytesIO(image))
    if isinstance(image, str) and image.startswith("data:"):
        return data_url_to_image(image)
    if isinstance(image, (str, Path)):
        path = Path(image).expanduser()
        if not path.is_file():
            raise DataError(f"The image '{image}' does not exist.", "check the dataset's image paths")
        try:
            with Image.open(path) as img:
                img.load()
                return img
        except OSError as e:
            raise DataError(f"The image '{image}' cannot be read ({e}).",
                            "check that it is a valid image file") from None
    raise DataError(f"An image part holds a {type(image).__name__}, not a path or PIL image.",
                    'write image parts as {"type": "image", "image": <path or PIL image>}')


def image_to_data_url(image: Any) -> str:
    """``data:image/png;base64,...`` for an image (path, PIL image or bytes).

    Strings that already are data or http(s) URLs pass through unchanged.
    """
    if isinstance(image, str) and image.startswith(("data:", "http://", "https://")):
        return image
    img = load_image(image)
    if img.mode not in _PNG_MODES:
        img = img.convert("RGB")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def data_url_to_image(url: str):
    """The PIL image a base64 data URL holds."""
    from PIL import Image

    header, _, payload = url.partition(",")
    if not header.startswith("data:") or ";base64" not in header:
        raise DataError(f"'{url[:40]}...' is not a base64 data URL.", "use data:image/<format>;base64,<data>")
    img = Image.open(io.BytesIO(base64.b64decode(payload)))
    img.load()
    return img


def has_images(messages: Iterable[dict]) -> bool:
    """Whether any message holds an image part."""
    return any(_is_image(p) for m in messages if isinstance(m.get("content"), list) for p in m["content"])


def message_images(messages: Iterable[dict]) -> list:
    """The PIL images of all image parts, in order."""
    out = []
    for m in messages:
        if isinstance(m.get("content"), list):
            out.extend(load_image(_image_of(p)) for p in m["content"] if _is_image(p))
    return out


def to_openai_messages(messages: Sequence[dict]) -> list[dict]:
    """Messages in the OpenAI chat format: images become data-URL ``image_url`` parts.

    Content with text parts only is joined into one string (as the hf backend does), since
    some servers (llama.cpp's) accept only string content for text.
    """
    out = []
    for m in messages:
        content = m.get("content")
        if isinstance(content, list):
            if any(_is_image(p) for p in content):
                content = [_openai_part(p) for p in content]
            else:
                content = "".join(p.get("text", "") for p in content)
        out.append({**m, "content": content})
    return out


def _is_image(part: Any) -> bool:
    return isinstance(part, dict) and part.get("type") in ("image", "image_url")


def _image_of(part: dict) -> Any:
    if part.get("type") == "image_url":
        url = part["image_url"]
        return url["url"] if isinstance(url, dict) else url
    return part["image"]


def _openai_part(part: dict) -> dict:
    if part.get("type") == "text":
        return {"type": "text", "text": part.get("text", "")}
    if _is_image(part):
        return {"type": "image_url", "image_url": {"url": image_to_data_url(_image_of(part))}}
    return part
