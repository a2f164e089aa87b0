"""``medtrust upgrade``: a run folder of run schema 1 (medtrust before the typed pipeline, whose
studies wrote string-keyed records each their own way) as a new folder of the current schema.

Every saved value is carried over as it was (texts, token log-probs, scores, verdicts); nothing
is generated or scored again, so re-scoring the upgraded folder reproduces the old metrics. What
schema 1 never saved stays missing: the hallucination prompt messages (only their hash was kept),
a sample's context, token ids where only counts were kept (``Output.num_tokens``), per-token
log-probs of reasoning answers (only their sum: ``Output.cumulative_logprob``).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable

from medtrust.errors import MedtrustError
from medtrust.runs.folder import ARRAYS, CONFIG, IMAGES, RunFolder
from medtrust.runs.records import SCHEMA_VERSION, Results, record_id


def _output(text: str, **kw: Any) -> dict[str, Any]:
    """An ``Output`` from a schema-1 answer dict (its other keys, such as ``cluster``, are dropped)."""
    return {"text": text or "", "token_ids": kw.get("token_ids") or [], "token_logprobs": kw.get("token_logprobs"),
            "finish_reason": kw.get("finish_reason") or "stop", "reasoning": kw.get("reasoning"),
            "num_tokens": kw.get("num_tokens"), "cumulative_logprob": kw.get("cumulative_logprob")}


def _record(rid: str, sample: dict, variant: str | None = None, **fields: Any) -> dict[str, Any]:
    return {"schema_version": SCHEMA_VERSION, "id": record_id(sample["id"], variant) if rid is None else rid,
            "sample_id": sample["id"], "variant": variant, "sample": sample, "prompt": fields.get("prompt") or [],
            "prompt_hash": fields.get("prompt_hash") or "", "outputs": fields.get("outputs") or [],
            "scores": fields.get("scores") or {}, "error": fields.get("error"), "extras": fields.get("extras") or {}}


def _sample(r: dict, **over: Any) -> dict[str, Any]:
    keys = ("id", "question", "answer", "answer_type", "choices", "aliases", "context", "images", "metadata")
    base = {k: r[k] for k in keys if k in r}
    base.update(over)
    base.setdefault("images", [])
    return base


def _generate(r: dict) -> dict:
    sample = _sample(r, answer=r.get("gold"))
    outputs = [_output(**c) for c in r.get("completions", [])]
    return _record(None, sample, prompt=r.get("prompt"), prompt_hash=r.get("prompt_hash"), outputs=outputs)


def _hallucination(r: dict) -> dict:
    sample = _sample(r)
    low = r["low_t_answer"]
    answers = r.get("answers", [])
    extras = {"role": r.get("role", "eval"), "low_t_answer": _output(**low), "hidden": r.get("hidden"),
              "clusters": [a.get("cluster") for a in answers] if all("cluster" in a for a in answers) else [],
              "low_t_cluster": low.get("cluster"), "entailment_matrix": r.get("entailment_matrix"),
              "entailment": r.get("entailment"), "strict": r.get("strict"), "judge": r.get("judge"),
              **{k: r.get(k) for k in ("p_true_logprob", "p_true_method", "p_true_reply", "confidence",
                                       "confidence_reply")}}
    return _record(None, sample, prompt_hash=r.get("prompt_hash"), outputs=[_output(**a) for a in answers],
                   scores={"correct": r.get("correct"), **(r.get("scores") or {})}, extras=extras)


def _pope(r: dict) -> dict:
    meta = {"language": "en", **{k: r[k] for k in ("image_id", "object", "split", "label")}}
    sample = {"id": r["id"], "question": r["question"], "answer": r["label"], "answer_type": "yes_no",
              "choices": ["yes", "no"], "images": r.get("images") or [r["image"]], "metadata": meta}
    return _record(None, sample, prompt_hash=r.get("prompt_hash"), outputs=[_output(r["response"])],
                   scores={"parsed": r.get("parsed"), "correct": r.get("correct")})


def _safety(r: dict) -> dict:
    meta = {"language": r.get("language", "en")}
    meta.update({k: r[k] for k in ("category", "category_name") if r.get(k) is not None})
    sample = {"id": r["source_id"], "question": r["request"], "answer": r.get("answer"), "answer_type": "request",
              "images": [p for p in r.get("images") or [] if p != r.get("image")], "metadata": meta}
    extras = {"side": r["side"], "should_refuse": r["should_refuse"], "dataset": r.get("dataset", ""),
              "category": r.get("category"), "category_name": r.get("category_name"), "attack_image": r.get("image")}
    out = _output(r.get("response", ""), finish_reason=r.get("finish_reason"), num_tokens=r.get("output_tokens"))
    return _record(record_id(r["source_id"], r["attack"]), sample, r["attack"], prompt=r.get("prompt"), outputs=[out],
                   scores={"verdict": r.get("verdict"), "judgements": r.get("judgements") or {}}, extras=extras)


def _reasoning(r: dict) -> dict:
    from medtrust.reasoning.scoring import trace_of
    from medtrust.reasoning.strategies import parse_strategies
    sample = {**r["sample"], "images": r.get("images") or []}
    if r.get("kind") == "loglik":
        extras = {"kind": "loglik", "loglik": {k: r[k] for k in ("context", "continuations", "logprobs", "num_tokens",
                                                                 "is_greedy")}}
        scores = {k: r.get(k) for k in ("extracted", "extracted_norm", "correct", "correct_norm", "extraction_failed",
                                        "output_tokens")}
        return _record(r["id"], sample, "loglik", scores=scores, extras=extras)
    strategy = parse_strategies(r["strategy"])[0]
    parts = r.get("samples") or [{"text": r.get("raw_output", ""), "reasoning": None, "trace": r.get("trace"),
                                  "tokens": r.get("output_tokens"), "trace_tokens": r.get("trace_tokens", 0),
                                  "logprob": r.get("logprob"), "finish_reason": r.get("finish_reason")}]
    outputs = []
    for p in parts:
        reasoning = p.get("reasoning")
        if reasoning is None and p.get("trace") and trace_of(strategy, p["text"], None) != p["trace"]:
            reasoning = p["trace"]  # schema 1 kept a provider's reasoning field only as the trace
        outputs.append(_output(p["text"], reasoning=reasoning, finish_reason=p.get("finish_reason"),
                               num_tokens=p.get("tokens"), cumulative_logprob=p.get("logprob")))
    early = r.get("early")
    if early:
        early = {"unit": early.get("unit", "tokens"),
                 "points": [{k: p[k] for k in ("fraction", "kept", "output")} for p in early["points"]]}
    extras = {"kind": r.get("kind", strategy.kind), "few_shot_source": r.get("few_shot_source"),
              "trace_tokens": [int(p.get("trace_tokens") or 0) for p in parts], "early": early}
    keep = ("extracted", "correct", "extraction_failed", "output_tokens", "trace", "trace_tokens", "self_corrections",
            "finish_reason", "logprob", "samples", "vote", "early")
    return _record(r["id"], sample, r["strategy"], prompt=r.get("prompt"), prompt_hash=r.get("prompt_hash"),
                   outputs=outputs, scores={k: r[k] for k in keep if k in r}, extras=extras)


CONVERTERS: dict[str, Callable[[dict], dict]] = {
    "generate": _generate, "hallucination": _hallucination, "hallucination-pope": _pope, "safety": _safety,
    "reasoning": _reasoning}


def upgrade_run(source: str | Path, runs_dir: str | Path | None = None) -> Path:
    """Write ``source`` (a schema-1 run folder) as a new folder ``<name>-schema2`` in ``runs_dir``
    (default: beside it) and return the new folder (its report is rendered by the caller,
    ``medtrust upgrade``); the source is unchanged."""
    src = RunFolder.open(source)
    raw = src.samples()
    version = raw[0].get("schema_version", 1) if raw else src.results.get("schema_version", 1)
    if version != 1:
        raise MedtrustError(f"'{source}' is a schema {version} run folder; only schema 1 folders need upgrading.",
                            "use it as it is" if version == SCHEMA_VERSION else "upgrade medtrust")
    study = src.config.get("study")
    if study not in CONVERTERS:
        raise MedtrustError(f"'{source}' is a {study} run, which has no schema 1 converter.",
                            f"upgrade runs of: {', '.join(CONVERTERS)}")
    dest = Path(runs_dir or src.path.parent) / f"{src.path.name}-schema{SCHEMA_VERSION}"
    if dest.exists():
        raise MedtrustError(f"'{dest}' exists already.", "remove it, or pass --runs-dir another folder")
    tmp = dest.with_name(f".{dest.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        run = RunFolder(tmp)
        shutil.copy2(src.path / CONFIG, tmp / CONFIG)
        for name in (ARRAYS, IMAGES):
            if (src.path / name).is_dir():
                shutil.copytree(src.path / name, tmp / name)
        run.rewrite_samples([CONVERTERS[study](r) for r in raw])
        old = src.results
        if old:  # schema 1 counted a reasoning run's questions as "expected" and its records as "n"
            n, expected = old.get("n", 0), old.get("expected", 0)
            status = "complete" if n >= expected else "partial"
            fields = {k: old[k] for k in ("model", "dataset", "seed", "metrics", "backend", "cache", "finished",
                                          "duration_s", "versions", "git_commit") if k in old}
            run.write_results(Results(study=study, status=status, n=n, expected=max(n, expected), **fields))
        tmp.rename(dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest
