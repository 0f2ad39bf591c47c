"""The head-tail strategy: truncation, registration with filterforge, a one-epoch training."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from tests.conftest import invoke, tiny_train_args

PLUGIN_SRC = Path(__file__).resolve().parents[1] / "src"
if importlib.util.find_spec("filterforge_head_tail") is None:  # not pip-installed: import from the source tree
    sys.path.insert(0, str(PLUGIN_SRC))

import filterforge_head_tail  # noqa: E402
from filterforge.errors import FilterforgeError  # noqa: E402
from filterforge.filters.spec import resolve_filter  # noqa: E402
from filterforge.plugins.manager import get_strategies, load_plugins, pm, register_plugin  # noqa: E402
from filterforge_head_tail import HeadTail  # noqa: E402

PLUGIN_NAME = "head_tail"


def strategy(**options) -> HeadTail:
    # truncate() needs neither the filter nor the tokenizer
    return HeadTail(filter_spec=None, tokenizer=None, options=options)


@pytest.fixture
def registered():
    """The plugin registered through `register_plugin`, as an entry point would; restored afterwards."""
    load_plugins()
    installed = pm.get_plugin(PLUGIN_NAME)
    if installed is not None:
        pm.unregister(name=PLUGIN_NAME)
    register_plugin(filterforge_head_tail, PLUGIN_NAME)
    try:
        yield
    finally:
        pm.unregister(name=PLUGIN_NAME)
        if installed is not None:
            pm.register(installed, name=PLUGIN_NAME)


# -- truncation -------------------------------------------------------------------------------

def test_long_article_keeps_head_and_tail():
    ids = list(range(1000))
    kept = strategy(head_tokens=3).truncate(ids, 10)
    assert kept == [0, 1, 2, 993, 994, 995, 996, 997, 998, 999]


def test_default_head_is_128_and_tail_gets_the_rest():
    ids = list(range(2000))
    kept = strategy().truncate(ids, 510)
    assert len(kept) == 510
    assert kept[:128] == ids[:128]
    assert kept[128:] == ids[-382:]


@pytest.mark.parametrize("length", [0, 1, 9, 10])
def test_articles_that_fit_are_untouched(length):
    ids = list(range(length))
    assert strategy(head_tokens=3).truncate(ids, 10) == ids


@pytest.mark.parametrize("head_tokens", [0, 1, 5, 9, 10, 11, 500])
@pytest.mark.parametrize("budget", [0, 1, 10, 37])
def test_kept_tokens_never_exceed_the_budget(head_tokens, budget):
    ids = list(range(100))
    kept = strategy(head_tokens=head_tokens).truncate(ids, budget)
    assert len(kept) == budget
    head = min(head_tokens, budget)
    assert kept[:head] == ids[:head]
    assert kept[head:] == (ids[len(ids) - (budget - head):] if budget > head else [])


def test_head_larger_than_budget_keeps_only_the_head():
    assert strategy(head_tokens=50).truncate(list(range(100)), 8) == list(range(8))


def test_option_from_command_line_string_and_negative_rejected():
    assert strategy(head_tokens="64").settings["head_tokens"] == 64
    with pytest.raises(FilterforgeError, match="head_tokens must be >= 0"):
        strategy(head_tokens=-1)
    with pytest.raises(FilterforgeError, match="no option 'tail_tokens'"):
        strategy(tail_tokens=5)


def test_encode_keeps_the_template_and_the_articles_last_words(tiny_encoder):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_encoder))
    words = ("bank " * 150 + "crisis " * 150).split()  # 300 article tokens with the word-level tokenizer
    head_tail = HeadTail(filter_spec=None, tokenizer=tokenizer, options={"head_tokens": 20})
    encoded = head_tail.encode({"title": "", "content": " ".join(words)}, max_length=64)
    assert len(encoded.input_ids) == 64
    assert encoded.article_tokens == 62 and encoded.article_tokens_total == 300
    tokens = tokenizer.convert_ids_to_tokens(encoded.input_ids)
    assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]"
    assert tokens[1:21] == ["bank"] * 20 and tokens[21:-1] == ["crisis"] * 42


# -- registration -----------------------------------------------------------------------------

def test_registered_strategy_is_found(registered):
    strategies = get_strategies()
    assert strategies["head-tail"] is HeadTail
    assert HeadTail.plugin_name == PLUGIN_NAME


def test_listed_by_filterforge_strategies(registered, runner):
    result = invoke(runner, ["strategies"])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if line.startswith("head-tail"))
    assert "first head_tokens" in line and f"[{PLUGIN_NAME}]" in line


def test_listed_by_filterforge_plugins(registered, runner):
    result = invoke(runner, ["plugins"])
    assert result.exit_code == 0, result.output
    hooks = {entry["name"]: entry["hooks"] for entry in json.loads(result.output)}
    name = "filterforge-head-tail" if "filterforge-head-tail" in hooks else PLUGIN_NAME
    assert hooks[name] == ["register_strategies"]


# -- training ---------------------------------------------------------------------------------

def test_one_epoch_training_with_head_tail(registered, runner, tiny_encoder, demo_splits, tmp_path):
    from filterforge.runs.run import Run
    from filterforge.runtime.loader import load_predictor

    out = tmp_path / "run"
    args = tiny_train_args(demo_splits, tiny_encoder, out, "head-tail", "--strategy-option", "head_tokens=64")
    result = invoke(runner, args)
    assert result.exit_code == 0, result.output
    metadata = json.loads((out / "training_metadata.json").read_text())
    assert metadata["strategy"] == "head-tail"
    assert metadata["strategy_options"] == {"head_tokens": 64}
    budget = metadata["token_budget"]
    assert budget["article_tokens_kept_max"] <= 192 - 2  # --max-length minus [CLS] and [SEP]
    assert budget["share_truncated"] > 0, "the demo data should have articles longer than the budget"

    # the saved run rebuilds the same strategy (with its option) for prediction
    predictor = load_predictor(Run.open(out), runtime="torch")
    assert predictor.strategy.name == "head-tail" and predictor.strategy.settings["head_tokens"] == 64
    spec = resolve_filter("investment-risk/v2")
    rows = [json.loads(line) for line in (demo_splits / "test.jsonl").read_text().splitlines()[:3]]
    predictions = predictor.predict(rows)
    assert predictions.shape == (3, len(spec.dimension_names))
    assert ((predictions >= 0) & (predictions <= 10)).all()
