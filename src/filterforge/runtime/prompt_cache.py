"""The instruction prompt's KV cache stored in an ONNX export, tied to the prompt tokens it was computed for.

An export of a shared-prompt decoder student carries its prompt's keys and values (safetensors, float32,
one ``past_key_values.{i}.key``/``.value`` tensor per layer, [1, kv_heads, prompt, head_dim]) and the
sha256 of the prompt's token ids. Loading checks that the prompt tokens the run's strategy produces now
(from the export's prompt.md, filter and tokenizer) still hash the same, so that a changed prompt can
never be scored against a stale cache.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Sequence

from filterforge.errors import FilterforgeError

FORMAT = "filterforge-prompt-cache-1"


def input_names(layers: int) -> list[str]:
    """The graph's cache inputs, in order: layer 0 key, layer 0 value, layer 1 key, ..."""
    return [f"past_key_values.{i}.{part}" for i in range(layers) for part in ("key", "value")]


def prompt_hash(prompt_ids: Sequence[int]) -> str:
    return hashlib.sha256(",".join(str(int(i)) for i in prompt_ids).encode("ascii")).hexdigest()


def save_prompt_cache(path: Path, tensors: Sequence[Any], prompt_ids: Sequence[int]) -> dict[str, Any]:
    """Write the cache (atomically); returns what the export records about it."""
    import numpy as np
    from safetensors.numpy import save

    from filterforge.io import atomic_write_bytes

    names = input_names(len(tensors) // 2)
    metadata = {"format": FORMAT, "prompt_sha256": prompt_hash(prompt_ids), "prompt_tokens": str(len(prompt_ids)),
                "layers": str(len(names) // 2)}
    atomic_write_bytes(path, save({n: np.ascontiguousarray(t, dtype=np.float32) for n, t in zip(names, tensors)},
                                  metadata))
    return {"file": path.name, "prompt_sha256": metadata["prompt_sha256"], "prompt_tokens": len(prompt_ids),
            "layers": len(names) // 2, "shape": list(tensors[0].shape), "dtype": "float32",
            "megabytes": round(path.stat().st_size / 2**20, 2)}


def load_prompt_cache(path: Path, prompt_ids: Sequence[int], export_dir: Path) -> dict[str, Any]:
    """The cache tensors by graph input name, after checking they belong to ``prompt_ids``."""
    from safetensors import safe_open

    if not path.is_file():
        raise FilterforgeError(f"{export_dir} is a prompt-cache export without its {path.name}; re-export with "
                               f"filterforge export")
    try:
        with safe_open(str(path), framework="numpy") as handle:
            metadata = handle.metadata() or {}
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}
    except Exception as exc:  # truncated or not a safetensors file
        raise FilterforgeError(f"cannot read {path}: {type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}") from None
    if metadata.get("format") != FORMAT:
        raise FilterforgeError(f"{path}: not a filterforge prompt cache (format {metadata.get('format')!r})")
    expected = input_names(int(metadata.get("layers", 0)))
    if sorted(tensors) != sorted(expected) or not expected:
        raise FilterforgeError(f"{path}: expected {len(expected)} cache tensors, found {len(tensors)}; re-export")
    now = prompt_hash(prompt_ids)
    if metadata.get("prompt_sha256") != now:
        raise FilterforgeError(
            f"{path} was computed for other prompt tokens ({metadata.get('prompt_tokens')} tokens, sha256 "
            f"{str(metadata.get('prompt_sha256'))[:12]}; the prompt now gives {len(prompt_ids)} tokens, {now[:12]}): "
            f"prompt.md, the filter or the tokenizer in {export_dir} changed after export; re-export it")
    length = tensors[expected[0]].shape[2]
    if length != len(prompt_ids):
        raise FilterforgeError(f"{path}: cache covers {length} tokens, the prompt has {len(prompt_ids)}; re-export")
    return {name: tensors[name] for name in expected}
