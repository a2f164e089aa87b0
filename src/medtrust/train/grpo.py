"""R1-style GRPO with verifiable medical rewards: a thin wrapper over TRL's GRPOTrainer.

Prompts are the reasoning study's ``think`` strategy (``<think>...</think><answer>...</answer>``,
built by ``medtrust.reasoning.strategies``, so training and evaluation ask the same way); rewards
come from ``medtrust.reasoning.rewards`` (accuracy graded like the study, format, length). Every
logged step (reward, rewards/<name>, kl, completion lengths, format_rate) lands in the run's
``trainer_log.jsonl``; the trained model is saved to ``<run>/model`` and loads as ``hf/<path>``.

TRL 1.16 rebuilds the reference model from ``model.config._name_or_path`` when ``beta > 0``, so the
policy is loaded from a folder (``embedded`` -> its materialized safetensors folder) and that
name is pinned to the folder before the trainer is built.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Callable

from pydantic import BaseModel, ConfigDict, Field, field_validator

from medtrust.config import cli_field
from medtrust.data.schema import Sample
from medtrust.errors import DataError, MedtrustError, missing_extra
from medtrust.reasoning.rewards import (
    REWARDS,
    VERIFIABLE_TYPES,
    format_reward,
    grading_columns,
    length_reward,
)
from medtrust.reasoning.strategies import Strategy, build_messages

THINK = Strategy("think", "think")
VERIFIABLE_DATASETS = "demo-calc, medcalc, medqa, medmcqa, pubmedqa, mmlu-medical, demo-mcq, demo-qa"


class GRPOOptions(BaseModel):
    """Everything a GRPO run needs (saved as the run's config.json)."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model: str = Field(default="embedded", description="embedded or hf/<hub id or local folder>",
                       json_schema_extra=cli_field("-m"))
    dataset: str = Field(default="demo-calc", description="a dataset with verifiable answers: " + VERIFIABLE_DATASETS,
                         json_schema_extra=cli_field("-d"))
    data_path: str | None = Field(default=None, description="local folder/file in the upstream format")
    split: str | None = Field(default=None, description="training split (default: the dataset's train, dev or val "
                              "split when it has one, else its default)")
    limit: int | None = Field(default=None, ge=1, description="use the first N training rows")
    lang: str = Field(default="en", description="en or zh (prompts; built-in sets)")
    rewards: str = Field(default="accuracy,format", description="comma-separated: accuracy, format, length")
    reward_weights: list[float] | None = Field(default=None, description="one weight per reward, e.g. 1,0.5 "
                                               "(default 1 each)")
    length_budget: int | None = Field(default=None, description="tokens before the length reward penalises "
                                      "(default 3/4 of --max-completion-length)")
    num_generations: int = Field(default=4, description="completions per prompt, the GRPO group")
    prompts_per_step: int = Field(default=1, description="prompts per device and optimizer step")
    max_steps: int = Field(default=50, description="optimizer steps")
    max_completion_length: int = Field(default=128, description="new tokens per completion")
    temperature: float = Field(default=1.0, description="sampling temperature")
    prefill: str = Field(default="", description="text that starts the model's turn, e.g. '<think>\\n' (R1-Zero "
                         "template; a literal \\n is a newline); the rewards read it as part of the output")
    beta: float = Field(default=0.0, description="KL coefficient; > 0 loads a reference model")
    lr: float = Field(default=1e-5, description="learning rate")
    warmup_steps: int = Field(default=0, description="cold start: SFT steps on think-format answers built from the "
                              "rows' explanations / formulas before GRPO")
    warmup_lr: float = Field(default=1e-4, description="learning rate of the cold start")
    lora: bool = Field(default=False, description="train LoRA adapters (PEFT), merged when saved")
    use_vllm: bool = Field(default=False, description="generate with vLLM (extra 'vllm')",
                           json_schema_extra=cli_field(flag="--use-vllm/--no-vllm"))
    vllm_mode: str = Field(default="colocate", description="server (a `trl vllm-serve` process) or colocate")
    vllm_server_base_url: str | None = Field(default=None, description="server mode: e.g. http://host:8000")
    save_steps: int = Field(default=50, description="checkpoint every N steps")
    keep_checkpoints: bool = Field(default=False, description="keep checkpoints/ after saving the model",
                                   json_schema_extra=cli_field(flag="--keep-checkpoints/--drop-checkpoints"))
    seed: int = Field(default=0, description="seed for data order, sampling and training")
    out: str | None = Field(default=None, description="run folder (default runs/<time>_train-grpo_...)")
    runs_dir: str = Field(default="runs", description="where run folders are created")
    eval: bool = Field(default=False, description="reasoning study (think, direct) before and after: accuracy and "
                       "format rate")
    eval_split: str | None = Field(default=None, description="split of --eval (default the dataset's own)")
    eval_limit: int | None = Field(default=50, description="questions of --eval")
    extra: dict[str, Any] = Field(default_factory=dict, description="further GRPOConfig fields, passed as they are",
                                  json_schema_extra=cli_field(hidden=True))

    @field_validator("reward_weights", mode="before")
    @classmethod
    def _weights(cls, value):
        """``"1,0.5"`` -> [1.0, 0.5]."""
        if isinstance(value, str):
            try:
                return [float(x) for x in value.split(",") if x.strip()]
            except ValueError:
                raise ValueError(f"'{value}' is not a comma-separated list of numbers") from None
        return value

    @field_validator("prefill")
    @classmethod
    def _newlines(cls, value: str) -> str:
        """A literal ``\\n`` typed on a command line is a newline (``--prefill '<think>\\n'``)."""
        return value.replace("\\n", "\n")

    def reward_names(self) -> list[str]:
        """The --rewards names, checked (one clear error for an unknown one)."""
        names = [n.strip().lower() for n in self.rewards.split(",") if n.strip()]
        unknown = [n for n in names if n not in REWARDS]
        if unknown or not names:
            raise MedtrustError(f"Unknown reward '{', '.join(unknown) or self.rewards}'.",
                                f"use a comma-separated list of: {', '.join(REWARDS)} (e.g. --rewards accuracy,format)")
        return list(dict.fromkeys(names))

    def check(self) -> None:
        """One clear error for options TRL would reject later with a stack trace."""
        names = self.reward_names()
        if self.num_generations < 2:
            raise MedtrustError("GRPO needs at least 2 generations per prompt (advantages are relative to the group).",
                                "pass --num-generations 2 or more")
        for name, value in (("--max-steps", self.max_steps), ("--max-completion-length", self.max_completion_length),
                            ("--prompts-per-step", self.prompts_per_step), ("--save-steps", self.save_steps)):
            if value < 1:
                raise MedtrustError(f"{name} must be at least 1 (got {value}).", f"pass {name} 1 or more")
        if self.warmup_steps < 0 or self.warmup_lr <= 0:
            raise MedtrustError("--warmup-steps must be >= 0 and --warmup-lr > 0.",
                                "e.g. --warmup-steps 20 --warmup-lr 1e-4")
        if self.beta < 0 or self.lr <= 0:
            raise MedtrustError("--beta must be >= 0 and --lr > 0.", "e.g. --beta 0.04 --lr 1e-5")
        if self.reward_weights is not None and len(self.reward_weights) != len(names):
            raise MedtrustError(f"{len(self.reward_weights)} reward weights for {len(names)} rewards "
                                f"({', '.join(names)}).",
                                "give one weight per reward, in the order of --rewards")
        if self.vllm_mode not in ("server", "colocate"):
            raise MedtrustError(f"Unknown --vllm-mode '{self.vllm_mode}'.", "use server or colocate")


