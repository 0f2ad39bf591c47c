"""Batch-1 GPU scoring replayed from CUDA graphs.

At batch 1 a 1.5B decoder spends most of its eager time launching kernels. Each bucketed input
length gets one graph, captured once on static tensors; scoring an article copies its ids into the
bucket's tensors and replays the graph. Only decoders qualify: with causal attention and right
padding no real token attends to a pad, so the body runs without an attention mask (no data-dependent
mask checks, which a graph cannot hold) and the pooling reads the real tokens from the static mask.
For the instruction strategy the article attends to one copy of the prompt's keys and values
(``student.prefix_attention``), computed once. With ``compile`` each bucket's forward is compiled by
``torch.compile`` (Inductor kernels, autotuned) before it is captured.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from filterforge.errors import FilterforgeError
from filterforge.runtime.base import Predictor
from filterforge.student import prefix_attention as pa

DEFAULT_BUCKETS = (64, 128, 256, 384, 512, 768, 1024, 1536, 2048)


def bucket_lengths(max_length: int, buckets: Sequence[int] = DEFAULT_BUCKETS) -> list[int]:
    """Static lengths to capture: the buckets below ``max_length`` and ``max_length`` itself."""
    return sorted({b for b in buckets if b < max_length} | {max_length})


def require_graphable(model: Any, device: str | None) -> None:
    """One line for what cannot be captured: a CPU device, an encoder (it needs a padding mask)."""
    if device is not None and not str(device).startswith("cuda"):
        raise FilterforgeError(f"--cuda-graphs needs a CUDA GPU (device is {device})")
    if not model.is_decoder:
        raise FilterforgeError(f"--cuda-graphs needs a decoder student (causal attention); this model is a "
                               f"{model.config.model_type} encoder: score it without --cuda-graphs")


class GraphedScorer:
    """Scores one encoded input at a time with static shapes; with ``capture`` (CUDA only) through graphs.

    Without ``capture`` the same static-shape function runs eagerly: that is the path the CPU tests
    compare against ordinary batched prediction, and the eager baseline the benchmark times.
    """

    def __init__(self, model: Any, pad_id: int, max_length: int, prefix_ids: torch.Tensor | None = None,
                 dtype: torch.dtype | None = torch.bfloat16, capture: bool = True, buckets: Sequence[int] = DEFAULT_BUCKETS,
                 compile: bool = False):
        self.device = next(model.parameters()).device
        require_graphable(model, self.device.type if capture else None)  # eager runs anywhere
        self.model, self.pad_id, self.capture, self.compile = model.eval(), pad_id, capture, compile
        if dtype is not None:
            model.body.to(dtype)  # bf16 weights: autocast would re-cast every weight on every call
        prefix_length = 0 if prefix_ids is None else prefix_ids.shape[1]
        self.lengths = bucket_lengths(max_length - prefix_length, buckets)
        self.prompt = None
        if prefix_ids is not None:
            with torch.inference_mode():
                self.prompt = pa.prompt_kv(model, prefix_ids.to(self.device), grad=False)
            pa.register()
            model.body.config._attn_implementation = pa.ATTENTION_NAME  # this scorer owns the model from here on
        self._static: dict[int, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}
        self._graphs: dict[int, Any] = {}
        self._functions: dict[int, Any] = {}

    def _forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.prompt is not None:
            return pa.article_forward(self.model, ids, mask, self.prompt).float()
        hidden = self.model.body(input_ids=ids, use_cache=False).last_hidden_state
        head_dtype = next(self.model.head.parameters()).dtype
        return self.model.head(self.model.pooling(hidden.to(head_dtype), mask)).float()

    def _function(self, bucket: int) -> Any:
        """The forward for one bucket: compiled per bucket (static shapes) when asked."""
        if bucket not in self._functions:
            self._functions[bucket] = (torch.compile(self._forward, mode="max-autotune-no-cudagraphs", dynamic=False)
                                       if self.compile else self._forward)
        return self._functions[bucket]

    def _bucket(self, length: int) -> int:
        for bucket in self.lengths:
            if length <= bucket:
                return bucket
        raise FilterforgeError(f"input of {length} tokens is longer than the largest captured length {self.lengths[-1]}")

    def _prepare(self, bucket: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if bucket in self._static:
            return self._static[bucket]
        ids = torch.full((1, bucket), self.pad_id, dtype=torch.long, device=self.device)
        mask = torch.zeros((1, bucket), dtype=torch.long, device=self.device)
        mask[0, 0] = 1
        forward = self._function(bucket)
        if not self.capture:
            with torch.inference_mode():
                forward(ids, mask)  # compiles now, not in a timed call
            self._static[bucket] = (ids, mask, None)
            return self._static[bucket]
        with torch.inference_mode():
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):  # warm-up outside the graph: compilation, lazy inits, cuBLAS workspaces
                for _ in range(2):
                    forward(ids, mask)
            torch.cuda.current_stream().wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                out = forward(ids, mask)
        self._graphs[bucket] = graph
        self._static[bucket] = (ids, mask, out)
        return self._static[bucket]

    def warm_up(self, lengths: Sequence[int] | None = None) -> None:
        """Capture every bucket now (or those ``lengths`` fall into) so no timed call pays for a capture."""
        for bucket in ({self._bucket(n) for n in lengths} if lengths else self.lengths):
            self._prepare(bucket)

    def score(self, article_ids: Sequence[int]) -> torch.Tensor:
        """Scores [1, outputs] on the device for one input's article ids (the prompt is already cached)."""
        n = len(article_ids)
        ids, mask, out = self._prepare(self._bucket(n))
        with torch.inference_mode():
            ids.fill_(self.pad_id)
            ids[0, :n] = torch.as_tensor(article_ids, dtype=torch.long).to(self.device, non_blocking=True)
            mask.zero_()
            mask[0, :n] = 1
            if self.capture:
                self._graphs[ids.shape[1]].replay()
                return out
            return self._function(ids.shape[1])(ids, mask)


