"""Preference pairs for DPO: reading, writing and building them.

**Pairs file** (``--pairs FILE``): JSON Lines, one pair per line::

    {"prompt": "How could a nurse ...?", "chosen": "I'm sorry, but I cannot ...", "rejected": "Sure: ..."}

``prompt`` is the user's request, ``chosen`` the preferred reply (a safe response), ``rejected``
the dispreferred one (a harmful compliance); each a non-empty string. Other keys (``id``,
``judge_label``, ...) are kept but not trained on. An optional ``images`` (a list of image
paths, relative to the pairs file's folder or absolute) makes it an image pair: the images go
with the prompt (vision-language models only). Blank lines are skipped. A malformed line stops
with one DataError that names the file, the line and the fix.

**Built pairs** (``--build-pairs``): the model answers each harmful request of the dataset
itself (greedy); the safety study's judge (default ``keywords``) labels the answers; every
answer judged full compliance becomes ``rejected``, with the dataset's ``safe_response`` as
``chosen``. Requests the model already refuses give no pair. Written to ``pairs.jsonl`` in the
run folder (reusable with ``--pairs``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from medtrust.errors import DataError

FIELDS = ("prompt", "chosen", "rejected")
PAIRS_FILE = "pairs.jsonl"
FIX = ('write one JSON object per line: {"prompt": "<request>", "chosen": "<safe reply>", '
       '"rejected": "<harmful reply>"} (see docs/training.md)')


def read_pairs(path: str | Path) -> list[dict[str, Any]]:
    """Validated pairs from a JSONL file (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"The pairs file '{path}' does not exist.", "check the path given to --pairs, or use "
                        "--build-pairs to make pairs with the model and the safety judge")
    pairs = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{path}, line {n}: not valid JSON ({e.msg}).", FIX) from e
        if not isinstance(row, dict):
            raise DataError(f"{path}, line {n}: expected a JSON object, got {type(row).__name__}.", FIX)
        missing = [f for f in FIELDS if not isinstance(row.get(f), str) or not row[f].strip()]
        if missing:
            raise DataError(f"{path}, line {n}: {', '.join(missing)} missing or not a non-empty string.", FIX)
        if row["chosen"].strip() == row["rejected"].strip():
            raise DataError(f"{path}, line {n}: chosen and rejected are the same text.", FIX)
        if "images" in row:
            row["images"] = _images(row["images"], path, n)
        pairs.append(row)
    if not pairs:
        raise DataError(f"The pairs file '{path}' holds no pairs.", FIX)
    return pairs


def _images(value: Any, path: Path, n: int) -> list[str]:
    """A pair's image paths, resolved against the pairs file's folder; each must exist."""
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise DataError(f"{path}, line {n}: images is not a list of image paths.",
                        'write "images": ["scan.png"] (paths relative to the pairs file) or leave it out')
    out = []
    for v in value:
        file = Path(v).expanduser()
        file = file if file.is_absolute() else path.parent / file
        if not file.is_file():
            raise DataError(f"{path}, line {n}: the image '{v}' does not exist ({file}).",
                            "give image paths relative to the pairs file's folder, or absolute ones")
        out.append(str(file.resolve()))
    return out


def write_pairs(pairs: list[dict[str, Any]], path: str | Path) -> Path:
    path = Path(path)
    path.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pairs), encoding="utf-8")
    return path


def conversational(pair: dict[str, Any]) -> dict[str, list[dict]]:
    """A pair as TRL's conversational preference format (the chat template renders it)."""
    return {"prompt": [{"role": "user", "content": pair["prompt"]}],
            "chosen": [{"role": "assistant", "content": pair["chosen"]}],
            "rejected": [{"role": "assistant", "content": pair["rejected"]}]}


def pairs_from_responses(samples: list, responses: list[str], labels: list[str],
                         need_safe_response: bool = True) -> list[dict[str, Any]]:
    """Pairs for the responses judged full compliance: chosen = the sample's safe response.

    >>> from medtrust.data.schema import Sample
    >>> s = Sample(id="a", question="Q?", answer=None, answer_type="request",
    ...            metadata={"should_refuse": True, "safe_response": "I cannot help."})
    >>> pairs = pairs_from_responses([s, s], ["Sure, do X.", "I'm sorry, no."], ["full_compliance", "full_refusal"])
    >>> [(p["prompt"], p["chosen"], p["rejected"]) for p in pairs]
    [('Q?', 'I cannot help.', 'Sure, do X.')]
    """
    from medtrust.safety.judges.keywords import FULL_COMPLIANCE
    pairs = []
    for s, response, label in zip(samples, responses, labels):
        if label == FULL_COMPLIANCE and response.strip():
            chosen = s.metadata["safe_response"] if need_safe_response else s.metadata.get("safe_response", "")
            pairs.append({"prompt": s.question, "chosen": chosen, "rejected": response.strip(),
                          "id": s.id, "judge_label": label})
    return pairs


def build_pairs(model: str, samples: list, judge: str = "keywords", max_tokens: int = 96,
                cache: bool = True, progress: bool = False,
                image_rows: list[dict] | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Generate with ``model`` on harmful ``samples``, judge, and pair (see the module docstring).
    With ``image_rows`` (``image_rows.harmful_image_rows`` of the samples, absolute image paths) the
    model is asked with each row's image and prompt, and a pair keeps them, with the row's target as
    ``chosen``; the judge reads the request as text. Returns the pairs and counts
    ``{requests, complied, refused, pairs, judge}``."""
    from medtrust.models.base import GenerationRequest
    from medtrust.models.open import open_model
    from medtrust.safety.judges.base import JudgeItem, make_judges, refusal_judge, split_judges
    names = split_judges(judge)
    if progress:
        print(f"medtrust: answering {len(samples)} harmful requests with {model} to build pairs...", flush=True)
    backend = open_model(model, purpose="Building DPO pairs", cache=cache)
    messages = [[{"role": "user", "content": s.question}] for s in samples]
    if image_rows is not None:
        messages = [[{"role": "user", "content": [*({"type": "image", "image": p} for p in r["images"]),
                                                  {"type": "text", "text": r["prompt"][0]["content"]}]}]
                    for r in image_rows]
    outs = backend.generate([GenerationRequest(messages=m, n=1, temperature=0.0, max_tokens=max_tokens)
                             for m in messages])
    responses = [o[0].text for o in outs]
    items = [JudgeItem(request=s.question, response=r, should_refuse=True, dataset="train")
             for s, r in zip(samples, responses)]
    by_name = {j.name: j for j in make_judges(names, cache=cache, generator=backend, generator_model=model)}
    labels = [v["label"] for v in by_name[refusal_judge(names)].judge(items)]
    pairs = pairs_from_responses(samples, responses, labels, need_safe_response=image_rows is None)
    if image_rows is not None:
        by_id = {r["id"]: r for r in image_rows}
        pairs = [{**p, "prompt": by_id[p["id"]]["prompt"][0]["content"], "images": by_id[p["id"]]["images"],
                  "chosen": by_id[p["id"]]["completion"][0]["content"]} for p in pairs]
    stats = {"requests": len(samples), "complied": sum(lbl == "full_compliance" for lbl in labels),
             "refused": sum(lbl != "full_compliance" for lbl in labels), "pairs": len(pairs),
             "judge": refusal_judge(names)}
    if not pairs:
        raise DataError(f"The model refused all {len(samples)} requests (judge {stats['judge']}): no rejected "
                        "answers to build pairs from.", "use --pairs FILE with rejected answers written elsewhere")
    return pairs, stats
