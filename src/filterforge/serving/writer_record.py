"""Which filter, model, calibration (and shard) wrote a `score` output: ``<output>.meta.json``.

Resuming an output with another writer is refused, since its rows would mix. Ray actors check that the
model they loaded is the one the driver recorded, so a node holding another copy cannot slip rows in.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from filterforge.errors import FilterforgeError
from filterforge.io import read_json, write_json
from filterforge.runs import layout
from filterforge.version import __version__

WEIGHT_SUFFIXES = (".safetensors", ".onnx", ".onnx_data", ".data", ".bin", ".pt", ".pth", ".gguf")
SAMPLE_BYTES = 1 << 20
SAMPLES = 10


def writer_path_for(output_path: Path) -> Path:
    return output_path.with_name(output_path.name + ".meta.json")


def sampled_digest(path: Path) -> str:
    """sha256 of a file's size and of ten 1 MiB blocks spread from its start to its end (the whole file
    when smaller): cheap for a 500 MB weights file. Blocks between the ends matter: frozen embeddings lead
    a safetensors file and an unused pooler can end it, so a retrain may leave both ends unchanged."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as handle:
        if size <= SAMPLES * SAMPLE_BYTES:
            digest.update(handle.read())
            return digest.hexdigest()
        for index in range(SAMPLES):
            handle.seek((size - SAMPLE_BYTES) * index // (SAMPLES - 1))
            digest.update(handle.read(SAMPLE_BYTES))
    return digest.hexdigest()


def model_fingerprint(folder: Path) -> str:
    """The weights files and ``filterforge.json`` of a model or export folder; records written beside
    them later (evaluation, bench, calibration) leave it unchanged."""
    files = sorted(p for p in folder.iterdir()
                   if p.is_file() and (p.suffix in WEIGHT_SUFFIXES or p.name in (layout.MODEL_INFO, layout.ENSEMBLE_COMBINATION)))
    digest = hashlib.sha256()
    for path in files:
        digest.update(f"{path.name}:{sampled_digest(path)}\n".encode())
    return digest.hexdigest()


def predictor_fingerprint(predictor: Any) -> str:
    """The scoring model's fingerprint; an ensemble's covers its combination and every member it loaded."""
    own = model_fingerprint(predictor.source_dir)
    members = getattr(predictor, "members", None)
    if not members:
        return own
    digest = hashlib.sha256(own.encode())
    for member in members:
        digest.update(f"{member.runtime}:{predictor_fingerprint(member)}\n".encode())
    return digest.hexdigest()


def calibration_fingerprint(calibration: Any) -> str | None:
    if calibration is None:
        return None
    return hashlib.sha256(json.dumps(calibration.to_json(), sort_keys=True).encode()).hexdigest()


def writer_record(scorer: Any, shard: Any = None) -> dict[str, Any]:
    """Who scores: filter, model, calibration, runtime, and the shard (``"I/N"``) when only one is scored."""
    predictor = scorer.predictor
    return {"filter": scorer.spec.id,
            "model": {"path": str(Path(predictor.source_dir).resolve()), "fingerprint": predictor_fingerprint(predictor)},
            "calibration": calibration_fingerprint(scorer.calibration),
            "runtime": predictor.runtime, "shard": str(shard) if shard is not None else None,
            "filterforge_version": __version__}


def check_writer(output_path: Path, current: dict[str, Any]) -> bool:
    """Record the writer of a new output; refuse to resume one another filter, model, calibration or shard wrote.
    False when the output has no record (written before records were kept)."""
    record_path = writer_path_for(output_path)
    if not output_path.exists() or output_path.stat().st_size == 0:
        write_json(record_path, current)
        return True
    if not record_path.exists():
        return False
    recorded = read_json(record_path)
    if not isinstance(recorded, dict):
        raise FilterforgeError(f"{record_path}: expected a JSON object recording who wrote {output_path.name}; "
                               "score into another --output")
    differences = writer_differences(recorded, current)
    if differences:
        names = " and ".join(differences)
        raise FilterforgeError(f"{output_path} was written with another {names} ({'; '.join(differences.values())}); "
                               "score into another --output")
    return True


def writer_differences(recorded: dict[str, Any], current: dict[str, Any]) -> dict[str, str]:
    """What differs between the recorded writer and this run, by name (filter, model, calibration, shard).
    A record without a shard (written before shards existed) is the whole input."""
    differences = {}
    if recorded.get("filter") != current["filter"]:
        differences["filter"] = f"filter {recorded.get('filter')}, now {current['filter']}"
    old_model = recorded.get("model") if isinstance(recorded.get("model"), dict) else {}
    if old_model.get("fingerprint") != current["model"]["fingerprint"]:
        differences["model"] = _model_difference(old_model.get("path"), recorded.get("runtime"), current)
    if recorded.get("calibration") != current["calibration"]:
        differences["calibration"] = _calibration_difference(recorded.get("calibration"), current["calibration"])
    if recorded.get("shard") != current.get("shard"):
        differences["shard"] = f"shard {_shard_name(recorded.get('shard'))}, now {_shard_name(current.get('shard'))}"
    return differences


def _shard_name(shard: str | None) -> str:
    return shard or "none (every article)"


def _model_difference(old_path: str | None, old_runtime: str | None, current: dict[str, Any]) -> str:
    new_path, new_runtime = current["model"]["path"], current["runtime"]
    if old_path == new_path:
        return f"model {new_path}, whose weights changed since"
    return f"model {old_path or 'unknown'} on {old_runtime or 'an unknown runtime'}, now {new_path} on {new_runtime}"


def _calibration_difference(old: str | None, new: str | None) -> str:
    if old and new:
        return f"calibration sha256 {old[:12]}, now {new[:12]}"
    return f"calibration {'applied' if old else 'none'}, now {'applied' if new else 'none'}"

