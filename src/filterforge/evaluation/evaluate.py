"""`evaluate`: test-split metrics, tiers, ranking, token budget and edge-case suites.

Writes ``evaluation.json`` (the schema `compare` and `deploy` read), ``predictions.jsonl`` and two
plots. Every MAE is reported beside the mean predictor's MAE on the same split (the run's training
label means) and the article tokens kept.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

from filterforge.runs import layout


def evaluate(target: str | Path, test_data: str | Path, edge_cases: str | Path | None = None,
             output_dir: str | Path | None = None, batch_size: int = 16, device: str = "auto",
             use_calibration: bool = True, ks: Sequence[int] | None = None, threads: int | None = None) -> dict[str, Any]:
    import numpy as np

    from filterforge.data.labels import load_labelled_rows
    from filterforge.encoding.strategies import budget_statistics
    from filterforge.evaluation import edge_cases as edge
    from filterforge.metrics import DEFAULT_K, ranking_metrics, split_metrics, tier_metrics
    from filterforge.io import sha256_of_files
    from filterforge.provenance import provenance
    from filterforge.runs.run import Run
    from filterforge.runtime.scorer import Scorer

    run = Run.open(target)
    out = run.evaluation_dir(output_dir)
    spec = run.filter_spec()
    metadata = run.metadata()
    means = run.train_label_means()
    rows = load_labelled_rows(test_data, spec)
    cases = edge.load_edge_cases(edge_cases, spec) if edge_cases else None
    scorer = Scorer.load(run, calibrate=use_calibration, runtime="torch", device=device, batch_size=batch_size,
                         threads=threads)
    predictor = scorer.predictor

    encoded = predictor.encode(rows)
    started = time.perf_counter()
    raw = predictor.predict_encoded(encoded)
    seconds = time.perf_counter() - started
    pred = scorer.calibrated(raw)
    gold = np.asarray([r["labels"] for r in rows], dtype=np.float64)
    calibrated = scorer.calibration is not None

    budget = budget_statistics(encoded, predictor.prompt_tokens)
    budget.update({"max_length": predictor.max_length,
                   "min_article_tokens": (metadata.get("token_budget") or {}).get("min_article_tokens")})
    tiers, oracle_tiers, predicted_tiers = tier_metrics(pred, gold, spec)
    result = {
        "run_dir": str(target),
        "model_dir": str(run.model_dir),
        "filter": spec.id,
        "strategy": metadata.get("strategy"),
        "test_data": str(test_data),
        "n": len(rows),
        "calibrated": calibrated,
        "metrics": split_metrics(pred, gold, spec, means),
        "metrics_uncalibrated": split_metrics(raw, gold, spec, means) if calibrated else None,
        "mean_predictor": "training label means of the run (train_label_means)",
        "tiers": tiers,
        "ranking": ranking_metrics(pred, gold, spec.weights, ks or DEFAULT_K),
        "token_budget": budget,
        "edge_cases": check_edge_cases(scorer, cases, edge_cases) if cases else None,
        "inference": {"path": predictor.path_used, "device": predictor.device, "batch_size": batch_size,
                      "seconds": round(seconds, 3), "ms_per_article": round(1000 * seconds / len(rows), 3)},
        "provenance": {
            **provenance(),
            "seed": metadata.get("seed"),
            "train_data_hash": metadata.get("data_hash"),
            "test_data_sha256": sha256_of_files([test_data]),
            "edge_cases_sha256": sha256_of_files([edge_cases]) if edge_cases else None,
            "trained_at_commit": metadata.get("git_commit"),
        },
    }
    write_outputs(out, result, rows, gold, pred, raw if calibrated else None, oracle_tiers, predicted_tiers, spec)
    run.record_evaluation(out)
    return result


def check_edge_cases(scorer: Any, cases: Sequence[Any], path: str | Path) -> dict[str, Any]:
    from filterforge.encoding.strategies import budget_statistics
    from filterforge.evaluation import edge_cases as edge

    encoded = scorer.encode([case.article() for case in cases])
    result = edge.check_cases(cases, scorer.score_encoded(encoded), scorer.spec)
    result["file"] = str(path)
    result["token_budget"] = budget_statistics(encoded, scorer.predictor.prompt_tokens)
    return result


def write_outputs(out: Path, result: dict, rows: list[dict], gold: Any, pred: Any, raw: Any,
                  oracle_tiers: list, predicted_tiers: list, spec: Any) -> None:
    from filterforge.plots import plot_per_dimension_mae, plot_pred_vs_oracle
    from filterforge.io import write_json, write_jsonl

    names = spec.dimension_names
    out.mkdir(parents=True, exist_ok=True)
    predictions = []
    for i, row in enumerate(rows):
        entry = {
            "id": row.get("id"),
            "oracle": {n: float(v) for n, v in zip(names, gold[i])},
            "predicted": {n: round(float(v), 4) for n, v in zip(names, pred[i])},
            "oracle_tier": oracle_tiers[i],
            "predicted_tier": predicted_tiers[i],
        }
        if raw is not None:
            entry["predicted_uncalibrated"] = {n: round(float(v), 4) for n, v in zip(names, raw[i])}
        predictions.append(entry)
    metrics = result["metrics"]
    title = f"{spec.id} {result['strategy'] or ''} - {result['n']} test articles"
    plot_per_dimension_mae(names, [metrics["per_dimension_mae"][n] for n in names],
                           [metrics["mean_predictor_per_dimension_mae"][n] for n in names],
                           out / layout.PER_DIMENSION_PLOT, title)
    plot_pred_vs_oracle(pred, gold, names, out / layout.PRED_VS_ORACLE_PLOT, title)
    write_jsonl(out / layout.PREDICTIONS, predictions)
    write_json(out / layout.EVALUATION, result)  # last, so an evaluation.json always has its siblings
