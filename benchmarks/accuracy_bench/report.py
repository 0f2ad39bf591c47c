"""The JSON report (its markdown rendering: ``markdown.py``)."""

from __future__ import annotations

import os
import sys
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from .config import (ALL_STUDENTS, BOOTSTRAP_SAMPLES, LEARNING_CURVE_FRACTIONS, REPO, TARGET_RATIO, TARGET_UPPER_BOUND,
                     TOP_SHARE, Profile)
from .markdown import cell, fmt, markdown  # noqa: F401  (the report's markdown, as callers know it)
from .results import MethodResult
from .scoring import has_tiers
from .splits import Splits

PREPARE_FIELDS = ("rows_read", "rows_kept", "dropped", "duplicates")


# -- JSON -------------------------------------------------------------------------------------
KIND_ORDER = {"baseline": 0, "student": 1, "ensemble": 2}


def dataset_json(splits: Splits, methods: Sequence[MethodResult], best_student: MethodResult | None,
                 noise_floor: dict | None, recommendation: dict | None = None,
                 model_data_dir: Path | None = None) -> dict[str, Any]:
    finished = [m for m in methods if m.ok]
    lowest = min(finished, key=lambda m: m.test["mae"]) if finished else None
    ordered = sorted(methods, key=lambda m: KIND_ORDER.get(m.kind, len(KIND_ORDER)))  # stable within a kind
    return {
        "filter": splits.spec.id, "data_dir": str(splits.data_dir), "data_hash": splits.data_hash,
        "ratios": splits.config.ratios,
        "splits": {"train": len(splits.train), "val": len(splits.val), "test": len(splits.test)},
        "student_val_articles": len(splits.selection),
        "fit_articles": len(splits.fit),
        "model_data_dir": str(model_data_dir) if model_data_dir else None,
        "prepare": {k: splits.prepare_report.get(k) for k in PREPARE_FIELDS},
        "tiers": splits.spec.tier_names if has_tiers(splits.spec) else None,
        "recall_k": max(1, round(TOP_SHARE * len(splits.test))),
        "methods": [m.to_json() for m in ordered],
        "lowest_test_mae": lowest.key if lowest else None,
        "lowest_test_mae_label": lowest.label if lowest else None,
        "lowest_test_mae_kind": lowest.kind if lowest else None,
        "best_student": best_student.key if best_student else None,
        "best_student_label": best_student.label if best_student else None,
        "recommendation": recommendation,
        "oracle_noise_floor": noise_floor,
    }


def settings_json(profile: Profile, time_budget_s: float, recipe: dict[str, Any] | None) -> dict[str, Any]:
    """``recipe``: filterforge's encoder recipe when the run started (each student records its own)."""
    return {**asdict(profile), "time_budget_s": time_budget_s,
            "learning_curve_fractions": list(LEARNING_CURVE_FRACTIONS), "target_ratio": TARGET_RATIO,
            "target_upper_bound": TARGET_UPPER_BOUND, "recipe": recipe,
            "student_specs": [asdict(s) for s in ALL_STUDENTS],
            "bootstrap_samples": BOOTSTRAP_SAMPLES, "recall_top_share": TOP_SHARE}


def report_json(*, profile: Profile, complete: bool, time_budget_s: float, elapsed_s: float,
                slowdown: dict[str, float], datasets_root: Path, datasets: dict[str, dict], learning_curve: dict | None,
                epoch_curve: dict | None, target: dict | None, notes: list[str], output: Path,
                recipe: dict[str, Any] | None = None) -> dict[str, Any]:
    from filterforge.provenance import provenance

    return {
        "benchmark": "accuracy",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "complete": complete,
        "is_benchmark": profile.is_benchmark,
        "profile": profile.name,
        "settings": settings_json(profile, time_budget_s, recipe),
        "seed": profile.seed,
        "elapsed_seconds": round(elapsed_s, 1),
        "time_guard_slowdown": {k: round(v, 3) for k, v in slowdown.items()},
        "machine_summary": machine_summary(),
        "provenance": provenance(),
        "datasets_root": str(datasets_root),
        "datasets": datasets,
        "learning_curve": learning_curve,
        "epoch_curve": epoch_curve,
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
