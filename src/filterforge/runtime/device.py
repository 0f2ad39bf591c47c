"""Where a model runs: device choice, CPU threads, peak memory. The only place these are decided."""

from __future__ import annotations

import os
from typing import Any

from filterforge.errors import FilterforgeError

DEVICES = ("auto", "cpu", "cuda")


def available_cores() -> int:
    """Cores this process may use (CPU affinity), at least 1."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


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
