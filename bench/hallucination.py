"""Seconds per question of the hallucination pipeline (sampling, clustering, estimators) on the
embedded model, 32 demo-qa questions, N=10, against two baselines:

  medtrust  HallucinationStudy.process over batches of 16 questions: one generate call for the
            low-T answers and samples of the batch, entailment batched over the batch, every
            estimator. "SE family": the estimators that need no further model call (as the
            baselines); "all": also P(True), verbalised confidence and hidden states.
  (a)       the semantic-entropy reference code's pattern with the same models: 11 separate
            model.generate calls per question (output_scores, output_hidden_states,
            compute_transition_scores, a text stopping criterion), then get_semantic_ids asking the
            entailment model one pair and one direction at a time (here the embedded sentence
            embedder, each check embedding its two texts), then semantic entropy.
  (b)       LM-Polygraph 0.7.0's SemanticEntropy (UEManager, its default stat calculators) in its
            own venv, same generator folder and prompts; its NLI model must be a local folder, so
            both it and medtrust (--entailment nli/<folder>) use bench/tiny_nli.py's randomly
            initialised MiniLM-sized DeBERTa (no MNLI weights can be fetched offline). medtrust
            is timed twice: the SE family (eigenvalue and uqlm need every ordered pair) and
            semantic entropy alone, as (b) computes (strict clustering asks a pair's second
            direction only when the first entails).

Same semantic entropy as (a) given the same samples: (a)'s samples and log-probs are scored by
medtrust's scoring code and by (a)'s, and the largest difference is printed.

Run: .venv/bin/python bench/hallucination.py [--questions 32] [--samples 10] [--skip-b]
     (LMPOLY_PYTHON names the venv python for (b); default /tmp/lmpoly-venv/bin/python)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from medtrust.data.registry import load_dataset
from medtrust.hallucination import prompts as P
from medtrust.hallucination.entailment import EMBEDDING_THRESHOLD, resolve_entailment
from medtrust.hallucination.scoring import score_records
from medtrust.hallucination.study import HallucinationConfig, HallucinationStudy
from medtrust.models.registry import resolve
from medtrust.runs.folder import RunFolder

SE_FAMILY = ["semantic_entropy", "discrete_semantic_entropy", "naive_entropy", "max_sequence_prob", "perplexity",
             "lexical_similarity", "num_clusters", "eigenvalue", "semantic_entropy_lmpolygraph",
             "semantic_entropy_uqlm"]
MAX_TOKENS = 32


def run_medtrust(backend, samples, n, estimators, entailment, tmp) -> float:
    """The study's generate (batch by batch) and score (over the run), as the pipeline runs them."""
    from medtrust.pipeline import batches, expand
    from medtrust.studies import Context
    cfg = HallucinationConfig(model="embedded", dataset="demo-qa", samples=n, max_tokens=MAX_TOKENS,
                              estimators=estimators, entailment=entailment, runs_dir=str(tmp), cache=False)
    study = HallucinationStudy()
    run = RunFolder.create(tmp, "hallucination", "embedded", cfg.model_dump())
    ctx = Context(cfg, run, study.resolve(cfg, backend))  # loading the entailment model is not timed
    ctx.components["entailment"].cache.clear()  # nor reused: every run embeds / classifies its own texts
    start = time.perf_counter()
    records = []
    for batch in batches(expand(samples, study.variants(cfg)), cfg.batch_size):
        records += study.generate(backend, batch, ctx)
    study.score(records, ctx)
    return time.perf_counter() - start


# ------------------------------------------------------------------- (a) the reference pattern
class StopOnNewline:
    """The reference StoppingCriteriaSub: decode the generated part every step, stop at a stop string."""

    def __init__(self, tok, start):
        self.tok, self.start = tok, start

    def __call__(self, input_ids, scores, **kwargs):
        return "\n" in self.tok.decode(input_ids[0][self.start:], skip_special_tokens=False)


