"""Run folders: append-only samples, crash-cut lines, latest record per id, arrays, results."""

from __future__ import annotations

import json

import numpy as np
import pytest

from medtrust.errors import MedtrustError
from medtrust.runs.folder import RunFolder, slug


def test_create_names_the_folder_and_saves_config(tmp_path):
    run = RunFolder.create(tmp_path, "generate", "hf/Qwen/Qwen2.5-0.5B-Instruct", {"study": "generate", "seed": 3})
    name = run.path.name
    parts = name.split("_")
    assert parts[0].endswith("Z") and len(parts[0]) == 16  # 20261124T101500Z
    assert parts[1] == "generate" and parts[2] == "hf-Qwen-Qwen2.5-0.5B-Instruct" and len(parts[3]) == 6
    assert RunFolder.open(run.path).config == {"study": "generate", "seed": 3}


def test_open_rejects_a_folder_that_is_not_a_run(tmp_path):
    with pytest.raises(MedtrustError, match="is not a run folder"):
        RunFolder.open(tmp_path)


def test_append_and_read_back_with_numpy_values(tmp_path):
    run = RunFolder.create(tmp_path, "s", "embedded", {})
    run.append([{"id": "a", "x": np.float32(0.5), "v": np.array([1, 2])}, {"id": "b", "x": 1}])
    assert run.samples() == [{"id": "a", "x": 0.5, "v": [1, 2]}, {"id": "b", "x": 1}]
    assert run.done_ids() == {"a", "b"}


def test_half_written_last_line_is_skipped_then_repaired(tmp_path):
    run = RunFolder.create(tmp_path, "s", "embedded", {})
    run.append([{"id": "a"}])
    with open(run.samples_path, "a") as f:
        f.write('{"id": "b", "text": "cut off in the mid')  # a crash mid-write
    assert [r["id"] for r in run.samples()] == ["a"]
    run.append([{"id": "c"}])
    lines = run.samples_path.read_text().splitlines()
    assert [json.loads(x)["id"] for x in lines] == ["a", "c"]


def test_errors_are_not_done_and_the_latest_record_wins(tmp_path):
    run = RunFolder.create(tmp_path, "s", "embedded", {})
    run.append([{"id": "a", "error": "server down"}, {"id": "b", "v": 1}])
    assert run.done_ids() == {"b"}
    run.append([{"id": "a", "v": 2}])
    assert run.samples() == [{"id": "b", "v": 1}, {"id": "a", "v": 2}]


def test_arrays_and_results_round_trip(tmp_path):
    run = RunFolder.create(tmp_path, "s", "embedded", {})
    rel = run.save_arrays("q/1", {"slt": np.arange(6, dtype=np.float32).reshape(2, 3)})
    assert rel == "arrays/q-1.npz"
    assert run.load_arrays(rel)["slt"].tolist() == [[0, 1, 2], [3, 4, 5]]
    run.write_results({"metrics": {"acc": {"value": np.float64(0.25)}}})
    assert run.results == {"metrics": {"acc": {"value": 0.25}}}


def test_slug_keeps_the_end_of_long_names():
    assert slug("hf//data/models/my model@v2") == "hf-data-models-my-model-v2"
    assert len(slug("x" * 100)) == 40


def test_a_folder_of_another_schema_is_refused_with_what_to_do(tmp_path):
    import json

    from medtrust.errors import MedtrustError
    from medtrust.runs.records import SCHEMA_VERSION
    run = RunFolder.create(tmp_path, "generate", "embedded", {"study": "generate"})
    run.append([{"schema_version": SCHEMA_VERSION + 1, "id": "q1"}])
    with pytest.raises(MedtrustError, match="written by a newer medtrust") as e:
        run.check_schema(run.samples()[0])
    assert "upgrade medtrust" in e.value.fix
    old = RunFolder.create(tmp_path, "generate", "embedded", {"study": "generate"})
    (old.path / "results.json").write_text(json.dumps({"study": "generate", "format_version": 1}))
    with pytest.raises(MedtrustError, match="older medtrust \\(run schema 1") as e:
        old.read_results()
    assert e.value.fix == f"convert it with: medtrust upgrade {old.path}  (writes a new run folder)"
