"""Markdown sections after the tables: the recommendation line and ensemble weights of each dataset, the
epochs and train-share learning curves, and the targets."""

from __future__ import annotations

from .config import TARGET_DATASET
from .markdown import cell, fmt


def ratio_text(comparison: dict) -> str:
    low, high = comparison["ratio_ci95"]
    return f"ratio {comparison['ratio']:.3f} (95% paired bootstrap interval {low:.3f}-{high:.3f})"


def recommendation_lines(data: dict) -> list[str]:
    rec = data.get("recommendation")
    if not rec:
        return ["Recommended model: none (no candidate has a fit-split MAE: the val split is too small to hold "
                "articles out)."]
    others = [(key, mae) for key, mae in rec["candidates"].items() if key != rec["key"]]
    runner_up = f"; next {others[0][0]} {others[0][1]:.3f}" if others else ""
    line = (f"Recommended (lowest fit MAE§ on the {rec['fit_articles']} fit articles): **{rec['label']}** ({rec['kind']}), "
            f"fit MAE {rec['fit_mae']:.3f}{runner_up}; test MAE {rec['test_mae']:.3f} [{rec['test_mae_ci95'][0]:.2f}, "
            f"{rec['test_mae_ci95'][1]:.2f}] (mean predictor {rec['mean_predictor_test_mae']:.3f}).")
    versus = rec.get("vs_best_baseline")
    if versus:
        if versus["key"] == rec["key"]:
            line += " It is the best baseline on test."
        else:
            line += (f" Against the best baseline on test, {versus['label']} ({versus['test_mae']:.3f}): "
                     f"{ratio_text(versus)}, {'**worse**' if versus['worse'] else 'not worse'}.")
    return [line]


def ensemble_weights_markdown(data: dict) -> list[str]:
    """Per dimension (rows) and ensemble (columns): the member it leans on and that member's weight."""
    built = [m for m in data["methods"] if m["kind"] == "ensemble" and m["status"] == "ok" and m.get("ensemble")]
    if not built:
        return []
    fit = built[0]["settings"].get("fit_split", {})
    lines = [f"Ensemble weights (filterforge ensemble, stack, fitted on the {fit.get('articles', '—')} fit articles): "
             "the member each dimension leans on, with its weight; cross-fitted fit MAE§ vs its members' in the last row.",
             "",
             "| dimension | " + " | ".join(" + ".join(m["ensemble"]["members"]) for m in built) + " |",
             "|---|" + "---|" * len(built)]
    for dim in built[0]["ensemble"]["leans_on"]:
        cells = []
        for method in built:
            leaned = method["ensemble"]["leans_on"][dim]
            cells.append(f"{leaned} {method['ensemble']['weights'][dim][leaned]:.2f}")
        lines.append(f"| {dim} | " + " | ".join(cells) + " |")
    lines.append("| fit MAE§ (members) | " + " | ".join(crossfit_cell(m) for m in built) + " |")
    return lines + [""]


def crossfit_cell(method: dict) -> str:
    crossfit = method["ensemble"].get("crossfit")
    if not crossfit:
        return "—"
    members = " / ".join(fmt(mae) for mae in crossfit["member_mae"].values())
    return f"{crossfit['mae']:.3f} ({members})"


def epoch_curve_markdown(curve: dict | None) -> list[str]:
    if not curve:
        return []
    stop = {"early_stopping": "early stopping", None: "the planned epochs", "max_steps": "max_steps"}
    lines = [f"### Epochs ({curve['dataset']}, {curve['method']})", "",
             f"Validation MAE on the {fmt(curve['val_articles'])} selection articles after each epoch (the run's "
             f"training_history.json; no test per epoch). Stopped by {stop.get(curve['stopped_by'], curve['stopped_by'])} "
             f"after {len([e for e in curve['epochs'] if not e['partial_epoch']])} of {fmt(curve['epochs_planned'])} "
             f"epochs; the best epoch (bold) is the model kept.", "",
             "| epoch | val MAE | mean predictor | train loss |", "|---|---|---|---|"]
    for entry in curve["epochs"]:
        mae = fmt(entry["val_mae"])
        if entry["epoch"] == curve["best_epoch"]:
            mae = f"**{mae}**"
        lines.append(f"| {fmt(entry['epoch'])} | {mae} | {fmt(entry['val_mean_predictor_mae'])} | "
                     f"{fmt(entry['train_loss'], 4)} |")
    return lines + [""]


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


def target_markdown(target: dict | None, datasets: dict[str, dict]) -> list[str]:
    if not target:
        return []
    new_layout = "recommended" in target
    title = ("recommended model's test MAE <= 0.85 x TF-IDF + ridge, interval below 1" if new_layout
             else "best student's test MAE <= 0.85 x TF-IDF + ridge")
    lines = [f"### Target: {title} ({TARGET_DATASET})", "", target["summary"], ""]
    lines += [f"- {item}" for item in target.get("evidence_lines", [])]
    if target.get("what_would_close_it"):
        lines += ["", "What would close the gap:"]
        lines += [f"- {item}" for item in target["what_would_close_it"]]
    lines.append("")
    if new_layout:
        lines += baseline_target_markdown(datasets)
    return lines


def baseline_target_markdown(datasets: dict[str, dict]) -> list[str]:
    """The other datasets: is the recommended model worse than the best baseline on test?"""
    others = {name: data for name, data in datasets.items() if name != TARGET_DATASET and "recommendation" in data}
    if not others:
        return []
    lines = ["### Target: the recommended model is never worse than the best baseline (test)", ""]
    for name, data in others.items():
        rec = data["recommendation"]
        versus = (rec or {}).get("vs_best_baseline")
        if not versus:
            lines.append(f"- {name}: not evaluated (no recommended model or no baseline).")
            continue
        verdict = "**worse** (target missed)" if versus["worse"] else "not worse (target met)"
        lines.append(f"- {name}: recommended {rec['label']} ({rec['kind']}), test MAE {rec['test_mae']:.3f} vs best "
                     f"baseline {versus['label']} {versus['test_mae']:.3f}: {ratio_text(versus)}; {verdict}.")
    return lines + [""]
