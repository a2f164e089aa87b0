"""The GPU path, measured on the model shapes users run (issue 18).

Builds randomly initialised models from configs written here (no weights are downloaded) with the
real shapes of SmolLM2-135M, Qwen2.5-1.5B and Qwen2.5-7B, and a LLaVA-style VLM (a small CLIP
vision tower + the SmolLM2-135M shape), with the embedded tokenizer; bfloat16 on CUDA, float32
on CPU. One table per shape:

  generate      medtrust HFBackend.generate (Q questions x N samples x T tokens, log-probs kept)
                against (b) one raw batched model.generate with the same work and (a) the
                semantic-entropy reference pattern (one generate per sample, scores and hidden
                states kept; timed on fewer questions and reported as a rate)
  hallucination the hallucination pipeline per question (sampling + embedding entailment + the
                estimators that need no further model call)
  loglik        log-likelihood scoring of 200 four-option questions, questions/s
  grpo / sft    5 TRL steps each (LoRA r 16 on all linear layers): seconds per step, peak memory
  share         model FLOPs per token x tokens/s against the card's bf16 peak, and the weight
                bytes read per decode step x steps/s against its memory bandwidth

Random weights never emit an end token, so every row runs to its full token budget in all three
generate methods: like is compared with like, and no row stops early.

    .venv/bin/python bench/gpu.py                      # every shape (a GPU machine)
    .venv/bin/python bench/gpu.py --tiny               # 135M shape, small counts, CPU, < 2 min
    .venv/bin/python bench/gpu.py --shapes qwen2.5-7b --json $OUT/gpu.json
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from generation import run_per_sample, run_raw_batched  # noqa: E402  (bench/generation.py)

from medtrust.models.base import GenerationRequest, LoglikRequest  # noqa: E402
from medtrust.models.hf import HFBackend  # noqa: E402

TEXT_SHAPES = {  # the published config.json values of each model
    "smollm2-135m": ("llama", dict(hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                                   num_attention_heads=9, num_key_value_heads=3, vocab_size=49152,
                                   max_position_embeddings=8192, rope_theta=100000.0, tie_word_embeddings=True)),
    "qwen2.5-1.5b": ("qwen2", dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28,
                                   num_attention_heads=12, num_key_value_heads=2, vocab_size=151936,
                                   max_position_embeddings=32768, rope_theta=1000000.0, tie_word_embeddings=True)),
    "qwen2.5-7b": ("qwen2", dict(hidden_size=3584, intermediate_size=18944, num_hidden_layers=28,
                                 num_attention_heads=28, num_key_value_heads=4, vocab_size=152064,
                                 max_position_embeddings=32768, rope_theta=1000000.0, tie_word_embeddings=False)),
}
VLM_SHAPE = "llava-smollm2-135m"
#: (bf16 dense tensor TFLOP/s, memory TB/s) by a substring of torch.cuda.get_device_name()
CARDS = {"H200": (989.0, 4.8), "H100": (989.0, 3.35), "A100": (312.0, 2.0), "RTX 3090": (71.0, 0.936),
         "RTX 4090": (165.0, 1.0), "L40S": (362.0, 0.864), "L4": (121.0, 0.3), "A10": (125.0, 0.6)}


def tokenizer():
    from transformers import AutoTokenizer

    from medtrust.models.embedded import materialize
    tok = AutoTokenizer.from_pretrained(materialize())
    tok.padding_side = "left"
    return tok


def build_text_model(shape: str, tok, device: str, dtype):
    """A random causal LM of ``shape``, initialised directly on ``device``."""
    from transformers import AutoModelForCausalLM, LlamaConfig, Qwen2Config
    kind, values = TEXT_SHAPES[shape]
    cls = LlamaConfig if kind == "llama" else Qwen2Config
    config = cls(**values, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                 pad_token_id=tok.pad_token_id)
    torch.manual_seed(0)
    with torch.device(device):
        return AutoModelForCausalLM.from_config(config, dtype=dtype).eval()


class BuiltBackend(HFBackend):
    """medtrust's hf backend over a model built in this process (``load`` is the backend's hook)."""

    def __init__(self, model, tok, shape: str, device: str, dtype: str, batch_size: int | None = None):
        self._built = (tok, model)
        super().__init__(f"bench/{shape}", device=device, dtype=dtype, batch_size=batch_size)

    def load(self, *args) -> None:
        from medtrust.models.hf import _neutral_generation_config
        self.tokenizer, self.model = self._built
        _neutral_generation_config(self.model)


def flops_per_token(model) -> float:
    """2 x the parameters of every matrix a token passes through (the output head included, the
    embedding lookup not; attention over the context is left out: short sequences)."""
    cfg = model.config.get_text_config()
    n = sum(p.numel() for name, p in model.named_parameters() if "embed_tokens" not in name)
    if getattr(cfg, "tie_word_embeddings", False):
        n += cfg.vocab_size * cfg.hidden_size
    return 2.0 * n


def weight_bytes(model) -> int:
    return sum(p.numel() * p.element_size() for p in model.parameters())


class Memory:
    """Peak GPU memory of a block (GiB); on CPU, the process's peak resident memory so far."""

    def __enter__(self):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        return self

    def __exit__(self, *exc):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
            self.gib = torch.cuda.max_memory_allocated() / 2**30
        else:
            import resource
            self.gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        return False


