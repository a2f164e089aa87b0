"""Every example in every `--help` parses, and the ones that need no GPU, server, hub model or
user file run (with --limit 1 and a short --max-tokens where the verb has them)."""

from __future__ import annotations

import re
import shlex

import pytest
import typer

from medtrust.cli import app

#: an example that needs what this machine cannot have, or a folder it names as a placeholder
PARSE_ONLY = re.compile(r"device=cuda|--device cuda|hf/|vllm|openai|<|runs/|(?<![\w/.])data/|"
                        r"scans/|my_labels|pairs\.jsonl|accelerate|train |medtrust demo|tradeoff|medtrust view")


def examples() -> list[tuple[list[str], str]]:
    root = typer.main.get_command(app)
    out = []

    def walk(command, path):
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])
        for text in re.findall(r"`([^`]+)`", command.epilog or ""):
            out.append((path, text))
    walk(root, [])
    return out


EXAMPLES = examples()


def argv_of(text: str) -> list[str]:
    """The example's arguments, each <placeholder> replaced by one word (as a user fills it in)."""
    words = shlex.split(re.sub(r"<[^>]+>", "PLACEHOLDER", text))
    return words[words.index("medtrust") + 1:]


def test_there_are_examples_for_every_verb():
    verbs = {" ".join(p) for p, _ in EXAMPLES}
    assert len(EXAMPLES) >= 50 and {"generate", "safety", "hallucination", "reasoning", "judge-eval",
                                    "train sft", "train grpo"} <= verbs


@pytest.mark.parametrize("path, text", EXAMPLES, ids=[t[:70] for _, t in EXAMPLES])
def test_every_example_parses(path, text):
    root = typer.main.get_command(app)
    args = argv_of(text)
    ctx = root.make_context("medtrust", list(args))
    command, rest = root, _rest(ctx)
    while hasattr(command, "commands") and rest:
        name, command, rest = command.resolve_command(ctx, rest)
        ctx = command.make_context(name, rest, parent=ctx)  # a bad option or value raises here
        rest = _rest(ctx) if hasattr(command, "commands") else []
    assert not hasattr(command, "commands") and command.name in text


def _rest(ctx) -> list[str]:
    """What a group's context left for its subcommand (click's attribute name differs by version)."""
    protected = getattr(ctx, "protected_args", None)
    return list(protected if protected is not None else getattr(ctx, "_protected_args", [])) + list(ctx.args)


def command_of(args: list[str]):
    """The command an example runs (its own verb, which need not be the help page's it sits on)."""
    command = typer.main.get_command(app)
    for word in args:
        subs = getattr(command, "commands", None)
        if not subs or word not in subs:
            break
        command = subs[word]
    return command


#: sizes that keep a run to seconds while every code path of the example still runs
SMALL = {"--limit": "1", "--max-tokens": "8", "--samples": "2", "--probe-train-limit": "4"}
RUNNABLE = [(p, t) for p, t in EXAMPLES if not PARSE_ONLY.search(t)]


@pytest.mark.integration
@pytest.mark.parametrize("path, text", RUNNABLE, ids=[t[:70] for _, t in RUNNABLE])
def test_the_runnable_examples_run(path, text, cli, tmp_path, data_root):
    args = [a.replace("../shared/data", str(data_root)) for a in argv_of(text)]
    params = {opt for p in command_of(args).params for opt in p.opts}
    for flag, value in SMALL.items():
        if flag in params:
            args = _set(args, flag, value)
    if "--runs-dir" in params:
        args += ["--runs-dir", str(tmp_path / "runs")]
    if "--quiet" in params:
        args.append("-q")
    code, out, err = cli(*args)
    assert code == 0, f"{text}\n{err[-2000:]}"


def _set(args: list[str], flag: str, value: str) -> list[str]:
    if flag in args:
        i = args.index(flag)
        return [*args[:i + 1], value, *args[i + 2:]]
    return [*args, flag, value]
