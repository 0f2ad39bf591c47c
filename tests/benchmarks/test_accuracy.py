"""Smoke tests of the accuracy benchmark (benchmarks/accuracy.py -> benchmarks/accuracy_bench/): its
baselines, metrics, evidence and report on tiny data, and one capped run of the whole benchmark with
the tiny fixture models (skipped when ../shared/datasets is absent)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import DATASETS, REPO

BENCHMARKS = REPO / "benchmarks"
RESULTS = BENCHMARKS / "results"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))

from accuracy_bench import (baselines, cli, config, ensembles, evidence, markdown, recipe, recommend, report,  # noqa: E402
                            scoring, students)
from accuracy_bench.results import MethodResult  # noqa: E402
from accuracy_bench.splits import Splits, model_data_dir, selection_size  # noqa: E402
from accuracy_bench.timing import Clock  # noqa: E402


def demo_splits_object(data_dir, tmp_path, spec_id="investment-risk/v2"):
    """The demo splits, copied into tmp_path/data (their labels cut to another filter's dimension count when
    ``spec_id`` is given), with the benchmark's selection/fit cut of val."""
    from filterforge.data.splits import load_split
    from filterforge.filters.spec import resolve_filter
    from filterforge.io import write_jsonl

    demo_spec = resolve_filter("investment-risk/v2")
    spec = resolve_filter(spec_id)
    rows = {name: load_split(data_dir / f"{name}.jsonl", demo_spec) for name in ("train", "val", "test")}
    if spec_id != demo_spec.id:
        rows = {name: [{**row, "labels": row["labels"][:len(spec.dimensions)], "dimension_names": spec.dimension_names}
                       for row in split] for name, split in rows.items()}
    folder = tmp_path / "data"
    folder.mkdir(parents=True)
    for name, split in rows.items():
        write_jsonl(folder / f"{name}.jsonl", split)
    dataset = config.DatasetConfig("demo", spec.id, {"train": 0.8, "val": 0.1, "test": 0.1})
    n_select = selection_size(len(rows["val"]), 200, 0.5)
    return Splits(dataset, spec, folder, "demo", rows["train"], rows["val"], rows["test"], {}, n_select)


def test_val_is_cut_into_selection_and_fit_articles():
    assert selection_size(607, 200, 0.5) == 200  # sustainability: 407 articles left to fit the ensembles on
    assert selection_size(67, 200, 0.5) == 33  # seece-energy-tech: 34 fit articles
    assert selection_size(28, 200, 0.5) == 14  # commerce-prefilter: 14 / 14
    assert selection_size(100, 100, 0.5) == 50  # the quick profile
    assert selection_size(1, 200, 0.5) == 1


def test_model_data_holds_no_test_split(demo_splits, tmp_path):
    splits = demo_splits_object(demo_splits, tmp_path)
    folder = model_data_dir(splits)
    assert sorted(p.name for p in folder.iterdir()) == ["calibration.jsonl", "train.jsonl", "val.jsonl"]
    ids = lambda path: [json.loads(line)["id"] for line in path.read_text().splitlines()]  # noqa: E731
    assert ids(folder / "val.jsonl") == [r["id"] for r in splits.selection]
    assert ids(folder / "calibration.jsonl") == [r["id"] for r in splits.fit]
    assert len(splits.selection) + len(splits.fit) == len(splits.val) and splits.fit


