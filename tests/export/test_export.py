"""`filterforge export` on tiny in-memory students: one validated graph, parity and quantization gates."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import DATASETS, invoke, tiny_train_args, train_tiny_run

EXPORT_FILES = ["model.onnx", "filterforge.json", "tokenizer.json", "tokenizer_config.json", "filter.yaml", "prompt.md",
                "config.json"]


def _rows(splits: Path, split: str = "test") -> list[dict]:
    return [json.loads(line) for line in (splits / f"{split}.jsonl").read_text().splitlines() if line.strip()]


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.fixture(scope="module")
def encoder_run(tmp_path_factory, demo_splits, tiny_encoder) -> Path:
    return train_tiny_run(tmp_path_factory.mktemp("export") / "run", demo_splits, tiny_encoder, "distillation",
                          "--max-train-examples", "48")


@pytest.fixture(scope="module")
def exported(tmp_path_factory, encoder_run) -> Path:
    from click.testing import CliRunner

    result = invoke(CliRunner(), ["export", encoder_run])
    assert result.exit_code == 0, result.output
    return encoder_run / "onnx"


def test_export_is_one_self_contained_graph_that_matches_torch(exported, encoder_run, demo_splits):
    from filterforge.runs.run import Run
    from filterforge.runtime.loader import load_predictor

    for name in EXPORT_FILES:
        assert (exported / name).exists(), name
    info = json.loads((exported / "filterforge.json").read_text())
    assert info["format"] == "onnx" and info["exporter"] == "optimum" and info["opset"] == 18
    assert info["graph_optimization"]["onnxruntime.transformers fusions"]["Attention"] == 2  # BERT: fused for ORT
    assert info["parity"]["passed"] and info["parity"]["max_abs_diff"] <= 1e-3
    assert len(set(info["parity"]["input_lengths"])) > 1 and 1 in info["parity"]["batch_sizes"]
    for key in ("seed", "data_hash", "git_commit", "package_versions", "dimension_names", "strategy", "max_length"):
        assert info.get(key) is not None, key
    assert info["prompt_in_input"] is False

    import onnx

    graph = onnx.load(str(exported / "model.onnx")).graph
    assert [i.name for i in graph.input] == ["input_ids", "attention_mask"]
    assert [o.name for o in graph.output] == ["scores"]
    assert graph.output[0].type.tensor_type.shape.dim[1].dim_value == 8

    # The folder alone is enough: a predictor from it scores val articles (not the parity ones) like torch.
    rows = _rows(demo_splits, "val")
    onnx_scores = load_predictor(Run.open(exported), runtime="onnx", batch_size=5).predict(rows)
    torch_scores = load_predictor(Run.open(encoder_run), runtime="torch", device="cpu").predict(rows)
    assert onnx_scores.shape == (len(rows), 8)
    np.testing.assert_allclose(onnx_scores, torch_scores, atol=1e-4)


def test_graph_outputs_raw_scores_and_runs_at_untraced_lengths(exported):
    import onnxruntime as ort

    session = ort.InferenceSession(str(exported / "model.onnx"), providers=["CPUExecutionProvider"])
    for batch, length in [(1, 3), (3, 77), (2, 400)]:
        ids = np.full((batch, length), 9, dtype=np.int64)
        mask = np.ones_like(ids)
        scores = session.run(["scores"], {"input_ids": ids, "attention_mask": mask})[0]
        assert scores.shape == (batch, 8) and np.isfinite(scores).all()


def test_parity_failure_removes_everything(runner, encoder_run):
    out = encoder_run / "onnx-broken"
    result = invoke(runner, ["export", encoder_run, "--output", out, "--parity-perturbation", "0.01"])
    assert result.exit_code == 1
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: parity check failed") and "--atol 0.001" in last and "Traceback" not in result.output
    assert not out.exists() and _leftovers(encoder_run) == []


def test_int8_refused_by_the_gate_leaves_nothing(runner, encoder_run):
    result = invoke(runner, ["export", encoder_run, "--quantize", "int8", "--max-mae-increase", "-1"])
    assert result.exit_code == 1
    assert "before (torch fp32) MAE" in result.output and "after  (ONNX int8) MAE" in result.output
    assert result.output.count("mean predictor") >= 2 and "article tokens kept mean" in result.output
    assert "Error: int8 refused: test MAE rises by" in result.output
    assert not (encoder_run / "onnx-int8").exists() and _leftovers(encoder_run) == []


def test_int8_within_the_gate_keeps_head_and_embeddings_fp32(runner, encoder_run, demo_splits):
    import onnx

    from filterforge.runs.run import Run
    from filterforge.runtime.loader import load_predictor

    result = invoke(runner, ["export", encoder_run, "--quantize", "int8"])
    assert result.exit_code == 0, result.output
    folder = encoder_run / "onnx-int8"
    info = json.loads((folder / "filterforge.json").read_text())
    gate = info["quantization"]["gate"]
    assert info["quantization"]["mode"] == "int8" and gate["passed"] and gate["split"] == "test"
    assert gate["mae_after"] - gate["mae_before"] <= 0.05 and gate["mean_predictor_mae"] > 0
    graph = onnx.load(str(folder / "model.onnx")).graph
    quantized = [n for n in graph.node if n.op_type in ("MatMulInteger", "DynamicQuantizeMatMul", "QAttention")]
    assert quantized, "the transformer's MatMuls are int8"
    assert not any("/head/" in n.name for n in quantized)
    assert any(n.op_type in ("MatMul", "Gemm") and "/head/" in n.name for n in graph.node)
    initializers = {i.name: i for i in graph.initializer}
    word_embeddings = [initializers[name] for n in graph.node for name in n.input
                       if name in initializers and "word_embeddings" in name]
    assert word_embeddings and all(t.data_type == onnx.TensorProto.FLOAT for t in word_embeddings)
    scores = load_predictor(Run.open(folder), runtime="onnx").predict(_rows(demo_splits)[:3])
    assert scores.shape == (3, 8) and (scores >= 0).all() and (scores <= 10).all()


def test_fp16_passes_the_gate_and_is_recorded(runner, encoder_run, tmp_path):
    result = invoke(runner, ["export", encoder_run, "--quantize", "fp16", "--output", tmp_path / "half"])
    assert result.exit_code == 0, result.output
    info = json.loads((tmp_path / "half" / "filterforge.json").read_text())
    assert info["quantization"]["mode"] == "fp16" and info["quantization"]["gate"]["passed"]


def test_existing_output_needs_overwrite_and_is_replaced_whole(runner, encoder_run, exported):
    before = (exported / "filterforge.json").read_text()
    refused = invoke(runner, ["export", encoder_run])
    assert refused.exit_code == 1 and "is not empty (use --overwrite" in refused.output
    assert (exported / "filterforge.json").read_text() == before
    (exported / "stale.txt").write_text("from an older export")
    replaced = invoke(runner, ["export", encoder_run, "--overwrite"])
    assert replaced.exit_code == 0, replaced.output
    assert not (exported / "stale.txt").exists() and (exported / "model.onnx").exists()


def test_calibration_travels_with_the_export(runner, encoder_run, demo_splits, tmp_path):
    import shutil

    from filterforge.runs.calibration import Calibration

    run = tmp_path / "calibrated"
    shutil.copytree(encoder_run / "model", run / "model")
    shutil.copy2(encoder_run / "training_metadata.json", run / "training_metadata.json")
    names = json.loads((run / "model" / "filterforge.json").read_text())["dimension_names"]
    rng = np.random.default_rng(0)
    pred = rng.uniform(0, 10, (40, 8))
    Calibration.fit(pred, np.clip(pred * 0.5 + 2, 0, 10), names).save(run / "model")
    result = invoke(runner, ["export", run])
    assert result.exit_code == 0, result.output
    assert (run / "onnx" / "calibration.json").read_bytes() == (run / "model" / "calibration.json").read_bytes()
    assert json.loads((run / "onnx" / "filterforge.json").read_text())["calibration"] is True


def test_missing_data_dir_is_one_actionable_line(runner, encoder_run, tmp_path):
    import shutil

    run = tmp_path / "moved"
    shutil.copytree(encoder_run / "model", run / "model")
    meta = json.loads((encoder_run / "training_metadata.json").read_text())
    meta["data_dir"] = str(tmp_path / "gone")
    (run / "training_metadata.json").write_text(json.dumps(meta))
    result = invoke(runner, ["export", run])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "is not here; give the run's splits with --data-dir" in result.output.strip().splitlines()[-1]
    assert not (run / "onnx").exists()


@pytest.fixture(scope="module")
def lora_decoder_run(tmp_path_factory, demo_splits, tiny_decoder) -> Path:
    """A tiny Llama-style student trained with LoRA (merged when saved)."""
    from click.testing import CliRunner

    run = tmp_path_factory.mktemp("export-decoder") / "run"
    trained = invoke(CliRunner(), tiny_train_args(demo_splits, tiny_decoder, run, "distillation", "--lora", "--lora-r", "4",
                                                  "--max-train-examples", "16"))
    assert trained.exit_code == 0, trained.output
    return run


def test_lora_decoder_through_the_torch_exporter(runner, lora_decoder_run):
    """The fallback exporter on a Llama-style student (vmap-free masks), LoRA merged, right padding."""
    run = lora_decoder_run
    result = invoke(runner, ["export", run, "--exporter", "torch", "--opset", "17", "--attention", "eager"])
    assert result.exit_code == 0, result.output
    info = json.loads((run / "onnx" / "filterforge.json").read_text())
    assert info["exporter"] == "torch.onnx" and info["opset"] == 17 and info["pooling"] == "last-token"
    assert info["traced_attention"] == "eager"  # the graph's attention; torch itself keeps SDPA
    assert info["parity"]["max_abs_diff"] <= 1e-3 and max(info["parity"]["batch_sizes"]) > 1


def test_decoders_export_fused_attention_by_default(runner, lora_decoder_run, demo_splits, tmp_path):
    """One ONNX Runtime GroupQueryAttention node per layer (no mask or softmax tensors in the graph), checked
    against torch at several batch sizes, and correct at lengths and batch sizes it was not traced with."""
    import onnx
    import onnxruntime as ort

    from filterforge.runs.run import Run
    from filterforge.runtime.loader import load_predictor

    out = tmp_path / "fused"
    result = invoke(runner, ["export", lora_decoder_run, "--output", out])
    assert result.exit_code == 0, result.output
    info = json.loads((out / "filterforge.json").read_text())
    assert info["traced_attention"] == "fused" and info["exporter"] == "optimum" and "rejected_attention" not in info
    assert info["parity"]["max_abs_diff"] <= 1e-4 and len(info["parity"]["batch_sizes"]) >= 2
    nodes = onnx.load(str(out / "model.onnx")).graph.node
    assert sum(n.op_type == "GroupQueryAttention" and n.domain == "com.microsoft" for n in nodes) == 2
    assert not any(n.op_type == "Softmax" for n in nodes)
    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    for batch, length in [(1, 1), (3, 77), (2, 300)]:
        ids = np.full((batch, length), 9, dtype=np.int64)
        scores = session.run(["scores"], {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0]
        assert scores.shape == (batch, 8) and np.isfinite(scores).all()
    rows = _rows(demo_splits, "val")
    torch_scores = load_predictor(Run.open(lora_decoder_run), runtime="torch", device="cpu").predict(rows)
    for batch_size in (1, 7):
        onnx_scores = load_predictor(Run.open(out), runtime="onnx", batch_size=batch_size).predict(rows)
        np.testing.assert_allclose(onnx_scores, torch_scores, atol=1e-4)


def test_a_fused_graph_onnx_runtime_cannot_run_falls_back_to_eager(lora_decoder_run, tmp_path, monkeypatch):
    from filterforge.export import decoder_attention
    from filterforge.export.export import ExportSettings, export_run

    monkeypatch.setattr(decoder_attention, "FUSED_OP", "NoSuchAttention")
    record = export_run(lora_decoder_run, ExportSettings(output=tmp_path / "fallback"))
    assert record["traced_attention"] == "eager" and record["parity"]["passed"]
    assert "cannot load" in record["rejected_attention"]["fused"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fallback"]  # nothing of the rejected graph left


def test_decoder_int8_can_keep_the_down_projections_fp32(runner, lora_decoder_run, tmp_path):
    import onnx

    run = lora_decoder_run
    refused = invoke(runner, ["export", run, "--quantize", "int8", "--max-mae-increase", "-1"])
    assert refused.exit_code == 1 and "try --keep-fp32 down_proj" in refused.output
    kept = invoke(runner, ["export", run, "--quantize", "int8", "--keep-fp32", "down_proj"])
    assert kept.exit_code == 0, kept.output
    nodes = onnx.load(str(run / "onnx-int8" / "model.onnx")).graph.node
    assert any(n.op_type == "MatMul" and "mlp/down_proj" in n.name for n in nodes)
    assert not any(n.op_type == "MatMulInteger" and "down_proj" in n.name for n in nodes)
    assert any(n.op_type == "MatMulInteger" and "mlp/up_proj" in n.name for n in nodes)
    info = json.loads((run / "onnx-int8" / "filterforge.json").read_text())
    assert info["quantization"]["keep_fp32_patterns"] == ["down_proj"]
    wrong = invoke(runner, ["export", run, "--keep-fp32", "down_proj", "--output", tmp_path / "x"])
    assert wrong.exit_code == 1 and "--keep-fp32 applies to --quantize int8 only" in wrong.output


def test_qwen2_style_decoder_exports_through_optimum(runner, demo_splits, tmp_path):
    """Qwen2 (biased q/k/v projections, GQA) as the student body: Optimum's exporter, parity on padded batches."""
    import torch
    from transformers import Qwen2Config, Qwen2Model

    from conftest import make_tokenizer

    body = tmp_path / "qwen2"
    tokenizer = make_tokenizer("decoder")
    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, intermediate_size=64, max_position_embeddings=1024,
                         pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=False)
    Qwen2Model(config).save_pretrained(str(body), safe_serialization=True)
    tokenizer.save_pretrained(str(body))
    run = tmp_path / "run"
    trained = invoke(runner, tiny_train_args(demo_splits, body, run, "distillation", "--max-train-examples", "16"))
    assert trained.exit_code == 0, trained.output
    result = invoke(runner, ["export", run])
    assert result.exit_code == 0, result.output
    info = json.loads((run / "onnx" / "filterforge.json").read_text())
    assert info["exporter"] == "optimum" and info["parity"]["passed"] and max(info["parity"]["batch_sizes"]) > 1


