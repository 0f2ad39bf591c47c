"""`filterforge filters`: one broken filter package is named on its own line; the good ones are still listed."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import invoke

GOOD = "name: spare\nversion: 1\ndimensions:\n  - {name: risk, weight: 1, description: how risky}\n"
BROKEN = {
    "malformed-yaml": ("name: x\nversion: 1\ndimensions: [\n", "malformed YAML"),
    "no-dimensions": ("name: x\nversion: 1\n", "'dimensions'"),
    "dimension-not-a-mapping": ("name: x\nversion: 1\ndimensions:\n  - risk\n", "invalid filter definition"),
    "unknown-dimension-in-tier": ("name: x\nversion: 1\ndimensions:\n  - {name: risk, weight: 1}\n"
                                  "tiers:\n  - {name: HIGH, when: 'macro >= 7'}\n", "unknown dimension 'macro'"),
    "not-a-mapping": ("- just\n- a list\n", "expected a mapping"),
}


def write_package(root: Path, name: str, text: str | bytes) -> Path:
    package = root / name / "v1"
    package.mkdir(parents=True)
    path = package / "filter.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


@pytest.fixture
def filter_root(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "extra-filters"
    root.mkdir()
    monkeypatch.setenv("FILTERFORGE_FILTERS_PATH", str(root))
    monkeypatch.chdir(tmp_path)
    return root


def bad_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("warning: skipped")]


def test_broken_packages_are_named_and_the_good_ones_listed(runner, filter_root):
    broken = {name: write_package(filter_root, name, text) for name, (text, _) in BROKEN.items()}
    broken["not-utf8"] = write_package(filter_root, "not-utf8", b"name: caf\xe9\nversion: 1\n")
    write_package(filter_root, "spare", GOOD)
    result = invoke(runner, ["filters"])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert "investment-risk/v2" in result.output and "spare/v1" in result.output and "how risky" in result.output
    lines = bad_lines(result.output)
    assert len(lines) == len(broken), lines
    for name, path in broken.items():
        (line,) = [line for line in lines if str(path) in line]
        expected = BROKEN[name][1] if name in BROKEN else "not UTF-8"
        assert expected in line, (name, line)


def test_only_broken_packages_exit_1(runner, filter_root, monkeypatch):
    from filterforge.plugins.builtins import filter_paths

    monkeypatch.setattr(filter_paths, "SOURCE_TREE_FILTERS", filter_root / "absent")
    path = write_package(filter_root, "broken", BROKEN["no-dimensions"][0])
    result = invoke(runner, ["filters"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    (line,) = bad_lines(result.output)
    assert str(path) in line
    assert result.output.strip().splitlines()[-1].startswith("Error: ")


def test_all_good_packages_print_no_warning(runner, filter_root):
    write_package(filter_root, "spare", GOOD)
    result = invoke(runner, ["filters"])
    assert result.exit_code == 0, result.output
    assert not bad_lines(result.output) and "spare/v1" in result.output


def test_the_listing_shows_overall_caps_and_tiers(runner, filter_root):
    write_package(filter_root, "spare", GOOD + "overall:\n  caps:\n    - {when: 'risk < 2', max: 1.5}\n"
                  "tiers:\n  - {name: HIGH, when: 'overall >= 7'}\n  - {name: LOW, default: true}\n")
    result = invoke(runner, ["filters"])
    assert result.exit_code == 0, result.output
    block = result.output.split("spare/v1", 1)[1]
    assert "overall at most 1.5 when risk < 2" in block and "tiers: HIGH, LOW" in block
