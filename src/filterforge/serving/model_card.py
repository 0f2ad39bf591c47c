"""The model card (README.md) a deployed model carries: what it scores, how it was trained, its numbers
beside the mean predictor's, its limits and its provenance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _synthetic_training_data(metadata: dict[str, Any]) -> bool:
    from filterforge.data.splits import split_file

    path = split_file(str(metadata.get("data_dir")), "train")
    try:
        with open(path, encoding="utf-8") as handle:
            first = handle.readline()
        return bool(first.strip()) and bool(json.loads(first).get("synthetic"))
    except (OSError, ValueError, AttributeError):
        return False


def _article_budget(info: dict[str, Any], budget: dict[str, Any]) -> Any:
    if isinstance(info.get("max_length"), int) and isinstance(budget.get("prompt_tokens"), int):
        return info["max_length"] - budget["prompt_tokens"]
    return f"about {budget.get('article_tokens_kept_max')}"


def fmt(value: Any, digits: int = 3) -> str:
    return "—" if value is None else (f"{value:.{digits}f}" if isinstance(value, (int, float)) else str(value))


def ensemble_lines(metadata: dict[str, Any]) -> list[str]:
    """An ensemble's members, the split its weights were fitted on and which member each dimension leans on."""
    ensemble = metadata.get("ensemble") if metadata.get("training_mode") == "ensemble" else None
    if not isinstance(ensemble, dict):
        return []
    names = [str(m.get("name")) for m in ensemble.get("members", [])]
    fit = ensemble.get("fit_split") or {}
    lines = ["", "## Ensemble", "",
             f"`{ensemble.get('method')}` of " + ", ".join(f"`{m.get('name')}` ({m.get('strategy')}, {m.get('model_name')})"
                                                         for m in ensemble.get("members", [])) + ".",
             f"Weights fitted on {fit.get('articles')} articles of `{fit.get('path')}`: {fit.get('why')}.", "",
             "| dimension | " + " | ".join(f"weight {n}" for n in names) + " | leans on | fit-split MAE: "
             + " / ".join(names) + " / ensemble / mean predictor |",
             "|---|" + "---|" * (len(names) + 2)]
    for dim, row in (ensemble.get("per_dimension") or {}).items():
        mae = row.get("mae") or {}
        lines.append(f"| {dim} | " + " | ".join(fmt(row.get("weights", {}).get(n)) for n in names) + f" | {row.get('leans_on')} | "
                     + " / ".join(fmt(mae.get(k)) for k in [*names, "ensemble", "mean_predictor"]) + " |")
    tiers = ensemble.get("fit_split_tier_accuracy")
    if tiers:
        lines += ["", "Fit-split tier accuracy: " + ", ".join(f"{n} {fmt(tiers.get(n))}" for n in [*names, "ensemble"]) + "."]
    return lines