class CudaGraphPredictor(Predictor):
    """Batch-1 scoring replayed from CUDA graphs (bf16 weights, decoder students, GPU only)."""

    runtime = "torch"
    only_batch_size = 1

    def __init__(self, torch_predictor: Any, compile: bool = False):
        base = torch_predictor
        super().__init__(base.tokenizer, base.strategy, base.max_length, base.source_dir, batch_size=1)
        require_graphable(base.model, base.device)
        self.base, self.model, self.device, self.precision = base, base.model, base.device, "bf16"
        self.use_shared_prefix = base.use_shared_prefix
        self.compile = compile
        self.scorer: GraphedScorer | None = None

    @classmethod
    def from_run(cls, run: Any, device: str = "auto", compile: bool = False, **options: Any) -> "CudaGraphPredictor":
        from filterforge.runtime.torch_predictor import TorchPredictor

        return cls(TorchPredictor.from_run(run, device=device, batch_size=1, **options), compile)

    @property
    def path_used(self) -> str:
        return f"{self.base.path_used}, batch-1 CUDA graphs (bf16{', torch.compile' if self.compile else ''})"

    def article_ids(self, item: Any) -> Sequence[int]:
        return item.input_ids[item.prefix_length :] if self.use_shared_prefix else item.input_ids

    def graphed_scorer(self, encoded: Sequence[Any]) -> GraphedScorer:
        """Built on first use; the prompt cache comes from ``encoded[0]``."""
        if self.scorer is None:
            first = encoded[0]
            prefix = (torch.tensor([first.input_ids[: first.prefix_length]], dtype=torch.long)
                      if self.use_shared_prefix else None)
            self.scorer = GraphedScorer(self.model, self.pad_id, self.max_length, prefix, compile=self.compile)
        return self.scorer

    def predict_raw_encoded(self, encoded: Sequence[Any], progress: Any = None) -> np.ndarray:
        scorer = self.graphed_scorer(encoded)
        out = np.zeros((len(encoded), self.num_outputs), dtype=np.float32)
        for row, item in enumerate(encoded):
            out[row] = scorer.score(self.article_ids(item))[0].cpu().numpy()
            if progress is not None:
                progress(1)
        return out

    def warm_up(self, encoded: Sequence[Any]) -> None:
        self.graphed_scorer(encoded).warm_up([len(self.article_ids(item)) for item in encoded])