@pytest.fixture
def short_prompt_filter(tmp_path, monkeypatch) -> Path:
    """investment-risk/v2 with only the start of its prompt, found first: keeps instruction inputs short."""
    from conftest import REPO

    folder = tmp_path / "filters" / "investment-risk" / "v2"
    folder.mkdir(parents=True)
    source = REPO / "filters" / "investment-risk" / "v2"
    (folder / "filter.yaml").write_text((source / "filter.yaml").read_text())
    (folder / "prompt.md").write_text(" ".join((source / "prompt.md").read_text().split()[:60]))
    monkeypatch.setenv("FILTERFORGE_FILTERS_PATH", str(tmp_path / "filters"))
    return folder


def test_instruction_export_reads_the_prompt_in_the_input(runner, demo_splits, tiny_decoder, tmp_path, short_prompt_filter):
    """--no-prompt-cache: no KV cache crosses the graph; ONNX on prompt + article equals torch's shared-prefix
    path (the default, the prompt cache as graph inputs, is tests/export/test_prompt_cache.py)."""
    from filterforge.runs.run import Run
    from filterforge.runtime.loader import load_predictor

    run = tmp_path / "run"
    trained = invoke(runner, tiny_train_args(demo_splits, tiny_decoder, run, "instruction", "--max-train-examples", "16",
                                             "--min-article-tokens", "64"))
    assert trained.exit_code == 0, trained.output
    prompt_tokens = json.loads((run / "training_metadata.json").read_text())["token_budget"]["prompt_tokens"]
    assert 60 < prompt_tokens < 192 - 64
    result = invoke(runner, ["export", run, "--no-prompt-cache"])
    assert result.exit_code == 0, result.output
    assert f"reads the {prompt_tokens}-token prompt with every article" in result.output
    info = json.loads((run / "onnx" / "filterforge.json").read_text())
    assert info["prompt_in_input"] is True and info["prompt_tokens"] == prompt_tokens
    assert info["input_path"] == "full-sequence" and "KV cache" in info["input_path_note"]
    assert min(info["parity"]["input_lengths"]) > prompt_tokens and len(set(info["parity"]["input_lengths"])) > 1

    rows = _rows(demo_splits, "val")
    shared = load_predictor(Run.open(run), runtime="torch", device="cpu")
    assert shared.path_used == "shared-prefix"
    np.testing.assert_allclose(load_predictor(Run.open(run), runtime="onnx").predict(rows), shared.predict(rows), atol=1e-4)

    # bench labels the two paths; `length` counts the tokens after the prompt
    bench = invoke(runner, ["bench", run, "--batch-sizes", "1", "--lengths", "16", "--warmup", "0", "--iters", "1"])
    assert bench.exit_code == 0, bench.output
    report = json.loads((run / "bench.json").read_text())
    assert {r["runtime"]: r["path"] for r in report["results"]} == {"torch": "shared-prefix", "onnx": "full-sequence"}
    assert 0 < report["prompt_tokens"] <= prompt_tokens  # the shared prefix: the template's part before the article
    assert all(r["input_tokens"] == report["prompt_tokens"] + 16 for r in report["results"])
    assert report["summary"]["path"] == "shared-prefix"