def test_baseline_runs_score_every_test_article_beside_the_mean_predictor(demo_splits, tiny_encoder, tmp_path):
    from filterforge.runs.run import Run

    splits = demo_splits_object(demo_splits, tmp_path)
    data = model_data_dir(splits)
    gold = splits.labels("test")
    fitted = {key: baselines.fit_baseline(key, splits, data, tmp_path / "runs" / key, str(tiny_encoder), seed=1, threads=1)
              for key in (baselines.MEAN_KEY, baselines.TFIDF_KEY, baselines.PROBE_KEY)}
    mean, tfidf, probe = fitted.values()
    assert mean.test["n"] == len(splits.test)
    assert mean.test["mae"] == pytest.approx(mean.test["mean_predictor_mae"], abs=1e-5)
    assert mean.test["spearman"] is None  # a constant prediction has no ranking

    for result in fitted.values():
        assert Run.open(result.settings["run_dir"]).metadata()["training_mode"] == "baseline"  # a run every command opens
        assert result.settings["val_examples"] == len(splits.selection)  # alpha chosen on the selection articles only
        assert result.predictions.shape == gold.shape
        assert result.fit_mae == pytest.approx(np.abs(result.fit_predictions - splits.labels("fit")).mean())
        low, high = result.test["mae_ci95"]
        assert low <= result.test["mae"] <= high
    assert set(tfidf.settings["alpha"]) == set(splits.spec.dimension_names)
    assert set(tfidf.settings["alpha"].values()) <= set(tfidf.settings["alpha_grid"])
    assert tfidf.note.startswith("alpha ") and f"chosen on {len(splits.selection)} val articles" in tfidf.note
    assert tfidf.test["mean_predictor_mae"] == pytest.approx(mean.test["mae"], abs=1e-5)
    assert 0.0 <= tfidf.predictions.min() and tfidf.predictions.max() <= 10.0
    assert 0.0 <= probe.tokens["share_truncated"] <= 1.0 and probe.tokens["max_length"] == 256
    assert probe.ms_per_article > 0


def test_baselines_on_a_single_dimension_filter(demo_splits, tmp_path):
    """commerce-prefilter has one dimension: predictions stay [n, 1], and it reports tier accuracy."""
    splits = demo_splits_object(demo_splits, tmp_path, "commerce-prefilter/v1")
    data = model_data_dir(splits)
    result = baselines.fit_baseline(baselines.TFIDF_KEY, splits, data, tmp_path / "runs" / "tfidf", "minilm", seed=1,
                                    threads=1)
    assert result.predictions.shape == (len(splits.test), 1)
    assert "tier_accuracy" in result.test and 0.0 <= result.test["tier_accuracy"] <= 1.0


def fake_result(key, kind, fit_pred, test_pred, splits, **settings):
    result = MethodResult(key, key, kind, settings=dict(settings))
    result.fit_predictions, result.predictions = fit_pred, test_pred
    result.fit_mae = scoring.clipped_mae(fit_pred, splits.labels("fit"))
    result.val_mae_first_n = result.fit_mae
    result.test = scoring.score_predictions(test_pred, splits.labels("test"), splits.spec, splits.train_means, seed=1)
    return result


def fake_dataset(tmp_path, seed=0):
    """Splits with random labels, a TF-IDF-like baseline and a student with noisy predictions of them."""
    from filterforge.filters.spec import resolve_filter

    spec = resolve_filter("sustainability/v1")
    rng = np.random.default_rng(seed)
    rows = lambda n: [{"id": str(i), "labels": rng.uniform(0, 10, len(spec.dimensions)).tolist()} for i in range(n)]  # noqa: E731
    dataset = config.DatasetConfig("fake", spec.id, {})
    splits = Splits(dataset, spec, tmp_path, "fake", rows(50), rows(60), rows(40), {}, 20)
    noisy = lambda gold, sd: np.clip(gold + rng.normal(0, sd, gold.shape), 0, 10)  # noqa: E731
    tfidf = fake_result("tfidf-ridge", "baseline", noisy(splits.labels("fit"), 1.0), noisy(splits.labels("test"), 1.0), splits)
    student = fake_result("student", "student", noisy(splits.labels("fit"), 1.3), noisy(splits.labels("test"), 1.3),
                          splits, strategy="distillation")
    mean = fake_result("mean", "baseline", np.tile(splits.train_means, (len(splits.fit), 1)),
                       np.tile(splits.train_means, (len(splits.test), 1)), splits)
    return splits, [mean, tfidf, student]


def test_cross_fitting_predicts_each_fold_with_weights_fitted_without_it():
    from filterforge.ensembles.fit import fit_combination

    rng = np.random.default_rng(3)
    gold = rng.uniform(0, 10, (23, 2))
    scores = np.stack([gold + rng.normal(0, 1, gold.shape), gold + rng.normal(0, 2, gold.shape)])
    predictions, weights = recommend.cross_fitted(scores, gold, ["a", "b"], ["x", "y"], k=5, seed=1)
    folds = recommend.folds(23, 5, 1)
    assert len(weights) == len(folds) == 5 and sorted(np.concatenate(folds).tolist()) == list(range(23))
    held = folds[2]
    rest = np.setdiff1d(np.arange(23), held)
    alone = fit_combination("stack", scores[:, rest], gold[rest], ["a", "b"], ["x", "y"])
    assert np.allclose(predictions[held], alone.combine(scores[:, held]), atol=1e-5)
    assert np.allclose(weights[2], alone.weights)
    assert recommend.cross_fitted(scores[:, :2], gold[:2], ["a", "b"], ["x", "y"], k=5, seed=1) is None


