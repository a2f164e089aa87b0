"""`medtrust train sft|dpo|grpo|report`: the `train` sub-app. The options of each command are made
from its options model (``medtrust.cli_options``); heavy imports stay inside commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Callable, Optional, Sequence

import typer

from medtrust import cli_options as o

train_app = typer.Typer(no_args_is_help=True, rich_markup_mode="markdown",
                        help="Fine-tune a model with TRL (safety SFT, DPO, GRPO); each run writes a run folder.")


def build_options(cls, flags: dict[str, Any], config_file: str | None, resume: str | None, kind: str):
    """Options from the flags (over a --config file), or from the interrupted run's config.json with ``--resume``."""
    from medtrust.train.common import load_run_config
    if resume:
        saved = load_run_config(resume, kind)
        return o.make_config(cls, None, {k: v for k, v in saved.items() if k in cls.model_fields})
    return o.make_config(cls, config_file, flags)


def register_train_verb(name: str, options_cls, train: Callable, examples: Sequence[str], doc: str) -> None:
    """``medtrust train <name>``: the options model's fields as options, then ``train(opts, resume, progress)``."""
    from medtrust.cli import echo
    from medtrust.cli import examples as epilog

    def body(**options):
        control = {k: options.pop(k) for k in ("config", "resume", "quiet")}
        opts = build_options(options_cls, o.config_values(options_cls, options), control["config"],
                             control["resume"], name)
        run = train(opts, resume=control["resume"], progress=not control["quiet"])
        echo(f"{name.upper()} run: {run.path}")
        echo(f"model: {run.model_dir}  (evaluate it with --model hf/{run.model_dir})")
        echo(f"report: {run.report_path}")

    params = [*o.field_params(options_cls, skip=("extra",)), *o.control_params(("config", "resume", "quiet"))]
    train_app.command(name, epilog=epilog(*examples))(o.command_from(params, body, name, doc))


def _sft(opts, resume, progress):
    from medtrust.train.sft import train_sft
    return train_sft(opts, resume=resume, progress=progress)


def _dpo(opts, resume, progress):
    from medtrust.train.dpo import train_dpo
    return train_dpo(opts, resume=resume, progress=progress)


def _grpo(opts, resume, progress):
    from medtrust.train.grpo import train_grpo
    return train_grpo(opts, resume=resume, progress=progress)


