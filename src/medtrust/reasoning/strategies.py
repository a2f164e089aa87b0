"""Prompting strategies: direct, cot, few-shot-cot, sc:N (self-consistency) and think.

A strategy turns a Sample into chat messages and sampling settings. Instructions exist in English
and Chinese; the answer format line depends on the sample's answer type.
"""

from __future__ import annotations

from dataclasses import dataclass

from medtrust.data.schema import Sample
from medtrust.errors import MedtrustError
from medtrust.prompts import sample_text, user_message


@dataclass(frozen=True)
class StrategyKind:
    """One prompting strategy: how it is written on the command line, what it does, whether its
    output holds a chain of thought and whether early answering applies to it."""

    kind: str
    form: str
    summary: str
    reasons: bool = True
    faithfulness: bool = False
    aliases: tuple[str, ...] = ()


STRATEGIES: dict[str, StrategyKind] = {k.kind: k for k in [
    StrategyKind("direct", "direct", "the answer only", reasons=False),
    StrategyKind("cot", "cot", "think step by step, then the answer", faithfulness=True),
    StrategyKind("few-shot-cot", "few-shot-cot", "worked examples, then step by step", faithfulness=True,
                 aliases=("fewshot-cot", "few_shot_cot")),
    StrategyKind("sc", "sc:N", "self-consistency: N sampled chains of thought, majority vote",
                 aliases=("self-consistency",)),
    StrategyKind("think", "think", "<think>...</think><answer>...</answer>", faithfulness=True),
]}
KINDS = tuple(STRATEGIES)


def strategies_help() -> str:
    """The strategy forms for ``--help``, from the table."""
    return ", ".join(f"{k.form} ({k.summary})" for k in STRATEGIES.values())


#: new-token budgets when --max-tokens / --direct-max-tokens are not given. Real models need room
#: to reason; the embedded 135M model runs on a CPU, where every token counts (its direct answers
#: fit in 16 tokens; its chains of thought rarely improve after the first sentences).
DEFAULT_MAX_TOKENS = {"direct": 32, "cot": 1024, "few-shot-cot": 1024, "sc": 1024, "think": 2048}
EMBEDDED_MAX_TOKENS = {"direct": 16, "cot": 128, "few-shot-cot": 128, "sc": 128, "think": 160}


def default_max_tokens(kind: str, model: str) -> int:
    """The new-token budget of a strategy kind for a model string when none is given."""
    table = EMBEDDED_MAX_TOKENS if model == "embedded" else DEFAULT_MAX_TOKENS
    return table[kind]


@dataclass(frozen=True)
class Strategy:
    """A parsed strategy string: ``kind`` plus ``samples`` (N of sc:N, else 1)."""

    name: str
    kind: str
    samples: int = 1

    @property
    def reasons(self) -> bool:
        """Whether the output holds a chain of thought."""
        return STRATEGIES[self.kind].reasons

    @property
    def faithfulness(self) -> bool:
        """Whether early answering applies (one greedy chain of thought per question)."""
        return STRATEGIES[self.kind].faithfulness


def parse_strategies(text: str | list[str]) -> list[Strategy]:
    """``"direct,cot,sc:5"`` -> strategies (order kept, duplicates removed); one clear error otherwise.

    >>> [s.name for s in parse_strategies("direct, sc:5,cot")]
    ['direct', 'sc:5', 'cot']
    """
    items = text if isinstance(text, list) else text.split(",")
    out: list[Strategy] = []
    for raw in items:
        name = raw.strip().lower()
        if not name:
            continue
        base, _, count = name.partition(":")
        kind = next((k for k in STRATEGIES.values() if base in (k.kind, *k.aliases)), None)
        if kind is None or (kind.kind == "sc") != bool(count) or (count and not count.isdigit()):
            raise MedtrustError(f"Unknown strategy '{raw.strip()}'.",
                                "use a comma-separated list of: " + ", ".join(k.form for k in STRATEGIES.values())
                                + " (e.g. sc:5)")
        if kind.kind == "sc":
            n = int(count)
            if n < 2:
                raise MedtrustError(f"Strategy '{raw.strip()}' needs at least 2 samples.", "use e.g. sc:5")
            s = Strategy(f"sc:{n}", "sc", n)
        else:
            s = Strategy(kind.kind, kind.kind)
        if s not in out:
            out.append(s)
    if not out:
        raise MedtrustError("No strategy given.", "pass e.g. --strategies direct,cot,sc:5")
    return out


