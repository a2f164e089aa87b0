"""Command-line options made from the pydantic configs: each field of a study's (or trainer's)
config becomes one option, its description the help text, so every verb shares the same options
declared once in ``medtrust.config.RunConfig`` and its subclasses.

Rules: ``snake_case`` fields become ``--kebab-case`` options (``cli_field`` in the Field's
``json_schema_extra`` gives a short flag, another name or hides it); booleans become
``--x/--no-x``; dict fields are repeatable ``key=value`` options (``-M``); list fields take a
comma-separated string; a field whose type is a model (``cli_field(prefix=...)``) adds its own
fields as ``--<prefix><name>`` options. An option not given is None, so a ``--config`` file or
the default applies (defaults < --config file < flags).
"""

from __future__ import annotations

import inspect
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Callable, Optional, Sequence

import typer
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from medtrust.config import RunConfig, build_config
from medtrust.models.registry import parse_model_args


def _meta(field: FieldInfo) -> dict[str, Any]:
    extra = field.json_schema_extra
    return dict(extra.get("cli", {})) if isinstance(extra, dict) else {}


def _base(annotation: Any) -> Any:
    """The annotation without Optional / None."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else str
    return annotation


def _kind(annotation: Any) -> str:
    base = _base(annotation)
    origin = typing.get_origin(base)
    if base is bool:
        return "bool"
    if base is dict or origin is dict:
        return "pairs"
    if base is list or origin in (list, tuple):
        return "list"
    if inspect.isclass(base) and issubclass(base, BaseModel):
        return "model"
    if base in (int, float):
        return base.__name__
    return "str"


def markdown_safe(text: str) -> str:
    """Help text for typer's markdown mode: ``<hub id>`` placeholders would be read as HTML tags and
    vanish, so ``<`` is escaped."""
    return text.replace("<", "\\<")


def _default_text(field: FieldInfo, description: str | None) -> str:
    text = description or ""
    if "default" in text.lower() or field.is_required():
        return markdown_safe(text)
    default = field.get_default(call_default_factory=True)
    if default in (None, {}, [], ""):
        return markdown_safe(text)
    if isinstance(default, list):
        default = ",".join(map(str, default))
    return markdown_safe(f"{text} (default {default})".strip())


def _inherited(config_class: type[BaseModel], name: str, field: FieldInfo) -> tuple[dict[str, Any], str | None]:
    """The CLI metadata and description of a field, from the nearest class that gives them (a
    subclass that only changes a default, ``dataset: str = "demo-mcq"``, keeps the base's flags)."""
    meta, description = _meta(field), field.description
    for cls in config_class.__mro__[1:]:
        base = getattr(cls, "model_fields", {}).get(name)
        if base is not None:
            meta = meta or _meta(base)
            description = description or base.description
    return meta, description


def field_params(config_class: type[BaseModel], skip: Sequence[str] = ("study",),
                 prefix: str = "") -> list[inspect.Parameter]:
    """One keyword parameter (an ``Annotated[..., typer.Option]``) per field of ``config_class``."""
    params = []
    for name, field in config_class.model_fields.items():
        meta, description = _inherited(config_class, name, field)
        if name in skip or meta.get("hidden"):
            continue
        kind = _kind(field.annotation)
        if kind == "model":
            params += field_params(_base(field.annotation), (), prefix=meta.get("prefix", f"{name}-"))
            continue
        flag = meta.get("flag") or f"--{prefix}{name.replace('_', '-')}"
        if kind == "bool" and "/" not in flag:
            flag = f"{flag}/--no-{flag[2:]}"
        decls = [flag, *([meta["short"]] if meta.get("short") else [])]
        pyname = f"{prefix.replace('-', '_')}{name}"
        annotation = {"bool": bool, "pairs": list[str], "list": str, "int": int, "float": float}.get(kind, str)
        option = typer.Option(*decls, help=_default_text(field, description), metavar=meta.get("metavar"))
        params.append(inspect.Parameter(pyname, inspect.Parameter.KEYWORD_ONLY, default=None,
                                        annotation=Annotated[Optional[annotation], option]))
    return params


def config_values(config_class: type[BaseModel], given: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """The config values of the options given (None = not given), converted to the fields' types."""
    out: dict[str, Any] = {}
    for name, field in config_class.model_fields.items():
        pyname = f"{prefix}{name}"
        kind = _kind(field.annotation)
        if kind == "model":
            sub_prefix = _inherited(config_class, name, field)[0].get("prefix", f"{name}-").replace("-", "_")
            sub = config_values(_base(field.annotation), given, sub_prefix)
            if sub:
                out[name] = sub
            continue
        value = given.get(pyname)
        if value is None:
            continue
        if kind == "pairs":
            meta = _inherited(config_class, name, field)[0]
            flag = meta.get("flag") or f"--{name.replace('_', '-')}"
            value = _raw_pairs(value, flag) if meta.get("raw_keys") else parse_model_args(value)
        out[name] = value
    return out


def _raw_pairs(pairs: list[str], flag: str) -> dict[str, str]:
    from medtrust.errors import MedtrustError
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise MedtrustError(f"{flag} '{pair}' is not NAME=PATH.", f"write e.g. {flag} pubmedqa=data/pubmedqa")
        out[key.strip()] = value.strip()
    return out


ControlParams = {
    "config": (Optional[str], typer.Option("--config", help="YAML file of options (flags override it)")),
    "resume": (Optional[str], typer.Option("--resume", help="finish an interrupted run folder as it was configured "
                                           "(only --batch-size, --cache and -M timeout/max_retries/concurrency/"
                                           "batch_size/device may change; other options must equal the saved ones)")),
    "rescore": (Optional[str], typer.Option("--rescore", help="score a saved run again without the generator "
                                           "(a new run folder)")),
    "quiet": (bool, typer.Option("--quiet", "-q", help="no progress bar")),
    "drop_corrupt_lines": (bool, typer.Option("--drop-corrupt-lines", help="with --resume: move lines of "
                                              "samples.jsonl that are no JSON record to samples.corrupt.jsonl "
                                              "and generate their samples again")),
}


def control_params(names: Sequence[str] = tuple(ControlParams)) -> list[inspect.Parameter]:
    """The options that say how to run, not what to compute."""
    return [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY,
                              default=False if ControlParams[n][0] is bool else None,
                              annotation=Annotated[ControlParams[n][0], ControlParams[n][1]]) for n in names]


def command_from(params: list[inspect.Parameter], body: Callable[..., Any], name: str, doc: str) -> Callable:
    """A function typer can register: ``params`` as its signature, calling ``body(**options)``."""
    def command(**options):
        return body(**options)
    command.__signature__ = inspect.Signature(params)
    command.__annotations__ = {p.name: p.annotation for p in params}
    command.__name__ = name.replace("-", "_")
    command.__doc__ = doc
    return command


def make_config(cls: type[RunConfig], config_file: str | None, flags: dict[str, Any]) -> RunConfig:
    """Defaults < ``--config`` file < flags given."""
    return build_config(cls, config_file, flags)


def run_study_verb(study_cls, flags: dict[str, Any], config: str | None, resume: str | None, rescore: str | None,
                   quiet: bool, drop_corrupt_lines: bool = False):
    """What every study verb does with its options: run, ``--resume`` or ``--rescore`` the study."""
    from medtrust.errors import MedtrustError
    from medtrust.pipeline import execute
    from medtrust.pipeline import rescore as rescore_run
    from medtrust.runs.resume import flag_of
    study = study_cls()
    if rescore:
        allowed = (*study.rescore_options, "runs_dir", "batch_size", "cache")
        fixed = [k for k, v in flags.items() if k not in allowed and v is not None]
        if fixed:
            raise MedtrustError(f"--rescore keeps what was generated, so {', '.join(flag_of(k) for k in fixed)} cannot "
                                "change.", f"drop {'it' if len(fixed) == 1 else 'them'}; --rescore may change: "
                                + ", ".join(flag_of(k) for k in allowed))
        return rescore_run(study, rescore, {k: v for k, v in flags.items() if k in allowed}, progress=not quiet)
    if drop_corrupt_lines and not resume:
        raise MedtrustError("--drop-corrupt-lines works with --resume only.", "add --resume RUN, or drop it")
    if resume:
        if config:
            raise MedtrustError("--config cannot be combined with --resume: the run folder's config.yaml is used.",
                                "drop --config (operational flags such as --batch-size or -M timeout=... may be given)")
        if drop_corrupt_lines:
            from medtrust.runs.folder import RunFolder
            moved = RunFolder.open(resume).set_aside_corrupt_lines()
            if moved:
                from medtrust.cli import echo
                echo(f"{moved} corrupt line(s) moved to {Path(resume) / 'samples.corrupt.jsonl'}; "
                     "generating their samples again")
        return execute(study, resume=resume, progress=not quiet, given=flags)
    return execute(study, make_config(study.config_class, config, flags), progress=not quiet)


def register_study_verb(app: typer.Typer, study_cls, examples: Sequence[str], doc: str,
                        extra: Sequence[inspect.Parameter] = (), handle: Callable[..., Any] | None = None,
                        after: Callable[[Any], str | None] | None = None, name: str | None = None) -> None:
    """Add ``medtrust <study>`` with the study config's options, the control options and ``extra``
    ones. ``handle(flags, extra_values, control)`` may take over (returns a run folder or None to
    run the study as usual); ``after(run)`` returns text printed before the report path."""
    from medtrust.cli import echo
    from medtrust.cli import examples as epilog
    cfg = study_cls.config_class
    extra_names = [p.name for p in extra]

    def body(**options):
        control = {k: options.pop(k) for k in ControlParams}
        extra_values = {k: options.pop(k) for k in extra_names}
        flags = config_values(cfg, options)
        run = handle(flags, extra_values, control) if handle else None
        if run is None:
            run = run_study_verb(study_cls, flags, **control)
        text = after(run) if after else None
        if text:
            echo(text)
        echo(f"report: {run.report_path}")

    verb = name or study_cls.name
    command = command_from([*field_params(cfg), *control_params(), *extra], body, verb, doc)
    app.command(verb, epilog=epilog(*examples))(command)


RunsDir = Annotated[Optional[str], typer.Option("--runs-dir", help="where run folders are created (default runs)")]
Limit = Annotated[Optional[int], typer.Option("--limit", help="use the first N samples of each dataset")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar")]
