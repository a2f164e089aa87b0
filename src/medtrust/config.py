"""Typed run configs. Precedence: defaults < ``--config file.yaml`` < command-line flags."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from medtrust.errors import MedtrustError


def cli_field(short: str | None = None, flag: str | None = None, hidden: bool = False,
              metavar: str | None = None, prefix: str | None = None, raw_keys: bool = False) -> dict[str, Any]:
    """How a config field appears on the command line (``json_schema_extra`` of its Field): a short
    flag (``-m``), another flag name (``--samples`` or ``--lenient/--strict``), hidden from the CLI;
    for a field that is a model, the prefix of its fields' options; for key=value pairs, whether
    keys stay as written (``raw_keys``: dataset names) instead of becoming argument names."""
    values = (("short", short), ("flag", flag), ("hidden", hidden), ("metavar", metavar), ("prefix", prefix),
              ("raw_keys", raw_keys))
    return {"cli": {k: v for k, v in values if v}}


class RunConfig(BaseModel):
    """What every study needs: a model, a dataset and where to write the run. Each field's
    description is its ``--help`` text (``medtrust.cli_options`` makes the options from them)."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    study: str
    model: str = Field(default="embedded", description="model string: embedded, hf/<id or path>, vllm/<id>, "
                       "openai/<model>, openai-api/<service>/<model>", json_schema_extra=cli_field("-m"))
    model_args: dict[str, Any] = Field(default_factory=dict, description="backend argument key=value (repeatable), "
                                       "e.g. -M device=cuda -M dtype=bfloat16",
                                       json_schema_extra=cli_field("-M", flag="--model-arg"))
    dataset: str = Field(default="demo-qa", description="dataset name (see `medtrust datasets`)",
                         json_schema_extra=cli_field("-d"))
    data_path: str | None = Field(default=None, description="local folder/file in the upstream format, or "
                                  "hf:<dataset id>")
    split: str | None = Field(default=None, description="dataset split (default: the dataset's own)")
    limit: int | None = Field(default=None, ge=1, description="use the first N samples (after --shuffle)")
    seed: int = Field(default=0, description="seed for shuffling and sampling")
    shuffle: bool = Field(default=False, description="shuffle rows with --seed")
    lang: Literal["en", "zh", "all"] = Field(default="en", description="en, zh or all (built-in sets and prompts)")
    allow_outside_images: bool = Field(default=False, description="let a manifest's image paths leave its folder")
    runs_dir: str = Field(default="runs", description="where run folders are created")
    batch_size: int = Field(default=16, ge=1, description="samples per batch (written to disk after each)")
    cache: bool = Field(default=True, description="reuse cached generations")


C = TypeVar("C", bound=RunConfig)


def build_config(cls: type[C], config_file: str | Path | None, flags: dict[str, Any]) -> C:
    """Merge defaults, a YAML file and the flags that were given (None means not given)."""
    values: dict[str, Any] = {}
    if config_file:
        path = Path(config_file)
        if not path.exists():
            raise MedtrustError(f"Config file '{path}' does not exist.", "check the path given to --config")
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as e:
            raise MedtrustError(f"Config file '{path}' is not valid YAML: {e}", "fix the file") from e
        if not isinstance(loaded, dict):
            raise MedtrustError(f"Config file '{path}' must hold a mapping of option: value.", "fix the file")
        values.update({k.replace("-", "_"): v for k, v in loaded.items()})
    values.update({k: v for k, v in flags.items() if v is not None and v != {}})
    try:
        return cls(**values)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
        raise MedtrustError(f"Invalid configuration: {problems}.", "fix the flag or the --config file") from e
