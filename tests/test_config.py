"""Config precedence: defaults < --config YAML < flags."""

from __future__ import annotations

import pytest

from medtrust.config import build_config
from medtrust.errors import MedtrustError
from medtrust.generate import GenerateConfig


def test_precedence(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("model: hf/some/model\nmax-tokens: 99\ntemperature: 0.7\nmodel_args: {device: cpu}\n")
    cfg = build_config(GenerateConfig, f, {"temperature": 1.0, "limit": None, "model_args": {}})
    assert cfg.model == "hf/some/model"  # from the file
    assert cfg.max_tokens == 99  # dashes allowed in the file
    assert cfg.temperature == 1.0  # the flag wins
    assert cfg.model_args == {"device": "cpu"}  # an empty -M list does not erase the file's
    assert cfg.limit is None and cfg.seed == 0 and cfg.dataset == "demo-qa"  # defaults


def test_invalid_values_are_named(tmp_path):
    with pytest.raises(MedtrustError, match="temperature"):
        build_config(GenerateConfig, None, {"temperature": -1})
    with pytest.raises(MedtrustError, match="lang"):
        build_config(GenerateConfig, None, {"lang": "fr"})
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a\n- b\n")
    with pytest.raises(MedtrustError, match="mapping"):
        build_config(GenerateConfig, bad, {})
