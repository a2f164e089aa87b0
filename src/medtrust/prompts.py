"""Turning a Sample into chat messages (shared by the studies; each adds its own instruction)."""

from __future__ import annotations

from medtrust.data.schema import Sample

LABELS = {
    "en": {"context": "Context", "question": "Question", "options": "Options"},
    "zh": {"context": "背景", "question": "问题", "options": "选项"},
}


def sample_text(sample: Sample, lang: str = "en", with_context: bool = True, max_context_chars: int = 6000) -> str:
    """Context, question and options of a sample as one block of text."""
    labels = LABELS["zh" if lang == "zh" or sample.language == "zh" else "en"]
    sep = "：" if labels is LABELS["zh"] else ": "
    parts = []
    if with_context and sample.context:
        parts.append(f"{labels['context']}{sep}{sample.context[:max_context_chars]}")
    parts.append(f"{labels['question']}{sep}{sample.question}")
    if sample.choices:
        parts.append(f"{labels['options']}{sep}\n{sample.format_choices()}")
    return "\n\n".join(parts)


def user_message(text: str, images: list[str] | None = None) -> dict:
    """A user message; with images, a list of image parts followed by the text."""
    if not images:
        return {"role": "user", "content": text}
    return {"role": "user", "content": [*({"type": "image", "image": p} for p in images),
                                        {"type": "text", "text": text}]}


def sample_messages(sample: Sample, instruction: str | None = None, system: str | None = None,
                    lang: str = "en") -> list[dict]:
    """Messages asking the sample's question, an instruction appended after it."""
    text = sample_text(sample, lang)
    if instruction:
        text = f"{text}\n\n{instruction}"
    messages = [{"role": "system", "content": system}] if system else []
    messages.append(user_message(text, sample.images))
    return messages
