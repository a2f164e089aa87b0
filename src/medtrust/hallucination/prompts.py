"""Prompts of the hallucination study: brief and sentence-length answers in English and Chinese
(the reference code's ``BRIEF_PROMPTS``), few-shot examples, P(True) and verbalised confidence."""

from __future__ import annotations

from typing import Sequence

from medtrust.data.schema import Sample
from medtrust.prompts import sample_text, user_message

INSTRUCTIONS = {
    "en": {"brief": "Answer the following question as briefly as possible.",
           "sentence": "Answer the following question in a single brief but complete sentence."},
    "zh": {"brief": "请尽可能简短地回答下面的问题。",
           "sentence": "请用一句简短而完整的话回答下面的问题。"},
}
"""The reference ``BRIEF_PROMPTS`` ('default' and 'chat'), and their Chinese versions."""

FORMAT_HINTS = {
    "en": {"mcq": "Reply with the letter of the correct option.",
           "yes_no_maybe": "Reply with yes, no or maybe.", "yes_no": "Reply with yes or no."},
    "zh": {"mcq": "请回答正确选项的字母。", "yes_no_maybe": "请回答是、否或可能。", "yes_no": "请回答是或否。"},
}

ANSWER_LABEL = {"en": "Answer", "zh": "答案"}


def language(sample: Sample, lang: str) -> str:
    """The prompt language: the sample's own for Chinese rows, else ``lang`` (en unless zh)."""
    return "zh" if sample.language == "zh" or lang == "zh" else "en"


def instruction(sample: Sample, style: str, lang: str) -> str:
    """The instruction put before the question (brief or sentence, plus a format hint)."""
    lg = language(sample, lang)
    text = INSTRUCTIONS[lg][style]
    hint = FORMAT_HINTS[lg].get(sample.answer_type)
    return f"{text} {hint}" if hint else text


def example_answer(sample: Sample) -> str:
    """How a few-shot example is answered: the option letter, yes/no/maybe word, or the answer."""
    if sample.answer_type == "mcq" and sample.answer:
        return f"{sample.answer}. {sample.answer_text()}"
    return sample.answer or ""


def answer_messages(sample: Sample, style: str = "brief", lang: str = "en",
                    examples: Sequence[Sample] = (), max_context_chars: int = 6000) -> list[dict]:
    """Chat messages asking ``sample``'s question, with worked examples as earlier turns."""
    lg = language(sample, lang)
    head = instruction(sample, style, lang)
    messages: list[dict] = []
    for ex in examples:
        text = sample_text(ex, lg, max_context_chars=max_context_chars)
        messages.append({"role": "user", "content": f"{head}\n\n{text}"})
        messages.append({"role": "assistant", "content": example_answer(ex)})
    messages.append(user_message(f"{head}\n\n{sample_text(sample, lg, max_context_chars=max_context_chars)}",
                                 sample.images))
    return messages


def p_true_prompt(question: str, brainstormed: Sequence[str], proposed: str) -> str:
    """The reference ``calculate_p_true`` prompt (zero-shot, no hint, no context), scored by the
    log-prob of " A"."""
    prompt = f"Question: {question}\nBrainstormed Answers: "
    for answer in [*brainstormed, proposed]:
        prompt += answer.strip() + "\n"
    prompt += f"Possible answer: {proposed}\n"
    prompt += "Is the possible answer:\nA) True\nB) False\nThe possible answer is:"
    return prompt


CONFIDENCE_PROMPT = {
    "en": ("Question: {question}\nProposed answer: {answer}\n"
           "How confident are you that the proposed answer is correct? "
           "Reply with a single number from 0 to 100."),
    "zh": ("问题：{question}\n给出的答案：{answer}\n"
           "你有多大把握这个答案是正确的？请只回答一个0到100之间的数字。"),
}


def confidence_messages(question: str, answer: str, lg: str) -> list[dict]:
    """Messages asking the model for its confidence (0-100) in its own low-temperature answer."""
    return [{"role": "user", "content": CONFIDENCE_PROMPT[lg].format(question=question, answer=answer)}]


def parse_confidence(text: str) -> float | None:
    """The first number in a reply, as a confidence in [0, 100]: "85", "85%", "0.85" (a fraction
    when the reply holds no number above 1), "confidence: 7/10"; None when there is none or it is
    out of range."""
    import re
    m = re.search(r"(\d+(?:\.\d+)?)\s*(%|/\s*(\d+(?:\.\d+)?))?", text.replace(",", "."))
    if not m:
        return None
    value = float(m.group(1))
    if m.group(3):
        denom = float(m.group(3))
        if denom <= 0:
            return None
        value = 100.0 * value / denom
    elif not m.group(2) and value <= 1.0 and "." in m.group(1):
        value *= 100.0
    return value if 0.0 <= value <= 100.0 else None
