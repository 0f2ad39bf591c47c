"""Shared-prefix batching computes exactly what the naive prompt + article concatenation computes."""

from __future__ import annotations

import pytest
import torch

from filterforge.encoding.batching import collate
from filterforge.filters.spec import resolve_filter
from filterforge.student.model import build_student
from filterforge.plugins.manager import get_strategies
from filterforge.student import shared_prefix as sp


def _setup(tiny_decoder, lora: bool):
    from transformers import AutoTokenizer

    spec = resolve_filter("investment-risk/v2")
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_decoder))
    strategy = get_strategies()["instruction"](spec, tokenizer)
    torch.manual_seed(0)
    model = build_student(tiny_decoder, len(spec.dimensions), "regression", None, {})
    if lora:
        from peft import LoraConfig, get_peft_model

        model.body = get_peft_model(model.body, LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", lora_dropout=0.0))
        for name, param in model.body.named_parameters():  # non-zero B so LoRA actually changes the output
            if "lora_B" in name:
                torch.nn.init.normal_(param, std=0.02)
    model.eval()  # dropout off: both paths must see the same function
    return spec, tokenizer, strategy, model


def _articles(n: int) -> list[dict]:
    words = "banks deposit outflows spread contagion central bank emergency liquidity default yields".split()
    return [{"id": str(i), "title": f"article {i}", "content": " ".join(words[(i + j) % len(words)] for j in range(5 + 9 * i))}
            for i in range(n)]


def _loss_and_grads(model, batch, shared: bool, labels):
    model.zero_grad(set_to_none=True)
    scores = sp.forward_shared(model, batch) if shared else model(batch.input_ids, batch.attention_mask)
    loss = torch.nn.functional.mse_loss(scores, labels)
    loss.backward()
    grads = {name: p.grad.detach().clone() for name, p in model.named_parameters() if p.grad is not None}
    return loss.detach(), scores.detach(), grads


@pytest.mark.parametrize("padding_side", ["right", "left"])
@pytest.mark.parametrize("lora", [False, True])
def test_shared_prefix_matches_naive_concatenation(tiny_decoder, padding_side, lora):
    spec, tokenizer, strategy, model = _setup(tiny_decoder, lora)
    encoded = [strategy.encode(a, max_length=strategy.fixed_tokens + 64) for a in _articles(4)]
    assert len({len(e.input_ids) for e in encoded}) == 4, "articles of different lengths"
    prefix_length = encoded[0].prefix_length
    assert prefix_length > 1000 and all(e.prefix_length == prefix_length for e in encoded)
    labels = torch.rand(4, len(spec.dimensions)) * 10
    pad = tokenizer.pad_token_id
    naive = collate(encoded, [0, 1, 2, 3], None, pad, 8, shared_prefix=False, padding_side=padding_side)
    shared = collate(encoded, [0, 1, 2, 3], None, pad, 8, shared_prefix=True, padding_side=padding_side)
    assert shared.prefix_ids.shape[1] == prefix_length and shared.input_ids.shape[1] < naive.input_ids.shape[1]

    loss_n, scores_n, grads_n = _loss_and_grads(model, naive, False, labels)
    loss_s, scores_s, grads_s = _loss_and_grads(model, shared, True, labels)

    torch.testing.assert_close(loss_s, loss_n, rtol=1e-5, atol=0)
    torch.testing.assert_close(scores_s, scores_n, rtol=1e-5, atol=1e-6)
    assert grads_n.keys() == grads_s.keys() and len(grads_n) > 0
    for name in grads_n:
        scale = grads_n[name].abs().max().clamp(min=1e-12)
        assert ((grads_s[name] - grads_n[name]).abs().max() / scale).item() < 1e-5, name


def test_cached_prompt_inference_matches_full_sequence(tiny_decoder):
    from filterforge.runtime.torch_predictor import TorchPredictor

    spec, tokenizer, strategy, model = _setup(tiny_decoder, lora=False)
    max_length = strategy.fixed_tokens + 64
    articles = _articles(5)
    cached = TorchPredictor(model, tokenizer, strategy, max_length, batch_size=2, shared_prefix=True)
    full = TorchPredictor(model, tokenizer, strategy, max_length, batch_size=2, shared_prefix=False)
    assert cached.path_used == "shared-prefix" and full.path_used == "full-sequence"
    first = cached.predict(articles)
    again = cached.predict(articles)  # the process-wide prompt cache must not be altered by use
    reference = full.predict(articles)
    assert abs(first - reference).max() < 1e-4
    assert abs(again - first).max() == 0


def test_encoders_keep_the_ordinary_path(tiny_encoder):
    from transformers import AutoTokenizer

    spec = resolve_filter("investment-risk/v2")
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_encoder))
    model = build_student(tiny_encoder, len(spec.dimensions), "regression", None, {})
    assert not sp.supported(model, get_strategies()["instruction"](spec, tokenizer))
    assert not sp.supported(model, get_strategies()["distillation"](spec, tokenizer))
