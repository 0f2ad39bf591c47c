"""Torch inference for a saved student: encode with the run's strategy, batch, predict, clamp to 0-10."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from filterforge.errors import FilterforgeError
from filterforge.encoding.strategies import EncodedInput


def resolve_model_dir(path: str | Path) -> Path:
    """A run dir (holding model/) or a model dir itself."""
    path = Path(path)
    for candidate in (path / "model", path):
        if (candidate / "filterforge.json").exists():
            return candidate
    raise FilterforgeError(f"{path} holds no filterforge model (expected {path / 'model' / 'filterforge.json'})")


def select_device(device: str = "auto") -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise FilterforgeError("--device cuda requested but no CUDA GPU is available")
    return device


class TorchPredictor:
    """Predicts scores with a student; the instruction prompt's KV cache is computed once and reused."""

    def __init__(self, model: Any, tokenizer: Any, strategy: Any, max_length: int, device: str = "cpu",
                 batch_size: int = 16, shared_prefix: bool = True, autocast_dtype: Any = None, cuda_graphs: bool = False):
        from filterforge.student import shared_prefix as sp

        self.model, self.tokenizer, self.strategy = model, tokenizer, strategy
        self.max_length, self.device, self.batch_size = max_length, device, batch_size
        self.autocast_dtype = autocast_dtype
        self.use_shared_prefix = shared_prefix and sp.supported(model, strategy)
        self._cache = None
        self.cuda_graphs = cuda_graphs
        self._graphed = None
        if cuda_graphs:
            from filterforge.runtime.cuda_graphs import require_graphable

            require_graphable(model, device)

    @property
    def path_used(self) -> str:
        path = "shared-prefix" if self.use_shared_prefix else "full-sequence"
        return f"{path}, batch-1 CUDA graphs (bf16)" if self.cuda_graphs else path

    @classmethod
    def from_dir(cls, path: str | Path, device: str = "auto", batch_size: int = 16, shared_prefix: bool = True,
                 cuda_graphs: bool = False) -> "TorchPredictor":
        from filterforge.filters.spec import load_filter
        from filterforge.student.model import StudentModel
        from filterforge.student.sources import load_tokenizer
        from filterforge.plugins.manager import get_strategies, lookup

        model_dir = resolve_model_dir(path)
        device = select_device(device)
        model = StudentModel.from_pretrained(model_dir).to(device)
        tokenizer = load_tokenizer(model_dir)
        info = model.info
        strategy_cls = lookup("strategy", info["strategy"], get_strategies())
        strategy = strategy_cls(load_filter(model_dir), tokenizer, info.get("strategy_options") or {})
        return cls(model, tokenizer, strategy, int(info["max_length"]), device, batch_size, shared_prefix,
                   cuda_graphs=cuda_graphs)

    def encode(self, articles: Sequence[dict]) -> list[EncodedInput]:
        return [self.strategy.encode(article, self.max_length) for article in articles]

    def predict_encoded(self, encoded: Sequence[EncodedInput], progress: Any = None) -> np.ndarray:
        import torch

        from filterforge.student import shared_prefix as sp
        from filterforge.encoding.batching import collate, length_grouped_order, pad_multiple

        if self.cuda_graphs:
            return self._predict_graphed(encoded, progress)
        self.model.eval()
        out = np.zeros((len(encoded), self.model.head.num_outputs), dtype=np.float32)
        pad_id = pad_token_id(self.tokenizer)
        batches = length_grouped_order([len(e.input_ids) for e in encoded], self.batch_size, rng=None)
        with torch.inference_mode():
            for indices in batches:
                batch = collate(encoded, indices, None, pad_id, pad_multiple(self.device), self.use_shared_prefix).to(self.device)
                with torch.autocast(self.device.split(":")[0], dtype=self.autocast_dtype, enabled=self.autocast_dtype is not None):
                    if self.use_shared_prefix:
                        if self._cache is None:
                            self._cache = sp.prompt_cache(self.model, batch.prefix_ids, grad=False)
                        scores = sp.forward_shared(self.model, batch, cache=self._cache)
                    else:
                        scores = self.model(batch.input_ids, batch.attention_mask)
                out[indices] = scores.float().clamp(0.0, 10.0).cpu().numpy()
                if progress is not None:
                    progress(len(indices))
        return out

    def graphed_scorer(self, encoded: Sequence[EncodedInput]) -> Any:
        """The batch-1 CUDA-graph scorer, built on first use (the prompt cache comes from ``encoded[0]``)."""
        import torch

        from filterforge.runtime.cuda_graphs import GraphedScorer

        if self._graphed is None:
            prefix = (torch.tensor([encoded[0].input_ids[: encoded[0].prefix_length]], dtype=torch.long)
                      if self.use_shared_prefix else None)
            self._graphed = GraphedScorer(self.model, pad_token_id(self.tokenizer), self.max_length, prefix)
        return self._graphed

    def _predict_graphed(self, encoded: Sequence[EncodedInput], progress: Any = None) -> np.ndarray:
        scorer = self.graphed_scorer(encoded)
        out = np.zeros((len(encoded), self.model.head.num_outputs), dtype=np.float32)
        for row, item in enumerate(encoded):
            ids = item.input_ids[item.prefix_length :] if self.use_shared_prefix else item.input_ids
            out[row] = scorer.score(ids)[0].cpu().numpy()
            if progress is not None:
                progress(1)
        return out

    def predict(self, articles: Sequence[dict]) -> np.ndarray:
        return self.predict_encoded(self.encode(articles))


def pad_token_id(tokenizer: Any) -> int:
    for candidate in (tokenizer.pad_token_id, tokenizer.eos_token_id, tokenizer.unk_token_id, 0):
        if candidate is not None:
            return int(candidate)
    return 0