@pytest.mark.slow
def test_instruction_export_with_the_full_prompt(runner, demo_splits, tiny_decoder, tmp_path):
    """The real ~4,300-token prompt: inputs are cut into small batches so attention memory stays bounded."""
    run = tmp_path / "run"
    args = tiny_train_args(demo_splits, tiny_decoder, run, "instruction", "--max-train-examples", "16",
                           "--min-article-tokens", "64")
    args[args.index("--max-length") + 1] = "4400"
    assert invoke(runner, args).exit_code == 0
    result = invoke(runner, ["export", run, "--parity-articles", "2", "--quantize", "int8"])
    assert result.exit_code == 0, result.output
    info = json.loads((run / "onnx-int8" / "filterforge.json").read_text())
    assert info["prompt_tokens"] > 4000 and info["quantization"]["gate"]["passed"]
    assert info["input_path"] == "prompt-cache" and info["prompt_cache"]["prompt_tokens"] > 4000


@pytest.mark.slow
@pytest.mark.parametrize("model", ["minilm", "smollm2-135m"])
def test_packaged_models_export_with_parity_and_int8_gate(runner, demo_splits, tmp_path, model):
    run = tmp_path / "run"
    args = ["train", "investment-risk/v2", "--strategy", "distillation", "--data-dir", demo_splits, "--model", model,
            "--output-dir", run, "--epochs", "1", "--batch-size", "8", "--max-length", "256", "--quiet",
            "--max-train-examples", "32"]
    assert invoke(runner, args).exit_code == 0
    fp32 = invoke(runner, ["export", run])
    assert fp32.exit_code == 0, fp32.output
    assert json.loads((run / "onnx" / "filterforge.json").read_text())["parity"]["max_abs_diff"] <= 1e-3
    int8 = invoke(runner, ["export", run, "--quantize", "int8"])
    assert "MAE" in int8.output and "mean predictor" in int8.output
    assert int8.exit_code == 0 or "refused" in int8.output


@pytest.mark.slow
def test_real_articles_export_parity(runner, tmp_path, tiny_encoder):
    """Parity on real news text (../shared/datasets) rather than synthetic articles."""
    source = DATASETS / "seece-energy-tech" / "scored.jsonl"
    if not source.exists():
        pytest.skip("shared datasets not present")
    from filterforge.data.prepare import prepare

    splits = tmp_path / "splits"
    prepare("seece-energy-tech/v1", [str(source)], str(splits), seed=1)
    run = tmp_path / "run"
    args = ["train", "seece-energy-tech/v1", "--data-dir", splits, "--model", tiny_encoder, "--output-dir", run,
            "--epochs", "1", "--max-length", "192", "--quiet", "--max-train-examples", "32"]
    assert invoke(runner, args).exit_code == 0
    result = invoke(runner, ["export", run])
    assert result.exit_code == 0, result.output