def reference_predict(backend, prompt_ids, temperature):
    """One answer the way HuggingfaceModel.predict makes it: sampled, scores and hidden states kept."""
    from transformers import StoppingCriteriaList
    model, tok = backend.model, backend.tokenizer
    inputs = torch.tensor([prompt_ids])
    with torch.no_grad():
        out = model.generate(input_ids=inputs, attention_mask=torch.ones_like(inputs), max_new_tokens=MAX_TOKENS,
                             return_dict_in_generate=True, output_scores=True, output_hidden_states=True,
                             temperature=temperature, do_sample=True, top_k=0, pad_token_id=tok.eos_token_id,
                             stopping_criteria=StoppingCriteriaList([StopOnNewline(tok, inputs.shape[1])]))
    new = out.sequences[0, inputs.shape[1]:].tolist()
    scores = model.compute_transition_scores(out.sequences, out.scores, normalize_logits=True)[0].tolist()
    ends = {tok.eos_token_id}
    n = next((i for i, t in enumerate(new) if t in ends), len(new))
    text = tok.decode(new[:n], skip_special_tokens=True)
    cut = text.find("\n")
    if cut >= 0:
        text = text[:cut]
        n = max(1, len(tok(text, add_special_tokens=False)["input_ids"]))
    return text.strip(), scores[:max(n, 1)]


def reference_check(embedder, a, b, threshold):
    """check_implication with the sentence embedder: both texts embedded on every call."""
    va = embedder.encode([a], normalize_embeddings=True)[0]
    vb = embedder.encode([b], normalize_embeddings=True)[0]
    return 2 if float(va @ vb) >= threshold else 1


def reference_semantic_ids(texts, embedder, threshold):
    ids, next_id = [-1] * len(texts), 0
    for i in range(len(texts)):
        if ids[i] == -1:
            ids[i] = next_id
            for j in range(i + 1, len(texts)):
                if (reference_check(embedder, texts[i], texts[j], threshold) == 2
                        and reference_check(embedder, texts[j], texts[i], threshold) == 2):
                    ids[j] = next_id
            next_id += 1
    return ids


def reference_entropy(ids, logliks):
    """logsumexp_by_id(sum_normalized) + predictive_entropy_rao, written out."""
    norm = np.log(np.sum(np.exp(logliks)))
    per = [np.log(np.sum(np.exp(np.array([logliks[k] for k in range(len(ids)) if ids[k] == c]) - norm)))
           for c in sorted(set(ids))]
    return float(-np.sum(np.exp(per) * np.array(per)))


def run_reference(backend, samples, n):
    from medtrust.models.embedded import sentence_embedder
    embedder = sentence_embedder()
    torch.manual_seed(0)
    out, start = [], time.perf_counter()
    for s in samples:
        ids = backend.encode_prompt(P.answer_messages(s))
        low = reference_predict(backend, ids, 0.1)
        answers = [reference_predict(backend, ids, 1.0) for _ in range(n)]
        sem = reference_semantic_ids([a for a, _ in answers], embedder, EMBEDDING_THRESHOLD)
        lls = [float(np.mean(lp)) for _, lp in answers]
        out.append({"sample": s, "low": low, "answers": answers, "ids": sem, "se": reference_entropy(sem, lls)})
    return time.perf_counter() - start, out


def same_values(reference_out) -> tuple[float, int]:
    """Score (a)'s samples with medtrust's code; the largest |SE difference| and cluster mismatches."""
    from medtrust.hallucination.study import HallucinationExtras, HallucinationRecord
    from medtrust.runs.records import Output
    records = [HallucinationRecord(id=r["sample"].id, sample_id=r["sample"].id, sample=r["sample"],
                                   outputs=[Output(text=t, token_logprobs=lp) for t, lp in r["answers"]],
                                   extras=HallucinationExtras(low_t_answer=Output(text=r["low"][0],
                                                                                  token_logprobs=r["low"][1])))
               for r in reference_out]
    score_records(records, resolve_entailment("embedding"), estimators=["semantic_entropy"])
    diffs = [abs(rec.scores["semantic_entropy"] - r["se"]) for rec, r in zip(records, reference_out)]
    mismatched = sum(rec.extras.clusters != r["ids"] for rec, r in zip(records, reference_out))
    return max(diffs), mismatched