def _register() -> None:
    from medtrust.train.dpo import DPOOptions
    from medtrust.train.grpo import GRPOOptions
    from medtrust.train.sft import SFTOptions
    register_train_verb("sft", SFTOptions, _sft, (
        "medtrust train sft --model embedded --dataset medsafetybench --data-path ../shared/data/medsafetybench "
        "--mix demo-benign:0.5,demo-qa:0.5 --max-steps 200 --eval",
        "medtrust train sft -m embedded -d medsafetybench --data-path ../shared/data/medsafetybench --mix "
        "pubmedqa:1 --mix-path pubmedqa=../shared/data/pubmedqa --lora --adapter --epochs 1",
        "medtrust train sft -m hf/Qwen/Qwen2.5-0.5B-Instruct -d medsafetybench --data-path data/medsafetybench "
        "--lora --device cuda --batch-size 16 --eval --eval-dataset medsafetybench --eval-data-path "
        "data/medsafetybench --eval-benign xstest --eval-benign-path data/xstest --eval-limit 100",
        "medtrust train sft --resume runs/20260101T000000Z_train-sft_embedded_ab12cd"),
        "Safety SFT (TRL SFTTrainer): harmful request -> safe response, mixed with benign answers.")
    register_train_verb("dpo", DPOOptions, _dpo, (
        "medtrust train dpo --model embedded --build-pairs --dataset medsafetybench --data-path "
        "../shared/data/medsafetybench --limit 200 --max-steps 50 --eval",
        "medtrust train dpo -m embedded --pairs pairs.jsonl --lora --beta 0.1",
        "medtrust train dpo -m hf/Qwen/Qwen2.5-0.5B-Instruct --build-pairs -d medsafetybench --data-path "
        "data/medsafetybench --judge llm/openai/gpt-4o-mini --lora --device cuda",
        "medtrust train dpo --resume runs/20260101T000000Z_train-dpo_embedded_ab12cd"),
        "Safety DPO (TRL DPOTrainer): chosen = safe response, rejected = harmful compliance.")
    register_train_verb("grpo", GRPOOptions, _grpo, (
        "medtrust train grpo --model embedded --dataset demo-calc --max-steps 50 --num-generations 4 "
        "--max-completion-length 96 --lr 3e-5 --temperature 0.8 --warmup-steps 8 --warmup-lr 5e-5",
        "medtrust train grpo -m embedded -d demo-calc --prefill '<think>\\n' --max-completion-length 64",
        "medtrust train grpo -m embedded -d demo-calc --rewards accuracy,format,length --beta 0.04 --eval",
        "medtrust train grpo -m hf/Qwen/Qwen2.5-0.5B-Instruct -d medcalc --data-path ../shared/data/medcalc "
        "--split test --max-completion-length 512 --lora",
        "medtrust train grpo -m hf/Qwen/Qwen2.5-1.5B-Instruct -d medqa --data-path data/medqa --use-vllm "
        "--vllm-mode colocate",
        "accelerate launch --num_processes 8 -m medtrust train grpo -m hf/Qwen/Qwen2.5-7B-Instruct -d medqa "
        "--data-path data/medqa --use-vllm --vllm-mode server --out runs/grpo-medqa",
        "medtrust train grpo --resume runs/<train-grpo run folder>"),
        "GRPO (TRL) with verifiable rewards: accuracy graded like the reasoning study (MedCalc-Bench limits), "
        "think/answer format, length; prompts in the study's think format.")

    @train_app.command("judge", epilog=epilog_of(
        "medtrust train judge --data-dir ../shared/data",
        "medtrust train judge --data-dir ../shared/data --holdout 0.2 --out /tmp/judge-check"))
    def judge(data_dir: Annotated[Optional[str], typer.Option(help="folder holding gptfuzz, xstest and "
                                                              "medsafetybench (default $MEDTRUST_DATA_DIR)")] = None,
              out: Annotated[Optional[str], typer.Option(help="adapter folder to write (default: the user cache; "
                                                         "use it with --judge classifier/<folder>)")] = None,
              seed: Annotated[int, typer.Option(help="seed of data order and training")] = 0,
              holdout: Annotated[float, typer.Option(help="share of GPTFuzz train questions held out to validate "
                                                     "on (how the settings were chosen); 0 = train on all")] = 0.0,
              quiet: o.Quiet = False):
        """The embedded harm classifier (--judge classifier) from allowed training data only, reproducibly."""
        import os

        from medtrust.cli import echo
        from medtrust.errors import MedtrustError
        from medtrust.paths import cache_dir
        from medtrust.train.judge import train_judge
        root = data_dir or os.environ.get("MEDTRUST_DATA_DIR")
        if not root:
            raise MedtrustError("medtrust train judge needs the training data.",
                                "pass --data-dir with the folders gptfuzz, xstest and medsafetybench")
        folder = train_judge(out or cache_dir() / "models" / "harm-classifier", root, seed, holdout, not quiet)
        echo(f"harm classifier: {folder}  (use it with --judge classifier/{folder})")

    @train_app.command("vlm", epilog=epilog_of(
        "medtrust train vlm --out /tmp/embedded-vlm-rebuilt",
        "medtrust train vlm --out /tmp/vlm-quick --quick",
        "medtrust hallucination -m hf//tmp/embedded-vlm-rebuilt --dataset demo-images --pope"))
    def vlm(out: Annotated[Optional[str], typer.Option(help="folder for the weights and recipe.json (default: the "
                                                       "user cache; the shipped copy is models/embedded_vlm/)")] = None,
            seed: Annotated[int, typer.Option(help="seed of the scene generator and of training")] = 0,
            quick: Annotated[bool, typer.Option(help="a few steps of each stage (checks the recipe runs; the "
                                                "model learns nothing)")] = False,
            quiet: o.Quiet = False):
        """Rebuild embedded-vlm offline: LeViT vision tower from scratch on drawn scenes, then TRL SFTTrainer
        (projector + LoRA on SmolLM2-135M) on chats about them (~30 minutes on 2 CPU cores)."""
        from medtrust.cli import echo
        from medtrust.models.embedded_vlm import materialize_vlm
        from medtrust.paths import cache_dir
        from medtrust.train.common import require_train_extra
        from medtrust.train.vlm import train_vlm
        require_train_extra("medtrust train vlm")
        folder = train_vlm(out or cache_dir() / "models" / "embedded-vlm-trained", seed, quick,
                           log=(lambda _m: None) if quiet else echo)
        model = materialize_vlm(folder)
        echo(f"weights: {folder}\nmodel: {model}  (use it with --model hf/{model})")

    @train_app.command("vlm-reader", epilog=epilog_of(
        "medtrust train vlm-reader --data-dir ../shared/data/figstep --out /tmp/embedded-vlm-reader-rebuilt",
        "medtrust safety -m embedded-vlm-reader -d figstep --data-path ../shared/data/figstep --split tiny "
        "--benign figstep --benign-path ../shared/data/figstep --benign-split benign "
        "--attacks none,figstep,figstep_text"))
    def vlm_reader(data_dir: Annotated[Optional[str], typer.Option(
                       help="the figstep folder (safebench.csv, safebench_tiny.csv, benign_sentences.csv; "
                            "default $MEDTRUST_DATA_DIR/figstep)")] = None,
                   out: Annotated[Optional[str], typer.Option(
                       help="folder for the weights and recipe.json (default: the user cache; the shipped copy "
                            "is models/embedded_vlm_reader/)")] = None,
                   seed: Annotated[int, typer.Option(help="seed of the random instructions and of training")] = 0,
                   quick: Annotated[bool, typer.Option(help="a few steps of each stage (checks the recipe runs; "
                                                       "the model learns nothing)")] = False,
                   quiet: o.Quiet = False):
        """Rebuild embedded-vlm-reader offline: a Swin tower from scratch that reads FigStep typographic images into
        character tokens, then TRL SFTTrainer (LoRA on SmolLM2-135M) to transcribe them and answer them as the
        text (~85 minutes on 2 CPU cores; resumes if stopped)."""
        import os

        from medtrust.cli import echo
        from medtrust.errors import MedtrustError
        from medtrust.models.embedded_vlm_reader import materialize_reader
        from medtrust.paths import cache_dir
        from medtrust.train.common import require_train_extra
        from medtrust.train.vlm_reader import train_vlm_reader
        require_train_extra("medtrust train vlm-reader")
        root = Path(data_dir) if data_dir else (Path(os.environ["MEDTRUST_DATA_DIR"]) / "figstep"
                                                if os.environ.get("MEDTRUST_DATA_DIR") else None)
        if root is None or not (root / "safebench.csv").is_file():
            raise MedtrustError(f"medtrust train vlm-reader needs FigStep's files; {root or 'no folder'} has no "
                                "safebench.csv.", "pass --data-dir with the figstep folder (safebench.csv, "
                                "safebench_tiny.csv, benign_sentences.csv)")
        folder = train_vlm_reader(out or cache_dir() / "models" / "embedded-vlm-reader-trained", root, seed, quick,
                                  log=(lambda _m: None) if quiet else echo)
        model = materialize_reader(folder)
        echo(f"weights: {folder}\nmodel: {model}  (use it with --model hf/{model})")

    @train_app.command(epilog=epilog_of("medtrust train report runs/20260101T000000Z_train-sft_embedded_ab12cd"))
    def report(runs: Annotated[list[Path], typer.Argument(help="training run folders")]):
        """Re-render report.html of training runs from their saved files (same as medtrust report)."""
        from medtrust.cli import echo
        from medtrust.pipeline import render
        for path in runs:
            echo(f"report: {render(path)}")


def epilog_of(*lines: str) -> str:
    from medtrust.cli import examples
    return examples(*lines)


def register(app: typer.Typer) -> None:
    """Add ``medtrust train ...`` to the main CLI."""
    _register()
    app.add_typer(train_app, name="train")