def test_recommendation_and_ensemble_weights_ignore_test_labels(tmp_path):
    splits, results = fake_dataset(tmp_path)
    profile = config.Profile("test")
    plan = ensembles.Plan((results[2], results[1]), "best student + TF-IDF + ridge")

    def outcome():
        crossfit = ensembles.crossfit_json(plan, splits, profile)
        ensemble = fake_result(plan.key, "ensemble", crossfit.pop("_predictions"), results[1].predictions, splits)
        ensemble.fit_mae = crossfit["mae"]
        chosen = recommend.recommendation_json([*results, ensemble], splits, seed=1)
        return chosen["key"], chosen["candidates"], crossfit["weight_range_over_folds"], crossfit["mae"]

    before = outcome()
    assert before[0] == plan.key  # two noisy members combined beat either one on the fit articles
    for row in splits.test:  # the test labels change completely
        row["labels"] = (10 - np.asarray(row["labels"])).tolist()
    assert outcome() == before


def test_target_section_says_whether_small_datasets_recommend_worse_than_the_best_baseline():
    from accuracy_bench import sections

    def dataset(key, mae, baseline_mae):
        versus = {"key": "minilm-probe", "label": "frozen MiniLM embeddings + ridge", "test_mae": baseline_mae,
                  "ratio": mae / baseline_mae, "ratio_ci95": [0.9, 1.2], "worse": mae > baseline_mae}
        return {"recommendation": {"key": key, "label": key, "kind": "ensemble", "test_mae": mae, "vs_best_baseline": versus}}

    lines = sections.baseline_target_markdown({"sustainability": dataset("a", 0.6, 0.7),
                                               "seece-energy-tech": dataset("b", 1.10, 1.15),
                                               "commerce-prefilter": dataset("c", 1.40, 1.32)})
    text = "\n".join(lines)
    assert "sustainability" not in text  # it has its own target
    assert "seece-energy-tech: recommended b (ensemble), test MAE 1.100 vs best baseline frozen MiniLM embeddings + ridge " \
           "1.150: ratio 0.957" in text and "not worse (target met)" in text
    assert "commerce-prefilter" in text and "**worse** (target missed)" in text


def test_recipe_students_train_with_the_train_config_defaults(monkeypatch):
    """The label, epochs and overrides follow filterforge's defaults and encoder recipe as they are when the
    benchmark runs."""
    from filterforge.training import config as train_config

    real_defaults, real_recipes = train_config.defaults(), train_config.recipes()
    encoder = {"learning_rate": 1e-4, "layer_lr_decay": 0.9, "warmup_ratio": 0.1, "early_stopping_patience": 2}
    monkeypatch.setattr(train_config, "defaults", lambda: {**real_defaults, "epochs": 7})
    monkeypatch.setattr(train_config, "recipes", lambda: {**real_recipes, "encoder": encoder})
    label = recipe.student_label(config.MINILM_DISTILLATION)
    assert label.startswith("MiniLM distillation (train defaults: 7 epochs, lr 0.0001, ")
    assert "layer-lr decay 0.9" in label and "warm-up 10%" in label and "early stopping after 2 epochs" in label
    profile = config.Profile("test")
    assert recipe.recipe_epochs(5000, profile) == (7, None)  # early stopping: no cap on large datasets
    assert recipe.train_overrides(config.MINILM_DISTILLATION, {"epochs": 7, "max_steps": None}) == {"batch_size": 16}
    smol = recipe.train_overrides(config.SMOLLM2_DISTILLATION, {"epochs": 1, "max_steps": 12})
    assert smol["learning_rate"] == 5e-5 and smol["max_steps"] == 12 and smol["warmup_steps"] is None

    monkeypatch.setattr(train_config, "recipes", lambda: {**real_recipes, "encoder": {**encoder, "early_stopping_patience": None}})
    epochs, why = recipe.recipe_epochs(5000, profile)
    assert epochs == profile.encoder_epochs_large and "no early stopping" in why
    assert recipe.recipe_epochs(300, profile) == (7, None)
    assert recipe.train_overrides(config.MINILM_DISTILLATION, {"epochs": 1, "max_steps": None}) == {"batch_size": 16,
                                                                                                   "epochs": 1}


