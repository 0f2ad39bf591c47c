"""Batch-1 static-shape scoring (the function CUDA graphs replay) equals ordinary batched prediction."""

from __future__ import annotations

import pytest
import torch

from filterforge.runtime.cuda_graphs import GraphedScorer, bucket_lengths
from filterforge.errors import FilterforgeError
from filterforge.filters.spec import resolve_filter
from filterforge.encoding.batching import pad_token_id
from filterforge.runtime.cuda_graphs import CudaGraphPredictor
from filterforge.runtime.torch_predictor import TorchPredictor
from filterforge.student.model import build_student
from filterforge.plugins.manager import get_strategies

from conftest import assert_one_line_error, invoke, tiny_train_args


def _student(model_dir, strategy_name: str):
    from transformers import AutoTokenizer

    spec = resolve_filter("investment-risk/v2")
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    strategy = get_strategies()[strategy_name](spec, tokenizer)
    torch.manual_seed(0)
    model = build_student(model_dir, len(spec.dimensions), "regression", None, {}).eval()
    return tokenizer, strategy, model


def _articles(n: int) -> list[dict]:
    words = "banks deposit outflows spread contagion central bank emergency liquidity default yields".split()
    return [{"id": str(i), "title": f"article {i}", "content": " ".join(words[(i * 7 + j) % len(words)] for j in range(3 + 11 * i))}
            for i in range(n)]


def test_buckets_cover_every_length_up_to_max_length():
    assert bucket_lengths(300) == [64, 128, 256, 300]
    assert bucket_lengths(64) == [64]
    assert bucket_lengths(40) == [40]


@pytest.mark.parametrize("strategy_name", ["distillation", "instruction"])
def test_static_batch1_path_matches_batched_prediction(tiny_decoder, strategy_name):
    tokenizer, strategy, model = _student(tiny_decoder, strategy_name)
    max_length = strategy.fixed_tokens + 80
    predictor = TorchPredictor(model, tokenizer, strategy, max_length, batch_size=4)
    encoded = predictor.encode(_articles(6))
    assert len({len(e.input_ids) for e in encoded}) == 6
    reference = predictor.predict_raw_encoded(encoded)
    prefix = None
    if predictor.use_shared_prefix:
        prefix = torch.tensor([encoded[0].input_ids[: encoded[0].prefix_length]])
    scorer = GraphedScorer(model, pad_token_id(tokenizer), max_length, prefix, dtype=None, capture=False,
                           buckets=(16, 32, 64))
    prefix_length = 0 if prefix is None else prefix.shape[1]
    assert scorer.lengths == [16, 32, 64, max_length - prefix_length]
    for row, item in enumerate(encoded):
        ids = item.input_ids[item.prefix_length :] if prefix is not None else item.input_ids
        scores = scorer.score(ids)
        assert scores.shape == (1, reference.shape[1])
        torch.testing.assert_close(scores[0], torch.from_numpy(reference[row]), rtol=1e-4, atol=1e-4)


def test_cuda_graphs_refuse_encoders_and_cpu(tiny_encoder, tiny_decoder):
    tokenizer, strategy, model = _student(tiny_encoder, "distillation")
    with pytest.raises(FilterforgeError, match="decoder student"):
        GraphedScorer(model, 0, 64, capture=False)
    tokenizer, strategy, model = _student(tiny_decoder, "distillation")
    with pytest.raises(FilterforgeError, match="needs a CUDA GPU"):
        CudaGraphPredictor(TorchPredictor(model, tokenizer, strategy, 64, device="cpu"))


@pytest.mark.skipif(torch.cuda.is_available(), reason="on a GPU machine the flag works")
def test_score_with_cuda_graphs_on_a_cpu_machine_is_one_line(runner, demo_splits, tiny_decoder, tmp_path):
    run = tmp_path / "run"
    assert invoke(runner, tiny_train_args(demo_splits, tiny_decoder, run, "distillation", "--max-train-examples", "16")).exit_code == 0
    result = invoke(runner, ["score", str(run), "--input", str(demo_splits / "test.jsonl"),
                             "--output", str(tmp_path / "scores.jsonl"), "--runtime", "torch", "--cuda-graphs"])
    assert result.exit_code != 0
    assert "--cuda-graphs needs a CUDA GPU" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "scores.jsonl").exists()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a GPU")
