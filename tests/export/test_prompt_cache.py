"""Instruction (shared-prompt) decoders exported with the prompt's KV cache as graph inputs: parity with
torch's cached path over batch sizes and article lengths, right padding, the prompt-hash check, and
`score --runtime auto` choosing ONNX for them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, invoke, tiny_train_args


def _rows(splits: Path, split: str) -> list[dict]:
    return [json.loads(line) for line in (splits / f"{split}.jsonl").read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def instruction_run(tmp_path_factory, demo_splits, tiny_decoder) -> Path:
    """A tiny Llama-style (GQA 4/2) instruction student with the first 60 words of its filter's prompt."""
    from click.testing import CliRunner

    root = tmp_path_factory.mktemp("prompt-cache")
    folder = root / "filters" / "investment-risk" / "v2"
    folder.mkdir(parents=True)
    source = REPO / "filters" / "investment-risk" / "v2"
    (folder / "filter.yaml").write_text((source / "filter.yaml").read_text())
    (folder / "prompt.md").write_text(" ".join((source / "prompt.md").read_text().split()[:60]))
    run = root / "run"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FILTERFORGE_FILTERS_PATH", str(root / "filters"))
        trained = invoke(CliRunner(), tiny_train_args(demo_splits, tiny_decoder, run, "instruction",
                                                      "--max-train-examples", "16", "--min-article-tokens", "64"))
    assert trained.exit_code == 0, trained.output
    return run


@pytest.fixture(scope="module")
def cached_export(instruction_run) -> Path:
    from click.testing import CliRunner

    result = invoke(CliRunner(), ["export", instruction_run])
    assert result.exit_code == 0, result.output
    assert "prompt's KV cache" in result.output
    return instruction_run / "onnx"


def _predictors(run: Path, export: Path):
    from filterforge.runs.run import Run
    from filterforge.runtime.loader import load_predictor

    return (load_predictor(Run.open(export), runtime="onnx"),
            load_predictor(Run.open(run), runtime="torch", device="cpu"))


def test_the_export_takes_the_prompt_cache_as_inputs(cached_export):
    import onnx

    info = json.loads((cached_export / "filterforge.json").read_text())
    assert info["input_path"] == "prompt-cache" and info["prompt_in_input"] is False
    cache = info["prompt_cache"]
    assert cache["file"] == "prompt_cache.safetensors" and (cached_export / cache["file"]).is_file()
    assert cache["layers"] == 2 and cache["shape"][:2] == [1, 2] and len(cache["prompt_sha256"]) == 64
    parity = info["parity"]
    assert parity["passed"] and parity["max_abs_diff"] <= 1e-4 and "cached prompt" in parity["reference"]
    assert len(parity["batch_sizes"]) >= 3 and max(parity["article_lengths"]) < min(parity["input_lengths"])
    graph = onnx.load(str(cached_export / "model.onnx"), load_external_data=False).graph
    names = [i.name for i in graph.input]
    assert names[:2] == ["input_ids", "attention_mask"]
    assert names[2:] == [f"past_key_values.{i}.{p}" for i in range(2) for p in ("key", "value")]
    past = graph.input[2].type.tensor_type.shape.dim
    assert past[0].dim_value == 1 and past[2].dim_param  # batch 1 (expanded in the graph), any prompt length
    assert [o.name for o in graph.output] == ["scores"]
    # fused attention: per layer a Scan over the batch's rows, each one GroupQueryAttention of batch 1
    assert info["traced_attention"] == "fused" and "rejected_attention" not in info
    scans = [n for n in graph.node if n.op_type == "Scan"]
    bodies = [next(a.g for a in scan.attribute if a.name == "body") for scan in scans]
    assert len(scans) == 2 and all(any(m.op_type == "GroupQueryAttention" for m in body.node) for body in bodies)


def test_onnx_matches_the_torch_cached_path_over_batch_sizes_and_lengths(instruction_run, cached_export, demo_splits):
    onnx_predictor, torch_predictor = _predictors(instruction_run, cached_export)
    assert onnx_predictor.path_used == torch_predictor.path_used == "shared-prefix"
    rows = _rows(demo_splits, "val")[:12]
    strategy = onnx_predictor.strategy
    prompt = strategy.fixed_tokens
    # Mixed article lengths: each row cut to its own budget (5 .. 120 article tokens).
    encoded = [strategy.encode(row, prompt + 5 + (i * 23) % 116) for i, row in enumerate(rows)]
    assert len({e.article_tokens for e in encoded}) > 6
    reference = torch_predictor.predict_raw_encoded(encoded)
    for batch_size in (1, 2, 5, 12):
        onnx_predictor.batch_size = batch_size
        np.testing.assert_allclose(onnx_predictor.predict_raw_encoded(encoded), reference, atol=1e-4)


