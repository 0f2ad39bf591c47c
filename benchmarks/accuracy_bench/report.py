"""The JSON report and its markdown rendering."""

from __future__ import annotations

import os
import sys
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from .config import (ALL_STUDENTS, BOOTSTRAP_SAMPLES, LEARNING_CURVE_FRACTIONS, REPO, TARGET_RATIO, TOP_SHARE,
                     Profile)
from .results import MethodResult
from .scoring import has_tiers
from .splits import Splits

PREPARE_FIELDS = ("rows_read", "rows_kept", "dropped", "duplicates")
DEFAULT_COMMAND = "python benchmarks/accuracy.py"
DEFAULT_OUTPUT = "benchmarks/results/accuracy.json"


# -- JSON -------------------------------------------------------------------------------------
def dataset_json(splits: Splits, methods: Sequence[MethodResult], best_student: MethodResult | None,
                 student_val_limit: int, noise_floor: dict | None) -> dict[str, Any]:
    finished = [m for m in methods if m.ok]
    lowest = min(finished, key=lambda m: m.test["mae"]) if finished else None
    return {
        "filter": splits.spec.id, "data_dir": str(splits.data_dir), "data_hash": splits.data_hash,
        "ratios": splits.config.ratios,
        "splits": {"train": len(splits.train), "val": len(splits.val), "test": len(splits.test)},
        "student_val_articles": min(len(splits.val), student_val_limit),
        "prepare": {k: splits.prepare_report[k] for k in PREPARE_FIELDS},
        "tiers": splits.spec.tier_names if has_tiers(splits.spec) else None,
        "recall_k": max(1, round(TOP_SHARE * len(splits.test))),
        "methods": [m.to_json() for m in methods],
        "lowest_test_mae": lowest.key if lowest else None,
        "lowest_test_mae_label": lowest.label if lowest else None,
        "lowest_test_mae_kind": lowest.kind if lowest else None,
        "best_student": best_student.key if best_student else None,
        "best_student_label": best_student.label if best_student else None,
        "oracle_noise_floor": noise_floor,
    }


def settings_json(profile: Profile, time_budget_s: float) -> dict[str, Any]:
    return {**asdict(profile), "time_budget_s": time_budget_s,
            "learning_curve_fractions": list(LEARNING_CURVE_FRACTIONS), "target_ratio": TARGET_RATIO,
            "student_specs": [asdict(s) for s in ALL_STUDENTS],
            "bootstrap_samples": BOOTSTRAP_SAMPLES, "recall_top_share": TOP_SHARE}


def report_json(*, profile: Profile, complete: bool, time_budget_s: float, elapsed_s: float,
                slowdown: dict[str, float], datasets_root: Path, datasets: dict[str, dict], learning_curve: dict | None,
                target: dict | None, notes: list[str], output: Path) -> dict[str, Any]:
    from filterforge.provenance import provenance

    return {
        "benchmark": "accuracy",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "complete": complete,
        "is_benchmark": profile.is_benchmark,
        "profile": profile.name,
        "settings": settings_json(profile, time_budget_s),
        "seed": profile.seed,
        "elapsed_seconds": round(elapsed_s, 1),
        "time_guard_slowdown": {k: round(v, 3) for k, v in slowdown.items()},
        "machine_summary": machine_summary(),
        "provenance": provenance(),
        "datasets_root": str(datasets_root),
        "datasets": datasets,
        "learning_curve": learning_curve,
        "target": target,
        "notes": notes,
        "command": " ".join(["python", repo_relative(sys.argv[0]), *sys.argv[1:]]),
        "output": repo_relative(output),
    }


def write_report(report: dict[str, Any], output: Path, markdown_path: Path) -> None:
    from filterforge.io import atomic_write_text, write_json

    write_json(output, report)
    atomic_write_text(markdown_path, markdown(report) + "\n")


def repo_relative(path: str | Path) -> str:
    resolved = Path(path).resolve()
    return resolved.relative_to(REPO).as_posix() if resolved.is_relative_to(REPO) else str(path)


def machine_summary() -> str:
    import platform

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()}-core CPU ({cpu}), no GPU"


# -- markdown ---------------------------------------------------------------------------------
def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def cell(text: str) -> str:
    """One markdown table cell: first line only, no pipes."""
    return (text.splitlines() or [""])[0].replace("|", "/")


def ranking_cell(method: dict, spec_has_tiers: bool) -> str:
    test = method["test"]
    if spec_has_tiers:
        return fmt(test.get("tier_accuracy"))
    recall = test.get("recall_at_top")
    return fmt(recall["recall"]) if recall else "—"


def tokens_cell(method: dict) -> str:
    tokens = method["tokens"]
    if "article_tokens_kept_mean" in tokens:
        return f"{tokens['article_tokens_kept_mean']:.0f} ({tokens['share_truncated']:.0%} cut)"
    return tokens.get("note", "—")


def method_row(method: dict, has_tiers: bool, lowest_key: str | None) -> str:
    if method["status"] != "ok":
        return f"| {method['label']} | {method['status']} | | | | | | | | {cell(method['note'])} |"
    test = method["test"]
    mae = f"{test['mae']:.3f} [{test['mae_ci95'][0]:.2f}, {test['mae_ci95'][1]:.2f}]"
    if method["key"] == lowest_key:
        mae = f"**{mae}**"
    label = method["label"] + (" ‡" if method["budget_limited"] else "")
    return (f"| {label} | {mae} | {fmt(test['rmse'])} | {fmt(test['spearman'])} | {ranking_cell(method, has_tiers)} | "
            f"{fmt(method['val_mae_first_n'])} | {fmt(method['train_seconds'], 1)} | {fmt(method['ms_per_article'], 1)} | "
            f"{tokens_cell(method)} | {cell(method['note'])} |")


