"""Graphs over protobuf's 2 GB limit keep their weights in one ``<graph>.data`` file beside the graph (a 1.5B
decoder in fp32); checked here with the threshold lowered to 0 on a tiny decoder."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _graph(tiny_decoder: Path, folder: Path) -> Path:
    import torch

    from filterforge.export.graph import export_graph
    from filterforge.student.model import build_student

    torch.manual_seed(0)
    student = build_student(tiny_decoder, 8, "regression", None, {}).eval()
    path = folder / "model.onnx"
    export_graph(student, path, 18, "torch", "fused")
    return path


def _scores(path: Path) -> np.ndarray:
    import onnxruntime as ort

    ids = np.full((2, 9), 7, dtype=np.int64)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["scores"], {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0]


def test_weights_spread_over_files_end_up_in_one_data_file(tiny_decoder, tmp_path):
    import onnx

    from filterforge.export.graph import consolidate_graph, remove_graph

    path = _graph(tiny_decoder, tmp_path)
    expected = _scores(path)
    assert consolidate_graph(path) is None  # small: left as one file
    model = onnx.load(str(path))
    onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=False, size_threshold=0)
    spread = {p.name for p in tmp_path.iterdir()} - {"model.onnx"}
    assert len(spread) > 3  # what torch.onnx writes for a > 2 GB model: one file per tensor
    record = consolidate_graph(path, threshold=0)
    assert record["external_data"] == "model.onnx.data"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx", "model.onnx.data"]
    np.testing.assert_allclose(_scores(path), expected, atol=1e-6)
    remove_graph(path)
    assert list(tmp_path.iterdir()) == []


def test_fp16_of_a_large_graph_is_saved_with_external_data(tiny_decoder, tmp_path, monkeypatch):
    from filterforge.export import graph
    from filterforge.export.quantize import quantize_graph

    path = _graph(tiny_decoder, tmp_path)
    monkeypatch.setattr(graph, "EXTERNAL_DATA_BYTES", 0)
    monkeypatch.setattr(graph.save_graph, "__defaults__", (0,))
    quantize_graph(path, tmp_path / "half.onnx", "fp16")
    assert (tmp_path / "half.onnx.data").is_file()
    assert np.isfinite(_scores(tmp_path / "half.onnx")).all()
