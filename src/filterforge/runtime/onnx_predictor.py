"""ONNX Runtime inference for an exported student, with the same interface as `inference.TorchPredictor`.

An export folder (written by `filterforge export`) is self-contained: ``model.onnx`` (one graph: body,
pooling and head; inputs ``input_ids``/``attention_mask``, output ``scores`` [batch, dims], raw),
tokenizer files, ``filter.yaml``, ``prompt.md``, ``filterforge.json`` and, when the run was calibrated,
``calibration.json``. The graph always sees the full input sequence: for the instruction strategy that
is prompt + article (no KV cache crosses the graph boundary).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from filterforge.errors import FilterforgeError
from filterforge.encoding.strategies import EncodedInput

GRAPH_FILE = "model.onnx"
ONNX_FORMAT = "onnx"
INFO_FILE = "filterforge.json"
# Export folders `filterforge export` writes inside a run dir, in the order `score`/`bench` look for them.
EXPORT_DIR_NAMES = ("onnx", "onnx-int8", "onnx-fp16")
PAD_MULTIPLE = 8
# Batches are cut so that batch x sequence stays under this: a 4,000-token instruction input runs alone
# instead of 16 at a time (attention memory grows with the square of the length).
MAX_BATCH_TOKENS = 8192


def is_onnx_dir(path: str | Path) -> bool:
    path = Path(path)
    info = path / INFO_FILE
    if not (info.is_file() and (path / GRAPH_FILE).is_file()):
        return False
    try:
        return json.loads(info.read_text()).get("format") == ONNX_FORMAT
    except (OSError, json.JSONDecodeError):
        return False


def onnx_dirs(path: str | Path) -> list[Path]:
    """Every ONNX export at `path`: the folder itself, or the export folders inside a run dir."""
    path = Path(path)
    if is_onnx_dir(path):
        return [path]
    found = [path / name for name in EXPORT_DIR_NAMES if is_onnx_dir(path / name)]
    extra = sorted(p for p in path.glob("onnx*") if p.is_dir() and p not in found and is_onnx_dir(p)) if path.is_dir() else []
    return found + extra


def find_onnx_dir(path: str | Path) -> Path:
    found = onnx_dirs(path)
    if not found:
        raise FilterforgeError(f"{path} holds no ONNX export (expected {Path(path) / 'onnx' / GRAPH_FILE}); "
                               f"create one with: filterforge export {path}")
    return found[0]


def read_info(onnx_dir: str | Path) -> dict[str, Any]:
    return json.loads((Path(onnx_dir) / INFO_FILE).read_text())


def available_providers(device: str = "auto") -> list[str]:
    """ONNX Runtime execution providers to use: CUDA first when onnxruntime-gpu sees a GPU."""
    import onnxruntime as ort

    have = ort.get_available_providers()
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device == "cuda":
        if "CUDAExecutionProvider" not in have:
            raise FilterforgeError("CUDA requested but onnxruntime has no CUDAExecutionProvider (pip install onnxruntime-gpu)")
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return (["CUDAExecutionProvider"] if "CUDAExecutionProvider" in have else []) + ["CPUExecutionProvider"]


def create_session(graph: str | Path, threads: int | None = None, provider: str = "CPUExecutionProvider") -> Any:
    """A session with every graph optimization ONNX Runtime has (fusions, constant folding, layouts)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    options.log_severity_level = 3
    providers = [provider] if provider == "CPUExecutionProvider" else [provider, "CPUExecutionProvider"]
    try:
        return ort.InferenceSession(str(graph), options, providers=providers)
    except Exception as exc:  # corrupt graph, unsupported op: one line naming the file
        raise FilterforgeError(f"cannot load {graph} with onnxruntime: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}") from None


def pad_batch(seqs: Sequence[Sequence[int]], pad_id: int, multiple: int = PAD_MULTIPLE) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad to a multiple of 8, as the torch path does (pooling handles the padding)."""
    width = -(-max(len(s) for s in seqs) // multiple) * multiple
    ids = np.full((len(seqs), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(seqs), width), dtype=np.int64)
    for row, seq in enumerate(seqs):
        ids[row, : len(seq)] = seq
        mask[row, : len(seq)] = 1
    return ids, mask


def length_sorted_batches(lengths: Sequence[int], batch_size: int, max_tokens: int = MAX_BATCH_TOKENS) -> list[list[int]]:
    """Longest first; a batch holds at most `batch_size` inputs and `max_tokens` padded tokens."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches: list[list[int]] = []
    start = 0
    while start < len(order):
        fits = max(1, min(batch_size, max_tokens // max(lengths[order[start]], 1)))
        batches.append(order[start : start + fits])
        start += fits
    return batches


class OnnxPredictor:
    """Predicts scores with an exported student through ONNX Runtime (full sequence, prompt included)."""

    path_used = "full-sequence"

    def __init__(self, session: Any, tokenizer: Any, strategy: Any, max_length: int, info: dict[str, Any],
                 directory: Path, batch_size: int = 16):
        self.session, self.tokenizer, self.strategy = session, tokenizer, strategy
        self.max_length, self.info, self.directory, self.batch_size = max_length, info, Path(directory), batch_size
        self.num_outputs = len(info["dimension_names"])
        self.max_batch_tokens = MAX_BATCH_TOKENS
        self.input_names = {i.name for i in session.get_inputs()}

    @property
    def provider(self) -> str:
        return self.session.get_providers()[0]

    @classmethod
    def from_dir(cls, path: str | Path, batch_size: int = 16, threads: int | None = None,
                 provider: str | None = None) -> "OnnxPredictor":
        from filterforge.student.sources import load_tokenizer

        from filterforge.filters.spec import load_filter
        from filterforge.plugins.manager import get_strategies, lookup

        directory = find_onnx_dir(path)
        info = read_info(directory)
        session = create_session(directory / GRAPH_FILE, threads, provider or available_providers()[0])
        tokenizer = load_tokenizer(directory)
        strategy_cls = lookup("strategy", info["strategy"], get_strategies())
        strategy = strategy_cls(load_filter(directory), tokenizer, info.get("strategy_options") or {})
        return cls(session, tokenizer, strategy, int(info["max_length"]), info, directory, batch_size)

    def encode(self, articles: Sequence[dict]) -> list[EncodedInput]:
        return [self.strategy.encode(article, self.max_length) for article in articles]

    def run_batch(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feeds = {"input_ids": ids, "attention_mask": mask}
        return self.session.run(["scores"], {k: v for k, v in feeds.items() if k in self.input_names})[0]

    def predict_raw_encoded(self, encoded: Sequence[EncodedInput], progress: Any = None) -> np.ndarray:
        """The graph's raw scores (no clamp): what export compares with torch."""
        from filterforge.runtime.torch_predictor import pad_token_id

        out = np.zeros((len(encoded), self.num_outputs), dtype=np.float32)
        pad_id = pad_token_id(self.tokenizer)
        for indices in length_sorted_batches([len(e.input_ids) for e in encoded], self.batch_size, self.max_batch_tokens):
            ids, mask = pad_batch([encoded[i].input_ids for i in indices], pad_id)
            out[indices] = self.run_batch(ids, mask)
            if progress is not None:
                progress(len(indices))
        return out

    def predict_encoded(self, encoded: Sequence[EncodedInput], progress: Any = None) -> np.ndarray:
        return np.clip(self.predict_raw_encoded(encoded, progress), 0.0, 10.0)

    def predict(self, articles: Sequence[dict]) -> np.ndarray:
        return self.predict_encoded(self.encode(articles))


def default_threads() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))
