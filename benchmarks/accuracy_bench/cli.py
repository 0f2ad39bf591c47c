"""``python benchmarks/accuracy.py``: options, the profile they select, and the run."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from .config import (DATASETS, DEFAULT_DATASETS_ROOT, DEFAULT_TIME_BUDGET_S, DEFAULT_WORK_DIR, PROFILES, RESULTS,
                     STUDENT_KEYS, Profile)
from .timing import log

CAP_OPTIONS = ("max_train", "max_val", "max_test", "decoder_max_steps", "encoder_article_tokens")


def comma_list(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


def checked_names(text: str, known: tuple[str, ...] | list[str], kind: str) -> tuple[str, ...]:
    from filterforge.errors import FilterforgeError

    names = comma_list(text)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise FilterforgeError(f"unknown {kind} {', '.join(unknown)} (known: {', '.join(known)})")
    return names


def build_profile(quick: bool, dataset_names: str | None, student_keys: str | None, **overrides: Any) -> Profile:
    """The quick or full profile with the command line's changes; options left unset keep the profile's value."""
    changes = {key: value for key, value in overrides.items() if key not in CAP_OPTIONS or value is not None}
    if dataset_names:
        changes["datasets"] = checked_names(dataset_names, tuple(DATASETS), "dataset")
    if student_keys:
        changes["students"] = checked_names(student_keys, list(STUDENT_KEYS), "student")
    return replace(PROFILES["quick" if quick else "full"], **changes)


def check_datasets(profile: Profile, datasets_root: Path) -> None:
    from filterforge.errors import FilterforgeError

    missing = [n for n in profile.datasets if not (datasets_root / n / "scored.jsonl").exists()]
    if missing:
        raise FilterforgeError(f"{datasets_root}: no scored.jsonl for {', '.join(missing)} (see ../shared/datasets/README.md)")


def default_output(profile: Profile, work_dir: Path) -> Path:
    return RESULTS / "accuracy.json" if profile.is_benchmark else work_dir / "accuracy-quick.json"


@click.command()
@click.option("--quick", is_flag=True, help="Development run: sustainability only, 300 train / 100 val / 150 test articles.")
@click.option("--datasets", "dataset_names", help=f"Comma-separated subset of: {', '.join(DATASETS)}.")
@click.option("--datasets-root", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_DATASETS_ROOT,
              show_default=True)
@click.option("--work-dir", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_WORK_DIR,
              show_default=True, help="Splits and student runs (git-ignored).")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Default: benchmarks/results/accuracy.json "
              "(accuracy-quick.json in the work dir for capped runs).")
@click.option("--time-budget", type=float, default=DEFAULT_TIME_BUDGET_S, show_default=True,
              help="Seconds; a job whose estimate would overrun it is skipped and reported.")
@click.option("--encoder-model", default="minilm", show_default=True, help="Encoder for the probe and MiniLM students.")
@click.option("--decoder-model", default="smollm2-135m", show_default=True, help="Decoder for the SmolLM2 students.")
@click.option("--max-train", type=int, help="Development cap on train articles (not a benchmark result).")
@click.option("--max-val", type=int, help="Development cap on val articles.")
@click.option("--max-test", type=int, help="Development cap on test articles.")
@click.option("--decoder-max-steps", type=int, help="Override the SmolLM2 step budget.")
@click.option("--encoder-article-tokens", type=int, help="Override the MiniLM article-token budget (default 254).")
@click.option("--students", "student_keys", help=f"Comma-separated subset of: {', '.join(STUDENT_KEYS)}.")
@click.option("--threads", type=int, default=2, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
def main(quick, dataset_names, datasets_root, work_dir, output, time_budget, student_keys, **overrides):
    """Compare filterforge students with TF-IDF, embedding-probe and mean baselines on real oracle data."""
    from filterforge.errors import FilterforgeError

    try:
        run(quick, dataset_names, datasets_root, work_dir, output, time_budget, student_keys, overrides)
    except FilterforgeError as exc:  # one line for the user, as the filterforge command prints it
        raise click.ClickException(str(exc)) from None


def run(quick: bool, dataset_names: str | None, datasets_root: Path, work_dir: Path, output: Path | None,
        time_budget: float, student_keys: str | None, overrides: dict[str, Any]) -> None:
    from .report import markdown
    from .runner import Benchmark

    profile = build_profile(quick, dataset_names, student_keys, **overrides)
    check_datasets(profile, datasets_root)
    output = output or default_output(profile, work_dir)
    benchmark = Benchmark(profile, datasets_root, work_dir, output, output.with_suffix(".md"), time_budget)
    report = benchmark.run()
    click.echo(markdown(report))
    log(f"wrote {output} and {output.with_suffix('.md')} in {report['elapsed_seconds'] / 60:.1f} min")
