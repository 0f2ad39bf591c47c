"""`export` of an ensemble: every neural member gets its own ONNX export (checked like any student's) in
its folder inside the ensemble (``model/members/<name>/onnx``); text-baseline members need none; the
combination stays ``ensemble.json``. `score --runtime onnx` then runs each neural member's graph."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any, Callable

from filterforge.errors import FilterforgeError
from filterforge.runs import layout

logger = logging.getLogger(__name__)


def export_ensemble(run: Any, settings: Any, export_member: Callable[[Path, Any], dict[str, Any]]) -> dict[str, Any]:
    """Export each neural member with ``export_member`` (the single-student export, with ``settings``);
    returns a record of what each member got."""
    if settings.output is not None:
        raise FilterforgeError(f"--output: {run.root} is an ensemble; each member is exported into its own folder "
                               f"({run.members_dir}/<name>/onnx), so drop --output")
    members = run.ensemble_members()
    neural = [(name, member) for name, member in members if not member.is_text_baseline]
    logger.info(f"export ensemble {run.root}: {len(neural)} neural member(s) of {len(members)}"
                + (f"; {', '.join(n for n, m in members if m.is_text_baseline)} read text (no graph needed)"
                   if len(neural) < len(members) else ""))
    exported = {}
    for name, member in neural:
        try:
            record = export_member(member.root, dataclasses.replace(settings, output=None))
        except FilterforgeError as exc:
            raise FilterforgeError(f"ensemble member '{name}': {exc}") from None
        exported[name] = {"exports": [str(p) for p in member.exports],
                          "quantization": (record.get("quantization") or {}).get("mode")}
    logger.info(f"the combination stays {run.weights_dir / layout.ENSEMBLE_COMBINATION}; score the ensemble on ONNX with: "
                f"filterforge score {run.root} --runtime onnx --input FILE --output FILE")
    return {"ensemble": str(run.root), "members": exported,
            "runtime_independent": [n for n, m in members if m.is_text_baseline]}
