"""The plugin core through the command line: plugins, strategies, heads, filters, conflicts, loading."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

import filterforge
from conftest import REPO, invoke
from filterforge.plugins.hookspecs import hookimpl
from filterforge.plugins.manager import DEFAULT_PLUGINS, pm, register_plugin

BUILTINS = {module.rsplit(".", 1)[-1] for module in DEFAULT_PLUGINS}
INVESTMENT_RISK_DIMENSIONS = [
    "macro_risk_severity", "credit_market_stress", "market_sentiment_extremes", "valuation_risk",
    "policy_regulatory_risk", "systemic_risk", "evidence_quality", "actionability",
]


def run_filterforge(args: list[str], env_overrides: dict[str, str | None], extra_path: Path | None = None):
    """`python -m filterforge ARGS` in a fresh interpreter (plugins are loaded once per process)."""
    env = {**os.environ}
    for key, value in env_overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    if extra_path is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(extra_path), env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "filterforge", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def throwaway_plugin():
    """Register a plugin module for one test and unregister it afterwards, whatever happens."""
    registered = []

    def register(name: str, **hooks) -> None:
        module = types.ModuleType(name)
        for hook_name, function in hooks.items():
            setattr(module, hook_name, hookimpl(function))
        register_plugin(module, name)
        registered.append(name)

    try:
        yield register
    finally:
        for name in registered:
            pm.unregister(name=name)


# -- filterforge plugins ----------------------------------------------------------------------

def test_plugins_lists_builtins_as_json(runner):
    result = invoke(runner, ["plugins"])
    assert result.exit_code == 0, result.output
    listing = json.loads(result.output)
    by_name = {entry["name"]: entry for entry in listing}
    assert BUILTINS <= set(by_name)
    for name in BUILTINS:
        assert by_name[name]["builtin"] is True
        assert by_name[name]["version"] == filterforge.__version__
    assert by_name["strategies"]["hooks"] == ["register_strategies"]
    assert by_name["heads"]["hooks"] == ["register_heads", "register_poolings"]
    assert by_name["commands"]["hooks"] == ["register_commands"]
    assert by_name["prefilter"]["hooks"] == ["prefilter_article"]
    implemented = {hook for entry in listing for hook in entry["hooks"]}
    assert {"register_model_sources", "register_filter_paths"} <= implemented


def test_plugins_lists_the_installed_head_tail_plugin(runner):
    try:
        version = importlib.metadata.version("filterforge-head-tail")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("filterforge-head-tail is not installed (pip install -e plugins/filterforge-head-tail)")
    if os.environ.get("FILTERFORGE_LOAD_PLUGINS") is not None:
        pytest.skip("FILTERFORGE_LOAD_PLUGINS is set: third-party plugins may be filtered out")
    result = invoke(runner, ["plugins"])
    assert result.exit_code == 0, result.output
    entry = next(e for e in json.loads(result.output) if e["name"] == "filterforge-head-tail")
    assert entry == {"name": "filterforge-head-tail", "version": version, "hooks": ["register_strategies"]}


def test_plugin_registered_in_code_is_listed(runner, throwaway_plugin):
    throwaway_plugin("lister_test", register_filter_paths=lambda register: None)
    result = invoke(runner, ["plugins"])
    entry = next(e for e in json.loads(result.output) if e["name"] == "lister_test")
    assert entry["hooks"] == ["register_filter_paths"] and entry["builtin"] is False


# -- strategies, heads, filters ---------------------------------------------------------------

def _listing(output: str) -> dict[str, str]:
    return {line.split()[0]: line for line in output.splitlines() if line and not line.endswith(":")}


def test_strategies_lists_builtins_with_descriptions(runner):
    result = invoke(runner, ["strategies"])
    assert result.exit_code == 0, result.output
    lines = _listing(result.output)
    assert {"distillation", "instruction"} <= set(lines)
    assert "without seeing the prompt" in lines["distillation"] and lines["distillation"].endswith("[strategies]")
    assert "prompt.md" in lines["instruction"]


def test_strategy_from_a_plugin_is_listed(runner, throwaway_plugin):
    from filterforge.encoding.strategies import Strategy

    class KeepEnd(Strategy):
        name = "keep-end-test"
        description = "Keeps the end of long articles."

    throwaway_plugin("keep_end_test", register_strategies=lambda register: register(KeepEnd))
    lines = _listing(invoke(runner, ["strategies"]).output)
    assert lines["keep-end-test"].endswith("Keeps the end of long articles.  [keep_end_test]")


def test_heads_lists_heads_and_poolings(runner):
    result = invoke(runner, ["heads"])
    assert result.exit_code == 0, result.output
    heads_part, poolings_part = result.output.split("poolings:")
    assert result.output.startswith("heads:")
    assert {"regression", "mlp"} <= set(_listing(heads_part))
    assert {"mean", "last-token", "cls"} <= set(_listing(poolings_part))
    assert all(line.endswith("[heads]") for line in _listing(result.output).values())


def test_filters_lists_investment_risk_with_its_eight_dimensions(runner):
    result = invoke(runner, ["filters"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("investment-risk/v2 "))
    dimensions = []
    for line in lines[start + 1:]:
        if not line.startswith("    "):
            break
        if " weight " in line:  # the caps and tiers lines follow the dimensions
            dimensions.append(line.split()[0])
    assert dimensions == INVESTMENT_RISK_DIMENSIONS
    assert any(line.strip().startswith("tiers:") for line in lines[start + 1:start + 12])
    assert "weight 0.25" in lines[start + 1]  # macro_risk_severity
    for other in ("sustainability/v1", "seece-energy-tech/v1", "commerce-prefilter/v1"):
        assert any(line.startswith(other + " ") for line in lines), other


# -- conflicts --------------------------------------------------------------------------------

def test_duplicate_strategy_name_is_an_error_naming_both_plugins(runner, throwaway_plugin):
    from filterforge.encoding.strategies import Strategy

    class Impostor(Strategy):
        name = "distillation"
        description = "Same name as the built-in."

    throwaway_plugin("impostor_plugin", register_strategies=lambda register: register(Impostor))
    result = invoke(runner, ["strategies"])
    assert result.exit_code == 1
    message = result.output.strip()
    assert message.startswith("Error: strategy 'distillation' is registered twice")
    assert "'strategies'" in message and "'impostor_plugin'" in message
    assert "Traceback" not in result.output and len(message.splitlines()) == 1


def test_duplicate_head_name_is_an_error_naming_both_plugins(runner, throwaway_plugin):
    class FakeHead:
        name = "mlp"
        description = "Same name as the built-in."

    throwaway_plugin("head_clash", register_heads=lambda register: register(FakeHead))
    result = invoke(runner, ["heads"])
    assert result.exit_code == 1
    assert "head 'mlp' is registered twice" in result.output
    assert "'heads'" in result.output and "'head_clash'" in result.output


def test_a_taken_plugin_name_is_refused_and_nothing_leaks(runner, throwaway_plugin):
    # guards the fixture: a leaked plugin would break every later test
    with pytest.raises(ValueError):  # pluggy refuses a second plugin under the same name
        throwaway_plugin("strategies")
    assert invoke(runner, ["strategies"]).exit_code == 0


# -- loading third-party plugins (fresh interpreters) -----------------------------------------

@pytest.fixture(scope="module")
def fake_distribution(tmp_path_factory) -> Path:
    """A folder that, on PYTHONPATH, looks like an installed distribution with a `filterforge` entry point."""
    root = tmp_path_factory.mktemp("site")
    (root / "ff_fake_plugin.py").write_text(
        "from filterforge.plugins.hookspecs import hookimpl\n\n"
        "@hookimpl\n"
        "def register_filter_paths(register):\n"
        "    pass\n"
    )
    dist_info = root / "ff_fake_plugin-3.1.4.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: ff-fake-plugin\nVersion: 3.1.4\n")
    (dist_info / "entry_points.txt").write_text("[filterforge]\nfake = ff_fake_plugin\n")
    return root


def _names(completed) -> list[str]:
    assert completed.returncode == 0, completed.stderr
    return [entry["name"] for entry in json.loads(completed.stdout)]


def test_entry_point_plugins_are_loaded_by_default(fake_distribution):
    completed = run_filterforge(["plugins"], {"FILTERFORGE_LOAD_PLUGINS": None}, fake_distribution)
    listing = {entry["name"]: entry for entry in json.loads(completed.stdout)}
    assert listing["ff-fake-plugin"] == {"name": "ff-fake-plugin", "version": "3.1.4", "hooks": ["register_filter_paths"]}


def test_empty_load_plugins_loads_no_third_party_plugin(fake_distribution):
    names = _names(run_filterforge(["plugins"], {"FILTERFORGE_LOAD_PLUGINS": ""}, fake_distribution))
    assert set(names) == BUILTINS  # neither the fake plugin nor an installed head-tail


@pytest.mark.parametrize("selection", ["fake", "ff-fake-plugin", " nothing-else , fake "])
def test_load_plugins_selects_by_entry_point_or_distribution_name(fake_distribution, selection):
    names = _names(run_filterforge(["plugins"], {"FILTERFORGE_LOAD_PLUGINS": selection}, fake_distribution))
    assert set(names) == BUILTINS | {"ff-fake-plugin"}


# -- start-up cost ----------------------------------------------------------------------------

def test_help_imports_no_torch():
    code = (
        "import sys\n"
        "from filterforge.cli import build_cli\n"
        "build_cli()\n"
        "heavy = sorted(m for m in ('torch', 'transformers', 'onnx', 'onnxruntime', 'optimum', 'sklearn', 'matplotlib')"
        " if m in sys.modules)\n"
        "print(heavy)\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"
    completed = subprocess.run([sys.executable, "-m", "filterforge", "--help"], capture_output=True, text=True,
                               timeout=60, cwd=REPO)
    assert completed.returncode == 0 and "prepare" in completed.stdout
