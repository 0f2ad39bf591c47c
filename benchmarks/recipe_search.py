"""Search the default training recipe for the packaged encoder on real oracle data (validation only).

Trains each variant of ``recipe_variants.yaml`` on a seeded subset of the sustainability train split
(the same split ``benchmarks/accuracy.py`` makes) and records the per-epoch validation MAE beside the
mean predictor's. The test split is never read. Results: ``benchmarks/results/recipe_search.{json,md}``.

    python benchmarks/recipe_search.py [--train-articles 1200] [--val-articles 300] [--only NAME]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import yaml  # noqa: E402

from accuracy_bench.config import DATASETS, DEFAULT_DATASETS_ROOT, RESULTS, PROFILES  # noqa: E402

HERE = Path(__file__).resolve().parent
WORK = HERE.parent / "runs" / "recipe-search"


def search_data(train_articles: int, val_articles: int) -> Path:
    """train/val files holding the first N rows of the benchmark's shuffled sustainability splits."""
    from filterforge.data.prepare import prepare
    from filterforge.io import iter_jsonl, write_jsonl

    dataset = DATASETS["sustainability"]
    full = WORK / "data-full"
    prepare(dataset.filter_id, [str(DEFAULT_DATASETS_ROOT / dataset.name / "scored.jsonl")], str(full),
            ratios=dict(dataset.ratios), seed=PROFILES["full"].seed, overwrite=True)
    subset = WORK / f"data-{train_articles}-{val_articles}"
    subset.mkdir(parents=True, exist_ok=True)
    for split, limit in (("train", train_articles), ("val", val_articles)):
        rows = [row for _, row in iter_jsonl(full / f"{split}.jsonl")][:limit]
        write_jsonl(subset / f"{split}.jsonl", rows)
    shutil.rmtree(full)
    return subset


def train_variant(variant: dict, common: dict, data_dir: Path, article_tokens: int) -> dict:
    from filterforge.training.config import TrainConfig
    from filterforge.training.trainer import train

    run_dir = WORK / "runs" / variant["name"]
    settings = {**common, **variant["settings"]}
    config = TrainConfig(filter_id=DATASETS["sustainability"].filter_id, data_dir=str(data_dir),
                         output_dir=str(run_dir), max_length=article_tokens + 2, min_article_tokens=min(128, article_tokens),
                         overwrite=True, quiet=True,
                         threads=2, seed=PROFILES["full"].seed, save_every_minutes=0, **settings)
    started = time.time()
    metadata = train(config)
    history = json.loads((run_dir / "training_history.json").read_text())
    return {
        "name": variant["name"], "why": variant["why"], "settings": settings,
        "best_val_mae": metadata["best_val_mae"], "best_epoch": metadata["best_epoch"],
        "val_mean_predictor_mae": metadata["val_mean_predictor_mae"],
        "val_mae_by_epoch": [round(entry["val_mae"], 4) for entry in history],
        "train_seconds": round(metadata["train_seconds"], 1), "job_seconds": round(time.time() - started, 1),
        "stopped_by": metadata["stopped_by"],
    }


def earlier_results(path: Path, args: argparse.Namespace, rerun: set[str]) -> list[dict]:
    """Results of other variants from an earlier search on the same articles, kept so variants can run
    one at a time."""
    if not path.is_file():
        return []
    earlier = json.loads(path.read_text())
    same = all(earlier.get(key) == getattr(args, key) for key in ("train_articles", "val_articles", "article_tokens"))
    return [r for r in earlier["results"] if r["name"] not in rerun] if same else []


def markdown(report: dict) -> str:
    lines = [
        "## Training recipe search (MiniLM, sustainability, validation only)",
        "",
        f"Machine: {report['machine']['cpu_count']}-core {report['machine']['processor']} CPU, no GPU; {report['train_articles']} train / {report['val_articles']} val articles "
        f"(first rows of the seeded benchmark split), {report['article_tokens']} article tokens, seed "
        f"{report['seed']}, git {report['git_commit']}. Wall times are {report['timing_note']}.",
        "",
        "| recipe | val MAE by epoch | best val MAE | mean predictor | train s | why |",
        "|---|---|---|---|---|---|",
    ]
    for r in report["results"]:
        epochs = " / ".join(f"{v:.3f}" for v in r["val_mae_by_epoch"])
        lines.append(f"| {r['name']} | {epochs} | {r['best_val_mae']:.3f} | {r['val_mean_predictor_mae']:.3f} | "
                     f"{r['train_seconds']:.0f} | {r['why']} |")
    best = min(report["results"], key=lambda r: r["best_val_mae"])
    lines += ["", f"Lowest validation MAE: **{best['name']}** ({best['best_val_mae']:.3f}, epoch {best['best_epoch']})."]
    return "\n".join(lines) + "\n"


def main() -> None:
    from filterforge.io import atomic_write_text, write_json
    from filterforge.provenance import git_commit, machine

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-articles", type=int, default=1200)
    parser.add_argument("--val-articles", type=int, default=300)
    parser.add_argument("--article-tokens", type=int, default=254)
    parser.add_argument("--only", action="append", help="run only these variants (repeatable)")
    parser.add_argument("--epochs", type=int, help="override every variant's epochs (development)")
    parser.add_argument("--timing-note", default="from a machine shared with other jobs (not speed figures)")
    parser.add_argument("--output", default=str(RESULTS / "recipe_search"))
    args = parser.parse_args()
    plan = yaml.safe_load((HERE / "recipe_variants.yaml").read_text())
    common = {**plan["common"], **({"epochs": args.epochs} if args.epochs else {})}
    variants = [v for v in plan["variants"] if not args.only or v["name"] in args.only]
    data_dir = search_data(args.train_articles, args.val_articles)
    report = {"machine": machine(), "git_commit": git_commit(), "seed": PROFILES["full"].seed,
              "train_articles": args.train_articles, "val_articles": args.val_articles,
              "article_tokens": args.article_tokens, "timing_note": args.timing_note,
              "results": earlier_results(Path(args.output + ".json"), args, {v["name"] for v in variants})}
    for variant in variants:
        print(f"[{time.strftime('%H:%M:%S')}] {variant['name']}", flush=True)
        report["results"].append(train_variant(variant, common, data_dir, args.article_tokens))
        print(json.dumps(report["results"][-1]), flush=True)
        write_json(Path(args.output + ".json"), report)
        atomic_write_text(Path(args.output + ".md"), markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
