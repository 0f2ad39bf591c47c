"""Filter packages: the overall score (weighted average, lowered by the caps of the `overall` section before
any tier is decided), tiers on it, one-line errors naming file:line, reserved names, the real-data packages'
source tiers, and packages written before the overall score still loading unchanged."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from conftest import REPO
from filterforge.errors import FilterforgeError
from filterforge.filters.spec import load_filter, resolve_filter

HEADER = """\
name: gadget
version: 1
dimensions:
  - {name: impact, weight: 0.5}
  - {name: credibility, weight: 0.3}
  - {name: cost, weight: 0.2}
  - {name: notes, weight: 0}
"""
OVERALL = """\
overall:
  description: What the caps do.
  caps:
    - name: credibility_gatekeeper
      when: "credibility < 5"
      max: 4.0
      description: Unverified claims stay low.
    - when: {all: ["cost < 2", "impact < 9"]}
      max: 6
"""
TIERS = """\
tiers:
  - name: HIGH
    when: "overall >= 7"
  - name: MID
    when: "overall >= 4"
  - name: LOW
    default: true
"""


def package(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "gadget" / "v1"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "filter.yaml").write_text(textwrap.dedent(text))
    return folder


def spec_of(tmp_path: Path, text: str = HEADER + OVERALL + TIERS):
    return load_filter(package(tmp_path, text))


def load_error(tmp_path: Path, text: str) -> str:
    folder = package(tmp_path, text)
    with pytest.raises(FilterforgeError) as excinfo:
        load_filter(folder)
    message = str(excinfo.value)
    assert "\n" not in message
    return message


def line_of(text: str, fragment: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), start=1) if fragment in line)


# -- the overall score and its caps ------------------------------------------------------------

def test_overall_is_the_weighted_average_of_the_dimensions(tmp_path):
    spec = spec_of(tmp_path)
    assert spec.has_overall
    scores = {"impact": 8.0, "credibility": 6.0, "cost": 7.0, "notes": 0.0}
    assert spec.overall(scores) == pytest.approx(0.5 * 8 + 0.3 * 6 + 0.2 * 7)
    assert spec.overall([8.0, 6.0, 7.0, 0.0]) == spec.overall(scores)  # positional scores too
    assert [cap.name for cap in spec.overall_caps] == ["credibility_gatekeeper", "cap #2"]
    assert spec.overall_caps[1].when == "{'all': ['cost < 2', 'impact < 9']}"


@pytest.mark.parametrize("scores, overall, tier", [
    ([9, 9, 9, 0], 9.0, "HIGH"),
    ([9, 4, 9, 0], 4.0, "MID"),   # credibility below 5: capped at 4 before the tiers
    ([10, 4.9, 10, 0], 4.0, "MID"),
    ([3, 2, 3, 0], 2.7, "LOW"),   # under the cap already: the cap only ever lowers
    ([8, 9, 1, 0], 6.0, "MID"),   # the second cap (any condition tree) holds
    ([9, 9, 1, 0], 7.4, "HIGH"),  # ... and no longer holds
    ([8, 4, 1, 0], 4.0, "MID"),   # both hold: the lowest max wins
])
def test_caps_apply_to_the_overall_score_before_the_tiers(tmp_path, scores, overall, tier):
    spec = spec_of(tmp_path)
    assert spec.overall(scores) == pytest.approx(overall)
    assert spec.tier(scores) == tier


def test_float_noise_of_the_weights_does_not_drop_a_score_below_its_threshold():
    spec = resolve_filter("sustainability/v1")
    assert sum(w * 3 for w in spec.weights) / sum(spec.weights) < 3.0  # the raw float sum is 2.9999999999999996
    assert spec.overall([3] * 8) == 3.0
    assert spec.tier([3] * 8) == "monitoring"
    assert spec.tier([5] * 8) == "promising"


def test_tiers_without_overall_do_not_need_every_dimension(tmp_path):
    spec = spec_of(tmp_path, HEADER + OVERALL + "tiers:\n  - {name: BIG, when: 'impact >= 7'}\n  - {name: REST, default: true}\n")
    assert spec.tier({"impact": 8.0}) == "BIG"


# -- one-line errors naming file:line ------------------------------------------------------------

@pytest.mark.parametrize("section, fragment, marker", [
    (OVERALL.replace('"credibility < 5"', '"credibilty < 5"'), "overall cap 'credibility_gatekeeper': "
     "'credibilty < 5': unknown dimension 'credibilty'", 'when: "credibilty'),
    (OVERALL.replace("max: 4.0", "maximum: 4.0"), "overall cap #1: unknown key 'maximum' (known: name, description, "
     "when, max)", "maximum:"),
    (OVERALL.replace("max: 4.0", "max: four"), "overall cap 'credibility_gatekeeper': 'max' must be a number, got "
     "'four'", "max: four"),
    (OVERALL.replace("      max: 4.0\n", ""), "overall cap 'credibility_gatekeeper': 'max' must be a number, got None",
     "- name: credibility_gatekeeper"),
    (OVERALL.replace('      when: "credibility < 5"\n', ""), "overall cap 'credibility_gatekeeper' needs 'when'",
     "- name: credibility_gatekeeper"),
    (OVERALL.replace('"credibility < 5"', '"overall > 8"'), "its condition reads overall, which the caps decide",
     'when: "overall > 8"'),
    (OVERALL.replace('"credibility < 5"', '"tier == HIGH"'), "its condition reads tier, which the caps decide",
     'when: "tier == HIGH"'),
    (OVERALL.replace("  description: What the caps do.", "  gatekeeper: credibility"), "'overall': unknown key "
     "'gatekeeper' (known: description, caps)", "gatekeeper:"),
    ("overall:\n  caps: {when: 'credibility < 5', max: 4}\n", "'caps' must be a list", "caps: {"),
])
def test_a_bad_overall_section_names_file_and_line(tmp_path, section, fragment, marker):
    text = HEADER + section + TIERS
    message = load_error(tmp_path, text)
    path = tmp_path / "gadget" / "v1" / "filter.yaml"
    assert message.startswith(f"{path}:{line_of(text, marker)}: "), message
    assert fragment in message, message


@pytest.mark.parametrize("tiers, fragment, marker", [
    (TIERS.replace('"overall >= 7"', '"overal >= 7"'), "tier 'HIGH': 'overal >= 7': unknown dimension 'overal'",
     "overal >= 7"),
    (TIERS.replace("    when: \"overall >= 4\"", "    threshold: 4.0"), "tier #2: unknown key 'threshold' (known: name, "
     "description, when, default)", "threshold:"),
    (TIERS.replace("    when: \"overall >= 4\"\n", ""), "tier 'MID' needs 'when'", "- name: MID"),
    (TIERS.replace("name: MID", "name: HIGH"), "tier 'HIGH' is defined twice", "- name: HIGH"),
    (TIERS.replace("  - name: LOW", "  - description: the rest"), "tier #3 needs a 'name'", "- description: the rest"),
])
def test_a_bad_tier_names_file_and_line(tmp_path, tiers, fragment, marker):
    text = HEADER + OVERALL + tiers
    message = load_error(tmp_path, text)
    assert message.startswith(f"{tmp_path / 'gadget' / 'v1' / 'filter.yaml'}:{line_of(text, marker)}: "), message
    assert fragment in message, message


def test_overall_needs_dimension_weights(tmp_path):
    weightless = HEADER.replace("weight: 0.5", "weight: 0").replace("weight: 0.3", "weight: 0").replace("weight: 0.2", "weight: 0")
    message = load_error(tmp_path, weightless + TIERS)
    assert f"filter.yaml:{line_of(weightless + TIERS, 'overall >= 7')}: tier 'HIGH': 'overall >= 7'" in message
    assert "needs dimension weights above 0" in message
    message = load_error(tmp_path, weightless + OVERALL)
    assert f"filter.yaml:{line_of(weightless + OVERALL, 'caps:')}: overall caps need dimension weights" in message
    assert not load_filter(package(tmp_path, weightless)).has_overall


@pytest.mark.parametrize("name", ["overall", "all", "signal", "tier"])
def test_reserved_words_cannot_name_a_dimension(tmp_path, name):
    text = HEADER.replace("name: notes", f"name: {name}")
    message = load_error(tmp_path, text)
    assert f"filter.yaml:{line_of(text, f'name: {name}')}: '{name}' cannot name a dimension" in message


def test_a_dimension_defined_twice_is_refused(tmp_path):
    text = HEADER.replace("name: notes", "name: cost")
    assert f"filter.yaml:{line_of(text, 'name: cost, weight: 0}')}: dimension 'cost' is defined twice" in \
        load_error(tmp_path, text)


def test_a_negative_weight_is_refused(tmp_path):
    text = HEADER.replace("weight: 0.2", "weight: -0.2")
    assert f"filter.yaml:{line_of(text, 'weight: -0.2')}: dimension 'cost': weight must be a number >= 0" in \
        load_error(tmp_path, text)


# -- the real-data packages and older packages ------------------------------------------------

def test_sustainability_has_the_source_tiers_and_gatekeeper():
    spec = resolve_filter("sustainability/v1")
    assert spec.tier_names == ["breakthrough", "promising", "monitoring", "not_relevant"]
    assert [(cap.when, cap.max) for cap in spec.overall_caps] == [("technical_credibility < 5", 4.0)]
    assert spec.weights == [0.25, 0.20, 0.15, 0.15, 0.10, 0.05, 0.05, 0.05]
    vectors = {"breakthrough": [8] * 8, "promising": [6] * 8, "monitoring": [3, 6, 3, 3, 3, 3, 3, 3],
               "not_relevant": [1, 6, 1, 1, 1, 1, 1, 1]}
    for tier, vector in vectors.items():
        assert spec.tier(vector) == tier, vector
    assert spec.tier([9, 4, 9, 9, 9, 9, 9, 9]) == "monitoring"  # overall 8.0, capped at 4.0


def test_ai_engineering_practice_has_the_source_tiers_and_gatekeeper():
    spec = resolve_filter("ai-engineering-practice/v1")
    assert spec.tier_names == ["high", "medium", "low"]
    assert [(cap.when, cap.max) for cap in spec.overall_caps] == [("methodological_rigor < 3", 3.0)]
    assert [spec.tier(v) for v in ([7] * 5, [4] * 5, [3.9] * 5, [9, 9, 2, 9, 9])] == ["high", "medium", "low", "low"]


def test_commerce_prefilter_keeps_the_label_rule_and_seece_its_single_tier():
    commerce = resolve_filter("commerce-prefilter/v1")
    assert [commerce.tier([s]) for s in (7.0, 6.9, 3.0, 2.9)] == ["COMMERCE", "MIXED", "MIXED", "JOURNALISM"]
    assert commerce.has_several_tiers and not commerce.overall_caps
    seece = resolve_filter("seece-energy-tech/v1")
    assert seece.tier_names == ["ALL"] and not seece.has_several_tiers
    assert seece.overall([3.0] * 13) == 3.0


@pytest.mark.parametrize("filter_id", ["sustainability/v1", "seece-energy-tech/v1", "commerce-prefilter/v1",
                                       "ai-engineering-practice/v1"])
def test_real_data_packages_cite_their_dataset_by_a_relative_path(filter_id):
    text = resolve_filter(filter_id).yaml_path.read_text()
    assert "/work/" not in text
    assert f"../shared/datasets/{filter_id.split('/')[0]}/dimensions.json" in text


@pytest.mark.parametrize("folder", [REPO / "filters" / "investment-risk" / "v2",
                                    REPO / "tests" / "runs" / "fixtures" / "run-0.1.0" / "model"])
def test_packages_without_an_overall_section_load_as_before(folder):
    spec = load_filter(folder)
    assert spec.tier_names == ["RED", "YELLOW", "GREEN", "NOISE", "BLUE"] and spec.has_several_tiers
    assert spec.overall_caps == [] and spec.has_overall
    scores = [7, 0, 0, 0, 0, 0, 5, 5]
    assert spec.tier(scores) == "RED"
    assert spec.overall(scores) == pytest.approx(spec.weighted_average(scores))