def model_card(spec: Any, info: dict[str, Any], metadata: dict[str, Any], evaluation: dict[str, Any] | None,
               calibrated: bool, bench: dict[str, Any] | None, run_dir: Path, deployed_at: str) -> str:
    budget = metadata.get("token_budget") or {}
    lines = [
        f"# {spec.id} student model",
        "",
        f"Scores news articles on the {len(spec.dimensions)} dimensions of the `{spec.id}` filter (0-10 each), "
        f"distilled from an LLM oracle's scores. Deployed {deployed_at} from `{run_dir}`.",
        "",
        "## Model",
        "",
        f"- Base model: `{metadata.get('model_name')}` ({fmt(metadata.get('num_parameters'), 0)} parameters, "
        f"{metadata.get('training_mode')} fine-tuning{', LoRA r' + str(metadata.get('lora_r')) + ' merged' if metadata.get('lora_r') else ''})",
        f"- Strategy: `{metadata.get('strategy')}` ({'filter prompt + article' if metadata.get('include_prompt') else 'article only'}), "
        f"pooling `{info.get('pooling')}`, head `{info.get('head')}`, max_length {info.get('max_length')}",
        f"- Calibration: {'per-dimension isotonic (calibration.json, applied by evaluate/score/export)' if calibrated else 'none'}",
        f"- Training: {metadata.get('epochs_completed')} epoch(s), batch {metadata.get('batch_size')}, lr {metadata.get('learning_rate')}, "
        f"seed {metadata.get('seed')}, {fmt(metadata.get('train_seconds'), 1)} s on {metadata.get('device')} "
        f"({metadata.get('precision')}), peak memory {fmt(metadata.get('peak_memory_mb'), 0)} MB",
        "",
        "## Data",
        "",
        f"- {metadata.get('train_examples')} training and {metadata.get('val_examples')} validation articles "
        f"from `{metadata.get('data_dir')}`; data hash `{metadata.get('data_hash')}`",
        f"- Article tokens kept (train+val): mean {budget.get('article_tokens_kept_mean')}, min {budget.get('article_tokens_kept_min')}, "
        f"{(budget.get('share_truncated') or 0):.0%} truncated; prompt/template {budget.get('prompt_tokens')} tokens",
        "",
        "## Metrics",
        "",
        f"- Validation MAE {fmt(metadata.get('best_val_mae'))} (mean predictor {fmt(metadata.get('val_mean_predictor_mae'))})",
    ]
    if evaluation:
        m = evaluation["metrics"]
        lines.append(f"- Test MAE {fmt(m['mae'])} (mean predictor {fmt(m.get('mean_predictor_mae'))}), RMSE {fmt(m['rmse'])}, "
                     f"Spearman {fmt(m.get('spearman'))} on {evaluation['n']} articles"
                     + (" (calibrated)" if evaluation.get("calibrated") else ""))
        from filterforge.metrics import recorded_tier_accuracy

        tier_accuracy = recorded_tier_accuracy(evaluation.get("tiers"))
        if tier_accuracy is not None:
            lines.append(f"- Tier accuracy {fmt(tier_accuracy)}")
        ranking = evaluation.get("ranking") or {}
        if ranking.get("k"):
            lines.append("- Ranking: " + ", ".join(f"Recall@{k} {fmt(ranking['recall@k'][str(k)])}, NDCG@{k} {fmt(ranking['ndcg@k'][str(k)])}"
                                               for k in ranking["k"]))
        lines += ["", "| dimension | MAE | mean predictor |", "|---|---|---|"]
        lines += [f"| {n} | {fmt(v)} | {fmt(m.get('mean_predictor_per_dimension_mae', {}).get(n))} |"
                  for n, v in m["per_dimension_mae"].items()]
    else:
        lines.append("- Test: not evaluated (run `filterforge evaluate` before deploying to record it here)")
    lines += ["", "## Edge cases", ""]
    edge = (evaluation or {}).get("edge_cases")
    if edge:
        lines.append(f"{edge['passed']}/{edge['total']} cases passed ({edge['pass_rate']:.0%}) from `{edge.get('file')}`:")
        lines += [f"- {cat}: {v['passed']}/{v['total']}" for cat, v in edge["by_category"].items()]
    else:
        lines.append("Not evaluated.")
    if bench:
        lines += ["", "## Speed", "",
                  f"{fmt(bench.get('ms_per_article'), 2)} ms/article ({bench.get('runtime')}, batch {bench.get('batch_size')}, "
                  f"length {bench.get('length')}, {bench.get('path')}) on {bench.get('machine')}"]
    lines += ensemble_lines(metadata)
    lines += ["", "## Limits", "",
              "- The labels are an LLM oracle's scores, not ground truth; the model imitates that oracle, errors included.",
              f"- Articles longer than {_article_budget(info, budget)} tokens are truncated by the `{info.get('strategy')}` "
              "strategy; the model never sees the part cut away.",
              "- Scores outside the training distribution (other languages, other kinds of text) are unreliable; "
              "check the edge-case results above."]
    if _synthetic_training_data(metadata):
        lines.append("- Trained on synthetic demo articles: a pipeline demonstration, not a model for real use.")
    lines += ["", "## Intended use", "",
              f"Screening and ranking news for the `{spec.id}` filter ({spec.description.split('.')[0].strip()}.) so that a person "
              "reads the articles that matter first. Not investment advice and not a replacement for reading the article.",
              "", "## Provenance", "",
              f"- Trained at commit `{metadata.get('git_commit')}`; package versions in training_metadata.json",
              f"- Deployed from `{run_dir}` at {deployed_at}", ""]
    return "\n".join(lines)
