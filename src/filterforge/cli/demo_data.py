"""`filterforge demo-data`: synthetic scored articles the README demo trains on."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import click

from filterforge.errors import FilterforgeError


@click.command(name="demo-data")
@click.argument("filter_id", metavar="FILTER", default="investment-risk/v2")
@click.option("--n", type=int, default=600, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--output", type=click.Path(dir_okay=False), default="datasets/demo/investment_risk_v2.jsonl", show_default=True)
def command(filter_id: str, n: int, seed: int, output: str) -> None:
    """Write N synthetic, oracle-style scored articles (marked synthetic) for FILTER."""
    from filterforge.data.demo import generate_demo_articles, write_jsonl
    from filterforge.filters.spec import resolve_filter

    spec = resolve_filter(filter_id)
    if spec.name != "investment-risk":
        raise FilterforgeError(f"demo data exists for investment-risk only, not {spec.id}")
    if n < 1:
        raise FilterforgeError("--n must be at least 1")
    rows = generate_demo_articles(n=n, seed=seed)
    write_jsonl(rows, Path(output))
    tiers = Counter(spec.tier([row["investment-risk_analysis"][d]["score"] for d in spec.dimension_names]) for row in rows)
    click.echo(f"wrote {len(rows)} synthetic articles -> {output} (tiers: {dict(sorted(tiers.items()))})")
