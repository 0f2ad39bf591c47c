"""The mean predictor as a model: the training split's mean of every dimension, for every article."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np

from filterforge.io import atomic_write_text, read_json

MEANS_FILE = "means.json"


class MeanPredictor:
    def __init__(self, means: Sequence[float]):
        self.means = np.asarray(means, dtype=np.float32)

    @classmethod
    def fit(cls, y_train: np.ndarray) -> "MeanPredictor":
        return cls(np.asarray(y_train, dtype=np.float64).mean(0))

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return np.tile(self.means, (len(texts), 1))

    def save(self, folder: Path) -> None:
        atomic_write_text(folder / MEANS_FILE, json.dumps({"means": self.means.tolist()}) + "\n")

    @classmethod
    def load(cls, folder: Path) -> "MeanPredictor":
        return cls(read_json(folder / MEANS_FILE)["means"])