def questions(count: int) -> list[list[dict]]:
    from medtrust.data.registry import load_dataset
    from medtrust.prompts import sample_messages
    rows = load_dataset("demo-qa")
    return [sample_messages(rows[i % len(rows)], "Answer in one sentence.") for i in range(count)]


def timed(fn):
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return out, time.perf_counter() - start


def bench_generate(backend, a) -> dict[str, dict]:
    """medtrust vs (b) raw batched vs (a) one generate per sample; every row runs to its budget."""
    msgs = questions(a.questions)
    from medtrust.models.hf_generation import end_token_ids
    eos = set(end_token_ids(backend))  # random weights almost never sample one: rows run to their budget
    backend.generate([GenerationRequest(messages=msgs[0], max_tokens=2)])  # warm-up
    reqs = [GenerationRequest(messages=m, n=a.samples, temperature=1.0, max_tokens=a.tokens, logprobs=True, seed=0)
            for m in msgs]
    with Memory() as mem:
        outs, secs = timed(lambda: backend.generate(reqs))
    tokens = sum(len(c.token_ids) + (c.finish_reason == "stop") for o in outs for c in o)  # counted as (a), (b)
    rows = {"medtrust HFBackend.generate": {"tokens": tokens,
                                            "seconds": secs, "peak_gib": mem.gib}}
    with Memory() as mem:
        tokens, secs, _ = run_raw_batched(backend, msgs, a.samples, a.tokens, eos)
    rows["(b) one raw batched generate"] = {"tokens": tokens, "seconds": secs, "peak_gib": mem.gib}
    with Memory() as mem:
        tokens, secs, _ = run_per_sample(backend, msgs[: a.reference_questions], a.samples, a.tokens, eos, hidden=True)
    rows[f"(a) generate per sample, {a.reference_questions} questions"] = {"tokens": tokens, "seconds": secs,
                                                                           "peak_gib": mem.gib}
    for r in rows.values():
        r["tokens_per_s"] = r["tokens"] / r["seconds"]
    return rows


def bench_hallucination(backend, a) -> dict:
    from hallucination import SE_FAMILY, run_medtrust  # bench/hallucination.py
    from medtrust.data.registry import load_dataset
    samples = load_dataset("demo-qa", limit=a.hallucination_questions)
    with tempfile.TemporaryDirectory() as tmp, Memory() as mem:
        secs = run_medtrust(backend, samples, a.samples, ",".join(SE_FAMILY), "embedding", Path(tmp))
    return {"questions": len(samples), "samples": a.samples, "seconds": secs,
            "seconds_per_question": secs / len(samples), "peak_gib": mem.gib}


def bench_loglik(backend, count: int) -> dict:
    from medtrust.data.registry import load_dataset
    rows = load_dataset("demo-mcq")
    reqs = []
    for i in range(count):
        s = rows[i % len(rows)]
        opts = "\n".join(f"{k}. {v}" for k, v in zip("ABCD", s.choices))
        reqs.append(LoglikRequest(context=f"Question: {s.question}\n{opts}\nAnswer:",
                                  continuations=(" A", " B", " C", " D")))
    with Memory() as mem:
        _, secs = timed(lambda: backend.loglik(reqs))
    return {"questions": count, "seconds": secs, "questions_per_s": count / secs, "peak_gib": mem.gib}


def quiet(trainer) -> None:
    """No progress bar and no printed log lines (the tables say what was measured)."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback
    trainer.args.disable_tqdm = True
    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)


def lora(model):
    from peft import LoraConfig, get_peft_model
    return get_peft_model(model, LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM"))


def bench_grpo(model, tok, a, out: Path) -> dict:
    """5 GRPO steps (TRL) through medtrust's GRPO trainer builder, LoRA, format reward."""
    from medtrust.train.common import TrainableModel
    from medtrust.train.grpo import GRPOOptions, build_trainer, load_prompts
    opts = GRPOOptions(num_generations=4, prompts_per_step=2, max_steps=a.steps, max_completion_length=a.tokens,
                       rewards="format", lora=True, save_steps=10_000, limit=16)
    trainable = TrainableModel(model=lora(model), tokenizer=tok, source_path="", model_string="bench", lora=True)
    trainer = build_trainer(opts, trainable, load_prompts(opts), out / "grpo")
    quiet(trainer)
    with Memory() as mem:
        result = trainer.train()
    trainable.model.unload()
    return {"steps": result.global_step, "seconds_per_step": result.metrics["train_runtime"] / result.global_step,
            "peak_gib": mem.gib, "rows_per_step": opts.prompts_per_step * opts.num_generations}


