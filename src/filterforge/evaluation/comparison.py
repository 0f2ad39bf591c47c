"""The runs `compare` weighs: what each one recorded (metadata, history, evaluation, bench) and the
inference speed, read from every run's bench.json or measured here on the same articles."""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from filterforge.errors import FilterforgeError
from filterforge.runs.layout import BENCH_JSON


def strategy_uses_prompt(name: str, metadata: dict[str, Any]) -> bool:
    """Whether a strategy's input carries the filter prompt: the registered class says so; a strategy no
    longer installed falls back to what the run recorded."""
    from filterforge.plugins.manager import get_strategies

    registered = get_strategies().get(name)
    if registered is not None:
        return bool(registered.uses_prompt)
    return bool(metadata.get("include_prompt"))


@dataclass
class RunSummary:
    run: Any
    name: str
    metadata: dict[str, Any]
    evaluation: dict[str, Any] | None
    bench: dict[str, Any] | None
    val_per_dimension_mae: dict[str, float] | None
    speed: dict[str, Any] = field(default_factory=dict)
    is_baseline: bool = False
    test_errors: dict[str, float] | None = None  # per-article test errors by id, for paired bootstraps

    @property
    def path(self) -> Path:
        return self.run.root

    @property
    def strategy(self) -> str:
        return str(self.metadata.get("strategy") or "unknown")

    @property
    def uses_prompt(self) -> bool:
        return strategy_uses_prompt(self.strategy, self.metadata)

    @property
    def label(self) -> str:
        return f"{self.name} ({self.strategy}, {Path(str(self.metadata.get('model_name', '?'))).name})"

    @property
    def val_mae(self) -> float | None:
        return self.metadata.get("best_val_mae")

    @property
    def val_baseline(self) -> float | None:
        return self.metadata.get("val_mean_predictor_mae")

    @property
    def test_mae(self) -> float | None:
        return self.evaluation["metrics"]["mae"] if self.evaluation else None

    @property
    def test_baseline(self) -> float | None:
        return self.evaluation["metrics"].get("mean_predictor_mae") if self.evaluation else None

    @property
    def test_tier_accuracy(self) -> float | None:
        """None unless the run was evaluated with a filter of two tiers or more."""
        from filterforge.metrics import recorded_tier_accuracy

        return recorded_tier_accuracy(self.evaluation.get("tiers")) if self.evaluation else None

    @property
    def edge(self) -> dict[str, Any] | None:
        return self.evaluation.get("edge_cases") if self.evaluation else None

    @property
    def edge_pass_rate(self) -> float | None:
        return self.edge["pass_rate"] if self.edge else None


# -- loading ---------------------------------------------------------------------------------

def best_val_per_dimension(history: list[dict[str, Any]], metadata: dict[str, Any]) -> dict[str, float] | None:
    history = [h for h in history if h.get("val_per_dimension_mae")]
    if not history:
        return None
    best = [h for h in history if h.get("epoch") == metadata.get("best_epoch")]
    entry = best[0] if best else min(history, key=lambda h: h["val_mae"])
    return entry["val_per_dimension_mae"]


def load_run(path: str | Path) -> RunSummary:
    from filterforge.runs.layout import TRAINING_METADATA
    from filterforge.runs.run import Run

    not_a_run = f"{path}: no {TRAINING_METADATA} (not a run dir written by filterforge train)"
    if not Path(path).is_dir():
        raise FilterforgeError(f"run dir {path} not found")
    try:
        run = Run.from_path(Path(path))
    except FilterforgeError:
        raise FilterforgeError(not_a_run) from None
    metadata = run.metadata(required=False)
    if not metadata:
        raise FilterforgeError(not_a_run)
    return RunSummary(run, run.name, metadata, run.evaluation(), run.bench_summary(),
                      best_val_per_dimension(run.history(), metadata))


def load_runs(paths: Sequence[str]) -> list[RunSummary]:
    if len(paths) < 2:
        raise FilterforgeError(f"compare needs at least two run dirs, got {len(paths)}")
    resolved = [Path(p).resolve() for p in paths]
    if len(set(resolved)) != len(resolved):
        raise FilterforgeError("compare was given the same run dir more than once")
    runs = [load_run(p) for p in paths]
    names = [r.name for r in runs]
    if len(set(names)) != len(names):  # same folder name in different places: use the paths
        for run in runs:
            run.name = str(run.path)
    filters = {r.metadata.get("filter") for r in runs}
    if len(filters) > 1:
        raise FilterforgeError(f"runs are for different filters ({', '.join(sorted(map(str, filters)))}); compare runs of one filter")
    return runs


