"""`filterforge train` end to end on tiny in-memory models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from safetensors.torch import load_file

from conftest import invoke, tiny_train_args

MODEL_FILES = ["config.json", "model.safetensors", "head.safetensors", "head_config.json", "pooling_config.json",
               "filterforge.json", "tokenizer.json", "filter.yaml", "prompt.md"]


def test_distillation_writes_every_output(runner, demo_splits, tiny_encoder, tmp_path):
    out = tmp_path / "run"
    result = invoke(runner, tiny_train_args(demo_splits, tiny_encoder, out, "distillation", "--epochs", "2"))
    assert result.exit_code == 0, result.output
    for name in MODEL_FILES:
        assert (out / "model" / name).exists(), name
    meta = json.loads((out / "training_metadata.json").read_text())
    for key in ("filter_name", "filter_version", "dimension_names", "num_dimensions", "model_name", "num_parameters",
                "num_trainable_parameters", "epochs", "batch_size", "learning_rate", "max_length", "warmup_steps",
                "train_examples", "val_examples", "best_val_mae", "include_prompt", "training_mode", "seed",
                "data_hash", "git_commit", "package_versions", "device", "precision", "wall_time_seconds",
                "articles_per_second", "tokens_per_second", "peak_memory_mb", "token_budget", "val_mean_predictor_mae"):
        assert key in meta, key
    assert meta["include_prompt"] is False and meta["training_mode"] == "full" and meta["pooling"] == "mean"
    assert meta["package_versions"]["torch"]
    history = json.loads((out / "training_history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2]
    assert all(len(h["val_per_dimension_mae"]) == 8 for h in history)
    assert meta["best_val_mae"] == min(h["val_mae"] for h in history)
    assert (out / "loss_curves.png").stat().st_size > 1000
    info = json.loads((out / "model" / "filterforge.json").read_text())
    assert info["strategy"] == "distillation" and info["dimension_names"] == meta["dimension_names"]


def test_instruction_keeps_article_tokens_under_a_long_prompt(runner, demo_splits, tiny_decoder, tmp_path):
    from transformers import AutoTokenizer

    from filterforge.filters.spec import resolve_filter
    from filterforge.plugins.manager import get_strategies

    spec = resolve_filter("investment-risk/v2")
    strategy = get_strategies()["instruction"](spec, AutoTokenizer.from_pretrained(str(tiny_decoder)))
    prompt_tokens = strategy.fixed_tokens
    assert prompt_tokens > 2000, "the investment-risk prompt is the size of a real oracle prompt"
    max_length = prompt_tokens + 130
    long_article = {"title": "Banks", "content": " ".join(["contagion spreads through banks"] * 400)}
    encoded = strategy.encode(long_article, max_length)
    assert len(encoded.input_ids) == max_length
    assert encoded.article_tokens == 130 and encoded.article_tokens_total > 1000
    prefix, suffix = strategy.frame()
    assert encoded.input_ids[: len(prefix)] == prefix and encoded.input_ids[-len(suffix):] == suffix

    out = tmp_path / "run"
    args = tiny_train_args(demo_splits, tiny_decoder, out, "instruction")
    args[args.index("--max-length") + 1] = str(max_length)
    result = invoke(runner, args)
    assert result.exit_code == 0, result.output
    meta = json.loads((out / "training_metadata.json").read_text())
    budget = meta["token_budget"]
    assert budget["prompt_tokens"] == prompt_tokens and meta["include_prompt"] is True
    assert budget["article_tokens_kept_min"] >= 1 and budget["article_tokens_kept_max"] <= 130
    assert meta["shared_prefix"] is True and meta["pooling"] == "last-token"


def test_prompt_too_long_for_max_length_fails_with_the_budget(runner, demo_splits, tiny_decoder, tmp_path):
    out = tmp_path / "run"
    args = tiny_train_args(demo_splits, tiny_decoder, out, "instruction")
    args[args.index("--max-length") + 1] = "1024"
    result = runner.invoke(__import__("filterforge.cli", fromlist=["build_cli"]).build_cli(), args)
    assert result.exit_code != 0
    message = result.output.strip().splitlines()[-1]
    assert "prompt/template takes" in message and "--max-length 1024" in message and "use --max-length >=" in message
    assert "Traceback" not in result.output
    assert not out.exists()


def test_default_instruction_max_length_is_prompt_plus_512(runner, demo_splits, tiny_decoder, tmp_path):
    out = tmp_path / "run"
    args = [a for a in tiny_train_args(demo_splits, tiny_decoder, out, "instruction", "--max-steps", "1")]
    index = args.index("--max-length")
    del args[index : index + 2]
    result = invoke(runner, args)
    assert result.exit_code == 0, result.output
    meta = json.loads((out / "training_metadata.json").read_text())
    assert meta["max_length"] == meta["token_budget"]["prompt_tokens"] + 512
    assert meta["stopped_by"] == "max_steps" and "stopped after --max-steps 1" not in result.output  # --quiet


def _weights(run: Path) -> dict:
    return {**load_file(str(run / "model" / "model.safetensors")), **load_file(str(run / "model" / "head.safetensors"))}


def test_resume_after_max_steps_matches_an_uninterrupted_run(runner, demo_splits, tiny_encoder, tmp_path):
    full, part = tmp_path / "full", tmp_path / "part"
    extra = ("--epochs", "2", "--seed", "3")
    assert invoke(runner, tiny_train_args(demo_splits, tiny_encoder, full, "distillation", *extra)).exit_code == 0
    # 128 train articles / batch 8 = 16 steps per epoch: stop in the middle of the second epoch.
    stopped = invoke(runner, tiny_train_args(demo_splits, tiny_encoder, part, "distillation", *extra, "--max-steps", "21"))
    assert stopped.exit_code == 0, stopped.output
    assert json.loads((part / "training_metadata.json").read_text())["stopped_by"] == "max_steps"
    resumed = invoke(runner, tiny_train_args(demo_splits, tiny_encoder, part, "distillation", *extra, "--resume"))
    assert resumed.exit_code == 0, resumed.output
    a, b = _weights(full), _weights(part)
    assert a.keys() == b.keys()
    for name in a:
        assert (a[name] == b[name]).all(), name
    history_full = json.loads((full / "training_history.json").read_text())
    history_part = json.loads((part / "training_history.json").read_text())
    assert [h["val_mae"] for h in history_full] == [h["val_mae"] for h in history_part]


def test_lora_run_saves_merged_weights(runner, demo_splits, tiny_decoder, tmp_path):
    out = tmp_path / "run"
    result = invoke(runner, tiny_train_args(demo_splits, tiny_decoder, out, "distillation", "--lora", "--lora-r", "4"))
    assert result.exit_code == 0, result.output
    meta = json.loads((out / "training_metadata.json").read_text())
    assert meta["training_mode"] == "lora" and meta["num_trainable_parameters"] < meta["num_parameters"]
    assert not any("lora" in key for key in load_file(str(out / "model" / "model.safetensors")))
    from filterforge.runs.run import Run
    from filterforge.runtime.loader import load_predictor

    scores = load_predictor(Run.open(out), runtime="torch").predict([{"id": "x", "title": "Bank run", "content": "Deposits flee."}])
    assert scores.shape == (1, 8) and (scores >= 0).all() and (scores <= 10).all()


@pytest.mark.parametrize(
    "change, expected",
    [
        (("--strategy", "nope"), "unknown strategy 'nope' (known: "),
        (("--head", "nope"), "unknown head 'nope' (known: "),
        (("--pooling", "nope"), "unknown pooling 'nope' (known: "),
        (("--model", "no-such-alias"), "unknown model 'no-such-alias'"),
    ],
)
def test_unknown_names_fail_in_one_line(runner, demo_splits, tiny_encoder, tmp_path, change, expected):
    args = tiny_train_args(demo_splits, tiny_encoder, tmp_path / "run", "distillation")
    flag, value = change
    if flag in args:
        args[args.index(flag) + 1] = value
    else:
        args += [flag, value]
    result = invoke(runner, args)
    assert result.exit_code != 0 and expected in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_hub_id_offline_names_the_packaged_aliases(runner, demo_splits, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    args = tiny_train_args(demo_splits, "Qwen/Qwen2.5-1.5B", tmp_path / "run", "distillation")
    result = invoke(runner, args)
    assert result.exit_code != 0
    assert "cannot be downloaded here" in result.output and "minilm" in result.output and "smollm2-135m" in result.output


def test_bad_data_and_output_dirs(runner, demo_splits, tiny_encoder, tmp_path):
    missing = invoke(runner, tiny_train_args(tmp_path / "nowhere", tiny_encoder, tmp_path / "r1"))
    assert missing.exit_code != 0 and "filterforge prepare investment-risk/v2" in missing.output

    other = tmp_path / "other"
    other.mkdir()
    row = json.loads((demo_splits / "train.jsonl").read_text().splitlines()[0])
    row["dimension_names"] = ["a", "b"]
    row["labels"] = [1, 2]
    for split in ("train", "val"):
        (other / f"{split}.jsonl").write_text(json.dumps(row) + "\n")
    mismatch = invoke(runner, tiny_train_args(other, tiny_encoder, tmp_path / "r2"))
    assert mismatch.exit_code != 0 and "differ from filter investment-risk/v2" in mismatch.output

    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("x")
    not_empty = invoke(runner, tiny_train_args(demo_splits, tiny_encoder, busy))
    assert not_empty.exit_code != 0 and "not empty" in not_empty.output and "--overwrite" in not_empty.output
    assert sorted(p.name for p in busy.iterdir()) == ["keep.txt"]


def test_corrupted_checkpoint_on_resume(runner, demo_splits, tiny_encoder, tmp_path):
    out = tmp_path / "run"
    assert invoke(runner, tiny_train_args(demo_splits, tiny_encoder, out, "distillation", "--max-steps", "3")).exit_code == 0
    (out / "checkpoint" / "optimizer.safetensors").write_bytes(b"not a safetensors file")
    result = invoke(runner, tiny_train_args(demo_splits, tiny_encoder, out, "distillation", "--resume"))
    assert result.exit_code != 0 and "checkpoint" in result.output and "corrupted" in result.output
    assert "Traceback" not in result.output


def test_nan_loss_stops_with_a_message(runner, demo_splits, tiny_encoder, tmp_path):
    out = tmp_path / "run"
    args = tiny_train_args(demo_splits, tiny_encoder, out, "distillation", "--head-learning-rate", "1e30",
                           "--learning-rate", "1e30")
    result = invoke(runner, args)
    assert result.exit_code != 0
    assert "training loss became" in result.output and "lower --learning-rate" in result.output


def test_training_on_few_articles_points_to_the_embedding_probe(runner, demo_splits, tiny_encoder, tmp_path):
    args = [a for a in tiny_train_args(demo_splits, tiny_encoder, tmp_path / "run") if a != "--quiet"]
    result = invoke(runner, args)
    assert result.exit_code == 0, result.output
    assert "--method embedding-probe" in result.output and "train articles" in result.output
    meta = json.loads((tmp_path / "run" / "training_metadata.json").read_text())
    steps = meta["config"]["epochs"] * -(-meta["train_examples"] // meta["config"]["batch_size"])
    assert f"{steps} optimizer steps in {meta['config']['epochs']} epochs" in result.output
