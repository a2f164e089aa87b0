"""The examples in the reasoning modules' docstrings hold."""

import doctest

import pytest

from medtrust.reasoning import extract, faithfulness, harness, numbers, strategies, text, vote


@pytest.mark.parametrize("module", [extract, numbers, text, faithfulness, harness, strategies, vote])
def test_docstring_examples(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
