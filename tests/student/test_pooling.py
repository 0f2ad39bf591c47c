"""Behaviour of the pooling modules: padding handling, cached-prefix masks, save/load."""

from __future__ import annotations

import json

import pytest
import torch

from filterforge.student.pooling import CLSPooling, LastTokenPooling, MeanPooling

HIDDEN = 4


def states(batch: int, seq: int) -> torch.Tensor:
    """Distinct, recognisable states: value = 100 * batch + 10 * position + feature."""
    b = torch.arange(batch).view(batch, 1, 1) * 100.0
    s = torch.arange(seq).view(1, seq, 1) * 10.0
    f = torch.arange(HIDDEN).view(1, 1, HIDDEN).float()
    return b + s + f


# -- mean --------------------------------------------------------------------------------------

def test_mean_pooling_averages_only_real_tokens():
    hidden = states(2, 4)
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]])
    out = MeanPooling()(hidden, mask)
    assert torch.allclose(out[0], hidden[0, :3].mean(0))
    assert torch.allclose(out[1], hidden[1, :2].mean(0))


def test_mean_pooling_ignores_extra_padding_right_or_left():
    torch.manual_seed(0)
    real = torch.randn(1, 3, HIDDEN)
    garbage = 1e3 * torch.randn(1, 2, HIDDEN)
    pool = MeanPooling()
    plain = pool(real, torch.ones(1, 3, dtype=torch.long))
    right = pool(torch.cat([real, garbage], 1), torch.tensor([[1, 1, 1, 0, 0]]))
    left = pool(torch.cat([garbage, real], 1), torch.tensor([[0, 0, 1, 1, 1]]))
    assert torch.allclose(right, plain, atol=1e-6)
    assert torch.allclose(left, plain, atol=1e-6)


def test_mean_pooling_reads_only_the_last_seq_columns_of_a_wider_mask():
    hidden = states(1, 3)
    # 2 cached prefix columns, then the 3 columns that belong to `hidden` (last one padded)
    mask = torch.tensor([[1, 1, 1, 1, 0]])
    assert torch.allclose(MeanPooling()(hidden, mask), hidden[0, :2].mean(0, keepdim=True))


# -- last token --------------------------------------------------------------------------------

def test_last_token_pooling_under_right_padding():
    hidden = states(3, 5)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]])
    out = LastTokenPooling()(hidden, mask)
    assert torch.equal(out, torch.stack([hidden[0, 2], hidden[1, 4], hidden[2, 0]]))


def test_last_token_pooling_under_left_padding():
    hidden = states(3, 5)
    mask = torch.tensor([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1], [0, 0, 0, 0, 1]])
    out = LastTokenPooling()(hidden, mask)
    assert torch.equal(out, hidden[:, 4])


def test_last_token_pooling_with_a_mask_covering_a_cached_prefix():
    hidden = states(2, 3)
    prefix = torch.ones(2, 4, dtype=torch.long)
    own = torch.tensor([[1, 1, 0], [1, 0, 0]])  # right-padded suffixes
    out = LastTokenPooling()(hidden, torch.cat([prefix, own], 1))
    assert torch.equal(out, torch.stack([hidden[0, 1], hidden[1, 0]]))


def test_last_token_pooling_ignores_prefix_columns_beyond_hidden():
    hidden = states(1, 3)
    # prefix columns are padding-like zeros and ones in odd places; only the last 3 columns matter
    mask = torch.tensor([[0, 1, 0, 1, 1, 1]])
    assert torch.equal(LastTokenPooling()(hidden, mask), hidden[:, 2])


def test_last_token_pooling_accepts_a_bool_mask():
    hidden = states(1, 4)
    mask = torch.tensor([[True, True, False, False]])
    assert torch.equal(LastTokenPooling()(hidden, mask), hidden[:, 1])


# -- cls ---------------------------------------------------------------------------------------

def test_cls_pooling_takes_position_zero():
    hidden = states(2, 4)
    mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]])
    assert torch.equal(CLSPooling()(hidden, mask), hidden[:, 0])


# -- save / load -------------------------------------------------------------------------------

@pytest.mark.parametrize("cls", [MeanPooling, LastTokenPooling, CLSPooling])
def test_save_load_round_trip(cls, tmp_path):
    pool = cls()
    pool.save(tmp_path, "pooling")
    config = json.loads((tmp_path / "pooling_config.json").read_text())
    assert config == {"name": cls.name}
    assert not (tmp_path / "pooling.safetensors").exists()  # no weights to store
    loaded = cls.load(tmp_path, "pooling")
    assert type(loaded) is cls
    hidden = states(2, 5)
    mask = torch.tensor([[1, 1, 1, 0, 0], [0, 1, 1, 1, 1]])
    assert torch.equal(loaded(hidden, mask), pool(hidden, mask))


def test_pooling_names_are_distinct():
    assert len({MeanPooling.name, LastTokenPooling.name, CLSPooling.name}) == 3
