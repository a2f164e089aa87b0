"""Values of the wrong kind in a user's data file are named by file, row and field (issue 14)."""

import pytest

from medtrust.data.registry import load_dataset
from medtrust.errors import DataError

GOOD = '{"question": "Q?", "options": {"A": "a", "B": "b", "C": "c", "D": "d"}, "answer": "a", "answer_idx": "A"}'


@pytest.mark.parametrize("bad, phrase", [
    (GOOD.replace('"Q?"', "5"), "field 'question': input should be a valid string (got 5)"),
    (GOOD.replace('"a", "B"', 'null, "B"'), "option None is not text"),
    (GOOD.replace('"a", "B"', '[1, 2], "B"'), "option [1, 2] is not text"),
    (GOOD.replace('"a", "B"', '"  ", "B"'), "option '  ' is not text"),
])
def test_a_value_of_the_wrong_kind_names_file_row_and_field(tmp_path, bad, phrase):
    f = tmp_path / "us_4_options_test.jsonl"
    f.write_text(GOOD + "\n" + GOOD + "\n" + bad + "\n")
    with pytest.raises(DataError) as err:
        load_dataset("medqa", path=f)
    assert f"Malformed row 3 in {f}" in str(err.value) and phrase in str(err.value)


def test_numbers_as_options_are_text(tmp_path):
    f = tmp_path / "us_4_options_test.jsonl"
    f.write_text(GOOD.replace('"a", "B": "b"', '5, "B": 2.5').replace('"answer": "a"', '"answer": "5"') + "\n")
    (s,) = load_dataset("medqa", path=f)
    assert s.choices[:2] == ["5", "2.5"]
