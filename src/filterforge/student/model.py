"""The student: transformer body + pooling + regression head as one module that saves and loads itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from filterforge.errors import FilterforgeError
from filterforge.io import atomic_write_text
from filterforge.runs.layout import MODEL_INFO, MODEL_WEIGHTS
from filterforge.student.savable import read_json_object

ENCODER_MODEL_TYPES = {
    "bert", "roberta", "xlm-roberta", "distilbert", "deberta", "deberta-v2", "electra", "mpnet",
    "albert", "camembert", "modernbert", "nomic_bert", "jina_bert",
}


def is_decoder_config(config: Any) -> bool:
    return getattr(config, "model_type", "") not in ENCODER_MODEL_TYPES


def default_pooling(config: Any) -> str:
    return "last-token" if is_decoder_config(config) else "mean"


class StudentModel(torch.nn.Module):
    """``forward`` returns raw scores; runtimes clamp them to each dimension's scale (``runtime.base``)."""

    def __init__(self, body: torch.nn.Module, pooling: torch.nn.Module, head: torch.nn.Module, info: dict[str, Any]):
        super().__init__()
        self.body, self.pooling, self.head = body, pooling, head
        self.info = dict(info)

    @property
    def config(self) -> Any:
        return self.body.config

    @property
    def is_decoder(self) -> bool:
        return is_decoder_config(self.body.config)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        past_key_values: Any = None,
        prefix_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Scores for a batch. With ``past_key_values`` (a prompt's KV cache repeated over the batch) the
        ids are only the article part and ``prefix_mask`` covers the cached prompt."""
        full_mask = attention_mask if prefix_mask is None else torch.cat([prefix_mask, attention_mask], dim=1)
        kwargs: dict[str, Any] = {"input_ids": input_ids, "attention_mask": full_mask}
        if self.is_decoder:
            # Mask-aware positions: equal for left/right padding and for cached vs concatenated prompts.
            kwargs["position_ids"] = (full_mask.long().cumsum(-1) - 1).clamp(min=0)[:, -input_ids.shape[1] :]
            kwargs["use_cache"] = past_key_values is not None
            if past_key_values is not None:
                kwargs["past_key_values"] = past_key_values
        hidden = self.body(**kwargs).last_hidden_state
        return self.head(self.pooling(hidden, attention_mask))

    @torch.no_grad()
    def prefix_cache(self, prefix_ids: torch.Tensor) -> Any:
        """Run a shared prompt once; returns its KV cache (batch 1)."""
        return self.body(input_ids=prefix_ids, attention_mask=torch.ones_like(prefix_ids), use_cache=True).past_key_values

    # -- persistence ------------------------------------------------------------------------
    def save_pretrained(self, directory: str | Path, tokenizer: Any = None) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        body = self.body
        if hasattr(body, "merge_and_unload"):
            raise FilterforgeError("merge LoRA adapters (merge_lora) before saving the model")
        body.save_pretrained(str(directory), safe_serialization=True)
        self.pooling.save(directory, "pooling")
        self.head.save(directory, "head")
        if tokenizer is not None:
            tokenizer.save_pretrained(str(directory))
        atomic_write_text(directory / MODEL_INFO, json.dumps(self.info, indent=2, default=str) + "\n")

    @classmethod
    def from_pretrained(cls, directory: str | Path, torch_dtype: Any = None) -> "StudentModel":
        from filterforge.plugins.manager import get_heads, get_poolings, lookup

        directory = Path(directory)
        info_path = directory / MODEL_INFO
        if not info_path.exists():
            raise FilterforgeError(f"{directory} is not a filterforge model (no {MODEL_INFO})")
        info = read_json_object(info_path)
        body = load_body(directory, torch_dtype)
        pooling = lookup("pooling", _component(info, "pooling", info_path), get_poolings()).load(directory, "pooling")
        head = lookup("head", _component(info, "head", info_path), get_heads()).load(directory, "head")
        model = cls(body, pooling, head, info)
        model.eval()
        return model


def _component(info: dict[str, Any], key: str, info_path: Path) -> str:
    name = info.get(key)
    if not isinstance(name, str):
        raise FilterforgeError(f"{info_path}: no {key} name (expected \"{key}\": \"<registered {key}>\")")
    return name


def load_body(directory: str | Path, torch_dtype: Any = None) -> torch.nn.Module:
    """The transformer body of a model folder, never running Python code shipped in the folder."""
    from transformers import AutoModel

    from filterforge.student.sources import load_config, reading_model_folder

    config = load_config(directory)
    options = {"torch_dtype": torch_dtype} if torch_dtype else {}
    with reading_model_folder(directory, "model weights", main_file=MODEL_WEIGHTS):
        return AutoModel.from_pretrained(str(directory), config=config, trust_remote_code=False, **options)


def build_student(model_path: str | Path, num_outputs: int, head: str, pooling: str | None, info: dict[str, Any],
                  head_options: dict[str, Any] | None = None) -> StudentModel:
    from filterforge.plugins.manager import get_heads, get_poolings, lookup

    body = load_body(model_path)
    pooling_name = pooling or default_pooling(body.config)
    pooling_module = lookup("pooling", pooling_name, get_poolings())()
    head_module = lookup("head", head, get_heads())(body.config.hidden_size, num_outputs, **(head_options or {}))
    return StudentModel(body, pooling_module, head_module, {**info, "head": head, "pooling": pooling_name})


def merge_lora(model: StudentModel) -> None:
    if hasattr(model.body, "merge_and_unload"):
        model.body = model.body.merge_and_unload()
