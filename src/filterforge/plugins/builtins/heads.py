"""Built-in heads and poolings. Imports torch only when the registry is asked for them."""

from __future__ import annotations

from typing import Any

from filterforge.plugins.hookspecs import hookimpl


@hookimpl
def register_heads(register: Any) -> None:
    from filterforge.student.heads import MLPHead, RegressionHead

    register(RegressionHead)
    register(MLPHead)


@hookimpl
def register_poolings(register: Any) -> None:
    from filterforge.student.pooling import CLSPooling, LastTokenPooling, MeanPooling

    register(MeanPooling)
    register(LastTokenPooling)
    register(CLSPooling)
