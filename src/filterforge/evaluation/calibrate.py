"""`calibrate`: fit per-dimension isotonic calibration on the run's calibration split.

The calibration split (``calibration.jsonl``, carved out of train by ``prepare --calibration-ratio``)
is never used to pick a checkpoint, so fitting on it does not leak the selection. The maps are fitted
on raw predictions (an existing calibration.json is not applied first) and saved beside the model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from filterforge.errors import FilterforgeError


def _split_metrics(pred: Any, gold: Any, names: Sequence[str], means: Sequence[float]) -> dict[str, Any]:
    from filterforge.metrics import regression_metrics

    m = regression_metrics(pred, gold, names, means)
    return {key: m[key] for key in ("n", "mae", "rmse", "per_dimension_mae", "mean_predictor_mae")}


def split_report(predictor: Any, calibration: Any, path: Path, rows: list[dict], means: Sequence[float],
                 pred: Any = None, encoded: Any = None) -> dict[str, Any]:
    """MAE before and after calibration on one split, with the article tokens the inputs kept."""
    import numpy as np

    from filterforge.encoding.strategies import budget_statistics

    if pred is None:
        encoded = predictor.encode(rows)
        pred = predictor.predict_encoded(encoded)
    names = predictor.spec.dimension_names
    gold = np.asarray([r["labels"] for r in rows], dtype=np.float64)
    return {"path": str(path),
            "before": _split_metrics(pred, gold, names, means),
            "after": _split_metrics(calibration.apply(pred), gold, names, means),
            "token_budget": budget_statistics(encoded, predictor.prompt_tokens)}


def calibrate(target: str | Path, data_dir: str | Path | None = None, batch_size: int = 16,
              device: str = "auto", threads: int | None = None) -> dict[str, Any]:
    import numpy as np

    from filterforge.data.splits import CALIBRATION_SPLIT, data_hash, load_split, split_file
    from filterforge.io import write_json
    from filterforge.provenance import provenance
    from filterforge.runs.calibration import Calibration
    from filterforge.runs.run import Run
    from filterforge.runtime.loader import load_predictor

    run = Run.open(target)
    spec = run.filter_spec()
    data_dir = run.data_dir(data_dir)
    calibration_path = split_file(data_dir, CALIBRATION_SPLIT)
    if not calibration_path.exists():
        raise FilterforgeError(
            f"{calibration_path} not found; re-run filterforge prepare {spec.id} ... --output-dir {data_dir} "
            f"--calibration-ratio 0.1 (a share of train that is never used to pick a checkpoint), then train again"
        )
    cal_rows = load_split(calibration_path, spec)
    test_path = split_file(data_dir, "test")
    test_rows = load_split(test_path, spec, required=False)
    means = run.train_label_means()

    predictor = load_predictor(run, runtime="torch", device=device, batch_size=batch_size, threads=threads)
    cal_encoded = predictor.encode(cal_rows)
    cal_pred = predictor.predict_encoded(cal_encoded)
    cal_gold = np.asarray([r["labels"] for r in cal_rows], dtype=np.float64)
    calibration = Calibration.fit(cal_pred, cal_gold, spec.dimension_names, [d.scale for d in spec.dimensions])
    calibration.info.update({"split": str(calibration_path), "data_hash": data_hash(data_dir),
                             "fitted_on_articles": len(cal_rows)})
    report: dict[str, Any] = {
        "run_dir": str(target),
        "model_dir": str(run.model_dir),
        "method": "isotonic regression per dimension (scikit-learn, out_of_bounds=clip, y within each dimension's scale)",
        "calibration_split": split_report(predictor, calibration, calibration_path, cal_rows, means, cal_pred, cal_encoded),
        # Reported only: the test split never influences the fitted maps.
        "test": split_report(predictor, calibration, test_path, test_rows, means) if test_rows else None,
        "train_label_means": means,
        "seed": run.metadata().get("seed"),
        "data_hash": data_hash(data_dir),
        **provenance(),
    }
    report["calibration_file"] = str(run.save_calibration(calibration))
    write_json(run.calibration_report_path, report)
    return report
