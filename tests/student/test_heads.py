"""Behaviour of the regression heads: shapes, save/load, config and mean-predictor initialisation."""

from __future__ import annotations

import json

import pytest
import torch

from filterforge.student.heads import MLPHead, RegressionHead

HEADS = [RegressionHead, MLPHead]


@pytest.mark.parametrize("cls", HEADS)
def test_output_shape_is_batch_by_outputs(cls):
    torch.manual_seed(0)
    head = cls(hidden_size=16, num_outputs=5).eval()
    assert head(torch.randn(3, 16)).shape == (3, 5)
    assert head(torch.randn(1, 16)).shape == (1, 5)


@pytest.mark.parametrize("cls", HEADS)
def test_config_round_trip(cls):
    head = cls(hidden_size=12, num_outputs=3, dropout=0.25)
    config = head.config()
    assert config == {"hidden_size": 12, "num_outputs": 3, "dropout": 0.25}
    assert cls(**config).config() == config


@pytest.mark.parametrize("cls", HEADS)
def test_save_then_load_gives_identical_outputs(cls, tmp_path):
    torch.manual_seed(0)
    head = cls(hidden_size=16, num_outputs=4, dropout=0.2)
    with torch.no_grad():
        for p in head.parameters():
            p.add_(torch.randn_like(p))  # move away from the default init
    head.save(tmp_path, "head")

    assert json.loads((tmp_path / "head_config.json").read_text())["name"] == cls.name
    assert (tmp_path / "head.safetensors").exists()

    torch.manual_seed(123)  # a different init for the fresh instance
    loaded = cls.load(tmp_path, "head")
    assert type(loaded) is cls
    assert loaded.config() == head.config()
    x = torch.randn(6, 16)
    head.eval(), loaded.eval()
    assert torch.equal(loaded(x), head(x))


def test_loaded_head_keeps_its_own_prefix(tmp_path):
    torch.manual_seed(0)
    first, second = RegressionHead(8, 2), RegressionHead(8, 2)
    first.save(tmp_path, "a")
    second.save(tmp_path, "b")
    x = torch.randn(2, 8)
    assert torch.equal(RegressionHead.load(tmp_path, "a").eval()(x), first.eval()(x))
    assert torch.equal(RegressionHead.load(tmp_path, "b").eval()(x), second.eval()(x))


@pytest.mark.parametrize("cls", HEADS)
def test_eval_mode_is_deterministic_and_train_mode_uses_dropout(cls):
    torch.manual_seed(0)
    head = cls(hidden_size=32, num_outputs=3, dropout=0.5)
    x = torch.randn(4, 32)
    head.eval()
    assert torch.equal(head(x), head(x))
    head.train()
    assert not torch.equal(head(x), head(x))


def test_set_output_bias_regression_head_outputs_the_means_for_zero_input():
    torch.manual_seed(0)
    head = RegressionHead(hidden_size=16, num_outputs=3).eval()
    means = torch.tensor([2.5, 7.0, 0.5])
    head.set_output_bias(means)
    out = head(torch.zeros(4, 16))
    assert torch.allclose(out, means.expand(4, 3))


@pytest.mark.parametrize("cls", HEADS)
def test_set_output_bias_starts_near_the_mean_predictor(cls):
    torch.manual_seed(0)
    head = cls(hidden_size=16, num_outputs=3).eval()
    means = torch.tensor([2.5, 7.0, 0.5])
    x = 0.01 * torch.randn(5, 16)
    before = (head(x) - means).abs().max().item()
    head.set_output_bias(means)
    after = (head(x) - means).abs()
    assert after.max().item() < 0.1
    assert after.max().item() < before
    # the bias really is the means, and the head is still trainable (weights not zeroed)
    assert torch.equal(head.output_layer().bias.detach(), means)
    assert head.output_layer().weight.abs().sum() > 0
