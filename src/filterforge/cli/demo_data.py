"""`filterforge demo-data`: synthetic scored articles the README demo trains on."""

from __future__ import annotations

from collections import Counter

import click

from filterforge.errors import FilterforgeError


@click.command(name="demo-data")
@click.argument("filter_id", metavar="FILTER", default="investment-risk/v2")
@click.option("--n", type=int, default=600, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--output", type=click.Path(dir_okay=False), default=None,
              help="JSONL file to write.  [default: datasets/demo/<filter slug>.jsonl]")
def command(filter_id: str, n: int, seed: int, output: str | None) -> None:
    """Write N synthetic, oracle-style scored articles (marked synthetic) for FILTER.

    The articles come from the filter package's demo_scenarios.yaml.
    """
    from filterforge.data.demo import generate_demo_articles
    from filterforge.filters.spec import resolve_filter
    from filterforge.io import write_jsonl

    spec = resolve_filter(filter_id)
    if n < 1:
        raise FilterforgeError("--n must be at least 1")
    rows = generate_demo_articles(n=n, seed=seed, filter_id=filter_id)
    output = output or f"datasets/demo/{spec.slug}.jsonl"
    write_jsonl(output, rows)
    key = spec.analysis_keys()[0]
    tiers = Counter(spec.tier([row[key][d]["score"] for d in spec.dimension_names]) for row in rows)
    click.echo(f"wrote {len(rows)} synthetic articles -> {output} (tiers: {dict(sorted(tiers.items()))})")