# ------------------------------------------------------------------------------------ data
def verifiable(sample: Sample) -> bool:
    """Whether a reward can check the sample's answer without a judge."""
    return sample.answer is not None and sample.answer_type in VERIFIABLE_TYPES


def training_split(dataset: str, split: str | None) -> str:
    """``split``, else the dataset's training split (train, dev or val) when it has one, else its default."""
    from medtrust.data.registry import get_spec
    if split:
        return split
    spec = get_spec(dataset)
    return spec.example_split() or spec.default_split


def load_prompts(opts: GRPOOptions) -> list[Sample]:
    """The training rows with verifiable answers (one DataError when there are none)."""
    from medtrust.data.registry import load_dataset
    rows = load_dataset(opts.dataset, path=opts.data_path, split=training_split(opts.dataset, opts.split),
                        limit=opts.limit, seed=opts.seed, lang=opts.lang)
    kept = [s for s in rows if verifiable(s)]
    if not kept and "accuracy" in opts.reward_names():
        types = sorted({s.answer_type for s in rows})
        raise DataError(f"Dataset '{opts.dataset}' has no rows with verifiable answers (answer types: "
                        f"{', '.join(types)}), so the accuracy reward cannot score them.",
                        f"use a dataset with gold answers ({VERIFIABLE_DATASETS}) or --rewards format")
    return kept or rows


