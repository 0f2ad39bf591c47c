"""`filterforge compare`: the seed's decision table for two or more runs, a verdict and the rule behind it.

Rows: validation MAE, test MAE (each beside its mean-predictor MAE), training time, inference speed,
memory (training peak, inference peak), edge-case pass rate, each with a winner; per-dimension MAE with
a winner per dimension. Test numbers come only from each run's evaluation.json: compare never
evaluates on the test split. Speed comes from every run's bench.json when all runs have one from the
same machine and runtime, else all runs are measured here, on this machine, on the same articles.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import click

from filterforge.errors import FilterforgeError
from filterforge.io import atomic_write_text, iter_jsonl, read_json, write_json

MAE_MARGIN = 0.2  # the seed: instruction must beat distillation by more than this
DIMENSION_MARGIN = 0.3  # per-dimension differences beyond this in opposite directions = "mixed"
NOT_EVALUATED = "not evaluated"


@dataclass
class RunSummary:
    path: Path
    name: str
    metadata: dict[str, Any]
    evaluation: dict[str, Any] | None
    bench: dict[str, Any] | None
    val_per_dimension_mae: dict[str, float] | None
    speed: dict[str, Any] = field(default_factory=dict)

    @property
    def strategy(self) -> str:
        return str(self.metadata.get("strategy") or "distillation")

    @property
    def is_instruction(self) -> bool:
        return self.strategy == "instruction" or bool(self.metadata.get("include_prompt"))

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
    def edge(self) -> dict[str, Any] | None:
        return self.evaluation.get("edge_cases") if self.evaluation else None

    @property
    def edge_pass_rate(self) -> float | None:
        return self.edge["pass_rate"] if self.edge else None


# -- loading ---------------------------------------------------------------------------------

def _best_val_per_dimension(run_dir: Path, metadata: dict[str, Any]) -> dict[str, float] | None:
    path = run_dir / "training_history.json"
    if not path.is_file():
        return None
    history = [h for h in read_json(path) if isinstance(h, dict) and h.get("val_per_dimension_mae")]
    if not history:
        return None
    best = [h for h in history if h.get("epoch") == metadata.get("best_epoch")]
    entry = best[0] if best else min(history, key=lambda h: h["val_mae"])
    return entry["val_per_dimension_mae"]


def load_run(path: str | Path) -> RunSummary:
    run_dir = Path(path)
    if not run_dir.is_dir():
        raise FilterforgeError(f"run dir {run_dir} not found")
    meta_path = run_dir / "training_metadata.json"
    if not meta_path.is_file():
        raise FilterforgeError(f"{run_dir}: no training_metadata.json (not a run dir written by filterforge train)")
    metadata = read_json(meta_path)
    evaluation = read_json(run_dir / "evaluation.json") if (run_dir / "evaluation.json").is_file() else None
    bench = None
    if (run_dir / "bench.json").is_file():
        summary = read_json(run_dir / "bench.json").get("summary")
        if isinstance(summary, dict) and isinstance(summary.get("ms_per_article"), (int, float)):
            bench = summary
    return RunSummary(run_dir, run_dir.name, metadata, evaluation, bench, _best_val_per_dimension(run_dir, metadata))


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

def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as handle:  # Linux: "5" resets the VmHWM peak
            handle.write("5")
        return True
    except OSError:
        return False


def _peak_rss_mb() -> float:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    from filterforge.provenance import peak_memory_mb

    return peak_memory_mb("cpu")


def speed_articles(runs: Sequence[RunSummary], speed_data: str | None, count: int) -> tuple[list[dict], str]:
    """The same articles for every run: --speed-data, else the first run's validation split."""
    if speed_data:
        path = Path(speed_data)
    else:
        candidates = [Path(str(r.metadata.get("data_dir"))) / "val.jsonl" for r in runs if r.metadata.get("data_dir")]
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