def test_ensemble_of_baseline_runs_is_fitted_on_the_fit_articles_by_filterforge(demo_splits, tmp_path):
    from filterforge.ensembles.fit import fit_combination
    from filterforge.runs.run import Run

    splits = demo_splits_object(demo_splits, tmp_path)
    data = model_data_dir(splits)
    members = tuple(baselines.fit_baseline(key, splits, data, tmp_path / "runs" / key, "minilm", seed=1, threads=1)
                    for key in (baselines.TFIDF_KEY, baselines.MEAN_KEY))
    plan = ensembles.Plan(members, "test")
    result = ensembles.run_ensemble(plan, splits, data, tmp_path / "work", config.Profile("test", threads=1), Clock(600))
    assert result.ok, result.note
    assert result.kind == "ensemble" and result.test["n"] == len(splits.test)
    assert result.settings["fit_split"] == {"name": "calibration", "articles": len(splits.fit)}
    run = Run.open(result.settings["run_dir"])
    assert run.is_ensemble and [name for name, _ in run.ensemble_members()] == plan.keys
    weights = result.ensemble["weights"]
    assert set(weights) == set(splits.spec.dimension_names)
    assert all(sum(row.values()) == pytest.approx(1.0) for row in weights.values())
    assert all(result.ensemble["leans_on"][dim] == max(row, key=row.get) for dim, row in weights.items())
    # filterforge's fit on its own member scores = its fit function on the benchmark's scores of the same articles
    refit = fit_combination("stack", np.stack([m.fit_predictions for m in members]), splits.labels("fit"), plan.keys,
                            splits.spec.dimension_names)
    assert np.allclose(refit.weights, [[weights[d][k] for k in plan.keys] for d in splits.spec.dimension_names], atol=1e-4)
    assert result.fit_mae == result.ensemble["crossfit"]["mae"]
    assert result.fit_predictions.shape == (len(splits.fit), len(splits.spec.dimensions))
    methods = [*members, result]
    data_json = report.dataset_json(splits, methods, None, None, recommend.recommendation_json(methods, splits, 1), data)
    table = "\n".join(markdown.dataset_markdown("demo", data_json))
    assert "Ensemble weights" in table and "fit MAE§" in table and "Recommended (lowest fit MAE§" in table


def test_ranking_metrics():
    from filterforge.filters.spec import resolve_filter

    sustainability = resolve_filter("sustainability/v1")
    gold = np.random.default_rng(0).uniform(0, 10, (50, 8))
    assert scoring.recall_at_top(gold, gold, sustainability) == {"k": 5, "recall": 1.0}
    constant = scoring.recall_at_top(np.full_like(gold, 3.0), gold, sustainability)
    assert constant["recall"] == pytest.approx(5 / 50)
    reversed_rank = scoring.recall_at_top(-gold + 10, gold, sustainability)
    assert reversed_rank["recall"] == 0.0

    commerce = resolve_filter("commerce-prefilter/v1")
    pred = np.array([[8.0], [5.0], [1.0], [2.0]])
    gold = np.array([[9.5], [9.0], [1.0], [4.0]])  # same tier, COMMERCE vs MIXED, same, JOURNALISM vs MIXED
    assert scoring.tier_accuracy(pred, gold, commerce) == pytest.approx(0.5)

    pred = np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]])
    gold = np.array([[1.0, 1.0], [2.0, 3.0], [3.0, 2.0]])
    assert scoring.mean_spearman(pred, gold) == pytest.approx(1.0)  # the constant column is left out


def test_recall_counts_every_article_tied_with_the_oracles_kth():
    """The library's recall@k: an article tied with the oracle's k-th score is as relevant as the k-th."""
    from filterforge.filters.spec import resolve_filter

    spec = resolve_filter("commerce-prefilter/v1")
    gold = np.array([[9.0]] + [[5.0]] * 3 + [[1.0]] * 16)  # k = 2: one clear top article, three tied second
    pred = np.array([[9.0], [1.0], [1.0], [8.0]] + [[0.0]] * 16)
    assert scoring.recall_at_top(pred, gold, spec) == {"k": 2, "recall": 1.0}


