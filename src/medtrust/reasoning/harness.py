"""Log-likelihood scoring of multiple-choice questions the way lm-evaluation-harness does it.

The prompts copy the harness's task configs (lm-eval 0.4.x, ``lm_eval/tasks``):

- ``medqa_4options``: "Question: {q}\\nA. {a}\\nB. ...\\nAnswer:"; choices " A".." D"; acc, acc_norm
- ``medmcqa``: "Question: {q}\\nChoices:\\nA. {a}\\n...\\nAnswer:"; choices " A".." D"; acc, acc_norm
- ``mmlu_<subject>``: "The following are multiple choice questions (with answers) about {subject}.\\n\\n"
  "{q.strip()}\\nA. {a}\\n...\\nAnswer:"; choices " A".." D"; acc
- ``pubmedqa``: "Abstract: {contexts joined by newlines}\\nQuestion: {q}\\nAnswer:"; choices
  " yes", " no", " maybe"; acc

The continuation is the harness's target delimiter (a space) plus the choice. ``acc`` takes the
choice with the highest summed log-probability, ``acc_norm`` divides it by the choice's length in
characters first (the harness's ``len(choice)``, delimiter excluded). Other multiple-choice and
yes/no datasets use the MedQA / PubMedQA layouts.
"""

from __future__ import annotations

import numpy as np

from medtrust.data.schema import LETTERS, Sample
from medtrust.errors import MedtrustError

TARGET_DELIMITER = " "


def abstract_text(context: str, labels: list[str] | None = None) -> str:
    r"""PubMedQA's abstract as the harness shows it: the sections joined by newlines, without the
    "BACKGROUND: " style labels the medtrust loader puts before them (``metadata["section_labels"]``).

    >>> abstract_text("AIMS: To test.\nRESULTS: It works.", ["AIMS", "RESULTS"])
    'To test.\nIt works.'
    """
    if not labels:
        return context
    sections, rest = [], context
    for i, label in enumerate(labels):
        head = f"{label}: "
        if not rest.startswith(head):
            return context  # not the loader's layout: leave it as it is
        rest = rest[len(head):]
        nxt = rest.find(f"\n{labels[i + 1]}: ") if i + 1 < len(labels) else len(rest)
        if nxt < 0:
            return context
        sections.append(rest[:nxt])
        rest = rest[nxt + 1:]
    return "\n".join(sections)


def _options(sample: Sample) -> str:
    return "".join(f"{LETTERS[i]}. {c}\n" for i, c in enumerate(sample.choices or []))


def harness_request(sample: Sample, task: str | None) -> tuple[str, list[str]]:
    """(context, choices) of a sample in its harness task's format (``DatasetSpec.harness_task``:
    "mmlu", "medmcqa", else MedQA's / PubMedQA's layout); continuations are ``TARGET_DELIMITER + choice``."""
    kind = sample.answer_type
    if kind == "mcq" and sample.choices:
        letters = list(LETTERS[:len(sample.choices)])
        if task == "mmlu":
            subject = str(sample.metadata.get("subject", "")).replace("_", " ")
            context = (f"The following are multiple choice questions (with answers) about {subject}.\n\n"
                       f"{sample.question.strip()}\n{_options(sample)}Answer:")
        elif task == "medmcqa":
            context = f"Question: {sample.question}\nChoices:\n{_options(sample)}Answer:"
        else:
            context = f"Question: {sample.question}\n{_options(sample)}Answer:"
        return context, letters
    if kind in ("yes_no_maybe", "yes_no"):
        choices = ["yes", "no", "maybe"] if kind == "yes_no_maybe" else ["yes", "no"]
        abstract = (f"Abstract: {abstract_text(sample.context, sample.metadata.get('section_labels'))}\n"
                    if sample.context else "")
        return f"{abstract}Question: {sample.question}\nAnswer:", choices
    raise MedtrustError(f"Sample '{sample.id}' is a {kind} question; --scoring loglik scores only multiple-choice "
                        "and yes/no/maybe questions.", "use --scoring generate for this dataset")


def pick(logprobs: list[float], choices: list[str]) -> tuple[int, int]:
    """(acc prediction, acc_norm prediction) as indices, with the harness's arg-max (first on ties)."""
    lls = np.asarray(logprobs, dtype=float)
    lengths = np.asarray([float(len(c)) for c in choices])
    return int(np.argmax(lls)), int(np.argmax(lls / lengths))


def gold_index(sample: Sample, choices: list[str]) -> int:
    if sample.answer_type == "mcq":
        return LETTERS.index(str(sample.answer))
    return choices.index(str(sample.answer).lower())
