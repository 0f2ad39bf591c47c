import json

import pytest

from conftest import invoke, train_tiny_run


def _groups(model_dir, decay):
    from transformers import AutoModel

    from filterforge.training.optim import layer_wise_groups

    body = AutoModel.from_pretrained(str(model_dir))
    named = list(body.named_parameters())
    return named, layer_wise_groups(named, 1e-3, decay)


def _rate_of(groups, param):
    return next(g["lr"] for g in groups if any(p is param for p in g["params"]))


@pytest.mark.parametrize("kind", ["tiny_encoder", "tiny_decoder"])
def test_lower_layers_train_slower_and_every_parameter_is_in_one_group(kind, request):
    named, groups = _groups(request.getfixturevalue(kind), 0.5)
    assert sum(len(g["params"]) for g in groups) == len(named)
    assert len({id(p) for g in groups for p in g["params"]}) == len(named)
    rates = {name: _rate_of(groups, p) for name, p in named}
    top = [r for n, r in rates.items() if ".1." in n]
    below = [r for n, r in rates.items() if ".0." in n]
    embeddings = [r for n, r in rates.items() if "embed" in n]
    assert set(top) == {1e-3} and set(below) == {5e-4} and set(embeddings) == {2.5e-4}


def test_no_decay_is_one_group(tiny_encoder):
    named, groups = _groups(tiny_encoder, 1.0)
    assert len(groups) == 1 and len(groups[0]["params"]) == len(named)


def test_train_records_the_decay_and_refuses_an_impossible_one(runner, demo_splits, tiny_encoder, tmp_path):
    from conftest import assert_one_line_error, tiny_train_args

    result = invoke(runner, tiny_train_args(demo_splits, tiny_encoder, tmp_path / "bad", "distillation",
                                            "--layer-lr-decay", "0"))
    assert_one_line_error(result, "--layer-lr-decay")
    run = train_tiny_run(tmp_path / "run", demo_splits, tiny_encoder, "distillation", "--layer-lr-decay", "0.8")
    assert json.loads((run / "training_metadata.json").read_text())["layer_lr_decay"] == 0.8


def _metadata(run):
    return json.loads((run / "training_metadata.json").read_text())


def test_unset_settings_come_from_the_model_kinds_recipe(demo_splits, tiny_encoder, tiny_decoder, tmp_path):
    from filterforge.training.config import recipes

    encoder = _metadata(train_tiny_run(tmp_path / "enc", demo_splits, tiny_encoder))
    decoder = _metadata(train_tiny_run(tmp_path / "dec", demo_splits, tiny_decoder, "distillation", "--layer-lr-decay", "0.5"))
    assert encoder["recipe"] == "encoder" and decoder["recipe"] == "decoder"
    assert encoder["layer_lr_decay"] == recipes()["encoder"]["layer_lr_decay"]
    assert decoder["layer_lr_decay"] == 0.5  # given beats the recipe
    assert encoder["learning_rate"] == decoder["learning_rate"] == 1e-3  # tiny_train_args gives it


def test_train_help_shows_each_recipe_value(runner):
    from filterforge.training.config import recipes

    result = invoke(runner, ["train", "--help"])
    assert f"encoder {recipes()['encoder']['learning_rate']}" in " ".join(result.output.split())