# ------------------------------------------------------------------------------- instructions

def answer_slot(sample: Sample) -> str:
    """What goes after 'Answer:' for this sample: letter, yes/no/maybe, number, date..."""
    kind = sample.answer_type
    if kind == "mcq":
        return "letter"
    if kind in ("yes_no_maybe", "yes_no"):
        return "yes_no_maybe" if kind == "yes_no_maybe" else "yes_no"
    if kind == "numeric":
        return "number"
    if kind == "date":
        return "weeks_days" if (sample.answer or "").startswith("(") else "date"
    return "short"


FORMAT = {
    "en": {"letter": "the letter of the correct option", "yes_no_maybe": "yes, no or maybe",
           "yes_no": "yes or no", "number": "a number", "date": "a date as MM/DD/YYYY",
           "weeks_days": "(weeks, days)", "short": "a short answer"},
    "zh": {"letter": "正确选项的字母", "yes_no_maybe": "是、否或不确定", "yes_no": "是或否", "number": "一个数字",
           "date": "日期（MM/DD/YYYY）", "weeks_days": "（周, 天）", "short": "简短答案"},
}
ANSWER_WORD = {"en": "Answer", "zh": "答案"}
INSTRUCTIONS = {
    "en": {
        "direct": "Reply with {fmt} only, without explanation.",
        "cot": "Think step by step, then give the final answer on the last line as \"Answer: <{fmt}>\".",
        "think": "First reason inside <think></think> tags, then give only the final answer ({fmt}) inside "
                 "<answer></answer> tags.",
        "answer_now": "Stop reasoning now and give your final answer as \"Answer: <{fmt}>\".",
    },
    "zh": {
        "direct": "只回答{fmt}，不要解释。",
        "cot": "请逐步思考，然后在最后一行以\"答案：<{fmt}>\"的形式给出最终答案。",
        "think": "先在<think></think>标签内推理，然后只在<answer></answer>标签内给出最终答案（{fmt}）。",
        "answer_now": "现在停止推理，以\"答案：<{fmt}>\"的形式给出最终答案。",
    },
}


def language(sample: Sample, lang: str) -> str:
    """The prompt language: the sample's own when it is Chinese or --lang zh, else English."""
    return "zh" if lang == "zh" or sample.language == "zh" else "en"


def instruction(kind: str, sample: Sample, lang: str) -> str:
    """The instruction appended after the question for a strategy kind (or 'answer_now')."""
    lg = language(sample, lang)
    key = {"sc": "cot", "few-shot-cot": "cot"}.get(kind, kind)
    return INSTRUCTIONS[lg][key].format(fmt=FORMAT[lg][answer_slot(sample)])


def question_message(sample: Sample, kind: str, lang: str) -> dict:
    """The user turn: context, question, options, then the strategy's instruction."""
    text = f"{sample_text(sample, language(sample, lang))}\n\n{instruction(kind, sample, lang)}"
    return user_message(text, sample.images)


def build_messages(sample: Sample, strategy: Strategy, lang: str,
                   examples: list[tuple[Sample, str]] | None = None) -> list[dict]:
    """Chat messages for one sample under one strategy. ``examples`` (few-shot-cot) are
    (sample, worked answer) pairs shown as earlier turns."""
    messages: list[dict] = []
    if strategy.kind == "few-shot-cot":
        for ex, worked in examples or []:
            messages.append(question_message(ex, "cot", lang))
            messages.append({"role": "assistant", "content": worked})
    messages.append(question_message(sample, strategy.kind, lang))
    return messages


def answer_now_messages(messages: list[dict], partial_trace: str, sample: Sample, lang: str) -> list[dict]:
    """Early answering (Lanham et al. 2023): the original prompt, the truncated chain of thought as
    the model's turn, then a cue to answer at once."""
    return [*messages, {"role": "assistant", "content": partial_trace},
            {"role": "user", "content": instruction("answer_now", sample, lang)}]


def gold_text(sample: Sample, lang: str) -> str:
    """The gold answer as a model would write it after 'Answer:'."""
    if sample.answer_type == "mcq":
        return str(sample.answer)
    if sample.answer_type in ("yes_no_maybe", "yes_no") and language(sample, lang) == "zh":
        return {"yes": "是", "no": "否", "maybe": "不确定"}.get(str(sample.answer), str(sample.answer))
    return str(sample.answer)
