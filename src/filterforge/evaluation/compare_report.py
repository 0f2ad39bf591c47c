"""The comparison as tables: the decision table with a winner per row, per-dimension MAE, and the
Markdown report `compare` writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from filterforge.evaluation.comparison import RunSummary
from filterforge.evaluation.decision import per_dimension
from filterforge.runs.layout import BENCH_JSON

NOT_EVALUATED = "not evaluated"


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
    ]
    if any(r.test_tier_accuracy is not None for r in runs):  # only filters with several tiers record it
        rows.append(("test tier accuracy", [r.test_tier_accuracy for r in runs], [_tier_cell(r) for r in runs], True))
    rows += [
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


def _tier_cell(run: RunSummary) -> str:
    if run.evaluation is None:
        return NOT_EVALUATED
    return "—" if run.test_tier_accuracy is None else f"{run.test_tier_accuracy:.3f}"


def _budget_cell(budget: dict[str, Any] | None) -> str:
    if not budget:
        return "—"
    return (f"{budget.get('article_tokens_kept_mean')}, min {budget.get('article_tokens_kept_min')}, "
            f"{(budget.get('share_truncated') or 0):.0%} truncated")


def dimension_rows(runs: Sequence[RunSummary]) -> tuple[str, list[dict[str, Any]]]:
    basis = "test" if all(r.evaluation for r in runs) else "validation"
    per_run = [per_dimension(r, basis) or {} for r in runs]
    names = list(dict.fromkeys(n for d in per_run for n in d))
    rows = []
    for name in names:
        values = [d.get(name) for d in per_run]
        rows.append({"dimension": name, "values": values, "winner": _winner(runs, values)})
    return basis, rows


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |"


def _memory_kind(runs: Sequence[RunSummary], speed_info: dict[str, Any]) -> str:
    if speed_info["source"] == BENCH_JSON:
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
              *([f"- Build the ensemble: `{decision['ensemble_command']}` (add `--method select` for one model "
                 "per dimension)"] if decision.get("ensemble_command") else []),
              *[f"- Ensemble {note}" for note in decision.get("ensembles", [])],
              *([f"- Baselines: {decision['baselines']['text']} ({decision['baselines']['note']})"] if decision.get("baselines") else []),
              f"- Inference speed: {speed_info['note']}; machine: {speed_info['machine']}"
              + (f"; {speed_info['baselines']}" if speed_info.get("baselines") else ""),
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