def test_scores_keep_the_reported_fields():
    from filterforge.filters.spec import resolve_filter

    rng = np.random.default_rng(1)
    for filter_id, ranking_field in (("seece-energy-tech/v1", "recall_at_top"), ("sustainability/v1", "tier_accuracy"),
                                     ("commerce-prefilter/v1", "tier_accuracy")):
        spec = resolve_filter(filter_id)
        gold = rng.uniform(0, 10, (40, len(spec.dimensions)))
        pred = gold + rng.normal(0, 1, gold.shape)
        scores = scoring.score_predictions(pred, gold, spec, gold.mean(0), seed=3)
        assert list(scores) == ["n", "mae", "rmse", "per_dimension_mae", "per_dimension_rmse", "mean_predictor_mae",
                                "mean_predictor_per_dimension_mae", "spearman", "mae_ci95", ranking_field]
        assert scores["mae"] == pytest.approx(np.abs(np.clip(pred, 0, 10) - gold).mean())


def test_oracle_noise_floor_on_shared_ids(tmp_path):
    from filterforge.filters.spec import resolve_filter

    spec = resolve_filter("commerce-prefilter/v1")
    folder = tmp_path / "commerce-prefilter"
    folder.mkdir()

    def row(ident, score):
        return {"id": ident, "title": "t", "content": "c", "commerce-prefilter_analysis": {"commerce_score": {"score": score}}}

    (folder / "scored.jsonl").write_text("".join(json.dumps(r) + "\n" for r in (row("a", 8), row("b", 2), row("c", 5))))
    (folder / "alt.jsonl").write_text("".join(json.dumps(r) + "\n" for r in (row("a", 6), row("b", 1), row("z", 9))))
    dataset = config.DatasetConfig("commerce-prefilter", spec.id, {}, "alt.jsonl")
    splits = Splits(dataset, spec, folder, "x", [], [], [{"id": "a"}], {})
    noise = evidence.oracle_noise_floor(splits, tmp_path)
    assert noise["shared_articles"] == 2
    assert noise["shared_articles_in_test"] == 1
    assert noise["oracle_vs_oracle_mae"] == pytest.approx(1.5)
    assert noise["mean_offset_second_minus_first"]["commerce_score"] == pytest.approx(-1.5)
    assert noise["oracle_vs_oracle_mae_offset_removed"] == pytest.approx(0.5)


def test_head_tail_comes_from_the_plugin_entry_points(monkeypatch):
    from filterforge.plugins import manager

    available, why = students.head_tail_available()
    assert available == ("head-tail" in manager.get_strategies())
    monkeypatch.setattr(manager, "get_strategies", lambda: {})
    available, why = students.head_tail_available()
    assert not available and "head-tail" in why


@pytest.mark.parametrize("name", ["accuracy", "accuracy_instruction_small"])
def test_markdown_renders_the_committed_results_unchanged(name):
    data = json.loads((RESULTS / f"{name}.json").read_text())
    assert report.markdown(data) + "\n" == (RESULTS / f"{name}.md").read_text()


def test_unknown_dataset_and_missing_data_are_one_line_errors(tmp_path):
    result = CliRunner().invoke(cli.main, ["--datasets", "nope"])
    assert result.exit_code == 1
    assert "unknown dataset nope" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(cli.main, ["--quick", "--datasets-root", str(tmp_path)])
    assert result.exit_code == 1
    assert "no scored.jsonl for sustainability" in result.output
    assert not (tmp_path / "out.json").exists()


def test_entry_script_keeps_its_options():
    result = subprocess.run([sys.executable, str(BENCHMARKS / "accuracy.py"), "--help"], capture_output=True, text=True,
                            check=True)
    for option in ("--quick", "--datasets", "--datasets-root", "--work-dir", "--output", "--time-budget",
                   "--encoder-model", "--decoder-model", "--max-train", "--max-val", "--max-test",
                   "--decoder-max-steps", "--encoder-article-tokens", "--students", "--threads", "--seed"):
        assert option in result.stdout


ENSEMBLE_KEYS = ["ensemble-minilm-distillation+tfidf-ridge", "ensemble-minilm-distillation+minilm-probe",
                 "ensemble-minilm-distillation+smollm2-instruction-lora"]


