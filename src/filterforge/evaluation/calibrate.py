"""Per-dimension isotonic calibration and `filterforge calibrate`.

The calibration split (``calibration.jsonl``, carved out of train by ``prepare --calibration-ratio``)
is never used to pick a checkpoint, so fitting on it does not leak the selection. The fitted maps
are stored as plain threshold lists in ``model/calibration.json`` (no pickle) and applied with
linear interpolation, clipped at both ends, exactly as scikit-learn's ``IsotonicRegression``
with ``out_of_bounds="clip"`` predicts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import click

from filterforge.errors import FilterforgeError
from filterforge.io import read_json, write_json

CALIBRATION_FILE = "calibration.json"
FORMAT = "filterforge-isotonic-v1"
SCORE_RANGE = (0.0, 10.0)


class Calibration:
    """One monotone map per dimension from raw prediction to calibrated score (0-10)."""

    def __init__(self, dimension_names: Sequence[str], thresholds: Sequence[tuple[Sequence[float], Sequence[float]]],
                 info: dict[str, Any] | None = None):
        if len(thresholds) != len(dimension_names):
            raise FilterforgeError(f"calibration has {len(thresholds)} maps for {len(dimension_names)} dimensions")
        self.dimension_names = list(dimension_names)
        self.thresholds = [(list(map(float, x)), list(map(float, y))) for x, y in thresholds]
        self.info = dict(info or {})

    @classmethod
    def fit(cls, pred: Any, gold: Any, dimension_names: Sequence[str]) -> "Calibration":
        import numpy as np
        from sklearn.isotonic import IsotonicRegression

        pred = np.asarray(pred, dtype=np.float64)
        gold = np.asarray(gold, dtype=np.float64)
        if pred.shape != gold.shape or pred.ndim != 2 or pred.shape[1] != len(dimension_names):
            raise FilterforgeError(f"calibration needs [n, {len(dimension_names)}] predictions and labels, "
                                   f"got {pred.shape} and {gold.shape}")
        if pred.shape[0] < 2:
            raise FilterforgeError(f"calibration needs at least 2 articles, got {pred.shape[0]}")
        maps = []
        for dim in range(pred.shape[1]):
            iso = IsotonicRegression(y_min=SCORE_RANGE[0], y_max=SCORE_RANGE[1], increasing=True, out_of_bounds="clip")
            iso.fit(pred[:, dim], gold[:, dim])
            maps.append((iso.X_thresholds_.tolist(), iso.y_thresholds_.tolist()))
        return cls(dimension_names, maps, {"n": int(pred.shape[0])})

    def apply(self, pred: Any) -> Any:
        import numpy as np

        pred = np.asarray(pred, dtype=np.float64)
        if pred.ndim != 2 or pred.shape[1] != len(self.dimension_names):
            raise FilterforgeError(f"calibration expects [n, {len(self.dimension_names)}] predictions, got {pred.shape}")
        out = np.empty_like(pred)
        for dim, (x, y) in enumerate(self.thresholds):
            out[:, dim] = np.interp(pred[:, dim], x, y)  # np.interp clamps outside [x0, xn]: the "clip" rule
        return np.clip(out, *SCORE_RANGE).astype(np.float32)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "method": "isotonic",
            "dimension_names": self.dimension_names,
            "maps": {name: {"x": x, "y": y} for name, (x, y) in zip(self.dimension_names, self.thresholds)},
            "info": self.info,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], where: str = "calibration") -> "Calibration":
        try:
            if data.get("format") != FORMAT:
                raise ValueError(f"unknown format {data.get('format')!r}")
            names = list(data["dimension_names"])
            maps = []
            for name in names:
                x, y = data["maps"][name]["x"], data["maps"][name]["y"]
                if not x or len(x) != len(y) or any(b < a for a, b in zip(x, x[1:])):
                    raise ValueError(f"map for '{name}' needs increasing x and as many y values")
                maps.append(([float(v) for v in x], [float(v) for v in y]))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise FilterforgeError(f"{where}: invalid calibration ({exc})") from None
        return cls(names, maps, data.get("info") or {})

    def save(self, model_dir: str | Path) -> Path:
        path = Path(model_dir) / CALIBRATION_FILE
        write_json(path, self.to_json())
        return path


def load_calibration(run_or_model_dir: str | Path) -> Calibration | None:
    """The calibration saved beside a model, or None when it has none."""
    from filterforge.runtime.torch_predictor import resolve_model_dir

    path = resolve_model_dir(run_or_model_dir) / CALIBRATION_FILE
    if not path.exists():
        return None
    return Calibration.from_json(read_json(path), where=str(path))


# -- the command ------------------------------------------------------------------------------

def _split_metrics(pred: Any, gold: Any, names: Sequence[str], means: Sequence[float]) -> dict[str, Any]:
    from filterforge.evaluation.metrics import regression_metrics

    m = regression_metrics(pred, gold, names, means)
    return {key: m[key] for key in ("n", "mae", "rmse", "per_dimension_mae", "mean_predictor_mae")}


def _split_report(predictor: Any, calibration: Any, path: Path, rows: list[dict], names: Sequence[str],
                  means: Sequence[float], pred: Any = None, encoded: Any = None) -> dict[str, Any]:
    import numpy as np

    from filterforge.evaluation.evaluate import prompt_tokens
    from filterforge.encoding.strategies import budget_statistics

    if pred is None:
        encoded = predictor.encode(rows)
        pred = predictor.predict_encoded(encoded)
    gold = np.asarray([r["labels"] for r in rows], dtype=np.float64)
    return {"path": str(path),
            "before": _split_metrics(pred, gold, names, means),
            "after": _split_metrics(calibration.apply(pred), gold, names, means),
            "token_budget": budget_statistics(encoded, prompt_tokens(predictor))}


def calibrate(run_dir: str | Path, data_dir: str | Path | None = None, batch_size: int = 16,
              device: str = "auto") -> dict[str, Any]:
    import numpy as np

    from filterforge.data.splits import data_hash, load_split
    from filterforge.evaluation.evaluate import read_training_metadata
    from filterforge.filters.spec import load_filter
    from filterforge.runtime.torch_predictor import TorchPredictor, resolve_model_dir
    from filterforge.provenance import provenance

    run_dir = Path(run_dir)
    model_dir = resolve_model_dir(run_dir)
    spec = load_filter(model_dir)
    metadata = read_training_metadata(run_dir, model_dir)
    if data_dir is None:
        if not metadata.get("data_dir"):
            raise FilterforgeError(f"{run_dir}: training metadata names no data_dir; pass --data-dir")
        data_dir = metadata["data_dir"]
    data_dir = Path(data_dir)
    calibration_path = data_dir / "calibration.jsonl"
    if not calibration_path.exists():
        raise FilterforgeError(
            f"{calibration_path} not found; re-run filterforge prepare {spec.id} ... --output-dir {data_dir} "
            f"--calibration-ratio 0.1 (a share of train that is never used to pick a checkpoint), then train again"
        )
    cal_rows = load_split(calibration_path, spec)
    test_rows = load_split(data_dir / "test.jsonl", spec, required=False)
    means = metadata["train_label_means"]
    names = spec.dimension_names

    predictor = TorchPredictor.from_dir(model_dir, device=device, batch_size=batch_size)
    cal_encoded = predictor.encode(cal_rows)
    cal_pred = predictor.predict_encoded(cal_encoded)
    cal_gold = np.asarray([r["labels"] for r in cal_rows], dtype=np.float64)
    # The maps are fitted on raw predictions: the predictor never applies an existing calibration.json.
    calibration = Calibration.fit(cal_pred, cal_gold, names)
    calibration.info.update({"split": str(calibration_path), "data_hash": data_hash(data_dir),
                             "fitted_on_articles": len(cal_rows)})

    report: dict[str, Any] = {
        "run_dir": str(run_dir),
        "model_dir": str(model_dir),
        "method": "isotonic regression per dimension (scikit-learn, out_of_bounds=clip, y in 0-10)",
        "calibration_split": _split_report(predictor, calibration, calibration_path, cal_rows, names, means,
                                           cal_pred, cal_encoded),
        # Reported only: the test split never influences the fitted maps.
        "test": _split_report(predictor, calibration, data_dir / "test.jsonl", test_rows, names, means) if test_rows else None,
        "train_label_means": means,
        "seed": metadata.get("seed"),
        "data_hash": data_hash(data_dir),
        **provenance(),
    }
    calibration.save(model_dir)
    write_json(run_dir / "calibration_report.json" if (run_dir / "model").is_dir() else model_dir / "calibration_report.json", report)
    return report


@click.command(name="calibrate")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--data-dir", type=click.Path(file_okay=False), help="Default: the data_dir the run was trained on.")
@click.option("--batch-size", type=int, default=16, show_default=True)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--threads", type=int, default=None, help="torch CPU threads.")
def command(run_dir, data_dir, batch_size, device, threads):
    """Fit per-dimension isotonic calibration on the run's calibration split (model/calibration.json)."""
    if threads:
        import torch

        torch.set_num_threads(threads)
    report = calibrate(run_dir, data_dir, batch_size, device)
    cal = report["calibration_split"]
    click.echo(f"fitted isotonic calibration on {cal['before']['n']} articles of {cal['path']}")
    for label, split in (("calibration split", cal), ("test", report["test"])):
        if split:
            click.echo(f"  {label} MAE {split['before']['mae']:.4f} -> {split['after']['mae']:.4f} "
                       f"(mean predictor {split['before']['mean_predictor_mae']:.4f}; {split['before']['n']} articles, "
                       f"article tokens kept mean {split['token_budget']['article_tokens_kept_mean']}, "
                       f"min {split['token_budget']['article_tokens_kept_min']})")
    if not report["test"]:
        click.echo("  no test.jsonl in the data dir: test MAE before/after not measured")
    click.echo(f"wrote {Path(report['model_dir']) / CALIBRATION_FILE}; evaluate, score and export apply it")
