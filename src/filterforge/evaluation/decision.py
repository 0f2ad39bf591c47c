"""The training plan's decision rules: an article-only ("distillation") run against a prompt-carrying
("instruction") run, which hypothesis held, and the warnings that make a comparison honest."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from filterforge.errors import FilterforgeError
from filterforge.evaluation.comparison import RunSummary

MAE_MARGIN = 0.2  # the seed: instruction must beat distillation by more than this
DIMENSION_MARGIN = 0.3  # per-dimension differences beyond this in opposite directions = "mixed"
MIXED = "mixed by dimension -> consider an ensemble or per-dimension models"


def _best(runs: Sequence[RunSummary]) -> RunSummary | None:
    """Best by validation MAE: the test split never selects anything."""
    scored = [r for r in runs if r.val_mae is not None]
    return min(scored, key=lambda r: r.val_mae) if scored else (runs[0] if runs else None)


def per_dimension(run: RunSummary, basis: str) -> dict[str, float] | None:
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
        chosen = instruction
        reason = "better MAE by more than 0.2" if better_mae else "generalizes better on edge cases"
        rule = f"use instruction: {reason} and speed acceptable — {mae_text}; {edge_text}; {speed_text}"
    elif better_mae or better_edges:
        chosen = distillation
        rule = f"use distillation: instruction is better ({mae_text}; {edge_text}) but too slow — {speed_text}"
    else:
        chosen = distillation
        rule = (f"use distillation: instruction is neither better by more than {MAE_MARGIN} nor better on edge cases — "
                f"{mae_text}; {edge_text}")
    if basis == "validation":
        rule += " [test MAE not evaluated for both runs: the rule was applied to validation MAE]"
    tiers_d, tiers_i = distillation.test_tier_accuracy, instruction.test_tier_accuracy
    if tiers_d is not None and tiers_i is not None:  # what users act on, beside the MAE the rule weighs
        rule += f" [test tier accuracy: instruction {tiers_i:.3f} vs distillation {tiers_d:.3f}]"

    dims_d, dims_i = per_dimension(distillation, basis), per_dimension(instruction, basis)
    diffs = {n: dims_d[n] - dims_i[n] for n in dims_d if n in dims_i} if dims_d and dims_i else {}
    instruction_wins = sorted(n for n, d in diffs.items() if d > DIMENSION_MARGIN)
    distillation_wins = sorted(n for n, d in diffs.items() if d < -DIMENSION_MARGIN)
    if instruction_wins and distillation_wins:
        hypothesis = MIXED
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
        "verdict": chosen.strategy, "chosen_run": str(chosen.path), "rule": rule,
        "hypothesis": hypothesis, "hypothesis_reason": why, "basis": basis,
        "distillation_run": str(distillation.path), "instruction_run": str(instruction.path),
        "mae": {"distillation": mae_d, "instruction": mae_i, "delta_distillation_minus_instruction": round(delta, 4)},
        "edge_pass_rate": {"distillation": edge_d, "instruction": edge_i},
        "test_tier_accuracy": {"distillation": tiers_d, "instruction": tiers_i},
        "slowdown": round(slowdown, 3) if slowdown is not None else None, "max_slowdown": max_slowdown,
        "per_dimension_delta": {n: round(d, 4) for n, d in diffs.items()},
    }


def is_ensemble(run: RunSummary) -> bool:
    return run.metadata.get("training_mode") == "ensemble"


def ensemble_command(decision: dict[str, Any]) -> str:
    """The `filterforge ensemble` command that combines the two runs the rule weighed."""
    import shlex

    distillation, instruction = Path(decision["distillation_run"]), Path(decision["instruction_run"])
    output = distillation.parent / f"ensemble-{distillation.name}-{instruction.name}"
    return (f"filterforge ensemble {shlex.quote(str(distillation))} {shlex.quote(str(instruction))} "
            f"--output-dir {shlex.quote(str(output))}")


def ensemble_notes(ensembles: Sequence[RunSummary], chosen: RunSummary) -> list[str]:
    """Each ensemble beside the run the rule chose (the rule itself weighs single models)."""
    notes = []
    for ensemble in ensembles:
        basis = "test" if ensemble.test_mae is not None and chosen.test_mae is not None else "validation"
        mine, theirs = (ensemble.test_mae, chosen.test_mae) if basis == "test" else (ensemble.val_mae, chosen.val_mae)
        if mine is None or theirs is None:
            notes.append(f"{ensemble.name}: no MAE on a split shared with {chosen.name}")
            continue
        caveat = " (in-sample: its weights were fitted on validation)" if basis == "validation" and \
            ensemble.metadata.get("validation_note") else ""
        members = ", ".join(str(m.get("name")) for m in (ensemble.metadata.get("ensemble") or {}).get("members", []))
        notes.append(f"{ensemble.name} ({ensemble.strategy} of {members}): "
                     f"{basis} MAE {mine:.3f} vs {theirs:.3f} for the chosen {chosen.name} "
                     f"({'better' if mine < theirs else 'not better'} by {abs(theirs - mine):.3f}){caveat}")
    return notes


def decide_all(runs: Sequence[RunSummary], max_slowdown: float) -> dict[str, Any]:
    """The seed's rule weighs single models; ensembles are set beside the run it chose."""
    ensembles = [r for r in runs if is_ensemble(r)]
    decision = decide_single_models([r for r in runs if not is_ensemble(r)] or list(runs), max_slowdown)
    if decision["hypothesis"] == MIXED:
        decision["ensemble_command"] = ensemble_command(decision)
    if ensembles and len(ensembles) < len(runs):
        chosen = next(r for r in runs if str(r.path) == decision["chosen_run"])
        decision["ensembles"] = ensemble_notes(ensembles, chosen)
    return decision


def decide_single_models(runs: Sequence[RunSummary], max_slowdown: float) -> dict[str, Any]:
    instruction = [r for r in runs if r.uses_prompt]
    distillation = [r for r in runs if not r.uses_prompt]
    if instruction and distillation:
        decision = decide(_best(distillation), _best(instruction), max_slowdown)
        if len(runs) > 2:
            decision["rule"] += " (best distillation-like and best instruction run by validation MAE)"
        return decision
    kind = "prompt-carrying (instruction-like)" if instruction else "article-only (distillation-like)"
    best = _best(runs)
    return {"verdict": best.strategy, "chosen_run": str(best.path), "basis": "validation",
            "rule": f"all runs are {kind}, so the seed's distillation-vs-instruction rule does not apply; "
                    f"chose the lowest validation MAE ({best.val_mae:.3f}, {best.name})",
            "hypothesis": "not applicable (needs one distillation and one instruction run)", "hypothesis_reason": ""}


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