@pytest.mark.skipif(not (DATASETS / "sustainability" / "scored.jsonl").exists(), reason="../shared/datasets is absent")
def test_capped_run_on_real_data_with_tiny_models(tiny_encoder, tiny_decoder, tmp_path):
    out = tmp_path / "accuracy.json"
    args = ["--quick", "--encoder-model", str(tiny_encoder), "--decoder-model", str(tiny_decoder),
            "--max-train", "32", "--max-val", "12", "--max-test", "24", "--decoder-max-steps", "2",
            "--students", "minilm-distillation,smollm2-instruction-lora", "--work-dir", str(tmp_path / "work"),
            "--output", str(out)]
    result = CliRunner().invoke(cli.main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text())
    assert written["complete"] and not written["is_benchmark"]
    assert written["provenance"]["git_commit"] and written["seed"] == 42
    data = written["datasets"]["sustainability"]
    assert (data["student_val_articles"], data["fit_articles"]) == (6, 6)  # val cut in half: selection / fit
    keys = [m["key"] for m in data["methods"]]
    assert keys == ["mean", "tfidf-ridge", "minilm-probe", "minilm-distillation", "smollm2-instruction-lora", *ENSEMBLE_KEYS]
    for method in data["methods"]:
        assert method["status"] == "ok", method
        assert method["test"]["n"] == 24  # every method on every test article
        assert "mean_predictor_mae" in method["test"] and "tier_accuracy" in method["test"]  # sustainability has tiers
        assert method["fit_mae"] is not None and method["val_mae_first_n"] is not None
    by_key = {m["key"]: m for m in data["methods"]}
    for key in ("mean", "tfidf-ridge", "minilm-probe"):  # filterforge baseline runs, alpha on the selection articles
        assert by_key[key]["settings"]["val_examples"] == 6 and (Path(by_key[key]["settings"]["run_dir"]) / "model").is_dir()
    student = by_key["minilm-distillation"]
    assert student["label"].startswith("MiniLM distillation (train defaults: ")
    assert f"lr {student['settings']['learning_rate']:g}," in student["label"]  # what its metadata recorded
    assert student["settings"]["recipe"] == "TrainConfig defaults" and student["settings"]["batch_size"] == 16
    assert student["settings"]["recipe_kind"] == "encoder"  # filterforge filled the unset settings from its recipe
    lora = by_key["smollm2-instruction-lora"]
    assert lora["budget_limited"] and lora["settings"]["global_steps"] == 2
    assert lora["tokens"]["prompt_tokens"] > 100  # the filter prompt went in whole
    for key in ENSEMBLE_KEYS:
        ensemble = by_key[key]["ensemble"]
        assert by_key[key]["settings"]["fit_split"] == {"name": "calibration", "articles": 6}
        assert set(ensemble["weights"]) == set(ensemble["leans_on"]) == set(written["target"]["evidence"]["per_dimension_mae"])
        assert ensemble["crossfit"]["k"] == 5 and ensemble["crossfit"]["mae"] == by_key[key]["fit_mae"]
    recommendation = data["recommendation"]
    assert recommendation["key"] in keys and recommendation["fit_articles"] == 6
    assert recommendation["fit_mae"] == min(m["fit_mae"] for m in data["methods"])
    assert recommendation["vs_best_baseline"]["worse"] in (True, False)
    epochs = written["epoch_curve"]
    assert epochs["key"] == "minilm-distillation" and epochs["val_articles"] == 6
    assert len(epochs["epochs"]) == student["settings"]["epochs_completed"] >= 1
    assert all(e["val_mean_predictor_mae"] is not None for e in epochs["epochs"])
    curve = written["learning_curve"]["methods"]
    assert [e["train_examples"] for e in curve["TF-IDF + ridge"]] == [8, 16, 32]
    assert list(curve)[1] == data["best_student_label"]  # the curve runs last, for the best student by val MAE
    assert all(len(entries) == 3 and entries[-1]["status"] == "ok" for entries in curve.values())
    target = written["target"]
    assert target["met"] in (True, False) and target["recommended"] == recommendation["key"]
    table = out.with_suffix(".md").read_text()
    assert table == report.markdown(written) + "\n"  # the markdown renders from the JSON alone
    for text in ("not a benchmark result", "| TF-IDF + ridge |", "fit MAE§", " ★ |", "Ensemble weights", "### Epochs",
                 "Recommended (lowest fit MAE§", "recommended model's test MAE <= 0.85 x TF-IDF + ridge"):
        assert text in table, text
