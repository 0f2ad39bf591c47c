"""What every metadata file carries so a number can be traced: code commit, package versions, machine."""

from __future__ import annotations

import importlib.metadata
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

PACKAGES = ("filterforge", "torch", "transformers", "peft", "safetensors", "tokenizers", "numpy",
            "scikit-learn", "onnx", "onnxruntime", "onnxruntime-gpu", "optimum", "optimum-onnx", "pluggy")


def git_commit(path: str | Path | None = None) -> str | None:
    """The commit of filterforge's source tree (with '-dirty' when it has uncommitted changes)."""
    where = Path(path) if path else Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=5)
        if commit.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where,
                               capture_output=True, text=True, timeout=5)
        return commit.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def package_versions() -> dict[str, str]:
    versions = {"python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def machine() -> dict[str, Any]:
    import os

    info: dict[str, Any] = {"platform": platform.platform(), "processor": platform.machine(), "cpu_count": os.cpu_count()}
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return info


def provenance() -> dict[str, Any]:
    return {"git_commit": git_commit(), "package_versions": package_versions(), "machine": machine()}
