"""Verifiable rewards for GRPO (TRL's reward-function signature), built on the reasoning study.

Each function is ``f(completions, **kwargs) -> list[float]`` as TRL's GRPOTrainer calls it:
``completions`` are strings, or conversational completions (a list of messages whose last
``content`` is the model's output); the dataset's other columns arrive as keyword lists, one value
per completion. The grading columns that :func:`grading_columns` writes are ``answer``,
``answer_type``, ``choices``, ``aliases``, ``lower``, ``upper`` and ``output_type``. A ``prefill``
column (text the prompt already put at the start of the model's turn, e.g. ``"<think>\n"``) is
put back in front of each completion before it is graded.

- :func:`accuracy_reward`: 1.0 when the answer is right under the reasoning study's extraction and
  grading (option letters, yes/no/maybe, numbers inside MedCalc-Bench's lower/upper limits,
  integers rounded, dates exact), else 0.0. The answer is read from the ``<answer>`` tag of
  think-format output, or from the whole output when it has none.
- :func:`format_reward`: 1.0 for exactly ``<think>...</think><answer>...</answer>`` (both parts
  non-empty, nothing outside but whitespace); otherwise 0.2 for each tag of the longest run of
  ``<think>``, ``</think>``, ``<answer>``, ``</answer>`` that appears in this order, each tag
  exactly once (at most 0.8), so a model that learns the tags one by one is rewarded on the way,
  and one that skips ``</think>`` to jump to the answer gets only the first tag's credit.
- :func:`length_reward`: 0.0 up to a budget (``LENGTH_BUDGET`` = 256 tokens by default), then a
  linear penalty reaching -1.0 at twice the budget (the length is ``completion_ids`` when TRL passes
  them, else whitespace-separated words).

>>> row = {"answer": ["34.6"], "answer_type": ["numeric"], "lower": [32.87], "upper": [36.33]}
>>> accuracy_reward(["<think>119.6/1.86^2</think><answer>34.6 kg/m2</answer>"], **row)
[1.0]
>>> format_reward(["<think>BMI = w/h^2</think><answer>34.6</answer>", "34.6"])
[1.0, 0.0]
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable

from medtrust.data.schema import Sample
from medtrust.reasoning.grading import extract_for, is_correct

__all__ = ["accuracy_reward", "format_reward", "length_reward", "REWARDS", "VERIFIABLE_TYPES",
           "completion_text", "output_texts", "is_think_format", "answer_part", "grading_columns",
           "sample_from_columns", "format_rate", "tags_in_order"]

#: answer types that an accuracy reward can check without a judge
VERIFIABLE_TYPES = ("mcq", "yes_no_maybe", "yes_no", "numeric", "date", "short")
#: the default length budget of :func:`length_reward` (tokens, or words for plain text)
LENGTH_BUDGET = 256
#: partial credit of :func:`format_reward` per tag that appears exactly once
TAG_CREDIT = 0.2

_THINK_FORMAT = re.compile(r"\s*<think>(.*?)</think>\s*<answer>(.*?)</answer>\s*", re.S)
_TAGS = ("<think>", "</think>", "<answer>", "</answer>")
_ANSWER = re.compile(r"<answer>(.*?)(?:</answer>|$)", re.S)


def completion_text(completion: Any) -> str:
    """The output text of one completion: the string itself, or the last message's content.

    >>> completion_text([{"role": "assistant", "content": "B"}])
    'B'
    """
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        return str(completion.get("content") or "")
    if isinstance(completion, (list, tuple)) and completion:
        return completion_text(completion[-1])
    return ""


def output_texts(completions: list, kwargs: dict) -> list[str]:
    """Each completion's text with its row's ``prefill`` (if the dataset has that column) in front.

    >>> output_texts(["4</think><answer>4</answer>", "x"], {"prefill": ["<think>", ""]})
    ['<think>4</think><answer>4</answer>', 'x']
    """
    prefills = kwargs.get("prefill") or []
    return [(prefills[i] if i < len(prefills) and prefills[i] else "") + completion_text(c)
            for i, c in enumerate(completions)]


def is_think_format(text: str) -> bool:
    """Exactly ``<think>...</think><answer>...</answer>`` with non-empty parts (whitespace around allowed).

    >>> is_think_format("<think>2+2</think>\\n<answer>4</answer>")
    True
    >>> is_think_format("<think></think><answer>4</answer>")
    False
    """
    m = _THINK_FORMAT.fullmatch(text or "")
    if not m or not m.group(1).strip() or not m.group(2).strip():
        return False
    inner = m.group(1) + m.group(2)
    return not any(tag in inner for tag in _TAGS)


def answer_part(text: str) -> str:
    """The content of the last ``<answer>`` tag (an unclosed last tag runs to the end), else the whole output.

    >>> answer_part("<think>x</think><answer> 7 </answer>")
    '7'
    >>> answer_part("The answer is 7.")
    'The answer is 7.'
    """
    tags = _ANSWER.findall(text or "")
    return tags[-1].strip() if tags else (text or "")


def sample_from_columns(i: int, columns: dict[str, list]) -> Sample | None:
    """Row ``i`` of the grading columns as a Sample (None when the row has no gold answer)."""
    def col(name: str, default: Any = None) -> Any:
        values = columns.get(name)
        return values[i] if values is not None and i < len(values) else default

    answer, answer_type = col("answer"), col("answer_type", "short")
    if answer is None or answer_type not in VERIFIABLE_TYPES:
        return None
    metadata: dict[str, Any] = {}
    for key in ("lower", "upper"):
        value = col(key)
        if value is not None and not (isinstance(value, float) and math.isnan(value)):
            metadata[key] = value
    if col("output_type"):
        metadata["output_type"] = col("output_type")
    return Sample(id=f"row-{i}", question="", answer=str(answer), answer_type=answer_type,
                  choices=col("choices") or None, aliases=list(col("aliases") or []), metadata=metadata)


def grading_columns(sample: Sample) -> dict[str, Any]:
    """The dataset columns :func:`accuracy_reward` grades with (same types on every row, so Arrow
    can store them): limits as floats or None (date rows are compared exactly), lists never None."""
    def limit(key: str) -> float | None:
        value = sample.metadata.get(key)
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    return {"answer": sample.answer, "answer_type": sample.answer_type, "choices": list(sample.choices or []),
            "aliases": list(sample.aliases), "lower": limit("lower"), "upper": limit("upper"),
            "output_type": str(sample.metadata.get("output_type") or "")}


def _log(kwargs: dict, name: str, value: float) -> None:
    log_metric = kwargs.get("log_metric")
    if callable(log_metric):
        log_metric(name, value)


def accuracy_reward(completions: list, **kwargs) -> list[float | None]:
    """1.0 when the completion's answer is right, else 0.0; None (TRL: not scored) for a row
    without a verifiable gold answer.

    The answer is the ``<answer>`` content of think-format output, or the whole output; it is
    extracted and graded as in the reasoning study (``medtrust.reasoning.grading``): MedCalc-Bench
    decimals inside ``lower``..``upper``, integers by rounding, dates exactly.

    >>> mcq = {"answer": ["B", "B"], "answer_type": ["mcq", "mcq"], "choices": [["Hypo", "Hyper"]] * 2}
    >>> accuracy_reward(["<think>K+ is high</think><answer>B</answer>", "The answer is A."], **mcq)
    [1.0, 0.0]
    >>> dates = {"answer": ["08/17/2021"], "answer_type": ["date"]}
    >>> accuracy_reward(["<think>+40 weeks</think><answer>08/17/2021</answer>"], **dates)
    [1.0]
    >>> ints = {"answer": ["3"], "answer_type": ["numeric"], "lower": [3.0], "upper": [3.0],
    ...         "output_type": ["integer"]}
    >>> accuracy_reward(["<answer>3.4</answer>", "<answer>3.6</answer>"], **{k: v * 2 for k, v in ints.items()})
    [1.0, 0.0]
    """
    rewards: list[float | None] = []
    for i, text in enumerate(output_texts(completions, kwargs)):
        sample = sample_from_columns(i, kwargs)
        if sample is None:
            rewards.append(None)
            continue
        extracted = extract_for(sample, answer_part(text))
        rewards.append(1.0 if is_correct(sample, extracted) else 0.0)
    return rewards


def format_reward(completions: list, **kwargs) -> list[float]:
    """1.0 for exactly ``<think>...</think><answer>...</answer>`` with non-empty parts; otherwise
    0.2 per tag of the longest in-order run of the four tags, each present exactly once (0.0 to
    0.8; see :func:`tags_in_order`). Also logs the share of exact matches as ``format_rate`` when
    TRL passes ``log_metric``.

    >>> format_reward(["<think>a</think><answer>b</answer>", "<think>a</think>b", "<think>a</think><answer></answer>",
    ...                "no tags", "<think>\\n<answer>4</answer>"])
    [1.0, 0.4, 0.8, 0.0, 0.2]
    >>> format_reward(["a</think><answer>b</answer>"], prefill=["<think>"])  # the prompt wrote <think>
    [1.0]
    """
    texts = output_texts(completions, kwargs)
    rewards = [1.0 if is_think_format(t) else TAG_CREDIT * tags_in_order(t) for t in texts]
    if texts:
        _log(kwargs, "format_rate", format_rate(texts))
    return [round(r, 6) for r in rewards]


def tags_in_order(text: str) -> int:
    """How many of ``<think>``, ``</think>``, ``<answer>``, ``</answer>`` appear in this order from
    the first one on, each exactly once (0 to 4).

    >>> [tags_in_order(t) for t in ["<think>a</think><answer>b", "<think>a<answer>b</answer>", "a</think>"]]
    [3, 1, 0]
    >>> tags_in_order("<answer>b</answer><think>a</think>")  # <answer> comes before </think>
    2
    """
    end, count = 0, 0
    for tag in _TAGS:
        at = text.find(tag)
        if text.count(tag) != 1 or at < end:
            break
        end, count = at + len(tag), count + 1
    return count


def format_rate(texts: list[str]) -> float:
    """The share of outputs in exact think format.

    >>> format_rate(["<think>a</think><answer>b</answer>", "b"])
    0.5
    """
    return sum(is_think_format(t) for t in texts) / len(texts) if texts else 0.0


def length_reward(completions: list, completion_ids: list | None = None, budget: int = LENGTH_BUDGET,
                  **kwargs) -> list[float]:
    """0.0 for a completion within ``budget``; beyond it ``-(length - budget) / budget``, at least -1.0.

    The length is the number of tokens when ``completion_ids`` are given (TRL passes them), else
    the number of whitespace-separated words.

    >>> length_reward(["one two three", "one two three four five six"], budget=4)
    [0.0, -0.5]
    >>> length_reward(["x"], completion_ids=[[1] * 20], budget=5)
    [-1.0]
    """
    if budget < 1:
        raise ValueError("budget must be at least 1")
    rewards = []
    for i, completion in enumerate(completions):
        n = len(completion_ids[i]) if completion_ids is not None else len(completion_text(completion).split())
        rewards.append(0.0 if n <= budget else max(-1.0, -(n - budget) / budget))
    return rewards


#: reward names accepted by ``--rewards``
REWARDS: dict[str, Callable[..., list]] = {"accuracy": accuracy_reward, "format": format_reward,
                                           "length": length_reward}