def measure_speed(run: RunSummary, articles: list[dict], device: str) -> dict[str, Any]:
    """ms/article at batch 1 and batch 8 after a warm-up pass (the warm-up also builds the prompt cache)."""
    import torch

    from filterforge.runtime.torch_predictor import TorchPredictor

    gc.collect()
    cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    if cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    rss_reset = _reset_peak_rss()
    predictor = TorchPredictor.from_dir(run.path, device=device, batch_size=1)
    encoded = predictor.encode(articles)
    result: dict[str, Any] = {"path": predictor.path_used, "device": predictor.device, "articles": len(articles)}
    for batch_size in (1, 8):
        predictor.batch_size = batch_size
        predictor.predict_encoded(encoded[: max(batch_size, 2)])  # warm-up, excluded
        started = time.perf_counter()
        predictor.predict_encoded(encoded)
        result[f"ms_per_article_batch{batch_size}"] = round(1000 * (time.perf_counter() - started) / len(encoded), 3)
    if cuda:
        result["inference_peak_memory_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
        result["memory_kind"] = "peak CUDA memory allocated"
    else:
        result["inference_peak_memory_mb"] = _peak_rss_mb()
        result["memory_kind"] = "peak process RSS" if rss_reset else "peak process RSS since start (not resettable here)"
    del predictor, encoded
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
        return {"source": "bench.json", "machine": benches[0].get("machine"), "runtime": benches[0].get("runtime"),
                "note": "from every run's bench.json (same machine and runtime)"}
    if measure:
        why = "--measure given"
    elif not all(benches):
        missing = ", ".join(r.name for r in runs if not r.bench)
        why = f"no bench.json for {missing}"
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


# -- the decision ----------------------------------------------------------------------------

def _best(runs: Sequence[RunSummary]) -> RunSummary | None:
    """Best by validation MAE: the test split never selects anything."""
    scored = [r for r in runs if r.val_mae is not None]
    return min(scored, key=lambda r: r.val_mae) if scored else (runs[0] if runs else None)


def _per_dimension(run: RunSummary, basis: str) -> dict[str, float] | None:
    if basis == "test":
        return run.evaluation["metrics"]["per_dimension_mae"] if run.evaluation else None
    return run.val_per_dimension_mae


def decide(distillation: RunSummary, instruction: RunSummary, max_slowdown: float) -> dict[str, Any]:
    basis = "test" if distillation.test_mae is not None and instruction.test_mae is not None else "validation"
    mae_d = distillation.test_mae if basis == "test" else distillation.val_mae
    mae_i = instruction.test_mae if basis == "test" else instruction.val_mae
    if mae_d is None or mae_i is None:
        raise FilterforgeError("a run has neither a test nor a validation MAE; re-run filterforge train / evaluate")
    delta = mae_d - mae_i  # > 0: instruction better
    better_mae = delta > MAE_MARGIN
    edge_d, edge_i = distillation.edge_pass_rate, instruction.edge_pass_rate
    edge_known = edge_d is not None and edge_i is not None
    better_edges = edge_known and edge_i > edge_d
    ms_d, ms_i = distillation.speed.get("ms_per_article"), instruction.speed.get("ms_per_article")
    slowdown = ms_i / ms_d if ms_d and ms_i is not None else None
    speed_ok = slowdown is not None and slowdown <= max_slowdown

    mae_text = (f"instruction's {basis} MAE {mae_i:.3f} vs distillation's {mae_d:.3f} "
                f"({'better' if delta > 0 else 'worse'} by {abs(delta):.3f}; {'>' if better_mae else '<='} {MAE_MARGIN})")
    edge_text = (f"edge-case pass rate {edge_i:.0%} vs {edge_d:.0%} ({'higher' if better_edges else 'not higher'})"
                 if edge_known else "edge cases not compared (a run has no edge-case results)")
    speed_text = (f"speed {ms_i:.2f} vs {ms_d:.2f} ms/article = {slowdown:.2f}x "
                  f"({'<=' if speed_ok else '>'} --max-slowdown {max_slowdown:g}x)" if slowdown is not None
                  else "speed unknown")
    if (better_mae or better_edges) and speed_ok:
        verdict, chosen = "instruction", instruction
        reason = "better MAE by more than 0.2" if better_mae else "generalizes better on edge cases"
        rule = f"use instruction: {reason} and speed acceptable — {mae_text}; {edge_text}; {speed_text}"
    elif better_mae or better_edges:
        verdict, chosen = "distillation", distillation
        rule = f"use distillation: instruction is better ({mae_text}; {edge_text}) but too slow — {speed_text}"
    else:
        verdict, chosen = "distillation", distillation
        rule = (f"use distillation: instruction is neither better by more than {MAE_MARGIN} nor better on edge cases — "
                f"{mae_text}; {edge_text}")
    if basis == "validation":
        rule += " [test MAE not evaluated for both runs: the rule was applied to validation MAE]"

    dims_d, dims_i = _per_dimension(distillation, basis), _per_dimension(instruction, basis)
    diffs = {n: dims_d[n] - dims_i[n] for n in dims_d if n in dims_i} if dims_d and dims_i else {}
    instruction_wins = sorted(n for n, d in diffs.items() if d > DIMENSION_MARGIN)
    distillation_wins = sorted(n for n, d in diffs.items() if d < -DIMENSION_MARGIN)
    if instruction_wins and distillation_wins:
        hypothesis = "mixed by dimension -> consider an ensemble or per-dimension models"
        why = (f"instruction better by > {DIMENSION_MARGIN} on {', '.join(instruction_wins)}; "
               f"distillation better by > {DIMENSION_MARGIN} on {', '.join(distillation_wins)}")
    elif abs(delta) <= MAE_MARGIN:
        hypothesis = "similar performance"
        why = f"|ΔMAE| = {abs(delta):.3f} <= {MAE_MARGIN} and no dimensions differ by > {DIMENSION_MARGIN} in opposite directions"
    elif delta > 0:
        hypothesis, why = "instruction superior", f"instruction's MAE is lower by {delta:.3f} > {MAE_MARGIN}"
    else:
        hypothesis, why = "distillation superior", f"distillation's MAE is lower by {-delta:.3f} > {MAE_MARGIN}"
    return {
        "verdict": verdict, "chosen_run": str(chosen.path), "rule": rule,
        "hypothesis": hypothesis, "hypothesis_reason": why, "basis": basis,
        "distillation_run": str(distillation.path), "instruction_run": str(instruction.path),
        "mae": {"distillation": mae_d, "instruction": mae_i, "delta_distillation_minus_instruction": round(delta, 4)},
        "edge_pass_rate": {"distillation": edge_d, "instruction": edge_i},
        "slowdown": round(slowdown, 3) if slowdown is not None else None, "max_slowdown": max_slowdown,
        "per_dimension_delta": {n: round(d, 4) for n, d in diffs.items()},
    }


def decide_all(runs: Sequence[RunSummary], max_slowdown: float) -> dict[str, Any]:
    instruction = [r for r in runs if r.is_instruction]
    distillation = [r for r in runs if not r.is_instruction]
    if instruction and distillation:
        decision = decide(_best(distillation), _best(instruction), max_slowdown)
        if len(runs) > 2:
            decision["rule"] += " (best distillation-like and best instruction run by validation MAE)"
        return decision
    kind = "instruction" if instruction else "distillation-like"
    best = _best(runs)
    return {"verdict": best.strategy, "chosen_run": str(best.path), "basis": "validation",
            "rule": f"all runs are {kind}, so the seed's distillation-vs-instruction rule does not apply; "
                    f"chose the lowest validation MAE ({best.val_mae:.3f}, {best.name})",
            "hypothesis": "not applicable (needs one distillation and one instruction run)", "hypothesis_reason": ""}


# -- warnings --------------------------------------------------------------------------------

def _budget_warning(run: RunSummary, budget: dict[str, Any] | None, where: str) -> str | None:
    if not budget:
        return None
    minimum = budget.get("min_article_tokens") or (run.metadata.get("token_budget") or {}).get("min_article_tokens")
    share, kept_min = budget.get("share_truncated") or 0, budget.get("article_tokens_kept_min")
    cut = share > 0
    too_few = minimum is not None and kept_min is not None and kept_min < minimum
    if not (cut or too_few):
        return None
    return (f"WARNING: {run.name}: articles cut away in {where}: {share:.0%} truncated, article tokens kept "
            f"min {kept_min} / mean {budget.get('article_tokens_kept_mean')} "
            f"(max_length {budget.get('max_length')}, prompt/template {budget.get('prompt_tokens')} tokens"
            + (f", min_article_tokens {minimum}" if minimum is not None else "") + ")")


def warnings_for(runs: Sequence[RunSummary]) -> list[str]:
    lines = []
    for run in runs:
        for budget, where in ((run.metadata.get("token_budget"), "training/validation"),
                              (run.evaluation.get("token_budget") if run.evaluation else None, "test")):
            line = _budget_warning(run, budget, where)
            if line:
                lines.append(line)
        for split, mae, base in (("validation", run.val_mae, run.val_baseline), ("test", run.test_mae, run.test_baseline)):
            if mae is not None and base is not None and mae >= base:
                lines.append(f"WARNING: {run.name}: {split} MAE {mae:.3f} is not better than the mean predictor's {base:.3f}")
    hashes = {r.metadata.get("data_hash") for r in runs}
    if len(hashes) > 1:
        lines.append("WARNING: the runs were trained on different data (data hashes differ); MAEs are not directly comparable")
    tests = {(r.evaluation or {}).get("provenance", {}).get("test_data_sha256") for r in runs if r.evaluation}
    if len(tests) > 1:
        lines.append("WARNING: the runs were evaluated on different test files; test MAEs are not directly comparable")
    calibrated = {bool(r.evaluation.get("calibrated")) for r in runs if r.evaluation}
    if len(calibrated) > 1:
        lines.append("WARNING: some runs were evaluated with calibration and some without; test MAEs are not directly comparable")
    edges = {(r.evaluation or {}).get("provenance", {}).get("edge_cases_sha256") for r in runs if r.edge}
    if len(edges) > 1:
        lines.append("WARNING: the runs were checked against different edge-case files")
    return lines


# -- the table -------------------------------------------------------------------------------

def _winner(runs: Sequence[RunSummary], values: Sequence[float | None], higher_is_better: bool = False) -> str:
    known = [(v, r.name) for v, r in zip(values, runs) if v is not None]
    if not known:
        return "—"
    if len(known) < len(runs) and len(known) == 1:
        return f"{known[0][1]} (only one measured)"
    best = max(v for v, _ in known) if higher_is_better else min(v for v, _ in known)
    # Values equal at the precision the table shows (or within 0.5%) are a tie, not a win.
    winners = [name for v, name in known if abs(v - best) <= max(5e-4, 0.005 * abs(best))]
    return winners[0] if len(winners) == 1 else "tie (" + ", ".join(winners) + ")"


def build_rows(runs: Sequence[RunSummary], speed_info: dict[str, Any]) -> list[dict[str, Any]]:
    def mae_cell(mae, base, calibrated=False):
        if mae is None:
            return NOT_EVALUATED
        return f"{mae:.3f} (mean predictor {base:.3f}{', calibrated' if calibrated else ''})"

    def num(value, unit, digits=1):
        return "—" if value is None else f"{value:.{digits}f} {unit}"

    rows = [
        ("validation MAE", [r.val_mae for r in runs], [mae_cell(r.val_mae, r.val_baseline) for r in runs], False),
        ("test MAE", [r.test_mae for r in runs], [mae_cell(r.test_mae, r.test_baseline, bool((r.evaluation or {}).get("calibrated"))) for r in runs], False),
        ("training time", [r.metadata.get("train_seconds") for r in runs],
         [num(r.metadata.get("train_seconds"), "s") for r in runs], False),
    ]
    if speed_info["source"] == "measured":
        for batch in (1, 8):
            values = [r.speed.get(f"ms_per_article_batch{batch}") for r in runs]
            rows.append((f"inference speed, batch {batch} (ms/article)", values, [num(v, "ms", 2) for v in values], False))
    else:
        values = [r.speed.get("ms_per_article") for r in runs]
        cells = [f"{num(v, 'ms', 2)} (batch {r.speed.get('batch_size')}, length {r.speed.get('length')})" for v, r in zip(values, runs)]
        rows.append(("inference speed (ms/article, bench.json)", values, cells, False))
    rows += [
        ("training peak memory", [r.metadata.get("peak_memory_mb") for r in runs],
         [num(r.metadata.get("peak_memory_mb"), "MB", 0) for r in runs], False),
        ("inference peak memory", [r.speed.get("inference_peak_memory_mb") for r in runs],
         [num(r.speed.get("inference_peak_memory_mb"), "MB", 0) for r in runs], False),
        ("edge-case pass rate", [r.edge_pass_rate for r in runs],
         [NOT_EVALUATED if r.edge is None else f"{r.edge['passed']}/{r.edge['total']} ({r.edge_pass_rate:.0%})" for r in runs], True),
    ]
    table = [{"row": name, "values": values, "cells": cells, "winner": _winner(runs, values, higher)}
             for name, values, cells, higher in rows]
    table.append({"row": "inference path", "values": [r.speed.get("path") for r in runs],
                  "cells": [str(r.speed.get("path") or "—") for r in runs], "winner": ""})
    table.append({"row": "article tokens kept (train/val mean, min, truncated)", "values": [None] * len(runs),
                  "cells": [_budget_cell(r.metadata.get("token_budget")) for r in runs], "winner": ""})
    return table


def _budget_cell(budget: dict[str, Any] | None) -> str:
    if not budget:
        return "—"
    return (f"{budget.get('article_tokens_kept_mean')}, min {budget.get('article_tokens_kept_min')}, "
            f"{(budget.get('share_truncated') or 0):.0%} truncated")


def dimension_rows(runs: Sequence[RunSummary]) -> tuple[str, list[dict[str, Any]]]:
    basis = "test" if all(r.evaluation for r in runs) else "validation"
    per_run = [_per_dimension(r, basis) or {} for r in runs]
    names = list(dict.fromkeys(n for d in per_run for n in d))
    rows = []
    for name in names:
        values = [d.get(name) for d in per_run]
        rows.append({"dimension": name, "values": values, "winner": _winner(runs, values)})
    return basis, rows


# -- output ----------------------------------------------------------------------------------

def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |"


def _memory_kind(runs: Sequence[RunSummary], speed_info: dict[str, Any]) -> str:
    if speed_info["source"] == "bench.json":
        return "inference_peak_memory_mb from bench.json"
    kinds = {r.speed.get("memory_kind") for r in runs}
    return ", ".join(sorted(k for k in kinds if k)) + " while each run was measured (includes Python and torch themselves)"


def render_report(runs: Sequence[RunSummary], warnings: list[str], table: list[dict], dim_basis: str,
                  dims: list[dict], speed_info: dict[str, Any], decision: dict[str, Any]) -> str:
    lines = [f"# Comparison: {runs[0].metadata.get('filter')}", ""]
    lines += [f"> {w}" for w in warnings] + ([""] if warnings else [])
    lines += [f"**Verdict: {decision['verdict']}** ({Path(decision['chosen_run']).name})", "",
              f"- Rule that decided: {decision['rule']}",
              f"- Hypothesis that held: **{decision['hypothesis']}**" + (f" — {decision['hypothesis_reason']}" if decision.get("hypothesis_reason") else ""),
              f"- Inference speed: {speed_info['note']}; machine: {speed_info['machine']}",
              f"- Inference memory: {_memory_kind(runs, speed_info)}", ""]
    lines += ["## Runs", ""]
    for run in runs:
        lines.append(f"- **{run.name}**: strategy {run.strategy}, model {run.metadata.get('model_name')}, "
                     f"{run.metadata.get('train_examples')} training articles, seed {run.metadata.get('seed')}, "
                     f"data hash {str(run.metadata.get('data_hash'))[:12]}, path `{run.path}`")
    lines += ["", "## Decision table", "", _md_row(["metric"] + [r.label for r in runs] + ["winner"]),
              _md_row(["---"] * (len(runs) + 2))]
    lines += [_md_row([row["row"]] + row["cells"] + [row["winner"]]) for row in table]
    lines += ["", f"## Per-dimension MAE ({dim_basis} split)", "",
              _md_row(["dimension"] + [r.name for r in runs] + ["winner"]), _md_row(["---"] * (len(runs) + 2))]
    lines += [_md_row([d["dimension"]] + ["—" if v is None else f"{v:.3f}" for v in d["values"]] + [d["winner"]]) for d in dims]
    lines += ["", "## Edge cases", ""]
    categories = list(dict.fromkeys(c for r in runs if r.edge for c in r.edge["by_category"]))
    if categories:
        lines += [_md_row(["category"] + [r.name for r in runs]), _md_row(["---"] * (len(runs) + 1))]
        for cat in categories:
            cells = []
            for run in runs:
                entry = run.edge["by_category"].get(cat) if run.edge else None
                cells.append(NOT_EVALUATED if run.edge is None else (f"{entry['passed']}/{entry['total']}" if entry else "—"))
            lines.append(_md_row([cat] + cells))
    else:
        lines.append("No run has edge-case results (run `filterforge evaluate RUN --edge-cases FILE`).")
    lines += ["", "![mode comparison](mode_comparison.png)", ""]
    return "\n".join(lines)


def compare(paths: Sequence[str], output: str | Path, max_slowdown: float = 3.0, measure: bool = False,
            speed_data: str | None = None, speed_articles_count: int = 16, device: str = "auto") -> dict[str, Any]:
    from filterforge.evaluation.plots import plot_mode_comparison
    from filterforge.provenance import provenance

    if max_slowdown <= 0:
        raise FilterforgeError(f"--max-slowdown must be > 0, got {max_slowdown}")
    runs = load_runs(paths)
    output = Path(output)
    if output.exists() and output.is_dir():
        raise FilterforgeError(f"--output {output} is a directory; give a file name such as {output / 'report.md'}")
    speed_info = collect_speed(runs, measure, speed_data, speed_articles_count, device)
    warnings = warnings_for(runs)
    table = build_rows(runs, speed_info)
    dim_basis, dims = dimension_rows(runs)
    decision = decide_all(runs, max_slowdown)
    report = render_report(runs, warnings, table, dim_basis, dims, speed_info, decision)
    comparison = {
        "filter": runs[0].metadata.get("filter"),
        "runs": [{"name": r.name, "path": str(r.path), "strategy": r.strategy, "model": r.metadata.get("model_name"),
                  "validation_mae": r.val_mae, "validation_mean_predictor_mae": r.val_baseline,
                  "test_mae": r.test_mae, "test_mean_predictor_mae": r.test_baseline, "evaluated": r.evaluation is not None,
                  "train_seconds": r.metadata.get("train_seconds"), "training_peak_memory_mb": r.metadata.get("peak_memory_mb"),
                  "speed": r.speed, "edge_pass_rate": r.edge_pass_rate,
                  "edge_by_category": r.edge["by_category"] if r.edge else None,
                  "token_budget": r.metadata.get("token_budget"),
                  "test_token_budget": r.evaluation.get("token_budget") if r.evaluation else None,
                  "seed": r.metadata.get("seed"), "data_hash": r.metadata.get("data_hash")} for r in runs],
        "table": [{k: row[k] for k in ("row", "values", "cells", "winner")} for row in table],
        "per_dimension": {"basis": dim_basis, "rows": dims},
        "speed": speed_info,
        "warnings": warnings,
        "decision": decision,
        "thresholds": {"mae_margin": MAE_MARGIN, "dimension_margin": DIMENSION_MARGIN, "max_slowdown": max_slowdown},
        "provenance": provenance(),
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    names = [d["dimension"] for d in dims]
    plot_mode_comparison([r.name for r in runs],
                         [r.test_mae if dim_basis == "test" else r.val_mae for r in runs],
                         [r.test_baseline if dim_basis == "test" else r.val_baseline for r in runs],
                         names, [[d["values"][i] for d in dims] for i in range(len(runs))],
                         [r.speed.get("ms_per_article") for r in runs], output.parent / "mode_comparison.png")
    write_json(output.parent / "comparison.json", comparison)
    atomic_write_text(output, report + "\n")
    return comparison


@click.command(name="compare")
@click.argument("run_dirs", nargs=-1, type=click.Path(file_okay=False))
@click.option("--output", default="comparison/report.md", show_default=True, type=click.Path(dir_okay=False),
              help="Markdown report; comparison.json and mode_comparison.png are written beside it.")
@click.option("--max-slowdown", type=float, default=3.0, show_default=True,
              help="Instruction's speed is acceptable up to this many times distillation's ms/article.")
@click.option("--measure", is_flag=True, help="Measure inference speed here even when every run has bench.json.")
@click.option("--speed-data", type=click.Path(dir_okay=False), help="Articles to time (default: the first run's val.jsonl).")
@click.option("--speed-articles", type=int, default=16, show_default=True, help="How many articles to time.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--threads", type=int, default=None, help="torch CPU threads for the speed measurement.")
def command(run_dirs, output, max_slowdown, measure, speed_data, speed_articles, device, threads):
    """Compare two or more runs: the seed's decision table, a verdict and the rule that decided."""
    if threads:
        import torch

        torch.set_num_threads(threads)
    if speed_articles <= 0:
        raise FilterforgeError(f"--speed-articles must be > 0, got {speed_articles}")
    result = compare(run_dirs, output, max_slowdown, measure, speed_data, speed_articles, device)
    for line in result["warnings"]:
        click.echo(line)
    names = [r["name"] for r in result["runs"]]
    click.echo("runs: " + ", ".join(f"{n} ({r['strategy']})" for n, r in zip(names, result["runs"])))
    for row in result["table"]:
        winner = f"  -> winner {row['winner']}" if row["winner"] else ""
        click.echo(f"  {row['row']}: " + " | ".join(row["cells"]) + winner)
    decision = result["decision"]
    click.echo(f"verdict: {decision['verdict']} ({Path(decision['chosen_run']).name})")
    click.echo(f"rule: {decision['rule']}")
    click.echo(f"hypothesis: {decision['hypothesis']}")
    click.echo(f"wrote {output}, {Path(output).parent / 'comparison.json'}, {Path(output).parent / 'mode_comparison.png'}")
