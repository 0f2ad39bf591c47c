"""`compare` and ensembles: the mixed outcome prints the `filterforge ensemble` command that would build the
ensemble; an ensemble among the runs is set beside the chosen run, never given the distillation or
instruction role."""

from __future__ import annotations

import json
import shlex

from test_compare import DIMS, fake_run, run_compare


def mixed_runs(tmp_path):
    d = fake_run(tmp_path, "distil", "distillation", val=1.0, test=1.0,
                 dims={**{n: 1.0 for n in DIMS}, "valuation_risk": 0.5, "systemic_risk": 1.5})
    i = fake_run(tmp_path, "instr", "instruction", val=1.0, test=1.0,
                 dims={**{n: 1.0 for n in DIMS}, "valuation_risk": 1.0, "systemic_risk": 1.0})
    return d, i


def test_a_mixed_outcome_prints_the_ensemble_command(runner, tmp_path):
    d, i = mixed_runs(tmp_path)
    result, report, comparison = run_compare(runner, tmp_path, d, i)
    command = comparison["decision"]["ensemble_command"]
    assert shlex.split(command) == ["filterforge", "ensemble", str(d), str(i), "--output-dir",
                                    str(tmp_path / "ensemble-distil-instr")]
    assert f"ensemble: {command}" in result.output and "--method select" in result.output
    assert f"`{command}`" in report


def test_no_ensemble_command_without_the_mixed_outcome(runner, tmp_path):
    d = fake_run(tmp_path, "distil", "distillation", val=1.2, test=1.3, ms=10)
    i = fake_run(tmp_path, "instr", "instruction", val=0.9, test=1.0, ms=25)
    result, report, comparison = run_compare(runner, tmp_path, d, i)
    assert "ensemble_command" not in comparison["decision"] and "filterforge ensemble" not in result.output + report


def test_an_ensemble_is_set_beside_the_chosen_run_not_given_a_role(runner, tmp_path):
    d, i = mixed_runs(tmp_path)
    e = fake_run(tmp_path, "combined", "ensemble-stack", val=0.5, test=0.8)
    meta = json.loads((e / "training_metadata.json").read_text())
    meta.update(training_mode="ensemble", include_prompt=True,
                ensemble={"members": [{"name": "distil"}, {"name": "instr"}]})
    (e / "training_metadata.json").write_text(json.dumps(meta))
    result, report, comparison = run_compare(runner, tmp_path, d, i, e)
    decision = comparison["decision"]
    assert decision["distillation_run"] == str(d) and decision["instruction_run"] == str(i)
    assert decision["chosen_run"] in (str(d), str(i))
    assert decision["ensembles"] == [f"combined (ensemble-stack of distil, instr): test MAE 0.800 vs 1.000 for the chosen "
                                     f"{decision['chosen_run'].rsplit('/', 1)[-1]} (better by 0.200)"]
    assert f"ensemble {decision['ensembles'][0]}" in result.output and f"- Ensemble {decision['ensembles'][0]}" in report
