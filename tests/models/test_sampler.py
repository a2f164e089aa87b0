"""The inverse-CDF sampler the hf backend draws tokens with: its draws follow the tempered
softmax (chi-square test against scipy), top-p keeps only the nucleus, impossible tokens are never
drawn, and each row's draws come from its own seed whatever the other rows are."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import chisquare
from transformers import TopPLogitsWarper

from medtrust.models.hf_processors import InverseCDFSampler, row_uniforms


def draw(logits, temperature=1.0, top_p=None, rows=20000, first_seed=0):
    """Token drawn for ``rows`` rows (seeds first_seed..) of ``logits``; checks only that token is finite."""
    sampler = InverseCDFSampler(temperature, top_p, row_uniforms(range(first_seed, first_seed + rows), 1))
    scores = sampler(torch.zeros((rows, 1), dtype=torch.long), logits.repeat(rows, 1))
    assert torch.isfinite(scores).sum(dim=1).eq(1).all()
    return scores.argmax(dim=1).numpy()


@pytest.mark.parametrize("temperature", [1.0, 0.5, 2.0])
def test_draws_follow_the_tempered_softmax(temperature):
    logits = torch.tensor([[2.0, 1.0, 0.5, 0.0, -1.0, -3.0]])
    tokens = draw(logits, temperature)
    p = torch.softmax(logits[0].double() / temperature, -1).numpy()
    expected = p / p.sum() * len(tokens)
    observed = np.bincount(tokens, minlength=logits.shape[1])
    assert chisquare(observed, expected).pvalue > 1e-3


def test_top_p_keeps_the_nucleus_renormalised():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    tokens = draw(logits, top_p=0.75, first_seed=10 ** 6)
    kept = TopPLogitsWarper(0.75)(None, logits.clone())[0]
    assert torch.isinf(kept[2:]).all()  # transformers' warper keeps the first two tokens
    observed = np.bincount(tokens, minlength=4)
    assert observed[2:].sum() == 0
    assert chisquare(observed[:2], np.array([0.5, 0.3]) / 0.8 * len(tokens)).pvalue > 1e-3


def test_impossible_tokens_are_never_drawn_and_seeds_fix_draws():
    logits = torch.tensor([[float("-inf"), 0.0, float("-inf"), 0.0, float("-inf")]])
    first = draw(logits, rows=5000)
    assert set(first.tolist()) == {1, 3}
    assert (draw(logits, rows=5000) == first).all()
    with pytest.raises(ValueError):
        InverseCDFSampler(0.0, None, row_uniforms([0], 1))


def test_a_rows_draws_do_not_depend_on_the_other_rows_or_their_order():
    u = row_uniforms([11, 22, 33], 4)
    assert u.shape == (3, 4) and (row_uniforms([33, 11], 4) == u[[2, 0]]).all()
    assert (row_uniforms([22], 4)[0] == np.random.default_rng(22).random(4)).all()
    logits = torch.randn(3, 50, generator=torch.Generator().manual_seed(0))
    whole = InverseCDFSampler(1.0, None, u)
    all_rows = [whole(None, logits).argmax(1)]  # step 0 for rows 0, 1, 2
    whole.select([2, 0], 1)  # row 1 finished: the batch now holds rows 2 and 0, next token 1
    later = whole(None, logits[[2, 0]]).argmax(1)
    alone = InverseCDFSampler(1.0, None, row_uniforms([33], 4))
    alone.select([0], 1)
    assert later[0] == alone(None, logits[[2]]).argmax(1)[0]
    assert all_rows[0].shape == (3,)
