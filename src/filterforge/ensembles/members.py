"""The runs an ensemble combines: opened, checked (one filter, the same dimensions, trained on the data
the ensemble is fitted on) and copied into the ensemble's model folder, so that the ensemble is
self-contained (deploy copies it as it is)."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from filterforge.errors import FilterforgeError
from filterforge.runs import layout

# Copying a member leaves out its exports (`export ENSEMBLE` makes them in place), its calibration
# (the ensemble combines members' raw scores and is calibrated as a whole) and hidden staging folders.
NOT_COPIED = (".*", layout.EXPORT_DIR_GLOB, layout.CALIBRATION, layout.EVALUATION_INDEX, layout.CHECKPOINT_DIR)


@dataclass
class Member:
    name: str
    run: Any
    metadata: dict[str, Any]
    info: dict[str, Any]

    @property
    def kind(self) -> str:
        return "baseline" if self.metadata.get("training_mode") == "baseline" else "student"

    @property
    def reads_text(self) -> bool:
        """A text baseline: no network, the same on every runtime."""
        return bool(self.run.is_text_baseline)

    def describe(self) -> dict[str, Any]:
        m = self.metadata
        return {"name": self.name, "kind": self.kind, "strategy": m.get("strategy"), "model_name": m.get("model_name"),
                "runtime_independent": self.reads_text, "source": str(self.run.root.resolve()),
                "source_model_dir": str(self.run.model_dir.resolve()), "seed": m.get("seed"),
                "data_hash": m.get("data_hash"), "best_val_mae": m.get("best_val_mae"),
                "include_prompt": m.get("include_prompt")}


def member_name(path: Path, taken: set[str]) -> str:
    """The run folder's name, made safe as a folder name and unique among the members."""
    raw = path.resolve().name
    if raw == layout.MODEL_DIR:  # a deployed model folder: name it after its filter version folder
        raw = path.resolve().parent.name
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", raw).strip(".-") or "member"
    name, suffix = base, 2
    while name in taken:
        name, suffix = f"{base}-{suffix}", suffix + 1
    taken.add(name)
    return name


def open_member(path: str | Path, taken: set[str]) -> Member:
    from filterforge.runs.run import Run

    run = Run.open(path)
    if run.export_dir is not None:
        raise FilterforgeError(f"ensemble member {path} is an ONNX export; give the run dir it was exported from")
    if run.model_dir is None:
        raise FilterforgeError(f"ensemble member {path} holds no model (expected {Path(path) / layout.MODEL_DIR})")
    if run.is_ensemble:
        raise FilterforgeError(f"ensemble member {path} is an ensemble itself; give its members instead")
    if not run.is_text_baseline and not run.has_torch_model:
        raise FilterforgeError(f"ensemble member {path} holds no torch model ({run.model_dir / layout.MODEL_WEIGHTS})")
    metadata = run.metadata(required=False)
    if not metadata:
        raise FilterforgeError(f"ensemble member {path}: no {layout.TRAINING_METADATA} beside its model "
                               "(give a run dir written by filterforge train or baseline)")
    return Member(member_name(Path(path), taken), run, metadata, run.info(run.model_dir))


def open_members(paths: Sequence[str | Path]) -> list[Member]:
    if len(paths) < 2:
        raise FilterforgeError(f"an ensemble needs at least 2 member runs, got {len(paths)}")
    resolved = [Path(p).resolve() for p in paths]
    if len(set(resolved)) != len(resolved):
        raise FilterforgeError("the same run was given more than once as an ensemble member")
    taken: set[str] = set()
    members = [open_member(p, taken) for p in paths]
    check_same_filter(members)
    return members


def check_same_filter(members: Sequence[Member]) -> None:
    """Every member scores the same filter version on the same dimensions, in the same order."""
    first = members[0]
    for member in members[1:]:
        for key in ("filter_name", "filter_version", "dimension_names"):
            if member.info.get(key) != first.info.get(key):
                raise FilterforgeError(
                    f"ensemble member {member.run.root} has {key} {member.info.get(key)} but {first.run.root} has "
                    f"{first.info.get(key)}; an ensemble combines models of one filter and its dimensions")


def check_trained_on(members: Sequence[Member], data_dir: Path) -> str:
    """Every member was trained on ``data_dir`` (same data hash), so the fit split is held out for all."""
    from filterforge.data.splits import data_hash

    expected = data_hash(data_dir)
    for member in members:
        recorded = member.metadata.get("data_hash")
        if recorded != expected:
            raise FilterforgeError(
                f"ensemble member {member.run.root} was trained on other data (data hash {str(recorded)[:12]}, "
                f"{data_dir} has {expected[:12]}); the ensemble is fitted on a split none of its members trained on, "
                "so every member must come from the same prepared data")
    return expected


def copy_members(members: Sequence[Member], folder: Path) -> None:
    """Each member's model folder, with its training metadata, into ``folder/<name>``."""
    from filterforge.io import write_json

    for member in members:
        target = folder / member.name
        shutil.copytree(member.run.model_dir, target, ignore=shutil.ignore_patterns(*NOT_COPIED))
        write_json(target / layout.TRAINING_METADATA, member.metadata)
