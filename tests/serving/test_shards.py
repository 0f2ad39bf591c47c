"""`filterforge score --shard I/N`: shards split the input by a hash of the id, for schedulers that run N
copies of one command (Slurm arrays, Kubernetes indexed jobs); concatenated, they are the local output."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from conftest import assert_one_line_error, invoke, train_tiny_run

SHARDS = 3


@pytest.fixture(scope="module")
def run(tmp_path_factory, demo_splits, tiny_encoder) -> Path:
    return train_tiny_run(tmp_path_factory.mktemp("shards") / "run", demo_splits, tiny_encoder, "distillation",
                          "--max-train-examples", "32")


@pytest.fixture(scope="module")
def articles() -> list[dict]:
    from filterforge.data.demo import generate_demo_articles

    return [{"id": a["id"], "title": a["title"], "content": a["content"]} for a in generate_demo_articles(40, seed=5)]


@pytest.fixture(scope="module")
def source(tmp_path_factory, articles) -> Path:
    """The articles, an invalid row, a duplicate id and an article the prefilter rejects."""
    lines = [json.dumps(a) for a in articles]
    lines.insert(5, "{not json")
    lines.insert(12, json.dumps(articles[2]))
    lines.insert(20, json.dumps({"id": "short", "title": "Hi", "content": "short"}))
    return _write(tmp_path_factory.mktemp("shards-input") / "articles.jsonl", lines)


@pytest.fixture(scope="module")
def local_output(run, source, tmp_path_factory) -> Path:
    from click.testing import CliRunner

    out = tmp_path_factory.mktemp("shards-local") / "scores.jsonl"
    result = invoke(CliRunner(), ["score", run, "--input", source, "--output", out, "--runtime", "torch"])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def shard_runs(run, source, tmp_path_factory) -> list[tuple[Path, str]]:
    """Each shard scored into its own output, as N array tasks would: (output, what `score` printed)."""
    from click.testing import CliRunner

    folder = tmp_path_factory.mktemp("shards-out")
    outputs = []
    for index in range(SHARDS):
        out = folder / f"scores.shard-{index}.jsonl"
        result = invoke(CliRunner(), ["score", run, "--input", source, "--output", out, "--runtime", "torch",
                                      "--shard", f"{index}/{SHARDS}"])
        assert result.exit_code == 0, result.output
        outputs.append((out, result.output))
    return outputs


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def _ids(path: Path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


def test_concatenated_shards_are_the_local_output(local_output, shard_runs):
    local_lines = local_output.read_text().splitlines()
    shard_lines = [line for out, _ in shard_runs for line in out.read_text().splitlines()]
    assert sorted(shard_lines) == sorted(local_lines)
    for out, _ in shard_runs:  # each shard keeps the input's order
        ids = _ids(out)
        assert ids == [i for i in _ids(local_output) if i in set(ids)]


def test_shards_are_disjoint_and_none_is_empty(shard_runs):
    ids = [set(_ids(out)) for out, _ in shard_runs]
    assert all(ids)
    assert sum(len(s) for s in ids) == len(set().union(*ids))


def test_an_article_belongs_to_the_same_shard_whatever_the_input_order(run, articles, shard_runs, runner, tmp_path):
    shuffled = articles[:]
    random.Random(3).shuffle(shuffled)
    source = _write(tmp_path / "shuffled.jsonl", [json.dumps(a) for a in shuffled])
    out = tmp_path / "scores.jsonl"
    result = invoke(runner, ["score", run, "--input", source, "--output", out, "--runtime", "torch", "--shard", f"1/{SHARDS}"])
    assert result.exit_code == 0, result.output
    assert set(_ids(out)) == set(_ids(shard_runs[1][0])) - {"short"}


def test_invalid_rows_are_reported_once_and_duplicates_by_their_shard(shard_runs, source):
    reported = [[line for line in output.splitlines() if line.startswith(f"{source}:")] for _, output in shard_runs]
    assert [line for lines in reported for line in lines if "malformed JSON" in line] == \
        [f"{source}:6: malformed JSON (Expecting property name enclosed in double quotes)"]
    assert reported[0][0].startswith(f"{source}:6:")
    duplicates = [line for lines in reported for line in lines if "duplicate id" in line]
    assert len(duplicates) == 1 and duplicates[0].startswith(f"{source}:13: duplicate id 'demo-5-2'")
    summaries = [next(line for line in output.splitlines() if line.startswith("scored ")) for _, output in shard_runs]
    rows_with_an_id = 40 + 2  # the articles, the duplicate and the short one
    elsewhere = [int(s.split(" in other shards")[0].rsplit(", ", 1)[1]) for s in summaries]
    assert sum(elsewhere) == (SHARDS - 1) * rows_with_an_id


def test_resuming_a_shard_output_with_another_shard_is_refused(run, source, shard_runs, runner, tmp_path):
    out, _ = shard_runs[0]
    before = out.read_text()
    result = invoke(runner, ["score", run, "--input", source, "--output", out, "--runtime", "torch", "--shard", f"1/{SHARDS}"])
    assert_one_line_error(result, str(out), f"shard 0/{SHARDS}, now 1/{SHARDS}", "another --output")
    assert out.read_text() == before


def test_rerunning_a_shard_skips_what_it_wrote(run, source, shard_runs, runner):
    out, _ = shard_runs[2]
    before = out.read_text()
    result = invoke(runner, ["score", run, "--input", source, "--output", out, "--runtime", "torch", "--shard", f"2/{SHARDS}"])
    assert result.exit_code == 0, result.output
    assert "scored 0, prefiltered 0, skipped " in result.output
    assert out.read_text() == before


@pytest.mark.parametrize("spec", ["3/3", "1/0", "a/b", "-1/2", "1", "0/3/1", ""])
def test_a_bad_shard_is_one_line(runner, run, source, tmp_path, spec):
    out = tmp_path / "scores.jsonl"
    result = invoke(runner, ["score", run, "--input", source, "--output", out, "--shard", spec])
    assert_one_line_error(result, "--shard expects I/N with 0 <= I < N", f"got '{spec}'")
    assert not out.exists()