def think_messages(sample: Sample, lang: str = "en") -> list[dict]:
    """The reasoning study's think prompt for one row (text only), as GRPO and its cold start ask it."""
    return build_messages(sample.model_copy(update={"images": []}), THINK, lang)


def grpo_rows(samples: list[Sample], lang: str = "en", prefill: str = "", tokenizer=None) -> list[dict[str, Any]]:
    """GRPO rows: ``prompt`` (the think strategy's messages), ``id``, ``prefill`` and the grading
    columns the accuracy reward reads. With a ``prefill`` the prompt is the chat-templated text
    (``tokenizer``) followed by the prefill, so every completion continues it (R1-Zero's
    "Assistant: <think>"); the rewards put the prefill back in front of the completion.

    >>> s = Sample(id="q1", question="2+2?", answer="4", answer_type="numeric", metadata={"lower": 4, "upper": 4})
    >>> row = grpo_rows([s])[0]
    >>> row["prompt"][0]["content"].endswith("inside <answer></answer> tags.")
    True
    >>> (row["answer"], row["answer_type"], row["lower"], row["upper"], row["prefill"])
    ('4', 'numeric', 4.0, 4.0, '')
    """
    if prefill and tokenizer is None:
        raise ValueError("a prefill needs the tokenizer whose chat template builds the prompt text")
    rows = []
    for s in samples:
        prompt: Any = think_messages(s, lang)
        if prefill:
            prompt = tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True) + prefill
        rows.append({"prompt": prompt, "id": s.id, "prefill": prefill, **grading_columns(s)})
    return rows


