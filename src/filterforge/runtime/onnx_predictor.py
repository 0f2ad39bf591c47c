"""ONNX Runtime inference for an exported student, through the same `Predictor` contract as torch.

An export folder (written by `filterforge export`) is self-contained: ``model.onnx`` (one graph: body,
pooling and head; inputs ``input_ids``/``attention_mask``, output ``scores`` [batch, dims], raw),
tokenizer files, ``filter.yaml``, ``prompt.md``, ``filterforge.json`` and, when the run was calibrated,
``calibration.json``. The graph always sees the full input sequence: for the instruction strategy that
is prompt + article (no KV cache crosses the graph boundary).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from filterforge.encoding.batching import pad
from filterforge.encoding.strategies import EncodedInput
from filterforge.errors import FilterforgeError
from filterforge.runs.layout import ONNX_GRAPH
from filterforge.runtime.base import Predictor, Progress

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"


def available_providers(device: str = "auto") -> list[str]:
    """ONNX Runtime execution providers to use: CUDA first when onnxruntime-gpu sees a GPU."""
    import onnxruntime as ort

    have = ort.get_available_providers()
    if device == "cpu":
        return [CPU]
    if device == "cuda":
        if CUDA not in have:
            raise FilterforgeError("CUDA requested but onnxruntime has no CUDAExecutionProvider (pip install onnxruntime-gpu)")
        return [CUDA, CPU]
    return ([CUDA] if CUDA in have else []) + [CPU]


def create_session(graph: str | Path, threads: int | None = None, provider: str = CPU) -> Any:
    """A session with every graph optimization ONNX Runtime has (fusions, constant folding, layouts)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    options.log_severity_level = 3
    providers = [provider] if provider == CPU else [provider, CPU]
    try:
        return ort.InferenceSession(str(graph), options, providers=providers)
    except Exception as exc:  # corrupt graph, unsupported op: one line naming the file
        raise FilterforgeError(f"cannot load {graph} with onnxruntime: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}") from None


class OnnxPredictor(Predictor):
    """Predicts scores with an exported student through ONNX Runtime (full sequence, prompt included)."""

    runtime = "onnx"

    def __init__(self, session: Any, tokenizer: Any, strategy: Any, max_length: int, info: dict[str, Any],
                 directory: Path, batch_size: int = 16):
        super().__init__(tokenizer, strategy, max_length, directory, batch_size)
        self.session, self.info, self.directory = session, info, Path(directory)
        self.input_names = {i.name for i in session.get_inputs()}
        quantization = (info.get("quantization") or {}).get("mode", "none")
        self.precision = "fp32" if quantization == "none" else quantization

    @classmethod
    def from_export(cls, run: Any, directory: Path, batch_size: int = 16, threads: int | None = None,
                    provider: str | None = None) -> "OnnxPredictor":
        from filterforge.student.sources import load_tokenizer

        info = run.info(directory)
        session = create_session(directory / ONNX_GRAPH, threads, provider or available_providers()[0])
        tokenizer = load_tokenizer(directory)
        strategy = run.strategy(tokenizer, directory)
        return cls(session, tokenizer, strategy, int(info["max_length"]), info, directory, batch_size)

    @property
    def provider(self) -> str:
        return self.session.get_providers()[0]

    @property
    def device(self) -> str:
        return "cuda" if self.provider == CUDA else "cpu"

    def peak_memory_mb(self) -> float | None:
        return super().peak_memory_mb() if self.device == "cpu" else None  # ORT's CUDA arena is not visible here

    def describe(self) -> str:
        return f"onnx {self.precision} ({self.provider}) from {self.directory}"

    def run_batch(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feeds = {"input_ids": ids, "attention_mask": mask}
        return self.session.run(["scores"], {k: v for k, v in feeds.items() if k in self.input_names})[0]

    def predict_raw_encoded(self, encoded: Sequence[EncodedInput], progress: Progress | None = None) -> np.ndarray:
        """The graph's raw scores (no clamp): what export compares with torch."""
        out = np.zeros((len(encoded), self.num_outputs), dtype=np.float32)
        for indices in self.batches(encoded):
            ids, mask = pad([encoded[i].input_ids for i in indices], self.pad_id)
            out[indices] = self.run_batch(ids, mask)
            if progress is not None:
                progress(len(indices))
        return out

    def warm_up(self, encoded: Sequence[EncodedInput]) -> None:
        pass  # a session has nothing to build on first use that a timed call should not see
