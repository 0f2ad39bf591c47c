"""The baselines that read an article's whole text (no tokenizer, no network), by method name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from filterforge.baselines.mean import MeanPredictor
from filterforge.baselines.tfidf import TfidfRidge
from filterforge.errors import FilterforgeError

TEXT_MODELS = {"tfidf-ridge": TfidfRidge, "mean": MeanPredictor}
NEURAL_METHODS = ("embedding-probe",)
METHODS = (*TEXT_MODELS, *NEURAL_METHODS)


def load_text_model(method: str, folder: Path) -> Any:
    if method not in TEXT_MODELS:
        raise FilterforgeError(f"{folder}: unknown baseline method '{method}' (known: {', '.join(TEXT_MODELS)})")
    try:
        return TEXT_MODELS[method].load(folder)
    except FilterforgeError:
        raise
    except Exception as exc:
        raise FilterforgeError(f"{folder}: cannot load the {method} baseline ({type(exc).__name__}: "
                               f"{str(exc).splitlines()[0][:160] if str(exc) else ''})") from None
