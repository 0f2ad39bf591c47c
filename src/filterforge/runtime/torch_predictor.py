"""Torch inference for a saved student; the instruction prompt's KV cache is computed once per process."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from filterforge.encoding.strategies import EncodedInput
from filterforge.runtime.base import Predictor, Progress


class TorchPredictor(Predictor):
    runtime = "torch"

    def __init__(self, model: Any, tokenizer: Any, strategy: Any, max_length: int, device: str = "cpu",
                 batch_size: int = 16, shared_prefix: bool = True, autocast_dtype: Any = None,
                 source_dir: Path | None = None, prefix_attention: bool = True):
        from filterforge.student import shared_prefix as sp

        super().__init__(tokenizer, strategy, max_length, source_dir or Path("."), batch_size)
        self.model, self.device, self.autocast_dtype = model, device, autocast_dtype
        self.use_shared_prefix = shared_prefix and sp.supported(model, strategy)
        self.prompt_cache = None
        self.prefix_attention = prefix_attention

    @classmethod
    def from_run(cls, run: Any, device: str = "auto", batch_size: int = 16, shared_prefix: bool = True,
                 **options: Any) -> "TorchPredictor":
        from filterforge.errors import FilterforgeError
        from filterforge.runs.layout import MODEL_DIR, MODEL_INFO
        from filterforge.runtime.device import select_device
        from filterforge.student.model import StudentModel
        from filterforge.student.sources import load_tokenizer

        if run.model_dir is None:
            raise FilterforgeError(f"{run.root} holds no filterforge model (expected {run.root / MODEL_DIR / MODEL_INFO})")
        if not run.has_torch_model:
            raise FilterforgeError(f"{run.root} holds no torch model (model/model.safetensors); use --runtime onnx or a RUN_DIR")
        device = select_device(device)
        model = StudentModel.from_pretrained(run.model_dir).to(device)
        tokenizer = load_tokenizer(run.model_dir)
        strategy = run.strategy(tokenizer, run.model_dir)
        return cls(model, tokenizer, strategy, int(model.info["max_length"]), device, batch_size, shared_prefix,
                   source_dir=run.model_dir, **options)

    @property
    def path_used(self) -> str:
        return "shared-prefix" if self.use_shared_prefix else "full-sequence"

    def batch_length(self, item: EncodedInput) -> int:
        return len(item.input_ids) - (item.prefix_length if self.use_shared_prefix else 0)

    def predict_raw_encoded(self, encoded: Sequence[EncodedInput], progress: Progress | None = None) -> np.ndarray:
        import torch

        from filterforge.encoding.batching import collate, pad_multiple
        from filterforge.runtime.device import autocast
        from filterforge.student import shared_prefix as sp

        self.model.eval()
        out = np.zeros((len(encoded), self.num_outputs), dtype=np.float32)
        with torch.inference_mode():
            for indices in self.batches(encoded):
                batch = collate(encoded, indices, None, self.pad_id, pad_multiple(self.device), self.use_shared_prefix)
                batch = batch.to(self.device)
                with autocast(self.device, self.autocast_dtype):
                    if self.use_shared_prefix:
                        if self.prompt_cache is None:
                            self.prompt_cache = sp.prompt_cache(self.model, batch.prefix_ids, grad=False)
                        scores = sp.forward_shared(self.model, batch, self.prompt_cache, self.prefix_attention)
                    else:
                        scores = self.model(batch.input_ids, batch.attention_mask)
                out[indices] = scores.float().cpu().numpy()
                if progress is not None:
                    progress(len(indices))
        return out

    def warm_up(self, encoded: Sequence[EncodedInput]) -> None:
        if self.use_shared_prefix and self.prompt_cache is None:
            self.predict_raw_encoded(list(encoded)[:1])
