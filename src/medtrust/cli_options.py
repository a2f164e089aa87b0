"""Options shared by every study verb, and turning them into a config."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from medtrust.config import RunConfig, build_config
from medtrust.models.registry import parse_model_args

Model = Annotated[Optional[str], typer.Option("--model", "-m", help="model string: embedded, hf/<id or path>, "
                                              "vllm/<id>, openai/<model>, openai-api/<service>/<model>")]
ModelArg = Annotated[Optional[list[str]], typer.Option("--model-arg", "-M", help="backend argument key=value "
                                                       "(repeatable), e.g. -M device=cuda -M dtype=bfloat16")]
Dataset = Annotated[Optional[str], typer.Option("--dataset", "-d", help="dataset name (see `medtrust datasets`)")]
DataPath = Annotated[Optional[str], typer.Option("--data-path", help="local folder/file in the upstream format, "
                                                 "or hf:<dataset id>")]
Split = Annotated[Optional[str], typer.Option("--split", help="dataset split (default: the dataset's own)")]
Limit = Annotated[Optional[int], typer.Option("--limit", help="use the first N samples (after --shuffle)")]
Seed = Annotated[Optional[int], typer.Option("--seed", help="seed for shuffling and sampling (default 0)")]
Shuffle = Annotated[Optional[bool], typer.Option("--shuffle/--no-shuffle", help="shuffle rows with --seed")]
Lang = Annotated[Optional[str], typer.Option("--lang", help="en, zh or all (built-in sets and prompts)")]
ConfigFile = Annotated[Optional[str], typer.Option("--config", help="YAML file of options (flags override it)")]
RunsDir = Annotated[Optional[str], typer.Option("--runs-dir", help="where run folders are created (default runs)")]
Resume = Annotated[Optional[str], typer.Option("--resume", help="finish an interrupted run folder")]
Cache = Annotated[Optional[bool], typer.Option("--cache/--no-cache", help="reuse cached generations (default on)")]
BatchSize = Annotated[Optional[int], typer.Option("--batch-size", help="samples per batch written to disk "
                                                  "(default 16)")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")]


def common(model, model_arg, dataset, data_path, split, limit, seed, shuffle, lang, runs_dir, cache,
           batch_size) -> dict[str, Any]:
    """The shared flags as config values (None = not given)."""
    return {"model": model, "model_args": parse_model_args(model_arg), "dataset": dataset,
            "data_path": data_path, "split": split, "limit": limit, "seed": seed, "shuffle": shuffle,
            "lang": lang, "runs_dir": runs_dir, "cache": cache, "batch_size": batch_size}


def make_config(cls: type[RunConfig], config_file: str | None, flags: dict[str, Any]) -> RunConfig:
    return build_config(cls, config_file, flags)
