"""Benchmark inputs: real article tokens cut into windows of exactly the benchmarked length, framed as
the run's strategy frames them (special tokens, or the full prompt for a strategy that shares one)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from filterforge.errors import FilterforgeError


def token_stream(strategy: Any, rows: Sequence[dict], needed: int) -> list[int]:
    """Article tokens of real articles, one after the other, at least `needed` of them (repeated if few)."""
    stream: list[int] = []
    for row in rows:
        stream.extend(strategy.article_ids(row))
        if len(stream) >= needed:
            break
    if not stream:
        raise FilterforgeError("the benchmark articles have no tokens")
    while len(stream) < needed:
        stream.extend(stream[: needed - len(stream)])
    return stream


def make_inputs(strategy: Any, stream: Sequence[int], batch_size: int, length: int) -> list[Any]:
    """`batch_size` inputs of exactly `length` tokens (after the prompt when the strategy shares one)."""
    from filterforge.encoding.strategies import EncodedInput

    prefix, suffix = strategy.frame()
    shared = strategy.shares_prefix
    article = article_tokens_for(strategy, length)
    inputs = []
    for row in range(batch_size):
        start = (row * article) % max(len(stream) - article, 1)
        ids = list(stream[start : start + article])
        inputs.append(EncodedInput(prefix + ids + suffix, len(prefix) if shared else 0, len(ids), len(ids)))
    return inputs


def article_tokens_for(strategy: Any, length: int) -> int:
    prefix, suffix = strategy.frame()
    shared = strategy.shares_prefix
    return length - len(suffix) - (0 if shared else len(prefix))


def benchmarkable_lengths(strategy: Any, lengths: Sequence[int], window: int | None) -> tuple[list[int], list[str]]:
    """Lengths that leave room for article tokens and fit the model's context window; notes for the rest."""
    prefix, suffix = strategy.frame()
    shared = strategy.shares_prefix
    usable, skipped = [], []
    for length in lengths:
        total = length + (len(prefix) if shared else 0)
        if article_tokens_for(strategy, length) < 1:
            skipped.append(f"length {length}: the template alone takes {len(prefix) + len(suffix)} tokens")
        elif window and total > window:
            skipped.append(f"length {length}: {total} tokens exceed the model's context window of {window}")
        else:
            usable.append(length)
    return usable, skipped


def text_articles(rows: Sequence[dict], batch_size: int, words: int) -> list[dict]:
    """``batch_size`` articles of exactly ``words`` words of real articles (the content; no title)."""
    from filterforge.encoding.strategies import article_text

    stream = [w for row in rows for w in article_text(row).split()] or ["empty"]
    while len(stream) < words * batch_size + 1:
        stream += stream
    return [{"id": f"bench-{i}", "title": "", "content": " ".join(stream[i * words:(i + 1) * words])}
            for i in range(batch_size)]


def text_inputs(rows: Sequence[dict], batch_size: int, words: int) -> list[Any]:
    """``batch_size`` inputs of exactly ``words`` words of real articles, for baselines that read text."""
    from filterforge.runtime.baseline_predictor import TextInput

    return [TextInput([], 0, words, words, article["content"]) for article in text_articles(rows, batch_size, words)]


def benchmark_rows(data_dir: Path | None, spec: Any) -> tuple[list[dict], str]:
    """The run's own articles when its splits are here, else the synthetic demo articles."""
    from filterforge.data.splits import first_split

    if data_dir is not None:
        rows, path = first_split(data_dir, spec)
        if rows:
            return rows, f"{path} ({len(rows)} articles)"
    from filterforge.data.demo import generate_demo_articles

    return generate_demo_articles(n=200, seed=0), "synthetic demo articles (the run's splits were not found)"
