"""The command line: every bad input gives one clear message (no traceback), help ends with examples."""

from __future__ import annotations

import socket

import pytest

from medtrust.cli import main


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def assert_clear_error(code, err, *phrases):
    assert code == 2, err
    assert err.startswith("Error: ")
    assert "Traceback" not in err
    for p in phrases:
        assert p in err, err


@pytest.mark.parametrize("model, phrase", [
    ("gpt4", "'gpt4' is not a model string"),
    ("hf/", "'hf/' is not a model string"),
    ("openai-api/deepseek", "names no service or no model"),
    ("hf/./no/such/folder", "does not exist"),
])
def test_bad_model_strings(cli, tmp_path, model, phrase):
    code, _, err = cli("generate", "--model", model, "--dataset", "demo-qa", "--runs-dir", str(tmp_path))
    assert_clear_error(code, err, phrase)
    assert not list(tmp_path.iterdir()), "no run folder for a run that never started"


def test_unknown_dataset_lists_the_known_ones(cli, tmp_path):
    code, _, err = cli("generate", "--dataset", "medqa5", "--runs-dir", str(tmp_path))
    assert_clear_error(code, err, "Unknown dataset 'medqa5'", "demo-qa", "medqa")


def test_missing_data_path(cli, tmp_path):
    code, _, err = cli("generate", "--dataset", "medqa", "--data-path", str(tmp_path / "nope"),
                           "--runs-dir", str(tmp_path))
    assert_clear_error(code, err, "does not exist", "--data-path")


def test_malformed_row_names_file_and_row(cli, tmp_path):
    bad = tmp_path / "us_4_options_test.jsonl"
    good = '{"question": "Q?", "options": {"A": "a", "B": "b", "C": "c", "D": "d"}, "answer": "a", "answer_idx": "A"}'
    bad.write_text(good + "\n" + good + "\n" + '{"question": "cut' + "\n")
    code, _, err = cli("generate", "--dataset", "medqa", "--data-path", str(bad),
                           "--runs-dir", str(tmp_path / "runs"))
    assert_clear_error(code, err, "row 3", str(bad))


def test_unreachable_server(cli, tmp_path, monkeypatch):
    port = free_port()
    monkeypatch.setenv("LOCAL_BASE_URL", f"http://127.0.0.1:{port}/v1")
    code, _, err = cli("generate", "--model", "openai-api/local/smollm2", "--dataset", "demo-qa",
                           "--limit", "2", "--runs-dir", str(tmp_path), "-q", "-M", "max_retries=0")
    assert_clear_error(code, err, f"127.0.0.1:{port}", "--resume")


def test_missing_base_url(cli, tmp_path, monkeypatch):
    monkeypatch.delenv("MYSERVICE_BASE_URL", raising=False)
    code, _, err = cli("generate", "--model", "openai-api/myservice/m", "--runs-dir", str(tmp_path))
    assert_clear_error(code, err, "MYSERVICE_BASE_URL")


def test_bad_flag_values_and_config_files(cli, tmp_path):
    code, _, err = cli("generate", "--limit", "0", "--runs-dir", str(tmp_path))
    assert_clear_error(code, err, "limit")
    code, _, err = cli("generate", "--config", str(tmp_path / "none.yaml"))
    assert_clear_error(code, err, "none.yaml", "does not exist")
    cfg = tmp_path / "c.yaml"
    cfg.write_text("modle: embedded\n")
    code, _, err = cli("generate", "--config", str(cfg))
    assert_clear_error(code, err, "Invalid configuration", "modle")
    code, _, err = cli("generate", "-M", "device", "--runs-dir", str(tmp_path))
    assert_clear_error(code, err, "not key=value")
    code, _, err = cli("generate", "--resume", str(tmp_path))
    assert_clear_error(code, err, "is not a run folder")


def test_debug_shows_the_traceback(tmp_path):
    from medtrust.errors import ModelStringError
    with pytest.raises(ModelStringError):
        main(["generate", "--model", "gpt4", "--runs-dir", str(tmp_path), "--debug"])


