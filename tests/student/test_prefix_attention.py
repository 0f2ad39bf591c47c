"""Shared-prefix attention (one un-repeated copy of the prompt's KV, two attention calls merged by their
log-sum-exp) computes what the naive prompt + article concatenation computes: loss, scores, gradients."""

from __future__ import annotations

import pytest
import torch

from filterforge.encoding.batching import collate
from filterforge.student import prefix_attention as pa
from test_shared_prefix import _articles, _setup


def _loss_and_grads(model, labels, forward):
    model.zero_grad(set_to_none=True)
    scores = forward()
    loss = torch.nn.functional.mse_loss(scores, labels)
    loss.backward()
    return loss.detach(), scores.detach(), {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("lora", [False, True])
def test_prefix_attention_matches_naive_concatenation(tiny_decoder, lora):
    spec, tokenizer, strategy, model = _setup(tiny_decoder, lora)
    assert model.body.config.num_attention_heads != model.body.config.num_key_value_heads, "GQA"
    encoded = [strategy.encode(a, max_length=strategy.fixed_tokens + 64) for a in _articles(4)]
    labels = torch.rand(4, len(spec.dimensions)) * 10
    pad = tokenizer.pad_token_id
    naive = collate(encoded, [0, 1, 2, 3], None, pad, 8, shared_prefix=False)
    shared = collate(encoded, [0, 1, 2, 3], None, pad, 8, shared_prefix=True)

    def prefix_forward():
        prompt = pa.prompt_kv(model, shared.prefix_ids, grad=True)
        assert prompt.layers[0][0].shape[0] == 1  # the prompt's KV is never repeated over the batch
        return pa.forward_with_prompt(model, shared.input_ids, shared.attention_mask, prompt)

    loss_n, scores_n, grads_n = _loss_and_grads(model, labels, lambda: model(naive.input_ids, naive.attention_mask))
    loss_p, scores_p, grads_p = _loss_and_grads(model, labels, prefix_forward)

    torch.testing.assert_close(loss_p, loss_n, rtol=1e-5, atol=0)
    torch.testing.assert_close(scores_p, scores_n, rtol=1e-5, atol=1e-6)
    assert grads_n.keys() == grads_p.keys() and len(grads_n) > 0
    for name in grads_n:
        scale = grads_n[name].abs().max().clamp(min=1e-12)
        assert ((grads_p[name] - grads_n[name]).abs().max() / scale).item() < 1e-5, name
    assert model.body.config._attn_implementation != pa.ATTENTION_NAME  # switched back after the forward


def test_folding_groups_round_trips():
    query = torch.randn(3, 6, 5, 4)
    folded = pa.fold_groups(query, kv_heads=2)
    assert folded.shape == (1, 2, 3 * 3 * 5, 4)
    torch.testing.assert_close(pa.unfold_groups(folded, 3, 6, 5), query)
    lse = torch.randn(1, 2, 45)
    assert pa.unfold_groups(lse, 3, 6, 5).shape == (3, 6, 5)


def test_fused_and_math_attention_agree_with_their_log_sum_exp():
    torch.manual_seed(0)
    q, k, v = torch.randn(2, 3, 7, 8), torch.randn(2, 3, 7, 8), torch.randn(2, 3, 7, 8)
    for causal in (False, True):
        fused = pa.attention_with_lse(q, k, v, causal, 0.35)
        math = pa.math_attention_with_lse(q, k, v, causal, 0.35)
        torch.testing.assert_close(fused[0], math[0], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(fused[1], math[1], rtol=1e-5, atol=1e-5)


def test_merging_two_halves_equals_attention_over_the_whole():
    torch.manual_seed(1)
    q, k, v = torch.randn(1, 2, 4, 8), torch.randn(1, 2, 10, 8), torch.randn(1, 2, 10, 8)
    out_a, lse_a = pa.math_attention_with_lse(q, k[:, :, :6], v[:, :, :6], False, 0.3)
    out_b, lse_b = pa.math_attention_with_lse(q, k[:, :, 6:], v[:, :, 6:], False, 0.3)
    whole, _ = pa.math_attention_with_lse(q, k, v, False, 0.3)
    torch.testing.assert_close(pa.merge(out_a, lse_a, out_b, lse_b), whole, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("causal", [False, True])
def test_gradients_include_the_log_sum_exp_path(causal):
    """aten's fused kernels treat their log-sum-exp as a constant; the merge needs its gradient."""
    torch.manual_seed(2)
    shape = (2, 3, 7, 8)
    inputs = [torch.randn(shape, requires_grad=True) for _ in range(3)]
    weights = torch.randn(2, 3, 7), torch.randn(2, 3, 7, 8)
    grads = []
    for attention in (pa.attention_with_lse, pa.math_attention_with_lse):
        out, lse = attention(*inputs, causal, 0.35)
        loss = (lse * weights[0]).sum() + (out * weights[1]).sum()
        grads.append(torch.autograd.grad(loss, inputs))
    for fused, math in zip(*grads):
        torch.testing.assert_close(fused, math, rtol=1e-5, atol=1e-5)