def dataset_markdown(name: str, data: dict) -> list[str]:
    has_tiers = data["tiers"] is not None
    rank_header = "tier acc." if has_tiers else f"R@{data['recall_k']} (top 10 %)"
    splits = data["splits"]
    lines = [f"### {name} ({data['filter']}: {splits['train']} train / {splits['val']} val / "
             f"{splits['test']} test articles)",
             "",
             f"| method | test MAE [95% CI] | RMSE | Spearman | {rank_header} | val MAE† | train s | ms/article | "
             "article tokens kept (cut) | notes |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    lines += [method_row(method, has_tiers, data.get("lowest_test_mae")) for method in data["methods"]]
    lines.append("")
    mean_mae = next((m["test"]["mae"] for m in data["methods"] if m["key"] == "mean"), None)
    lines.append(f"Mean-predictor test MAE on this split: {fmt(mean_mae)}. "
                 f"Lowest test MAE: **{data.get('lowest_test_mae_label', '—')}** ({data.get('lowest_test_mae_kind', '—')}). "
                 f"Best student by val MAE: {data.get('best_student_label') or '—'}.")
    noise = data.get("oracle_noise_floor")
    if noise:
        lines.append(f"Label noise: on {noise['shared_articles']} articles scored by both oracles the oracle-vs-oracle MAE is "
                     f"{noise['oracle_vs_oracle_mae']:.2f} ({noise['oracle_vs_oracle_mae_offset_removed']:.2f} with each "
                     f"dimension's mean offset removed), against this dataset's test MAEs above.")
    lines.append("")
    return lines


def header_markdown(report: dict) -> list[str]:
    settings = report["settings"]
    lines = ["## Accuracy benchmark (real oracle data)", ""]
    if not report["is_benchmark"]:
        lines += ["**Development run with capped splits: not a benchmark result.**", ""]
    if not report["complete"]:
        lines += ["**Partial run: it stopped before every job had run; rows marked skipped did not run (see the notes "
                  "at the end).**", ""]
    return lines + [
        f"Machine: {report['machine_summary']}; git {report['provenance']['git_commit']}; seed {settings['seed']}; "
        f"total {report['elapsed_seconds'] / 60:.1f} min. `{report.get('command', DEFAULT_COMMAND)}` "
        f"(results in `{report.get('output', DEFAULT_OUTPUT)}`).",
        "",
        f"Settings: MiniLM inputs {settings['encoder_article_tokens'] + 2} tokens, "
        f"{settings['encoder_epochs_large']} epoch on sustainability / {settings['encoder_epochs_small']} on the small sets; "
        f"SmolLM2 {settings['decoder_article_tokens']} article tokens, at most {settings['decoder_max_steps']} optimizer steps "
        f"of 8 articles. † val MAE on the first {settings['student_val_limit']} val articles, for every method: "
        "students pick checkpoints on them (and the best student is picked by it); baselines choose alpha on the "
        "whole val split. ‡ = budget-limited student "
        "(stopped by max_steps before one epoch). Every method is scored on the full test split. "
        "ms/article: test-set prediction time on this machine (batch 16 for students, 32 for the probe), tokenisation included. "
        "train s: the students' optimizer loop; the baselines' whole fit, alpha search (and the probe's embedding of train "
        "and val) included.",
        "",
    ]


def learning_curve_markdown(curve: dict | None) -> list[str]:
    if not curve:
        return []
    lines = ["### Learning curve (sustainability)", "",
             "| method | share of train | train articles | test MAE | mean predictor | val MAE | train s |",
             "|---|---|---|---|---|---|---|"]
    for method, entries in curve["methods"].items():
        for entry in entries:
            if entry["status"] != "ok":
                lines.append(f"| {method} | {entry['fraction']:.0%} | {entry['train_examples']} | {entry['status']} | | | "
                             f"{cell(entry['note'])} |")
                continue
            lines.append(f"| {method} | {entry['fraction']:.0%} | {entry['train_examples']} | {entry['test_mae']:.3f} | "
                         f"{entry['test_mean_predictor_mae']:.3f} | {fmt(entry['val_mae'])} | {fmt(entry['train_seconds'], 1)} |")
    return lines + [""]


def target_markdown(target: dict | None) -> list[str]:
    if not target:
        return []
    lines = ["### Target: best student's test MAE <= 0.85 x TF-IDF + ridge (sustainability)", "", target["summary"], ""]
    lines += [f"- {item}" for item in target.get("evidence_lines", [])]
    if target.get("what_would_close_it"):
        lines += ["", "What would close the gap:"]
        lines += [f"- {item}" for item in target["what_would_close_it"]]
    return lines + [""]


def markdown(report: dict) -> str:
    lines = header_markdown(report)
    for name, data in report["datasets"].items():
        lines += dataset_markdown(name, data)
    lines += learning_curve_markdown(report.get("learning_curve"))
    lines += target_markdown(report.get("target"))
    if report.get("notes"):
        lines += ["Notes:"] + [f"- {note}" for note in report["notes"]] + [""]
    return "\n".join(lines)
