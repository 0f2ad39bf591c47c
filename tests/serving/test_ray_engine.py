"""`filterforge score --engine ray` writes what local scoring writes: the same ids in the same order, the same
fields, scores within 1e-5, the same invalid rows reported; it resumes and checks the writer record as local
scoring does. Ray runs on this machine (2 CPUs); the tests skip where the ray extra is not installed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import assert_one_line_error, invoke, train_tiny_run

ARTICLES = 300


@pytest.fixture(scope="module")
def ray_session():
    """One local Ray of 2 CPUs for the module: `score` joins it rather than starting its own."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def run(tmp_path_factory, demo_splits, tiny_encoder) -> Path:
    return train_tiny_run(tmp_path_factory.mktemp("ray-engine") / "run", demo_splits, tiny_encoder, "distillation",
                          "--max-train-examples", "32")


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A few hundred demo articles, with invalid rows, a duplicate id and an article the prefilter rejects."""
    from filterforge.data.demo import generate_demo_articles

    articles = [{"id": a["id"], "title": a["title"], "content": a["content"]} for a in generate_demo_articles(ARTICLES, seed=11)]
    lines = [json.dumps(a) for a in articles]
    lines.insert(10, "{not json")
    lines.insert(50, json.dumps({"title": "No id here", "content": "x" * 40}))
    lines.insert(90, json.dumps({"id": "short", "title": "Hi", "content": "short"}))
    lines.insert(120, json.dumps(articles[3]))
    lines.insert(200, json.dumps({"id": 7, "title": ["a", "list"]}))
    path = tmp_path_factory.mktemp("ray-input") / "articles.jsonl"
    path.write_text("".join(line + "\n" for line in lines))
    return path


@pytest.fixture(scope="module")
def local_scoring(run, source, tmp_path_factory):
    from click.testing import CliRunner

    out = tmp_path_factory.mktemp("ray-local") / "local.jsonl"
    result = invoke(CliRunner(), ["score", run, "--input", source, "--output", out])
    assert result.exit_code == 0, result.output
    return out, result.output


@pytest.fixture(scope="module")
def ray_scoring(ray_session, run, source, tmp_path_factory):
    from click.testing import CliRunner

    out = tmp_path_factory.mktemp("ray-ray") / "ray.jsonl"
    result = invoke(CliRunner(), ["score", run, "--input", source, "--output", out, "--engine", "ray", "--workers", "2",
                                  "--batch-size", "8"])
    assert result.exit_code == 0, result.output
    return out, result.output


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _summary(output: str) -> str:
    """The counts `score` prints (`scored ..., N invalid rows, ...`), without timings."""
    return next(line for line in output.splitlines() if line.startswith("scored ")).split(";")[0]


def _reported(output: str, source: Path) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(f"{source}:")]


def test_ray_writes_the_rows_local_scoring_writes(local_scoring, ray_scoring):
    local, ray = _rows(local_scoring[0]), _rows(ray_scoring[0])
    assert [r["id"] for r in ray] == [r["id"] for r in local]
    assert len(local) == ARTICLES + 1  # + the article the prefilter rejected
    for mine, theirs in zip(ray, local):
        assert list(mine) == list(theirs)
        assert {k: v for k, v in mine.items() if k not in ("scores", "weighted_average", "overall")} == \
            {k: v for k, v in theirs.items() if k not in ("scores", "weighted_average", "overall")}
    scored = [(m, t) for m, t in zip(ray, local) if t["scores"] is not None]
    assert len(scored) == ARTICLES
    np.testing.assert_allclose([list(m["scores"].values()) for m, _ in scored],
                               [list(t["scores"].values()) for _, t in scored], atol=1e-5)
    np.testing.assert_allclose([m["weighted_average"] for m, _ in scored], [t["weighted_average"] for _, t in scored],
                               atol=1e-5)
    np.testing.assert_allclose([m["overall"] for m, _ in scored], [t["overall"] for _, t in scored], atol=1e-5)


def test_ray_reports_invalid_rows_as_local_scoring_does(local_scoring, ray_scoring, source):
    assert "on Ray Data actors" in ray_scoring[1] and "Ray: 2 CPU actors" in ray_scoring[1]
    reported = _reported(ray_scoring[1], source)
    assert reported == _reported(local_scoring[1], source)
    assert [line.split(": ", 1)[0] for line in reported] == [f"{source}:{n}" for n in (11, 51, 121, 201)]
    assert _summary(ray_scoring[1]) == _summary(local_scoring[1]) == \
        f"scored {ARTICLES}, prefiltered 1, skipped 0 already in the output, 3 invalid rows, 1 duplicate ids"


def test_ray_resumes_an_interrupted_output(ray_session, run, source, ray_scoring, runner, tmp_path):
    complete = ray_scoring[0].read_text()
    lines = complete.splitlines(keepends=True)
    out = tmp_path / "scores.jsonl"
    kept = 280
    out.write_text("".join(lines[:kept]) + lines[kept][:20])  # killed while writing the next line
    Path(f"{out}.meta.json").write_text(Path(f"{ray_scoring[0]}.meta.json").read_text())
    result = invoke(runner, ["score", run, "--input", source, "--output", out, "--engine", "ray", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert f"{kept} ids already scored are skipped; dropped a partial last line" in result.output
    # The duplicate at line 121 repeats an id of the rows kept: it counts as already scored.
    assert _summary(result.output) == \
        f"scored {ARTICLES + 1 - kept}, prefiltered 0, skipped {kept + 1} already in the output, 3 invalid rows"
    assert [r["id"] for r in _rows(out)] == [r["id"] for r in _rows(ray_scoring[0])]
    assert out.read_text().startswith("".join(lines[:kept]))
    again = invoke(runner, ["score", run, "--input", source, "--output", out, "--engine", "ray"])
    assert again.exit_code == 0, again.output
    assert _summary(again.output).startswith(f"scored 0, prefiltered 0, skipped {ARTICLES + 2}")  # with the duplicate
    assert "Ray:" not in again.output  # nothing left to score: no actors started


def test_ray_refuses_to_resume_an_output_another_calibration_wrote(ray_session, run, source, ray_scoring, runner, tmp_path):
    import shutil

    from filterforge.runs.calibration import Calibration

    calibrated = tmp_path / "calibrated"
    shutil.copytree(run / "model", calibrated / "model")
    names = json.loads((calibrated / "model" / "filterforge.json").read_text())["dimension_names"]
    Calibration(names, [([0.0, 10.0], [1.0, 9.0])] * len(names)).save(calibrated / "model")
    out = tmp_path / "scores.jsonl"
    out.write_text("".join(ray_scoring[0].read_text().splitlines(keepends=True)[:5]))
    Path(f"{out}.meta.json").write_text(Path(f"{ray_scoring[0]}.meta.json").read_text())
    result = invoke(runner, ["score", calibrated, "--input", source, "--output", out, "--engine", "ray"])
    assert_one_line_error(result, str(out), "calibration none, now applied", "another --output")
    assert len(_rows(out)) == 5


def test_an_actor_that_loaded_another_model_stops_the_run_in_one_line(ray_session, run, source, runner, tmp_path,
                                                                      monkeypatch):
    import filterforge.serving.ray_engine as ray_engine

    real_record = ray_engine.writer_record

    def record_of_another_copy(scorer):
        record = real_record(scorer)
        return {**record, "model": {**record["model"], "fingerprint": "another copy"}}

    # Only the driver's expectation changes: the actors, in their own processes, fingerprint the real files,
    # as a node holding another copy of the run folder would.
    monkeypatch.setattr(ray_engine, "writer_record", record_of_another_copy)
    valid = tmp_path / "valid.jsonl"
    valid.write_text("".join(line + "\n" for line in source.read_text().splitlines()[:10]))
    out = tmp_path / "scores.jsonl"
    result = invoke(runner, ["score", run, "--input", valid, "--output", out, "--engine", "ray", "--workers", "1"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    # Ray itself may add a line of its own on stderr as it stops the actors.
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and "a Ray actor on" in errors[0] and "loaded another model than the driver" in errors[0]
    assert "every node needs the same run folder" in errors[0]
    assert out.read_text() == ""


def test_workers_without_the_ray_engine_is_one_line(runner, run, source, tmp_path):
    result = invoke(runner, ["score", run, "--input", source, "--output", tmp_path / "o.jsonl", "--workers", "2"])
    assert_one_line_error(result, "--workers sets the number of Ray actors: add --engine ray")


def test_the_ray_engine_without_ray_installed_says_which_extra(runner, run, source, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` meets where the extra is not installed
    result = invoke(runner, ["score", run, "--input", source, "--output", tmp_path / "o.jsonl", "--engine", "ray"])
    assert_one_line_error(result, "--engine ray needs the ray extra: pip install 'filterforge[ray]'")
