"""ONNX Runtime inference for an exported student, through the same `Predictor` contract as torch.

An export folder (written by `filterforge export`) is self-contained: ``model.onnx`` (one graph: body,
pooling and head; inputs ``input_ids``/``attention_mask``, output ``scores`` [batch, dims], raw),
tokenizer files, ``filter.yaml``, ``prompt.md``, ``filterforge.json`` and, when the run was calibrated,
``calibration.json``. A shared-prompt decoder export (``input_path`` "prompt-cache") also holds the
prompt's KV cache (``prompt_cache.safetensors``): its graph reads only the article tokens, with the
cache as inputs bound once per process (IO binding), as the torch runtime reuses its cached prompt.
Older exports of such students read prompt + article (full-sequence path).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from filterforge.encoding.batching import pad
from filterforge.encoding.strategies import EncodedInput
from filterforge.errors import FilterforgeError
from filterforge.runs.layout import ONNX_GRAPH
from filterforge.runtime import prompt_cache as pc
from filterforge.runtime.base import Predictor, Progress

CPU = "CPUExecutionProvider"
PROMPT_CACHE_PATH = "prompt-cache"  # filterforge.json "input_path" of an export whose graph takes the prompt's cache
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
    """A session with every graph optimization ONNX Runtime has (fusions, constant folding, layouts), set up
    by `runtime.session_options` (where the CPU settings `benchmarks/int8_options.py` chose live)."""
    import onnxruntime as ort

    from filterforge.runtime.session_options import session_arguments, session_options

    options = session_options(threads)
    providers = [provider] if provider == CPU else [provider, CPU]
    try:
        return ort.InferenceSession(str(graph), options, providers=providers, **session_arguments(provider))
    except Exception as exc:  # corrupt graph, unsupported op: one line naming the file
        raise FilterforgeError(f"cannot load {graph} with onnxruntime: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}") from None


class OnnxPredictor(Predictor):
    """Predicts scores with an exported student through ONNX Runtime: the full input sequence, or the
    article tokens after a prompt whose KV cache the export stores (``prompt_cache``: graph input name ->
    array, already checked against the strategy's prompt tokens)."""

    runtime = "onnx"

    def __init__(self, session: Any, tokenizer: Any, strategy: Any, max_length: int, info: dict[str, Any],
                 directory: Path, batch_size: int = 16, prompt_cache: dict[str, np.ndarray] | None = None):
        super().__init__(tokenizer, strategy, max_length, directory, batch_size)
        self.session, self.info, self.directory = session, info, Path(directory)
        self.input_names = {i.name for i in session.get_inputs()}
        quantization = (info.get("quantization") or {}).get("mode", "none")
        self.precision = "fp32" if quantization == "none" else quantization
        self.prompt_cache = prompt_cache
        self.prompt_length = 0 if prompt_cache is None else next(iter(prompt_cache.values())).shape[2]
        self._bound_cache: dict[str, Any] | None = None

    @classmethod
    def from_export(cls, run: Any, directory: Path, batch_size: int = 16, threads: int | None = None,
                    provider: str | None = None) -> "OnnxPredictor":
        from filterforge.student.sources import load_tokenizer

        info = run.info(directory)
        tokenizer = load_tokenizer(directory)
        strategy = run.strategy(tokenizer, directory)
        cache = None
        if info.get("input_path") == PROMPT_CACHE_PATH:  # checked before the (slower) session load
            cache = pc.load_prompt_cache(run.prompt_cache_path(directory), strategy.frame()[0], directory)
        session = create_session(directory / ONNX_GRAPH, threads, provider or available_providers()[0])
        return cls(session, tokenizer, strategy, int(info["max_length"]), info, directory, batch_size, cache)

    @property
    def provider(self) -> str:
        return self.session.get_providers()[0]

    @property
    def device(self) -> str:
        return "cuda" if self.provider == CUDA else "cpu"

    def peak_memory_mb(self) -> float | None:
        return super().peak_memory_mb() if self.device == "cpu" else None  # ORT's CUDA arena is not visible here

    def describe(self) -> str:
        cached = f", {self.prompt_length}-token prompt cached" if self.prompt_cache is not None else ""
        return f"onnx {self.precision} ({self.provider}{cached}) from {self.directory}"

    @property
    def path_used(self) -> str:
        return "shared-prefix" if self.prompt_cache is not None else "full-sequence"

    def batch_length(self, item: EncodedInput) -> int:
        return len(item.input_ids) - (item.prefix_length if self.prompt_cache is not None else 0)

    def batch_arrays(self, items: Sequence[EncodedInput]) -> tuple[np.ndarray, np.ndarray]:
        """``input_ids`` and ``attention_mask`` of one batch, right-padded. With a cached prompt: the
        article tokens only, and a mask of ones over the prompt followed by the article's mask."""
        if self.prompt_cache is None:
            return pad([e.input_ids for e in items], self.pad_id)
        if any(e.prefix_length != self.prompt_length for e in items):
            raise FilterforgeError(f"{self.directory}: inputs carry a {items[0].prefix_length}-token prompt, the "
                                   f"export's cache {self.prompt_length}; re-export the run")
        ids, article_mask = pad([e.input_ids[e.prefix_length:] for e in items], self.pad_id)
        return ids, np.concatenate([np.ones((len(items), self.prompt_length), dtype=np.int64), article_mask], axis=1)

    def run_batch(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self.prompt_cache is not None:
            return self._run_with_cache(ids, mask)
        feeds = {"input_ids": ids, "attention_mask": mask}
        return self.session.run(["scores"], {k: v for k, v in feeds.items() if k in self.input_names})[0]

    def _cache_values(self) -> dict[str, Any]:
        """The cache as OrtValues on the session's device, made once and bound to every call (no copy per call)."""
        if self._bound_cache is None:
            import onnxruntime as ort

            self._bound_cache = {name: ort.OrtValue.ortvalue_from_numpy(array, self.device, 0)
                                 for name, array in self.prompt_cache.items()}
        return self._bound_cache

    def _run_with_cache(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        article = mask[:, self.prompt_length:]
        if mask.shape[1] != self.prompt_length + ids.shape[1] or not mask[:, :self.prompt_length].all() \
                or (article[:, 1:] > article[:, :-1]).any():
            raise FilterforgeError("a prompt-cache graph takes right-padded articles after the whole prompt "
                                   "(mask: prompt ones, then the article's ones, then zeros)")
        binding = self.session.io_binding()
        binding.bind_cpu_input("input_ids", np.ascontiguousarray(ids, dtype=np.int64))
        binding.bind_cpu_input("attention_mask", np.ascontiguousarray(mask, dtype=np.int64))
        for name, value in self._cache_values().items():
            binding.bind_ortvalue_input(name, value)
        binding.bind_output("scores")
        self.session.run_with_iobinding(binding)
        return binding.copy_outputs_to_cpu()[0]

    def predict_raw_encoded(self, encoded: Sequence[EncodedInput], progress: Progress | None = None) -> np.ndarray:
        """The graph's raw scores (no clamp): what export compares with torch."""
        out = np.zeros((len(encoded), self.num_outputs), dtype=np.float32)
        for indices in self.batches(encoded):
            out[indices] = self.run_batch(*self.batch_arrays([encoded[i] for i in indices]))
            if progress is not None:
                progress(len(indices))
        return out

    def warm_up(self, encoded: Sequence[EncodedInput]) -> None:
        pass  # a session has nothing to build on first use that a timed call should not see