# -- speed -----------------------------------------------------------------------------------

def speed_articles(runs: Sequence[RunSummary], speed_data: str | None, count: int) -> tuple[list[dict], str]:
    """The same articles for every run: --speed-data, else the first run's validation split."""
    from filterforge.data.splits import split_file
    from filterforge.io import iter_jsonl

    if speed_data:
        path = Path(speed_data)
    else:
        candidates = [split_file(d, "val") for d in (r.run.data_dir(required=False) for r in runs) if d is not None]
        candidates += [Path(r.evaluation["test_data"]) for r in runs if r.evaluation]
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            raise FilterforgeError("no articles to time inference on (the runs' data dirs are gone); pass --speed-data FILE")
    if not path.is_file():
        raise FilterforgeError(f"--speed-data {path} not found")
    articles = [{"id": row.get("id"), "title": row.get("title") or "", "content": row.get("content") or ""}
                for _, row in iter_jsonl(path)][:count]
    if not articles:
        raise FilterforgeError(f"{path} holds no articles to time inference on")
    return articles, str(path)


def measure_speed(summary: RunSummary, articles: list[dict], device: str) -> dict[str, Any]:
    """ms/article at batch 1 and batch 8 after a warm-up pass (the warm-up also builds the prompt cache)."""
    from filterforge.runtime.scorer import Scorer

    gc.collect()
    scorer = Scorer.load(summary.run, runtime="torch", device=device, batch_size=1)
    predictor = scorer.predictor
    if str(predictor.device).startswith("cuda"):
        import torch

        torch.cuda.empty_cache()
    resettable = predictor.reset_peak_memory()
    encoded = scorer.encode(articles)
    result: dict[str, Any] = {"path": predictor.path_used, "device": predictor.device, "articles": len(articles)}
    for batch_size in (1, 8):
        predictor.batch_size = batch_size
        scorer.score_encoded(encoded[: max(batch_size, 2)])  # warm-up, excluded
        started = time.perf_counter()
        scorer.score_encoded(encoded)
        result[f"ms_per_article_batch{batch_size}"] = round(1000 * (time.perf_counter() - started) / len(encoded), 3)
    result["inference_peak_memory_mb"] = predictor.peak_memory_mb()
    result["memory_kind"] = predictor.memory_kind + ("" if resettable else " since start (not resettable here)")
    del scorer, predictor, encoded
    gc.collect()
    return result


def collect_speed(runs: Sequence[RunSummary], measure: bool, speed_data: str | None, count: int,
                  device: str) -> dict[str, Any]:
    from filterforge.provenance import machine

    benches = [r.bench for r in runs]
    same_setup = all(benches) and len({(b.get("machine"), b.get("runtime")) for b in benches}) == 1
    if not measure and same_setup:
        for run in runs:
            b = run.bench
            run.speed = {"ms_per_article": b["ms_per_article"], "inference_peak_memory_mb": b.get("inference_peak_memory_mb"),
                         "path": b.get("path"), "batch_size": b.get("batch_size"), "length": b.get("length"),
                         "runtime": b.get("runtime")}
        return {"source": BENCH_JSON, "machine": benches[0].get("machine"), "runtime": benches[0].get("runtime"),
                "note": "from every run's bench.json (same machine and runtime)"}
    if measure:
        why = "--measure given"
    elif not all(benches):
        why = f"no bench.json for {', '.join(r.name for r in runs if not r.bench)}"
    else:
        why = "the runs' bench.json files come from different machines or runtimes"
    articles, source = speed_articles(runs, speed_data, count)
    for run in runs:
        run.speed = measure_speed(run, articles, device)
        run.speed["ms_per_article"] = run.speed["ms_per_article_batch1"]
        run.speed["runtime"] = "torch"
    info = machine()
    described = f"{info.get('platform')}, {info.get('cpu_count')} CPUs" + (f", {info['gpu']}" if info.get("gpu") else "")
    return {"source": "measured", "machine": described, "runtime": "torch", "articles": source, "count": len(articles),
            "note": f"measured here on the same {len(articles)} articles for every run ({why}); warm-up excluded"}