# --------------------------------------------------------------------------------- rewards
def reward_functions(opts: GRPOOptions) -> tuple[list[Callable], list[float]]:
    """The reward callables and their weights. The format reward is always computed (weight 0
    when not chosen) so the format rate is logged in every run."""
    names = opts.reward_names()
    weights = list(opts.reward_weights) if opts.reward_weights is not None else [1.0] * len(names)
    budget = opts.length_budget or max(1, opts.max_completion_length * 3 // 4)
    funcs: list[Callable] = []
    for name in names:
        func = REWARDS[name]
        if func is length_reward:
            func = functools.partial(length_reward, budget=budget)
        funcs.append(func)
    if "format" not in names:
        funcs.append(format_reward)
        weights.append(0.0)
    return funcs, weights


# --------------------------------------------------------------------------------- trainer
def require_vllm(opts: GRPOOptions) -> None:
    """With --use-vllm, vllm must be importable (the optional ``vllm`` extra)."""
    import importlib.util
    if opts.use_vllm and importlib.util.find_spec("vllm") is None:
        raise missing_extra("vllm", "vllm", "GRPO with --use-vllm")


def grpo_config(opts: GRPOOptions, output_dir: Path | str):
    """TRL's GRPOConfig for the options (bf16 and gradient checkpointing only on a GPU)."""
    import torch
    from trl import GRPOConfig

    from medtrust.train.common import use_bf16
    _, weights = reward_functions(opts)
    cuda = torch.cuda.is_available()
    kwargs: dict[str, Any] = dict(
        output_dir=str(output_dir), max_steps=opts.max_steps, learning_rate=opts.lr, beta=opts.beta,
        num_generations=opts.num_generations, per_device_train_batch_size=opts.prompts_per_step * opts.num_generations,
        max_completion_length=opts.max_completion_length, temperature=opts.temperature, reward_weights=weights,
        logging_steps=1, save_strategy="steps", save_steps=opts.save_steps, save_total_limit=1, report_to="none",
        seed=opts.seed, bf16=use_bf16(), gradient_checkpointing=cuda,
        use_vllm=opts.use_vllm, vllm_mode=opts.vllm_mode, disable_tqdm=False)
    if opts.vllm_server_base_url:
        kwargs["vllm_server_base_url"] = opts.vllm_server_base_url
    kwargs.update(opts.extra)
    return GRPOConfig(**kwargs)


def build_trainer(opts: GRPOOptions, trainable, samples: list[Sample], output_dir: Path | str,
                  callbacks: list | None = None, reward_funcs: list[Callable] | None = None):
    """A GRPOTrainer on ``trainable`` (a common.TrainableModel) and the think-format prompts.
    ``reward_funcs`` replaces the --rewards functions (tests use it for a reward that varies)."""
    from datasets import Dataset
    from trl import GRPOTrainer
    model = trainable.model
    if opts.beta > 0 and not trainable.lora:
        # TRL rebuilds the reference model from this name: make it the folder the weights came from
        model.config._name_or_path = str(trainable.source_path)
    funcs = reward_funcs or reward_functions(opts)[0]
    args = grpo_config(opts, output_dir)
    if reward_funcs is not None:
        args.reward_weights = None
    trainable.tokenizer.padding_side = "left"
    return GRPOTrainer(model=model, reward_funcs=funcs, args=args,
                       train_dataset=Dataset.from_list(grpo_rows(samples, opts.lang, opts.prefill,
                                                                 trainable.tokenizer)),
                       processing_class=trainable.tokenizer, callbacks=callbacks or [])


def train_grpo(opts: GRPOOptions, resume: str | None = None, progress: bool = True):
    """Run GRPO end to end: run folder, model, trainer, save the model to ``<run>/model``, ``--eval``
    (the reasoning study before/after) and report.html. Returns the TrainingRun."""
    from medtrust.train.common import (
        JsonlLogCallback,
        load_for_training,
        open_training_run,
        remove_checkpoints,
        require_train_extra,
        run_trainer,
        save_trained,
    )
    from medtrust.train.grpo_report import evaluate_grpo, write_grpo_report
    opts.check()
    require_train_extra("medtrust train grpo")
    require_vllm(opts)
    samples = load_prompts(opts)
    from accelerate import PartialState
    state = PartialState()
    if state.num_processes > 1 and not (resume or opts.out):
        raise MedtrustError("Several processes (accelerate launch) need one shared run folder.",
                            "pass --out DIR (the same folder for every process)")
    with state.main_process_first():  # the main process creates the folder, the others reopen it
        run = open_training_run("grpo", opts.model_dump(), resume or opts.out, opts.runs_dir)
    if state.is_main_process:
        run.write_json("data_summary.json", {"rows": len(samples), "split": training_split(opts.dataset, opts.split)})
    trainable = load_for_training(opts.model, lora=opts.lora)
    if opts.warmup_steps and not (resume and run.last_checkpoint()):
        from medtrust.train.grpo_warmup import run_warmup
        metrics = run_warmup(trainable, samples, opts, run.path, progress)
        if state.is_main_process:
            run.write_json("warmup_result.json", metrics)
    trainer = build_trainer(opts, trainable, samples, run.checkpoints_dir, [JsonlLogCallback(run.log_path)])
    if not progress:
        trainer.args.disable_tqdm = True
    run_trainer(trainer, run, "medtrust train grpo", resume=bool(resume))
    if state.num_processes > 1:
        # Trainer.save_model gathers sharded (DeepSpeed ZeRO-3 / FSDP) weights and writes on the main process
        trainer.save_model(str(run.model_dir))
        state.wait_for_everyone()
        if not state.is_main_process:
            return run
        trainable.tokenizer.save_pretrained(run.model_dir)
    else:
        save_trained(trainer.model, trainable.tokenizer, run.model_dir, merge_lora=True)
    if not opts.keep_checkpoints:
        remove_checkpoints(run)
    if opts.eval:
        evaluate_grpo(run, opts, trainable.model_string, progress)
    write_grpo_report(run, opts)
    return run
