"""The inverse-CDF sampler the hf backend draws tokens with: its draws follow the tempered
softmax (chi-square test against scipy), top-p keeps only the nucleus, impossible tokens are never
drawn, and the seed fixes the draws."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import chisquare
from transformers import TopPLogitsWarper

from medtrust.models.hf_processors import InverseCDFSampler


def draw(sampler, logits, rows=20000):
    """Token drawn in each of ``rows`` copies of ``logits``; checks only that token is finite."""
    scores = sampler(torch.zeros((rows, 1), dtype=torch.long), logits.repeat(rows, 1))
    assert torch.isfinite(scores).sum(dim=1).eq(1).all()
    return scores.argmax(dim=1).numpy()


@pytest.mark.parametrize("temperature", [1.0, 0.5, 2.0])
def test_draws_follow_the_tempered_softmax(temperature):
    torch.manual_seed(0)
    logits = torch.tensor([[2.0, 1.0, 0.5, 0.0, -1.0, -3.0]])
    tokens = draw(InverseCDFSampler(temperature), logits)
    p = torch.softmax(logits[0].double() / temperature, -1).numpy()
    expected = p / p.sum() * len(tokens)
    observed = np.bincount(tokens, minlength=logits.shape[1])
    assert chisquare(observed, expected).pvalue > 1e-3


def test_top_p_keeps_the_nucleus_renormalised():
    torch.manual_seed(1)
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    tokens = draw(InverseCDFSampler(1.0, top_p=0.75), logits)
    kept = TopPLogitsWarper(0.75)(None, logits.clone())[0]
    assert torch.isinf(kept[2:]).all()  # transformers' warper keeps the first two tokens
    observed = np.bincount(tokens, minlength=4)
    assert observed[2:].sum() == 0
    assert chisquare(observed[:2], np.array([0.5, 0.3]) / 0.8 * len(tokens)).pvalue > 1e-3


def test_impossible_tokens_are_never_drawn_and_the_seed_fixes_draws():
    logits = torch.tensor([[float("-inf"), 0.0, float("-inf"), 0.0, float("-inf")]])
    torch.manual_seed(2)
    first = draw(InverseCDFSampler(1.0), logits, rows=5000)
    assert set(first.tolist()) == {1, 3}
    torch.manual_seed(2)
    assert (draw(InverseCDFSampler(1.0), logits, rows=5000) == first).all()
    with pytest.raises(ValueError):
        InverseCDFSampler(0.0)
