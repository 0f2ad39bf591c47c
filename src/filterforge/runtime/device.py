"""Where a model runs: device choice, CPU threads, peak memory. The only place these are decided."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from filterforge.errors import FilterforgeError

DEVICES = ("auto", "cpu", "cuda")
CGROUP_ROOT = Path("/sys/fs/cgroup")


def cgroup_cpu_limit(root: Path = CGROUP_ROOT) -> float | None:
    """CPUs the cgroup CPU quota allows (v2 ``cpu.max``, else v1 ``cpu/cpu.cfs_quota_us``); None when
    there is no quota or it cannot be read."""
    v2 = _read_words(root / "cpu.max")
    if v2 and len(v2) == 2:
        return _quota(v2[0], v2[1])
    quota = _read_words(root / "cpu" / "cpu.cfs_quota_us")
    period = _read_words(root / "cpu" / "cpu.cfs_period_us")
    if quota and period:
        return _quota(quota[0], period[0])
    return None


def _read_words(path: Path) -> list[str] | None:
    try:
        return path.read_text().split()
    except (OSError, UnicodeDecodeError):
        return None


def _quota(quota: str, period: str) -> float | None:
    """``max`` or a negative quota (v1's -1) mean no limit."""
    try:
        allowed, length = float(quota), float(period)
    except ValueError:
        return None
    if not (allowed > 0 and length > 0 and math.isfinite(allowed / length)):
        return None
    return allowed / length


def cpu_budget(cgroup_root: Path | None = None) -> tuple[int, str]:
    """(cores this process may use, what set the number): the CPUs its affinity allows, fewer when a
    cgroup CPU quota allows less. At least 1."""
    if hasattr(os, "sched_getaffinity"):
        cores, source = len(os.sched_getaffinity(0)), "affinity"
    else:
        cores, source = os.cpu_count() or 1, "cpu count"
    limit = cgroup_cpu_limit(cgroup_root or CGROUP_ROOT)
    if limit is not None and math.floor(limit) < cores:
        cores, source = math.floor(limit), "cgroup quota"
    return max(1, cores), source


def available_cores() -> int:
    """Cores this process may use (CPU affinity and cgroup CPU quota), at least 1."""
    return cpu_budget()[0]


def choose_threads(given: int | None) -> tuple[int, str]:
    """(torch CPU threads, where the number came from): ``given`` when set, else :func:`cpu_budget`."""
    if given:
        return given, "given"
    return cpu_budget()


def select_device(device: str = "auto") -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise FilterforgeError("--device cuda requested but no CUDA GPU is available")
    return device


def use_threads(threads: int | None) -> int:
    """Set torch's CPU threads when given; returns the number in effect."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    return torch.get_num_threads()


def reset_peak_memory(device: str) -> bool:
    """Start a new peak: CUDA's allocator statistics, or the process's resident-memory high-water mark
    (Linux: writing 5 to /proc/self/clear_refs). Returns whether the peak could be reset."""
    if str(device).startswith("cuda"):
        import torch

        torch.cuda.reset_peak_memory_stats()
        return True
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def peak_memory_mb(device: str) -> float:
    """CUDA: torch's peak allocation. CPU: the process's peak resident memory since the last reset."""
    if str(device).startswith("cuda"):
        import torch

        return round(torch.cuda.max_memory_allocated() / 2**20, 1)
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def describe_device(device: str) -> str:
    import platform

    import torch

    cpu = f"{available_cores()}-core CPU ({platform.machine()}, {platform.system()}), torch threads {torch.get_num_threads()}"
    if str(device).startswith("cuda") and torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)} GPU + {cpu}"
    return cpu


def autocast(device: str, dtype: Any) -> Any:
    import torch

    return torch.autocast(str(device).split(":")[0], dtype=dtype, enabled=dtype is not None)
