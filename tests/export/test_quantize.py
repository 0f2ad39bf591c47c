"""Quantized graphs and the session settings they run with, on a tiny random encoder (seconds each)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from conftest import invoke, train_tiny_run

# Largest |quantized - fp32| allowed on the tiny model's raw scores (outputs up to ~0.5; measured: int8 8e-5, fp16 2e-4).
TOLERANCE = {"int8": 0.02, "fp16": 0.005}


@pytest.fixture(scope="module")
def graphs(tmp_path_factory, tiny_encoder) -> dict[str, Path]:
    import torch

    from filterforge.export.graph import export_graph, fuse_encoder_graph
    from filterforge.student.model import build_student

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("quantize")
    student = build_student(tiny_encoder, 3, "regression", None, {}).eval()
    plain = folder / "plain.onnx"
    export_graph(student, plain, 18, "auto")
    paths = {"plain": plain}
    for name, skip in (("fused", False), ("fused_skip", True)):
        assert fuse_encoder_graph(plain, folder / f"{name}.onnx", student.config, skip_layer_norm=skip) is not None
        paths[name] = folder / f"{name}.onnx"
    return paths


def _op_types(path: Path) -> Counter:
    import onnx

    return Counter(node.op_type for node in onnx.load(str(path)).graph.node)


def _scores(graph: Path, inputs: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    from filterforge.runtime.onnx_predictor import create_session

    session = create_session(graph, threads=1)
    return np.concatenate([session.run(["scores"], {"input_ids": ids, "attention_mask": mask})[0] for ids, mask in inputs])


def _inputs() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    batches = []
    for batch, length in ((1, 17), (2, 40), (1, 96)):
        ids = rng.integers(7, 200, size=(batch, length)).astype(np.int64)
        mask = np.ones_like(ids)
        if batch > 1:
            mask[-1, length * 3 // 4:] = 0  # one padded row
        batches.append((ids, mask))
    return batches


@pytest.mark.parametrize("mode", ["int8", "fp16"])
def test_each_quantization_loads_in_onnxruntime_and_stays_close_to_fp32(graphs, tmp_path, mode):
    from filterforge.export.quantize import QUANTIZATIONS, quantize_graph

    assert mode in QUANTIZATIONS
    target = tmp_path / f"{mode}.onnx"
    record = quantize_graph(graphs["fused"], target, mode)
    assert record["mode"] == mode
    inputs = _inputs()
    diff = np.abs(_scores(target, inputs) - _scores(graphs["fused"], inputs)).max()
    assert 0 < diff <= TOLERANCE[mode], diff


def test_every_quantize_choice_is_covered_here():
    from filterforge.export.quantize import QUANTIZATIONS

    assert set(QUANTIZATIONS) == {"none", *TOLERANCE}, "a new --quantize choice needs its tolerance test here"


def test_int8_records_its_method_and_quantizes_the_fused_attention(graphs, tmp_path):
    from filterforge.export.quantize import INT8_METHOD, quantize_graph

    record = quantize_graph(graphs["fused"], tmp_path / "int8.onnx", "int8")
    assert record["quantization"] == "dynamic" and record["format"] == "QOperator" and record["calibration"] is None
    assert record["per_channel"] is True and record["reduce_range"] is False and record["quantized_after_attention_fusion"]
    assert {k: record[k] for k in INT8_METHOD} == INT8_METHOD
    ops = _op_types(tmp_path / "int8.onnx")
    assert ops["QAttention"] and ops["MatMulInteger"]
    assert not ops["SkipLayerNormalization"]


def test_encoder_fusions_leave_residual_add_and_layer_norm_apart(graphs):
    fused, previous = _op_types(graphs["fused"]), _op_types(graphs["fused_skip"])
    assert fused["Attention"] and fused["LayerNormalization"] and not fused["SkipLayerNormalization"]
    assert previous["SkipLayerNormalization"]


def test_cpu_sessions_do_not_fuse_skip_layer_norm_again(graphs, tmp_path):
    import onnxruntime as ort

    from filterforge.runtime.session_options import CPU, session_arguments, session_options

    def optimized(arguments: dict) -> Counter:
        options = session_options(threads=1)
        options.optimized_model_filepath = str(tmp_path / "optimized.onnx")
        ort.InferenceSession(str(graphs["fused"]), options, providers=[CPU], **arguments)
        return _op_types(tmp_path / "optimized.onnx")

    assert not optimized(session_arguments(CPU))["SkipLayerNormalization"]
    assert optimized({})["SkipLayerNormalization"], "ORT fuses it when allowed: the exclusion is what keeps it apart"
    assert session_arguments("CUDAExecutionProvider") == {}  # CUDA's fused kernel is fast: only CPU excludes it


def test_session_options_apply_threads_spinning_and_level():
    import onnxruntime as ort

    from filterforge.runtime.session_options import session_options

    options = session_options(threads=2, level="basic", spinning=False)
    assert options.intra_op_num_threads == 2 and options.inter_op_num_threads == 1
    assert options.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    default = session_options()
    assert default.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    assert default.intra_op_num_threads == 0  # ONNX Runtime picks


def test_export_int8_records_the_method_through_the_cli(runner, tmp_path, demo_splits, tiny_encoder):
    run = train_tiny_run(tmp_path / "run", demo_splits, tiny_encoder, "distillation", "--max-train-examples", "32")
    result = invoke(runner, ["export", run, "--quantize", "int8", "--parity-articles", "2"])
    assert result.exit_code == 0, result.output
    info = json.loads((run / "onnx-int8" / "filterforge.json").read_text())
    quantization = info["quantization"]
    assert quantization["quantization"] == "dynamic" and quantization["per_channel"] and quantization["gate"]["passed"]
    assert not _op_types(run / "onnx-int8" / "model.onnx")["SkipLayerNormalization"]
