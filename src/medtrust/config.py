"""Typed run configs. Precedence: defaults < ``--config file.yaml`` < command-line flags."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from medtrust.errors import MedtrustError


class RunConfig(BaseModel):
    """What every study needs: a model, a dataset and where to write the run."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    study: str
    model: str = "embedded"
    model_args: dict[str, Any] = Field(default_factory=dict)
    dataset: str = "demo-qa"
    data_path: str | None = None
    split: str | None = None
    limit: int | None = Field(default=None, ge=1)
    seed: int = 0
    shuffle: bool = False
    lang: Literal["en", "zh", "all"] = "en"
    runs_dir: str = "runs"
    batch_size: int = Field(default=16, ge=1, description="samples per batch (written to disk after each)")
    cache: bool = True


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