@pytest.mark.parametrize("verb", ["generate", "demo", "report", "models", "datasets", "env"])
def test_help_ends_with_examples(cli, verb):
    code, out, _ = cli(verb, "--help")
    assert code == 0
    tail = out[out.index("Examples"):]
    assert f"medtrust {verb}" in tail and tail.strip().splitlines()[-1].strip()


def test_models_datasets_env(cli, data_root):
    code, out, _ = cli("models")
    assert code == 0 and "openai-api/<service>/<model>" in out and "SmolLM2-135M-Instruct.Q4_1.gguf" in out
    code, out, _ = cli("env")
    assert code == 0 and "transformers:" in out and "generation cache:" in out
    code, out, _ = cli("datasets", "--data-dir", str(data_root), "--count")
    assert code == 0
    for name, rows in [("medqa", "test: 1273"), ("medmcqa", "dev: 4183"), ("mmlu-medical", "test: 1089"),
                       ("medcalc", "test: 1047"), ("xstest", "all: 450"), ("demo-qa", "test:")]:
        assert name in out and rows in out, (name, rows)


@pytest.mark.parametrize("argv, phrase", [
    (["hallucination", "--entailment", "bogus"], "'bogus' is not an entailment method"),
    (["hallucination", "--estimators", "semantic_entropy,foo"], "Unknown estimator(s): foo"),
    (["hallucination", "--judge", "gpt4"], "'gpt4' is not a judge"),
    (["hallucination", "--judge", "llm/hf/./no-such-model"], "folder './no-such-model' does not exist"),
    (["hallucination", "--entailment", "llm/openai-api/nosuch/x"], "NOSUCH_BASE_URL is not set"),
    (["safety", "-d", "demo-harmful", "--benign", "demo-benign", "--attacks", "none,dan"], "Unknown attack 'dan'"),
    (["safety", "-d", "demo-harmful", "--benign", "demo-benign", "--judge", "gpt4"], "Unknown judge 'gpt4'"),
    (["safety", "-d", "demo-harmful", "--benign", "demo-benign", "--judge", "llm/hf/./no-such-model"],
     "folder './no-such-model' does not exist"),
    (["reasoning", "--strategies", "direct,tot"], "Unknown strategy 'tot'"),
])
def test_a_bad_component_name_stops_before_anything_is_generated(cli, tmp_path, monkeypatch, argv, phrase):
    """Every named component is resolved (its model opened) before the generator is loaded or a run
    folder made, so a bad name costs a second, not a batch, and leaves nothing to resume."""
    from medtrust.models import registry
    loaded = []
    real = registry.resolve
    monkeypatch.setattr(registry, "resolve", lambda model, **kw: loaded.append(model) or real(model, **kw))
    code, out, err = cli(*argv, "--runs-dir", str(tmp_path / "runs"), "-q")
    assert_clear_error(code, err, phrase)
    assert "embedded" not in loaded  # the generator was never loaded
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("argv, phrase", [
    (["--limt", "2"], "No such option: --limt"),
    (["foo"], "No such command 'foo'"),
    (["hallucination", "--limit", "abc"], "Invalid value for '--limit'"),
    (["train", "sft", "--epochs", "x"], "Invalid value for '--epochs'"),
])
def test_usage_errors_show_the_usage_line_and_exit_2(cli, argv, phrase):
    code, out, err = cli(*argv)
    assert code == 2 and phrase in err and "Usage: medtrust" in err and "Unexpected" not in err + out


def test_version(cli):
    from medtrust import __version__
    assert cli("--version") == (0, f"medtrust {__version__}\n", "")


def test_placeholders_survive_in_option_help(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    code, out, _ = cli("hallucination", "--help")
    assert code == 0 and "hf/<id or path>" in out and "openai-api/<service>/<model>" in out and "\\<" not in out
