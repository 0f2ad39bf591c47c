"""Optimizer parameter groups: layer-wise learning-rate decay for the student's body."""

from __future__ import annotations

import re
from typing import Any

_LAYER_INDEX = re.compile(r"(?:^|\.)layers?\.(\d+)\.")


def layer_wise_groups(named_params: list[tuple[str, Any]], learning_rate: float, decay: float) -> list[dict]:
    """Optimizer groups for the body (Sun et al. 2019): the top transformer layer and everything above it
    (final norm, pooler) train at ``learning_rate``, each layer below at ``decay`` times the one above,
    the embeddings at ``decay`` times the lowest layer. ``decay == 1`` gives one group."""
    if decay == 1.0:
        return [{"params": [p for _, p in named_params], "lr": learning_rate}]
    depth = {name: _layer_of(name) for name, _ in named_params}
    layers = [d for d in depth.values() if d is not None]
    if not layers:
        return [{"params": [p for _, p in named_params], "lr": learning_rate}]
    top = max(layers) + 1
    by_rate: dict[float, list] = {}
    for name, param in named_params:
        if depth[name] is not None:
            steps = top - 1 - depth[name]
        elif "embed" in name:
            steps = top
        else:
            steps = 0
        by_rate.setdefault(learning_rate * decay**steps, []).append(param)
    return [{"params": params, "lr": rate} for rate, params in by_rate.items()]


def _layer_of(name: str) -> int | None:
    match = _LAYER_INDEX.search(name)
    return int(match.group(1)) if match else None
