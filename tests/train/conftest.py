"""Fixtures of the training tests: a tiny randomly initialised Llama with the embedded tokenizer."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_llama_path(tmp_path_factory):
    """Folder of a 2-layer random Llama (hidden size 32) saved with the embedded model's tokenizer
    and chat template; loads as ``hf/<folder>``."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from medtrust.models.embedded import materialize
    folder = tmp_path_factory.mktemp("tiny-llama-train")
    tok = AutoTokenizer.from_pretrained(str(materialize()))
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=1024,
                         bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    LlamaForCausalLM(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def read_weights():
    """A function: the tensors of a saved model folder (its safetensors files), by name."""
    from pathlib import Path

    from safetensors.torch import load_file

    def read(folder):
        out = {}
        for f in sorted(Path(folder).glob("*.safetensors")):
            out.update(load_file(str(f)))
        return out
    return read