def test_batches_are_article_tokens_right_padded_after_the_prompt(instruction_run, cached_export, demo_splits):
    from filterforge.errors import FilterforgeError

    onnx_predictor, _ = _predictors(instruction_run, cached_export)
    strategy = onnx_predictor.strategy
    prompt = onnx_predictor.prompt_length
    encoded = [strategy.encode(row, strategy.fixed_tokens + n) for row, n in zip(_rows(demo_splits, "test"), (40, 9, 23))]
    ids, mask = onnx_predictor.batch_arrays(encoded)
    assert mask.shape == (3, prompt + ids.shape[1]) and mask[:, :prompt].all()
    for row, item in enumerate(encoded):
        article = item.input_ids[item.prefix_length:]
        assert ids[row, : len(article)].tolist() == article
        assert mask[row, prompt:].tolist() == [1] * len(article) + [0] * (ids.shape[1] - len(article))
    together = onnx_predictor.run_batch(ids, mask)
    alone = np.concatenate([onnx_predictor.run_batch(*onnx_predictor.batch_arrays([e])) for e in encoded])
    np.testing.assert_allclose(together, alone, atol=1e-5)  # padding never reaches a real token
    left = np.concatenate([mask[:, :prompt], mask[:, prompt:][:, ::-1]], axis=1)
    with pytest.raises(FilterforgeError, match="right-padded articles after the whole prompt"):
        onnx_predictor.run_batch(ids, left)


def test_the_graph_runs_at_untraced_shapes_with_the_bound_cache(cached_export):
    import onnxruntime as ort
    from safetensors.numpy import load_file

    cache = load_file(str(cached_export / "prompt_cache.safetensors"))
    session = ort.InferenceSession(str(cached_export / "model.onnx"), providers=["CPUExecutionProvider"])
    prompt = cache["past_key_values.0.key"].shape[2]
    for batch, length in [(1, 1), (3, 77), (7, 200)]:
        ids = np.full((batch, length), 9, dtype=np.int64)
        mask = np.ones((batch, prompt + length), dtype=np.int64)
        scores = session.run(["scores"], {"input_ids": ids, "attention_mask": mask, **cache})[0]
        assert scores.shape == (batch, 8) and np.isfinite(scores).all()


def test_a_changed_prompt_is_refused_in_one_line(runner, instruction_run, cached_export, demo_splits, tmp_path):
    from filterforge.errors import FilterforgeError
    from filterforge.runs.run import Run
    from filterforge.runtime.loader import load_predictor

    changed = shutil.copytree(cached_export, tmp_path / "onnx")
    (changed / "prompt.md").write_text((changed / "prompt.md").read_text() + " Also consider the weather.")
    with pytest.raises(FilterforgeError, match="computed for other prompt tokens") as error:
        load_predictor(Run.open(changed), runtime="onnx")
    assert "\n" not in str(error.value) and "re-export" in str(error.value)
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in _rows(demo_splits, "test")[:2]))
    result = invoke(runner, ["score", changed, "--input", source, "--output", tmp_path / "out.jsonl"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: ") and "computed for other prompt tokens" in last and "re-export" in last


def test_score_auto_chooses_onnx_for_an_instruction_student_with_an_export(runner, instruction_run, cached_export,
                                                                             demo_splits, tmp_path):
    from filterforge.runs.run import Run
    from filterforge.runtime.loader import choose_runtime

    assert choose_runtime(Run.open(instruction_run)) == "onnx"
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in _rows(demo_splits, "test")[:6]))
    outputs = {}
    for runtime in ("auto", "torch"):
        out = tmp_path / f"{runtime}.jsonl"
        result = invoke(runner, ["score", instruction_run, "--input", source, "--output", out, "--runtime", runtime])
        assert result.exit_code == 0, result.output
        outputs[runtime] = np.array([list(json.loads(line)["scores"].values()) for line in out.read_text().splitlines()])
        if runtime == "auto":
            assert "with onnx fp32" in result.output and "prompt cached" in result.output
    np.testing.assert_allclose(outputs["auto"], outputs["torch"], atol=1e-4)


def test_bench_times_both_runtimes_on_the_shared_prefix_path(runner, instruction_run, cached_export):
    bench = invoke(runner, ["bench", instruction_run, "--batch-sizes", "1,2", "--lengths", "16", "--warmup", "0",
                            "--iters", "1"])
    assert bench.exit_code == 0, bench.output
    report = json.loads((instruction_run / "bench.json").read_text())
    assert {(r["runtime"], r["path"]) for r in report["results"]} == {("torch", "shared-prefix"), ("onnx", "shared-prefix")}


@pytest.mark.parametrize("mode", ["int8", "fp16"])
def test_quantized_prompt_cache_exports_pass_their_gate(runner, instruction_run, tmp_path, mode):
    result = invoke(runner, ["export", instruction_run, "--quantize", mode, "--output", tmp_path / mode])
    assert result.exit_code == 0, result.output
    info = json.loads((tmp_path / mode / "filterforge.json").read_text())
    assert info["input_path"] == "prompt-cache" and info["quantization"]["gate"]["passed"]
    assert (tmp_path / mode / "prompt_cache.safetensors").is_file() and not (tmp_path / mode / "model-fp32.onnx").exists()
