"""CPU threads: the cores a process may use (affinity, cgroup CPU quota) and where the number came from."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from filterforge.runtime import device


def cgroup(root: Path, *, v2: str | None = None, v1: tuple[str, str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    if v2 is not None:
        (root / "cpu.max").write_text(v2 + "\n")
    if v1 is not None:
        (root / "cpu").mkdir()
        (root / "cpu" / "cpu.cfs_quota_us").write_text(v1[0] + "\n")
        (root / "cpu" / "cpu.cfs_period_us").write_text(v1[1] + "\n")
    return root


@pytest.fixture
def four_cores(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)


@pytest.mark.parametrize(
    "files, expected",
    [
        ({"v2": "150000 100000"}, 1.5),
        ({"v2": "max 100000"}, None),
        ({"v1": ("200000", "100000")}, 2.0),
        ({"v1": ("-1", "100000")}, None),
        ({"v2": "garbage"}, None),
        ({"v2": "abc 100000"}, None),
        ({"v2": "inf 100000"}, None),
        ({}, None),
    ],
)
def test_cgroup_cpu_limit(tmp_path, files, expected):
    assert device.cgroup_cpu_limit(cgroup(tmp_path / "cg", **files)) == expected


@pytest.mark.parametrize(
    "files, expected",
    [
        ({}, (4, "affinity")),
        ({"v2": "max 100000"}, (4, "affinity")),
        ({"v2": "800000 100000"}, (4, "affinity")),
        ({"v2": "250000 100000"}, (2, "cgroup quota")),
        ({"v1": ("100000", "100000")}, (1, "cgroup quota")),
        ({"v2": "50000 100000"}, (1, "cgroup quota")),  # half a core: never below one thread
    ],
)
def test_cpu_budget_takes_the_smaller_of_affinity_and_quota(tmp_path, four_cores, files, expected):
    assert device.cpu_budget(cgroup(tmp_path / "cg", **files)) == expected


def test_affinity_of_one_core(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3}, raising=False)
    assert device.cpu_budget(cgroup(tmp_path / "cg")) == (1, "affinity")


def test_given_threads_win(tmp_path, four_cores, monkeypatch):
    monkeypatch.setattr(device, "CGROUP_ROOT", cgroup(tmp_path / "cg", v2="100000 100000"))
    assert device.choose_threads(3) == (3, "given")
    assert device.choose_threads(None) == (1, "cgroup quota")
    assert device.available_cores() == 1


def test_use_threads_sets_torch_threads():
    import torch

    before = torch.get_num_threads()
    try:
        assert device.use_threads(1) == 1 and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
