"""Tokens per second of the embedded backend against two baselines.

Work: 32 demo-qa questions x 10 samples x up to 48 new tokens, temperature 1.0, token log-probs kept.
  medtrust   HFBackend.generate over all requests (batched across requests, n samples per call,
             log-probs streamed from the generation logits)
  (a)        one model.generate call per sample, as the semantic-entropy reference code does
             (output_scores + compute_transition_scores, output_hidden_states=True)
  (b)        one raw batched model.generate call over the same work (num_return_sequences=10):
             the engine's own ceiling, no log-probs

Run: .venv/bin/python bench/generation.py [--questions 32] [--samples 10] [--max-tokens 48]
"""

from __future__ import annotations

import argparse
import platform
import time

import torch

from medtrust.data.registry import load_dataset
from medtrust.models.base import GenerationRequest
from medtrust.models.registry import resolve
from medtrust.prompts import sample_messages

INSTRUCTION = "Answer the following question in a single brief but complete sentence."


def new_tokens(sequences, width: int, pad_id: int, eos_ids: set[int]) -> int:
    """Generated tokens up to and including the first end token, per row, summed."""
    total = 0
    for row in sequences[:, width:].tolist():
        n = 0
        for t in row:
            n += 1
            if t in eos_ids or t == pad_id:
                break
        total += n
    return total


def run_medtrust(backend, messages, samples, max_tokens):
    reqs = [GenerationRequest(messages=m, n=samples, temperature=1.0, max_tokens=max_tokens, logprobs=True, seed=0)
            for m in messages]
    start = time.perf_counter()
    outs = backend.generate(reqs)
    seconds = time.perf_counter() - start
    # + 1 per completion that stopped on an end token, so all three methods count the same tokens
    tokens = sum(len(c.token_ids) + (c.finish_reason == "stop") for o in outs for c in o)
    calls = -(-len(reqs) * samples // backend.batch_size)
    return tokens, seconds, f"~{calls}"


def run_per_sample(backend, messages, samples, max_tokens, eos_ids, hidden: bool):
    model, tok = backend.model, backend.tokenizer
    tokens, start = 0, time.perf_counter()
    for m in messages:
        ids = torch.tensor([backend.encode_prompt(m)])
        for _ in range(samples):
            with torch.inference_mode():
                out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_tokens,
                                     do_sample=True, temperature=1.0, top_k=0, return_dict_in_generate=True,
                                     output_scores=True, output_hidden_states=hidden,
                                     pad_token_id=tok.pad_token_id, eos_token_id=list(eos_ids))
                model.compute_transition_scores(out.sequences, out.scores, normalize_logits=True)
            tokens += new_tokens(out.sequences, ids.shape[1], tok.pad_token_id, eos_ids)
    return tokens, time.perf_counter() - start, str(len(messages) * samples)


def run_raw_batched(backend, messages, samples, max_tokens, eos_ids):
    model, tok = backend.model, backend.tokenizer
    texts = [backend.render(m) for m in messages]
    enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False)
    start = time.perf_counter()
    with torch.inference_mode():
        seq = model.generate(**enc, max_new_tokens=max_tokens, do_sample=True, temperature=1.0, top_k=0,
                             num_return_sequences=samples, pad_token_id=tok.pad_token_id, eos_token_id=list(eos_ids))
    seconds = time.perf_counter() - start
    return new_tokens(seq, enc["input_ids"].shape[1], tok.pad_token_id, eos_ids), seconds, "1"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="embedded")
    ap.add_argument("--questions", type=int, default=32)
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--batch-size", type=int, default=None, help="medtrust backend rows per generate call")
    ap.add_argument("--per-sample-questions", type=int, default=None,
                    help="run baseline (a) on only this many questions (it is a rate; default all)")
    args = ap.parse_args()

    kwargs = {"batch_size": args.batch_size} if args.batch_size else {}
    backend = resolve(args.model, **kwargs)
    from medtrust.models.hf_generation import end_token_ids
    eos = set(end_token_ids(backend))
    samples = load_dataset("demo-qa", limit=args.questions)
    messages = [sample_messages(s, INSTRUCTION) for s in samples]
    torch.manual_seed(0)
    backend.generate([GenerationRequest(messages=messages[0], max_tokens=4)])  # warm-up

    rows = {"medtrust HFBackend.generate": run_medtrust(backend, messages, args.samples, args.max_tokens),
            "(b) one raw batched generate": run_raw_batched(backend, messages, args.samples, args.max_tokens, eos)}
    a_msgs = messages[: args.per_sample_questions or len(messages)]
    rows["(a) generate per sample (SE reference)"] = run_per_sample(backend, a_msgs, args.samples,
                                                                    args.max_tokens, eos, hidden=True)
    rate = {k: t / s for k, (t, s, _) in rows.items()}
    ours = rate["medtrust HFBackend.generate"]
    print(f"\nmodel={args.model} device={backend.device} dtype={backend.info()['dtype']} "
          f"batch_size={backend.batch_size} threads={torch.get_num_threads()} "
          f"cpu={platform.processor() or platform.machine()}")
    print(f"work: {len(messages)} questions x {args.samples} samples x <= {args.max_tokens} new tokens, T=1.0\n")
    print("| method | generate calls | tokens | seconds | tokens/s | medtrust speed-up |")
    print("|---|---|---|---|---|---|")
    for name, (tokens, seconds, calls) in rows.items():
        print(f"| {name} | {calls} | {tokens} | {seconds:.1f} | {rate[name]:.1f} | {ours / rate[name]:.2f}x |")


if __name__ == "__main__":
    main()