def bench_sft(model, tok, a, out: Path) -> dict:
    """5 SFT steps (TRL SFTTrainer, prompt-completion rows, completion-only loss), LoRA, batch 8."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from medtrust.data.registry import load_dataset
    rows = [{"prompt": [{"role": "user", "content": s.question}],
             "completion": [{"role": "assistant", "content": str(s.answer)}]} for s in load_dataset("demo-qa")]
    cuda = torch.cuda.is_available()
    args = SFTConfig(output_dir=str(out / "sft"), per_device_train_batch_size=8, max_steps=a.steps, max_length=256,
                     learning_rate=2e-4, logging_steps=1, save_strategy="no", report_to="none", bf16=cuda,
                     use_cpu=not cuda, disable_tqdm=True, completion_only_loss=True, dataloader_num_workers=0)
    peft_model = lora(model)
    trainer = SFTTrainer(model=peft_model, args=args, train_dataset=Dataset.from_list(rows), processing_class=tok)
    quiet(trainer)
    with Memory() as mem:
        result = trainer.train()
    peft_model.unload()
    return {"steps": result.global_step, "seconds_per_step": result.metrics["train_runtime"] / result.global_step,
            "peak_gib": mem.gib, "rows_per_step": 8}


def card() -> tuple[str, float | None, float | None]:
    if not torch.cuda.is_available():
        return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)", None, None
    name = torch.cuda.get_device_name()
    peak = next((v for k, v in CARDS.items() if k in name), (None, None))
    return name, peak[0], peak[1]


def share(model, gen: dict, a, batch_size: int, card_peak: tuple) -> dict:
    """Model FLOPs utilisation and weight-read bandwidth share of medtrust's generate: every chunk of
    ``batch_size`` rows reads all weights once per decode step."""
    ours = gen["medtrust HFBackend.generate"]
    fpt = flops_per_token(model)
    chunks = -(-a.questions * a.samples // batch_size)
    steps_per_s = chunks * a.tokens / ours["seconds"]
    row = {"flops_per_token": fpt, "achieved_tflops": fpt * ours["tokens_per_s"] / 1e12,
           "weight_gib": weight_bytes(model) / 2**30}
    tflops, tbs = card_peak
    if tflops:
        row["flops_share"] = row["achieved_tflops"] / tflops
        row["bandwidth_share"] = weight_bytes(model) * steps_per_s / (tbs * 1e12)
    return row


def print_tables(shape: str, res: dict) -> None:
    print(f"\n### {shape}\n")
    if not torch.cuda.is_available():
        print("(on CPU, 'peak GiB' is the process's peak resident memory so far, not per stage)\n")
    if "generate" in res:
        ours = res["generate"]["medtrust HFBackend.generate"]["tokens_per_s"]
        print("| generate method | tokens | seconds | tokens/s | medtrust speed-up | peak GiB |")
        print("|---|---|---|---|---|---|")
        for name, r in res["generate"].items():
            print(f"| {name} | {r['tokens']} | {r['seconds']:.2f} | {r['tokens_per_s']:.1f} | "
                  f"{ours / r['tokens_per_s']:.2f}x | {r['peak_gib']:.2f} |")
    if "vlm_generate" in res:
        r = res["vlm_generate"]
        print("| VLM generate (image questions) | tokens | seconds | tokens/s | peak GiB |\n|---|---|---|---|---|")
        print(f"| medtrust HFVisionBackend.generate | {r['tokens']} | {r['seconds']:.2f} | "
              f"{r['tokens_per_s']:.1f} | {r['peak_gib']:.2f} |")
    if {"hallucination", "loglik", "grpo", "sft"} & set(res):
        print("\n| stage | work | seconds | rate | peak GiB |\n|---|---|---|---|---|")
    if "hallucination" in res:
        r = res["hallucination"]
        print(f"| hallucination pipeline | {r['questions']} questions x {r['samples']} samples | {r['seconds']:.2f} | "
              f"{r['seconds_per_question']:.3f} s/question | {r['peak_gib']:.2f} |")
    if "loglik" in res:
        r = res["loglik"]
        print(f"| log-likelihood scoring | {r['questions']} four-option questions | {r['seconds']:.2f} | "
              f"{r['questions_per_s']:.1f} questions/s | {r['peak_gib']:.2f} |")
    for key in ("grpo", "sft"):
        if key in res:
            r = res[key]
            print(f"| {key.upper()} (TRL, LoRA) | {r['steps']} steps x {r['rows_per_step']} rows | "
                  f"{r['seconds_per_step'] * r['steps']:.2f} | {r['seconds_per_step']:.2f} s/step | "
                  f"{r['peak_gib']:.2f} |")
    if "share" in res:
        s = res["share"]
        line = (f"\nmodel FLOPs/token {s['flops_per_token'] / 1e9:.2f} GFLOP, weights {s['weight_gib']:.2f} GiB; "
                f"medtrust generate reaches {s['achieved_tflops']:.3f} TFLOP/s")
        if "flops_share" in s:
            line += (f" = {100 * s['flops_share']:.2f}% of the card's bf16 peak; weight reads per decode step "
                     f"use {100 * s['bandwidth_share']:.1f}% of its memory bandwidth")
        print(line)


def run_shape(shape: str, tok, device: str, dtype_name: str, a, out: Path) -> dict:
    dtype = torch.bfloat16 if dtype_name == "bfloat16" else torch.float32
    res: dict = {}
    started = time.perf_counter()
    if shape == VLM_SHAPE:
        with tempfile.TemporaryDirectory() as tmp:
            from gpu_vlm import bench_vlm_generate, build_vlm  # bench/gpu_vlm.py
            backend = build_vlm(Path(tmp), device, dtype_name)
            res["vlm_generate"] = bench_vlm_generate(backend, a)
    else:
        model = build_text_model(shape, tok, device, dtype)
        backend = BuiltBackend(model, tok, shape, device, dtype_name, a.batch_size)
        res["generate"] = bench_generate(backend, a)
        res["share"] = share(model, res["generate"], a, backend.batch_size, card()[1:])
        res["hallucination"] = bench_hallucination(backend, a)
        res["loglik"] = bench_loglik(backend, a.loglik_questions)
        model.train()
        res["grpo"] = bench_grpo(model, tok, a, out)
        res["sft"] = bench_sft(model, tok, a, out)
        del backend, model
    res["total_seconds"] = time.perf_counter() - started
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return res


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tiny", action="store_true", help="135M shape only, small counts (runs on CPU in < 2 min)")
    ap.add_argument("--shapes", default=None, help=f"comma-separated: {', '.join([*TEXT_SHAPES, VLM_SHAPE])}")
    ap.add_argument("--questions", type=int, default=None)
    ap.add_argument("--samples", type=int, default=None)
    ap.add_argument("--tokens", type=int, default=None)
    ap.add_argument("--batch-size", type=int, default=None, help="medtrust backend rows per generate call")
    ap.add_argument("--json", default=None, help="also write every number to this file")
    a = ap.parse_args(argv)
    import warnings

    import transformers
    warnings.filterwarnings("ignore", category=FutureWarning)
    transformers.logging.set_verbosity_error()
    from datasets.utils.logging import disable_progress_bar
    disable_progress_bar()
    small = dict(questions=4, samples=2, tokens=8, reference_questions=2, hallucination_questions=2,
                 loglik_questions=20, steps=2)
    full = dict(questions=32, samples=10, tokens=64, reference_questions=4, hallucination_questions=16,
                loglik_questions=200, steps=5)
    for k, v in (small if a.tiny else full).items():
        if getattr(a, k, None) is None:
            setattr(a, k, v)
    shapes = (a.shapes or ("smollm2-135m" if a.tiny else ",".join([*TEXT_SHAPES, VLM_SHAPE]))).split(",")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype_name = "bfloat16" if device == "cuda" else "float32"
    import trl
    name, _, _ = card()
    meta = {"device": name, "dtype": dtype_name, "torch": torch.__version__, "transformers": transformers.__version__,
            "trl": trl.__version__, "cuda": torch.version.cuda,
            "driver": _driver(), "work": {k: getattr(a, k) for k in full}}
    print(f"device: {name}; {dtype_name}; torch {meta['torch']}, transformers {meta['transformers']}, trl "
          f"{meta['trl']}, CUDA {meta['cuda']}, driver {meta['driver']}")
    print(f"work: {a.questions} questions x {a.samples} samples x {a.tokens} tokens (random weights: every row runs "
          f"to its budget); reference pattern on {a.reference_questions} questions; {a.loglik_questions} "
          f"log-likelihood questions; {a.steps} GRPO and SFT steps")
    tok = tokenizer()
    results = {"meta": meta, "shapes": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for shape in shapes:
            res = run_shape(shape, tok, device, dtype_name, a, Path(tmp))
            results["shapes"][shape] = res
            print_tables(shape, res)
            if a.json:
                Path(a.json).write_text(json.dumps(results, indent=2))
    return results


def _driver() -> str | None:
    import subprocess
    try:
        return subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                              capture_output=True, text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


if __name__ == "__main__":
    main()
