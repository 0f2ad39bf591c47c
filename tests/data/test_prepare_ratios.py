"""`prepare` refuses split ratios that are not finite numbers >= 0 summing to 1, in one line, writing nothing."""

from __future__ import annotations

import json

import pytest

from conftest import assert_one_line_error, invoke


def scored_rows(path, n: int = 20):
    dimensions = ["macro_risk_severity", "credit_market_stress", "market_sentiment_extremes", "valuation_risk",
                  "policy_regulatory_risk", "systemic_risk", "evidence_quality", "actionability"]
    rows = [{"id": f"a{i}", "title": f"Headline {i}", "content": f"Article {i} about credit spreads.",
             "investment-risk_analysis": {d: {"score": i % 10} for d in dimensions}} for i in range(n)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.mark.parametrize(
    "flag, value, shown",
    [
        ("--train-ratio", "nan", "train nan"),
        ("--val-ratio", "inf", "val inf"),
        ("--test-ratio", "-0.1", "test -0.1"),
        ("--calibration-ratio", "nan", "calibration nan"),
    ],
)
def test_non_finite_or_negative_ratio_is_refused(runner, tmp_path, flag, value, shown):
    out = tmp_path / "prepared"
    args = ["prepare", "investment-risk/v2", "--input", scored_rows(tmp_path / "scored.jsonl"),
            "--output-dir", out, flag, value]
    assert_one_line_error(invoke(runner, args), "split ratios must be finite numbers >= 0", shown)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".prepared")]
