"""`medtrust train grpo`: R1-style GRPO with verifiable medical rewards (see medtrust.train.grpo)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from medtrust import cli_options as o

Opt = typer.Option


def parse_weights(text: str | None) -> list[float] | None:
    """``"1,0.5"`` -> [1.0, 0.5]; one clear error for anything else.

    >>> parse_weights("1, 0.5")
    [1.0, 0.5]
    """
    from medtrust.errors import MedtrustError
    if text is None:
        return None
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise MedtrustError(f"--reward-weights '{text}' is not a list of numbers.",
                            "one number per reward, e.g. --rewards accuracy,format --reward-weights 1,0.5") from None


def register(app: typer.Typer) -> None:
    from medtrust.cli import echo, examples

    @app.command(epilog=examples(
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
        "medtrust train grpo --resume runs/<train-grpo run folder>"))
    def grpo(
            model: o.Model = None, dataset: o.Dataset = None, data_path: o.DataPath = None, split: o.Split = None,
            limit: o.Limit = None, seed: o.Seed = None, lang: o.Lang = None, config: o.ConfigFile = None,
            runs_dir: o.RunsDir = None, resume: o.Resume = None, quiet: o.Quiet = False,
            rewards: Annotated[Optional[str], Opt(help="comma-separated: accuracy, format, length "
                                                  "(default accuracy,format)")] = None,
            reward_weights: Annotated[Optional[str], Opt(help="one weight per reward, e.g. 1,0.5 "
                                                         "(default 1 each)")] = None,
            length_budget: Annotated[Optional[int], Opt(help="tokens before the length reward penalises "
                                                        "(default 3/4 of --max-completion-length)")] = None,
            num_generations: Annotated[Optional[int], Opt(help="completions per prompt, the GRPO group "
                                                          "(default 4)")] = None,
            prompts_per_step: Annotated[Optional[int], Opt(help="prompts per device and step (default 1)")] = None,
            max_steps: Annotated[Optional[int], Opt(help="optimizer steps (default 50)")] = None,
            max_completion_length: Annotated[Optional[int], Opt(help="new tokens per completion (default 128)")]
            = None,
            temperature: Annotated[Optional[float], Opt(help="sampling temperature (default 1.0)")] = None,
            prefill: Annotated[Optional[str], Opt(help="text that starts the model's turn, e.g. '<think>\\n' "
                                                  "(R1-Zero template; a literal \\n is a newline); the rewards "
                                                  "read it as part of the output")]
            = None,
            beta: Annotated[Optional[float], Opt(help="KL coefficient; > 0 loads a reference model "
                                               "(default 0)")] = None,
            lr: Annotated[Optional[float], Opt("--lr", help="learning rate (default 1e-5)")] = None,
            warmup_steps: Annotated[Optional[int], Opt(help="cold start: SFT steps on think-format answers built "
                                                       "from the rows' explanations / formulas before GRPO "
                                                       "(default 0)")] = None,
            warmup_lr: Annotated[Optional[float], Opt(help="learning rate of the cold start (default 1e-4)")] = None,
            lora: Annotated[Optional[bool], Opt("--lora/--no-lora", help="train LoRA adapters (PEFT), merged "
                                                "when saved")] = None,
            use_vllm: Annotated[Optional[bool], Opt("--use-vllm/--no-vllm", help="generate with vLLM (extra "
                                                    "'vllm')")] = None,
            vllm_mode: Annotated[Optional[str], Opt(help="server (a `trl vllm-serve` process) or colocate "
                                                  "(default colocate)")] = None,
            vllm_server_base_url: Annotated[Optional[str], Opt(help="server mode: e.g. http://host:8000")] = None,
            save_steps: Annotated[Optional[int], Opt(help="checkpoint every N steps (default 50)")] = None,
            keep_checkpoints: Annotated[Optional[bool], Opt("--keep-checkpoints/--drop-checkpoints",
                                                            help="keep checkpoints/ after saving the model")] = None,
            out: Annotated[Optional[str], Opt("--out", help="run folder (default runs/<time>_train-grpo_...)")]
            = None,
            eval: Annotated[Optional[bool], Opt("--eval/--no-eval", help="reasoning study (think, direct) "
                                                "before and after: accuracy and format rate")] = None,
            eval_split: Annotated[Optional[str], Opt(help="split of --eval (default the dataset's own)")] = None,
            eval_limit: Annotated[Optional[int], Opt(help="questions of --eval (default 50)")] = None):
        """GRPO (TRL) with verifiable rewards: accuracy graded like the reasoning study (MedCalc-Bench
        limits), think/answer format, length; prompts in the study's think format."""
        from medtrust.train.common import load_run_config
        from medtrust.train.grpo import GRPOOptions, train_grpo

        flags = dict(model=model, dataset=dataset, data_path=data_path, split=split, limit=limit, seed=seed,
                     lang=lang, runs_dir=runs_dir, rewards=rewards, reward_weights=parse_weights(reward_weights),
                     length_budget=length_budget, num_generations=num_generations,
                     prompts_per_step=prompts_per_step, max_steps=max_steps,
                     max_completion_length=max_completion_length, temperature=temperature,
                     prefill=prefill,
                     beta=beta, lr=lr, warmup_steps=warmup_steps, warmup_lr=warmup_lr,
                     lora=lora, use_vllm=use_vllm, vllm_mode=vllm_mode, vllm_server_base_url=vllm_server_base_url,
                     save_steps=save_steps, keep_checkpoints=keep_checkpoints, out=out, eval=eval,
                     eval_split=eval_split, eval_limit=eval_limit)
        if resume:
            saved = load_run_config(resume, "grpo")
            opts = GRPOOptions(**{k: v for k, v in saved.items() if k in GRPOOptions.model_fields})
        else:
            opts = o.make_config(GRPOOptions, config, flags)
        run = train_grpo(opts, resume=resume, progress=not quiet)
        echo(f"GRPO run: {run.path}")
        echo(f"model: {run.model_dir}  (evaluate with --model hf/{run.model_dir})")
        echo(f"report: {run.report_path}")
