"""A corrupt line in the middle of samples.jsonl is named by file and line; nothing is removed."""

import pytest

from medtrust.errors import MedtrustError
from medtrust.runs.folder import RunFolder


def test_a_corrupt_middle_line_is_named_with_its_number(tmp_path):
    run = RunFolder.create(tmp_path, "generate", "embedded", {"study": "generate", "model": "embedded"})
    good = '{"id": "a::default", "x": 1}\n'
    run.samples_path.write_text(good + '{"id": "b::def\n' + good.replace("a::", "c::") + '{"id": "d"')
    before = run.samples_path.read_bytes()
    with pytest.raises(MedtrustError) as err:
        run.samples()
    assert f"Line 2 of {run.samples_path} is not a JSON record" in str(err.value)
    assert "--drop-corrupt-lines" in err.value.fix and run.samples_path.read_bytes() == before
    assert run.set_aside_corrupt_lines() == 1  # the cut-off last line is the interrupted write: kept as is
    assert (run.path / "samples.corrupt.jsonl").read_text() == '{"id": "b::def\n'
    assert [r["id"] for r in run.samples()] == ["a::default", "c::default"]
    run.samples_path.write_text(before.decode())
    run.samples_path.write_text(good + "[1, 2]\n")
    with pytest.raises(MedtrustError, match="Line 2 .* is not a sample record"):
        run.samples()
    run.samples_path.write_text(good + '{"id": "half-writ')  # a cut-off last line is the interrupted write
    assert [r["id"] for r in run.samples()] == ["a::default"]
