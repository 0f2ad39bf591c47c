"""An ensemble of two tiny students (an article-only encoder and a prompt-carrying decoder, each with its
own tokenizer and input strategy) and a TF-IDF baseline, as a run every command accepts: evaluate,
score (torch and ONNX), export, calibrate, bench, deploy and compare; and nothing fitted on test."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, assert_one_line_error, invoke, splits_with_calibration, train_tiny_run

FILTER = "investment-risk/v2"
FAST = ("--max-train-examples", "16", "--threads", "1", "--min-article-tokens", "64")


def instruction_max_length(model_dir: Path, article_tokens: int = 64) -> int:
    from transformers import AutoTokenizer

    from filterforge.filters.spec import resolve_filter
    from filterforge.plugins.manager import get_strategies

    strategy = get_strategies()["instruction"](resolve_filter(FILTER), AutoTokenizer.from_pretrained(str(model_dir)))
    return strategy.fixed_tokens + article_tokens


@pytest.fixture(scope="module")
def splits(tmp_path_factory, demo_splits) -> Path:
    return splits_with_calibration(tmp_path_factory, demo_splits, "ensemble-splits", 24)


@pytest.fixture(scope="module")
def members(tmp_path_factory, splits, tiny_encoder, tiny_decoder) -> dict[str, Path]:
    """Students of three strategies on two tokenizers, and a text baseline."""
    from click.testing import CliRunner

    base = tmp_path_factory.mktemp("ensemble-members")
    result = invoke(CliRunner(), ["baseline", FILTER, "--data-dir", splits, "--output-dir", base / "tfidf"])
    assert result.exit_code == 0, result.output
    return {"distil": train_tiny_run(base / "distil", splits, tiny_encoder, "distillation", *FAST),
            "headtail": train_tiny_run(base / "headtail", splits, tiny_decoder, "head-tail", *FAST),
            "instr": train_tiny_run(base / "instr", splits, tiny_decoder, "instruction", *FAST,
                                    "--max-length", str(instruction_max_length(tiny_decoder))),
            "tfidf": base / "tfidf"}


def build(members: dict[str, Path], names: tuple[str, ...], out: Path, *extra) -> Path:
    from click.testing import CliRunner

    result = invoke(CliRunner(), ["ensemble", *(members[n] for n in names), "--output-dir", out, "--threads", "1", *extra])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def ensemble(tmp_path_factory, members) -> Path:
    """An article-only student, a prompt-carrying one (shared-prefix path) and TF-IDF."""
    return build(members, ("distil", "instr", "tfidf"), tmp_path_factory.mktemp("ensemble") / "ensemble")


def read_scores(path: Path) -> dict[str, list[float]]:
    return {row["id"]: list(row["scores"].values()) for row in map(json.loads, path.read_text().splitlines())}


def test_evaluate_score_export_and_score_on_onnx(runner, members, splits, tmp_path):
    """Two students with their own tokenizers and strategies (an encoder and a decoder; the prompt-carrying
    one is left out here only because its ONNX graph reads a 4k-token prompt per article) and TF-IDF."""
    run = build(members, ("distil", "headtail", "tfidf"), tmp_path / "ensemble")
    meta = json.loads((run / "training_metadata.json").read_text())
    assert [(m["name"], m["kind"], m["strategy"]) for m in meta["ensemble"]["members"]] == [
        ("distil", "student", "distillation"), ("headtail", "student", "head-tail"), ("tfidf", "baseline", "tfidf-ridge")]
    assert meta["ensemble"]["fit_split"]["name"] == "calibration"

    result = invoke(runner, ["evaluate", run, "--test-data", splits / "test.jsonl", "--threads", "1"])
    assert result.exit_code == 0, result.output
    evaluation = json.loads((run / "evaluation.json").read_text())
    assert evaluation["strategy"] == "ensemble-stack" and evaluation["inference"]["path"].startswith("ensemble: distil")
    assert evaluation["n"] == len((splits / "test.jsonl").read_text().splitlines())

    result = invoke(runner, ["score", run, "--input", splits / "test.jsonl", "--output", tmp_path / "x.jsonl",
                             "--runtime", "onnx"])
    assert_one_line_error(result, "ensemble member 'distil'", "no ONNX export", f"filterforge export {run}")

    result = invoke(runner, ["score", run, "--input", splits / "test.jsonl", "--output", tmp_path / "torch.jsonl",
                             "--threads", "1"])
    assert result.exit_code == 0, result.output
    result = invoke(runner, ["export", run, "--threads", "1"])
    assert result.exit_code == 0, result.output
    for name in ("distil", "headtail"):
        assert (run / "model" / "members" / name / "onnx" / "model.onnx").is_file(), name
    assert not (run / "model" / "members" / "tfidf" / "onnx").exists() and (run / "model" / "ensemble.json").is_file()
    assert "--runtime onnx" in result.output
    result = invoke(runner, ["score", run, "--input", splits / "test.jsonl", "--output", tmp_path / "onnx.jsonl",
                             "--runtime", "onnx", "--threads", "1"])
    assert result.exit_code == 0, result.output
    on_torch, on_onnx = read_scores(tmp_path / "torch.jsonl"), read_scores(tmp_path / "onnx.jsonl")
    assert on_torch.keys() == on_onnx.keys()
    assert max(abs(a - b) for k in on_torch for a, b in zip(on_torch[k], on_onnx[k])) < 2e-3
    writer = json.loads((tmp_path / "onnx.jsonl.meta.json").read_text())
    assert writer["runtime"] == "ensemble (onnx+baseline)"
    result = invoke(runner, ["bench", run, "--runtime", "torch,onnx", "--batch-sizes", "2", "--lengths", "16",
                             "--warmup", "0", "--iters", "1", "--threads", "1"])
    assert result.exit_code == 0, result.output
    timed = [r["runtime"] for r in json.loads((run / "bench.json").read_text())["results"]]
    assert timed == ["ensemble (torch+baseline)", "ensemble (onnx+baseline)"]


def test_the_ensemble_scores_the_weighted_members(ensemble, splits):
    from filterforge.io import read_jsonl
    from filterforge.runs.run import Run
    from filterforge.runtime.loader import load_predictor
    from filterforge.runtime.scorer import Scorer

    rows = read_jsonl(splits / "val.jsonl")[:6]
    run = Run.open(ensemble)
    combined = Scorer.load(run, runtime="torch", device="cpu").score(rows)
    members = np.stack([load_predictor(member, runtime="auto", device="cpu").predict(rows)
                        for _, member in run.ensemble_members()])
    weights = run.combination().weights  # [dims, members]
    np.testing.assert_allclose(combined, np.einsum("mnd,dm->nd", members, weights), atol=1e-5)


def test_the_weights_do_not_change_when_the_test_labels_do(members, ensemble, splits, tmp_path):
    changed = shutil.copytree(splits, tmp_path / "changed")
    rows = [json.loads(line) for line in (changed / "test.jsonl").read_text().splitlines()]
    (changed / "test.jsonl").write_text("".join(json.dumps({**r, "labels": [10.0 - v for v in r["labels"]]}) + "\n"
                                                for r in rows))
    out = build(members, ("distil", "instr", "tfidf"), tmp_path / "again", "--data-dir", changed)
    before = json.loads((ensemble / "model" / "ensemble.json").read_text())
    after = json.loads((out / "model" / "ensemble.json").read_text())
    assert after["weights"] == before["weights"] and after["members"] == before["members"]


def test_calibrate_bench_deploy_and_compare_accept_it(runner, members, ensemble, splits, tmp_path):
    run = shutil.copytree(ensemble, tmp_path / "ensemble")
    meta = json.loads((run / "training_metadata.json").read_text())
    assert [m["strategy"] for m in meta["ensemble"]["members"]] == ["distillation", "instruction", "tfidf-ridge"]
    assert meta["include_prompt"] is True and meta["ensemble"]["fit_split"]["name"] == "calibration"
    result = invoke(runner, ["calibrate", run, "--threads", "1"])
    assert result.exit_code == 0, result.output
    assert (run / "model" / "calibration.json").is_file()
    result = invoke(runner, ["score", run, "--input", splits / "val.jsonl", "--output", tmp_path / "s.jsonl"])
    assert result.exit_code == 0 and "calibration applied" in result.output, result.output
    result = invoke(runner, ["bench", run, "--batch-sizes", "1,2", "--lengths", "32", "--warmup", "0", "--iters", "1",
                             "--threads", "1"])
    assert result.exit_code == 0, result.output
    bench = json.loads((run / "bench.json").read_text())
    assert bench["summary"]["ms_per_article"] > 0 and bench["summary"]["runtime"].startswith("ensemble")

    filters = tmp_path / "filters"
    shutil.copytree(REPO / "filters" / "investment-risk" / "v2", filters / "investment-risk" / "v2",
                    ignore=shutil.ignore_patterns("model"))
    result = invoke(runner, ["deploy", run, "--filters-root", filters])
    assert result.exit_code == 0, result.output
    deployed = filters / "investment-risk" / "v2" / "model"
    assert (deployed / "ensemble.json").is_file() and (deployed / "members" / "instr" / "model.safetensors").is_file()
    card = (deployed / "README.md").read_text()
    assert "## Ensemble" in card and "leans on" in card and "Fit-split tier accuracy: " in card
    result = invoke(runner, ["score", deployed, "--input", splits / "val.jsonl", "--output", tmp_path / "d.jsonl"])
    assert result.exit_code == 0, result.output
    assert read_scores(tmp_path / "d.jsonl") == read_scores(tmp_path / "s.jsonl")

    output = tmp_path / "cmp" / "report.md"
    result = invoke(runner, ["compare", members["distil"], members["instr"], run, "--output", output, "--no-baselines",
                             "--speed-articles", "2", "--threads", "1"])
    assert result.exit_code == 0, result.output
    decision = json.loads((output.parent / "comparison.json").read_text())["decision"]
    assert decision["chosen_run"] in (str(members["distil"]), str(members["instr"]))  # the rule weighs single models
    assert len(decision["ensembles"]) == 1 and decision["ensembles"][0].startswith("ensemble (ensemble-stack of distil")
    assert "ensemble ensemble (ensemble-stack" in result.output and "- Ensemble ensemble" in output.read_text()