# ------------------------------------------------------------------------ (b) LM-Polygraph
def run_lmpolygraph(backend, samples, n, nli_dir):
    python = os.environ.get("LMPOLY_PYTHON", "/tmp/lmpoly-venv/bin/python")
    if not Path(python).exists():
        return None, f"no LM-Polygraph venv at {python}"
    from medtrust.models.embedded import materialize
    job = {"model": str(materialize()), "nli": str(nli_dir), "samples": n, "max_new_tokens": MAX_TOKENS,
           "batch_size": 16, "prompts": [backend.render(P.answer_messages(s)) for s in samples]}
    proc = subprocess.run([python, str(Path(__file__).with_name("lmpolygraph_semantic_entropy.py"))],
                          input=json.dumps(job), capture_output=True, text=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if proc.returncode != 0:
        return None, proc.stderr.strip().splitlines()[-1]
    return json.loads(proc.stdout.strip().splitlines()[-1])["seconds"], ""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", type=int, default=32)
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--skip-a", action="store_true")
    ap.add_argument("--skip-b", action="store_true")
    args = ap.parse_args()
    backend = resolve("embedded")
    samples = load_dataset("demo-qa", limit=args.questions)
    q = len(samples)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"{q} demo-qa questions, N={args.samples}, <= {MAX_TOKENS} new tokens, "
          f"load average at start {os.getloadavg()[0]:.2f}", flush=True)
    print("| pipeline | seconds | s / question |\n|---|---|---|", flush=True)

    def row(name, t):
        print(f"| {name} | {'not run' if t is None else f'{t:.1f}'} | {'' if t is None else f'{t / q:.2f}'} |",
              flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        t_se = run_medtrust(backend, samples, args.samples, SE_FAMILY, "embedding", Path(tmp))
        row("medtrust, SE family, embedding", t_se)
        t_all = run_medtrust(backend, samples, args.samples, None, "embedding", Path(tmp))
        row("medtrust, all estimators, embedding", t_all)
        if not args.skip_a:
            t_a, ref = run_reference(backend, samples, args.samples)
            row("(a) reference pattern, embedding", t_a)
            diff, mismatched = same_values(ref)
            print(f"speed-up over (a): {t_a / t_se:.1f}x (SE family), {t_a / t_all:.1f}x (all estimators)")
            print(f"same samples, medtrust vs (a): max |SE difference| {diff:.2e}, questions with other "
                  f"clusters {mismatched} of {q}", flush=True)
        if not args.skip_b:
            sys.path.insert(0, str(Path(__file__).parent))
            from tiny_nli import build
            nli = build(Path(tmp) / "nli")
            t_family = run_medtrust(backend, samples, args.samples, SE_FAMILY, f"nli/{nli}", Path(tmp))
            row("medtrust, SE family, tiny NLI", t_family)
            t_nli = run_medtrust(backend, samples, args.samples, ["semantic_entropy"], f"nli/{nli}", Path(tmp))
            row("medtrust, semantic entropy (as (b)), tiny NLI", t_nli)
            t_b, why = run_lmpolygraph(backend, samples, args.samples, nli)
            row("(b) LM-Polygraph 0.7.0 SemanticEntropy, tiny NLI", t_b)
            print(f"speed-up over (b): {t_b / t_nli:.1f}x (semantic entropy alone, as (b)), {t_b / t_family:.1f}x "
                  f"(SE family: eigenvalue and uqlm need every pair)" if t_b else f"(b) not run: {why}")
    print(f"load average at the end {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
