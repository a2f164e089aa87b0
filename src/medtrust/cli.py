"""The `medtrust` command: one verb per study, plus demo, report, models, datasets and env."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from medtrust import cli_options as o
from medtrust.errors import Interrupted, MedtrustError

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode="markdown",
                  help="medtrust: hallucination, safety and reasoning studies of medical LLMs.")
STATE = {"debug": False}


def examples(*lines: str) -> str:
    """An epilog of copy-paste examples for --help."""
    return "**Examples**\n\n" + "\n\n".join(f"`{line}`" for line in lines)


def echo(message: str) -> None:
    typer.echo(message)


def _print_version(value: bool) -> None:
    if value:
        from medtrust import __version__
        echo(f"medtrust {__version__}")
        raise typer.Exit()


@app.callback()
def _root(debug: Annotated[bool, typer.Option("--debug", help="show full tracebacks on errors")] = False,
          version: Annotated[bool, typer.Option("--version", help="print the version and exit", is_eager=True,
                                                callback=_print_version)] = False):
    STATE["debug"] = STATE["debug"] or debug


def _usage_errors() -> tuple[type, ...]:
    """Click's usage-error class and typer's bundled copy of it (typer >= 0.20 vendors click)."""
    import click
    try:
        from typer._click.exceptions import ClickException as TyperClickException
    except ImportError:  # an older typer raises click's own
        TyperClickException = click.ClickException
    return click.ClickException, TyperClickException


# ----------------------------------------------------------------------------------- generate
def _register_generate() -> None:
    from medtrust.generate import GenerateStudy
    o.register_study_verb(app, GenerateStudy, examples=(
        "medtrust generate --model embedded --dataset demo-qa --limit 8",
        "medtrust generate -m hf/Qwen/Qwen2.5-0.5B-Instruct -M device=cuda -d medqa --data-path data/medqa -n 4 "
        "--temperature 1.0",
        "medtrust generate -m openai-api/local/qwen --dataset pubmedqa --data-path data/pubmedqa",
        "medtrust generate --resume runs/20260101T000000Z_generate_embedded_ab12cd"),
        doc="Generate answers for a dataset with any backend (batched, cached, resumable).")


_register_generate()


# -------------------------------------------------------------------------------------- demo
@app.command(epilog=examples("medtrust demo", "medtrust demo --runs-dir /tmp/demo-runs --limit 10"))
def demo(runs_dir: o.RunsDir = None, limit: o.Limit = None, quiet: o.Quiet = False):
    """Run every study on the embedded model and built-in data; print where the reports are."""
    from medtrust.demo import described, run_demo, summary, write_index
    runs = described(run_demo(runs_dir or "runs", limit=limit, progress=not quiet))
    echo("\n".join(summary(runs)))
    echo(f"\nEvery report: {write_index(runs_dir or 'runs', runs).as_uri()}")


# ------------------------------------------------------------------------------------ report
@app.command(epilog=examples("medtrust report runs/20260101T000000Z_generate_embedded_ab12cd",
                             "medtrust report runs/*"))
def report(runs: Annotated[list[Path], typer.Argument(help="run folders (studies or training runs)")]):
    """Re-render report.html of run folders from their saved files (no model needed)."""
    from medtrust.pipeline import render
    for r in runs:
        echo(f"report: {render(r)}")


@app.command(epilog=examples("medtrust upgrade runs/20261101T000000Z_safety_embedded_ab12cd"))
def upgrade(runs: Annotated[list[Path], typer.Argument(help="run folders written by an older medtrust")],
            runs_dir: o.RunsDir = None):
    """Convert run folders of an older run schema into new folders of this version (the old ones are kept)."""
    from medtrust.pipeline import render
    from medtrust.runs.upgrade import upgrade_run
    for r in runs:
        folder = upgrade_run(r, runs_dir)
        render(folder)
        echo(f"upgraded: {folder}")


# ------------------------------------------------------------------------------- information
@app.command(epilog=examples("medtrust models"))
def models():
    """The model strings medtrust understands, and the state of the embedded model."""
    from medtrust.info import models_text
    echo(models_text())


@app.command(epilog=examples("medtrust datasets", "medtrust datasets --data-dir ../shared/data --count"))
def datasets(data_dir: Annotated[Optional[str], typer.Option(help="root of local dataset folders "
                                                              "(default $MEDTRUST_DATA_DIR)")] = None,
             count: Annotated[bool, typer.Option("--count", help="read the local files and count their rows")] = False):
    """Every dataset with its splits, row counts and source."""
    from medtrust.info import datasets_table
    datasets_table(data_dir, count)


@app.command(epilog=examples("medtrust env"))
def env():
    """Versions, devices and cache paths."""
    from medtrust.info import env_text
    echo(env_text())


@app.command(epilog=examples("medtrust view", "medtrust view runs --port 8765 --no-browser"))
def view(runs_dir: Annotated[Path, typer.Argument(help="the runs folder (default runs)")] = Path("runs"),
         port: Annotated[int, typer.Option(help="port on 127.0.0.1 (0: any free port)")] = 8765,
         browser: Annotated[bool, typer.Option(help="open the page in a browser")] = True):
    """A local web app over a runs folder: every run (status, headline, live progress), its report, and
    runs of one study compared side by side. Stops with Ctrl-C."""
    import time
    import webbrowser

    from medtrust.errors import MedtrustError
    from medtrust.view.server import serve
    if not runs_dir.is_dir():
        raise MedtrustError(f"'{runs_dir}' is not a folder.", "give the folder your studies write to (--runs-dir)")
    try:
        server = serve(runs_dir, port)
    except OSError as e:
        raise MedtrustError(f"Port {port} on 127.0.0.1 cannot be used ({e.strerror}).",
                            "pick another with --port N (0 picks a free one)") from None
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    echo(f"medtrust view of {runs_dir.resolve()}: {url}  (Ctrl-C stops it)")
    if browser:
        webbrowser.open(url)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        echo("medtrust view stopped.")
    finally:
        server.shutdown()


# ------------------------------------------------------------------------------ study verbs
def _register_studies() -> None:
    from medtrust.studies import cli_modules
    for module in cli_modules():
        module.register(app)


_register_studies()


# -------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> None:
    """Entry point: clear one-line errors for bad input, tracebacks only with --debug."""
    import click

    argv = list(sys.argv[1:] if argv is None else argv)
    STATE["debug"] = "--debug" in argv  # accepted anywhere on the line
    argv = [a for a in argv if a != "--debug"]
    command = typer.main.get_command(app)
    try:
        command.main(args=argv, prog_name="medtrust", standalone_mode=False)
    except (click.exceptions.Exit, typer.Exit) as e:
        sys.exit(e.exit_code)
    except _usage_errors() as e:  # a usage error: usage line, the problem, exit 2 (click's convention)
        e.show()
        sys.exit(e.exit_code)
    except (click.exceptions.Abort, typer.Abort):
        typer.echo("Aborted.", err=True)
        sys.exit(130)
    except MedtrustError as e:
        if STATE["debug"]:
            raise
        typer.secho(f"Error: {e.problem}", fg="red", err=True)
        if e.fix:
            typer.echo(f"Fix: {e.fix}", err=True)
        sys.exit(130 if isinstance(e, Interrupted) else 2)
    except KeyboardInterrupt:
        typer.echo("Interrupted.", err=True)
        sys.exit(130)
    except OSError as e:  # a file or folder the environment refused: permissions, full disk, ...
        if STATE["debug"]:
            raise
        from medtrust.errors import from_os_error
        err = from_os_error(e)
        typer.secho(f"Error: {err.problem}", fg="red", err=True)
        typer.echo(f"Fix: {err.fix}", err=True)
        sys.exit(2)
    except Exception as e:  # noqa: BLE001 - last resort: one line, traceback on request
        if STATE["debug"]:
            raise
        typer.secho(f"Unexpected error: {type(e).__name__}: {e}", fg="red", err=True)
        typer.echo("Run again with --debug for the traceback, and please report it.", err=True)
        sys.exit(1)
