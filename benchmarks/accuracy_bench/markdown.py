"""The report as markdown: header, one table per dataset, then the sections of ``sections.py``.

Reports written before the recommendation (no ``recommendation`` in a dataset, no ``recipe`` in
the settings) render exactly as they did: the committed results stay reproducible from their JSON."""

from __future__ import annotations

from typing import Any

DEFAULT_COMMAND = "python benchmarks/accuracy.py"
DEFAULT_OUTPUT = "benchmarks/results/accuracy.json"


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


def method_row(method: dict, has_tiers: bool, lowest_key: str | None, fit_column: bool = False,
               recommended_key: str | None = None) -> str:
    if method["status"] != "ok":
        return f"| {method['label']} | {method['status']} | | | | | | | |{' |' if fit_column else ''} {cell(method['note'])} |"
    test = method["test"]
    mae = f"{test['mae']:.3f} [{test['mae_ci95'][0]:.2f}, {test['mae_ci95'][1]:.2f}]"
    if method["key"] == lowest_key:
        mae = f"**{mae}**"
    label = method["label"] + (" ‡" if method["budget_limited"] else "") + (" ★" if method["key"] == recommended_key else "")
    fit = f" {fmt(method.get('fit_mae'))} |" if fit_column else ""
    return (f"| {label} | {mae} | {fmt(test['rmse'])} | {fmt(test['spearman'])} | {ranking_cell(method, has_tiers)} | "
            f"{fmt(method['val_mae_first_n'])} |{fit} {fmt(method['train_seconds'], 1)} | {fmt(method['ms_per_article'], 1)} | "
            f"{tokens_cell(method)} | {cell(method['note'])} |")


def dataset_markdown(name: str, data: dict) -> list[str]:
    from .sections import ensemble_weights_markdown, recommendation_lines

    has_tiers = data["tiers"] is not None
    new_layout = "recommendation" in data
    rank_header = "tier acc." if has_tiers else f"R@{data['recall_k']} (top 10 %)"
    splits = data["splits"]
    recommended = (data.get("recommendation") or {}).get("key")
    val = f"{splits['val']} val"
    if new_layout:
        val += f" ({data['student_val_articles']} selection† + {data['fit_articles']} fit§)"
    lines = [f"### {name} ({data['filter']}: {splits['train']} train / {val} / {splits['test']} test articles)",
             "",
             f"| method | test MAE [95% CI] | RMSE | Spearman | {rank_header} | val MAE† | "
             + ("fit MAE§ | " if new_layout else "") + "train s | ms/article | article tokens kept (cut) | notes |",
             "|---|---|---|---|---|---|---|---|---|---|" + ("---|" if new_layout else "")]
    lines += [method_row(method, has_tiers, data.get("lowest_test_mae"), new_layout, recommended)
              for method in data["methods"]]
    lines.append("")
    mean_mae = next((m["test"]["mae"] for m in data["methods"] if m["key"] == "mean" and m["status"] == "ok"), None)
    lines.append(f"Mean-predictor test MAE on this split: {fmt(mean_mae)}. "
                 f"Lowest test MAE: **{data.get('lowest_test_mae_label', '—')}** ({data.get('lowest_test_mae_kind', '—')}). "
                 f"Best student by val MAE: {data.get('best_student_label') or '—'}.")
    if new_layout:
        lines += recommendation_lines(data)
    noise = data.get("oracle_noise_floor")
    if noise:
        lines.append(f"Label noise: on {noise['shared_articles']} articles scored by both oracles the oracle-vs-oracle MAE is "
                     f"{noise['oracle_vs_oracle_mae']:.2f} ({noise['oracle_vs_oracle_mae_offset_removed']:.2f} with each "
                     f"dimension's mean offset removed), against this dataset's test MAEs above.")
    lines.append("")
    if new_layout:
        lines += ensemble_weights_markdown(data)
    return lines


def legacy_settings_line(settings: dict) -> str:
    return (
        f"Settings: MiniLM inputs {settings['encoder_article_tokens'] + 2} tokens, "
        f"{settings['encoder_epochs_large']} epoch on sustainability / {settings['encoder_epochs_small']} on the small sets; "
        f"SmolLM2 {settings['decoder_article_tokens']} article tokens, at most {settings['decoder_max_steps']} optimizer steps "
        f"of 8 articles. † val MAE on the first {settings['student_val_limit']} val articles, for every method: "
        "students pick checkpoints on them (and the best student is picked by it); baselines choose alpha on the "
        "whole val split. ‡ = budget-limited student "
        "(stopped by max_steps before one epoch). Every method is scored on the full test split. "
        "ms/article: test-set prediction time on this machine (batch 16 for students, 32 for the probe), tokenisation included. "
        "train s: the students' optimizer loop; the baselines' whole fit, alpha search (and the probe's embedding of train "
        "and val) included.")


def settings_line(settings: dict) -> str:
    return (
        f"Settings: MiniLM inputs {settings['encoder_article_tokens'] + 2} tokens; the MiniLM students train with "
        "filterforge's training defaults (TrainConfig and the encoder recipe; each label gives the settings its "
        "training metadata recorded) and batch 16; SmolLM2 "
        f"{settings['decoder_article_tokens']} article tokens, at most {settings['decoder_max_steps']} optimizer steps of "
        f"8 articles. Val is cut in two (sizes in each heading). † val MAE on the selection articles (the first val "
        f"articles, at most {settings['student_val_limit']} and at most {1 - settings['fit_share']:.0%} of val): students "
        "pick checkpoints and baselines their alpha on them. § fit MAE on the rest of val (the fit articles), which picked nothing: filterforge's ensemble "
        f"fits its weights there (calibration split), so an ensemble's § is cross-fitted ({settings['ensemble_folds']} "
        "folds); ★ = the recommended model, the lowest §. ‡ = budget-limited student (stopped by max_steps before one "
        "epoch). Every method is a filterforge run scored on the full test split through its Scorer. ms/article: "
        "test-set scoring time on this machine (batch 16), tokenisation included. train s: the students' optimizer loop; "
        "the baselines' whole fit (alpha search and the probe's embedding of train and val included); the ensembles' "
        "build (members scored on val).")


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
        settings_line(settings) if "recipe" in settings else legacy_settings_line(settings),
        "",
    ]


def markdown(report: dict) -> str:
    from .sections import epoch_curve_markdown, learning_curve_markdown, target_markdown

    lines = header_markdown(report)
    for name, data in report["datasets"].items():
        lines += dataset_markdown(name, data)
    lines += epoch_curve_markdown(report.get("epoch_curve"))
    lines += learning_curve_markdown(report.get("learning_curve"))
    lines += target_markdown(report.get("target"), report["datasets"])
    if report.get("notes"):
        lines += ["Notes:"] + [f"- {note}" for note in report["notes"]] + [""]
    return "\n".join(lines)