@pytest.mark.parametrize("strategy_name", ["distillation", "instruction"])
def test_captured_graphs_replay_the_eager_scores(tiny_decoder, strategy_name):
    tokenizer, strategy, model = _student(tiny_decoder, strategy_name)
    model.to("cuda")
    max_length = strategy.fixed_tokens + 80
    predictor = TorchPredictor(model, tokenizer, strategy, max_length, device="cuda", batch_size=4)
    encoded = predictor.encode(_articles(6))
    reference = predictor.predict_encoded(encoded)
    graphed = CudaGraphPredictor(TorchPredictor(model, tokenizer, strategy, max_length, device="cuda"))
    scores = graphed.predict_encoded(encoded)
    assert abs(scores - reference).max() < 0.1  # bf16 weights against fp32
    assert abs(graphed.predict_encoded(encoded) - scores).max() == 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA graphs need a GPU")
def test_bench_and_score_run_the_cuda_graph_path(runner, demo_splits, tiny_decoder, tmp_path):
    import json

    run = tmp_path / "run"
    assert invoke(runner, tiny_train_args(demo_splits, tiny_decoder, run, "instruction", "--max-train-examples", "8",
                                          "--max-length", "4600", "--device", "cpu")).exit_code == 0
    result = invoke(runner, ["bench", run, "--runtime", "torch", "--device", "cuda", "--cuda-graphs",
                             "--batch-sizes", "1,2", "--lengths", "64", "--warmup", "1", "--iters", "3"])
    assert result.exit_code == 0, result.output
    rows = json.loads((run / "bench.json").read_text())["results"]
    graphed = [r for r in rows if "CUDA graphs" in r["path"]]
    assert [r["batch_size"] for r in graphed] == [1] and graphed[0]["precision"] == "bf16"
    assert {r["batch_size"] for r in rows if r not in graphed} == {1, 2}
    out = tmp_path / "scores.jsonl"
    result = invoke(runner, ["score", run, "--input", demo_splits / "test.jsonl", "--output", out, "--runtime", "torch",
                             "--device", "cuda", "--cuda-graphs"])
    assert result.exit_code == 0, result.output
    assert "CUDA graphs" in result.output
    assert len(out.read_text().splitlines()) == len((demo_splits / "test.jsonl").read_text().splitlines())


@pytest.mark.slow
@pytest.mark.parametrize("strategy_name", ["distillation", "instruction"])
def test_compiled_static_path_matches_eager(tiny_decoder, strategy_name):
    """torch.compile per bucket (what --compile adds before capture) computes the same scores."""
    tokenizer, strategy, model = _student(tiny_decoder, strategy_name)
    max_length = strategy.fixed_tokens + 40
    predictor = TorchPredictor(model, tokenizer, strategy, max_length, batch_size=4)
    encoded = predictor.encode(_articles(3))
    reference = predictor.predict_raw_encoded(encoded)
    prefix = None
    if predictor.use_shared_prefix:
        prefix = torch.tensor([encoded[0].input_ids[: encoded[0].prefix_length]])
    scorer = GraphedScorer(model, pad_token_id(tokenizer), max_length, prefix, dtype=None, capture=False,
                           buckets=(16, 32), compile=True)
    for row, item in enumerate(encoded):
        ids = item.input_ids[item.prefix_length :] if prefix is not None else item.input_ids
        torch.testing.assert_close(scorer.score(ids)[0], torch.from_numpy(reference[row]), rtol=1e-4, atol=1e-4)


def test_compile_without_cuda_graphs_is_one_line(runner, tmp_path):
    assert_one_line_error(invoke(runner, ["bench", tmp_path, "--compile"]), "--compile", "--cuda-graphs")
