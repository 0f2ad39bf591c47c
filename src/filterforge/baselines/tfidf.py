"""TF-IDF (word 1-2 grams + character 3-5 grams) + ridge regression, one alpha per dimension chosen on
validation. Stored as JSON (vectorizer settings, vocabularies) and safetensors (idf, coefficients):
no pickle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from filterforge.io import atomic_write_text

ALPHAS = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
MAX_FEATURES = 50000
MIN_ROWS_FOR_MIN_DF = 50
SETTINGS_FILE = "tfidf_ridge.json"
WEIGHTS_FILE = "tfidf_ridge.safetensors"


def vectorizer_settings(n_train: int) -> list[dict[str, Any]]:
    min_df = 2 if n_train >= MIN_ROWS_FOR_MIN_DF else 1
    common = {"sublinear_tf": True, "min_df": min_df, "max_features": MAX_FEATURES}
    return [{**common, "analyzer": "word", "ngram_range": [1, 2]}, {**common, "analyzer": "char_wb", "ngram_range": [3, 5]}]


def make_vectorizer(settings: dict[str, Any], vocabulary: Sequence[str] | None = None) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    params = {**settings, "ngram_range": tuple(settings["ngram_range"]), "dtype": np.float32}
    if vocabulary is not None:
        params.pop("min_df")
        params.pop("max_features")
    return TfidfVectorizer(**params, vocabulary=vocabulary)


def clipped_mae_per_dimension(pred: np.ndarray, gold: np.ndarray, scales: Sequence[tuple[float, float]]) -> np.ndarray:
    low, high = np.asarray(scales, dtype=np.float64).T
    return np.abs(np.clip(pred, low, high) - gold).mean(0)


class TfidfRidge:
    def __init__(self, settings: list[dict[str, Any]], vectorizers: list[Any], coef: np.ndarray, intercept: np.ndarray,
                 alphas: list[float]):
        self.settings, self.vectorizers = settings, vectorizers
        self.coef, self.intercept, self.alphas = coef, intercept, alphas

    def features(self, texts: Sequence[str]) -> Any:
        from scipy.sparse import hstack

        return hstack([v.transform(texts) for v in self.vectorizers]).tocsr()

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self.features(texts) @ self.coef.T + self.intercept, dtype=np.float32)

    @classmethod
    def fit(cls, train_texts: Sequence[str], y_train: np.ndarray, val_texts: Sequence[str], y_val: np.ndarray,
            scales: Sequence[tuple[float, float]], alphas: Sequence[float] = ALPHAS) -> tuple["TfidfRidge", dict[str, Any]]:
        """Fit the vectorizers on train; for each dimension keep the alpha with the lowest val MAE."""
        from scipy.sparse import hstack
        from sklearn.linear_model import Ridge

        settings = vectorizer_settings(len(train_texts))
        vectorizers = [make_vectorizer(s) for s in settings]
        x_train = hstack([v.fit_transform(train_texts) for v in vectorizers]).tocsr()
        x_val = hstack([v.transform(val_texts) for v in vectorizers]).tocsr()
        curve = {}
        for alpha in alphas:
            model = Ridge(alpha=alpha, solver="sparse_cg").fit(x_train, y_train)
            curve[alpha] = clipped_mae_per_dimension(model.predict(x_val).reshape(y_val.shape), y_val, scales)
        best = [min(alphas, key=lambda a: curve[a][dim]) for dim in range(y_train.shape[1])]
        final = Ridge(alpha=np.asarray(best), solver="sparse_cg").fit(x_train, y_train)
        coef = np.asarray(final.coef_, dtype=np.float32).reshape(y_train.shape[1], -1)
        intercept = np.asarray(final.intercept_, dtype=np.float32).reshape(-1)
        report = {"alphas": [float(a) for a in best], "alpha_grid": [float(a) for a in alphas],
                  "alpha_at_grid_edge": [a in (min(alphas), max(alphas)) for a in best],
                  "val_mae_by_alpha": {str(a): [round(float(v), 4) for v in curve[a]] for a in alphas},
                  "features": int(x_train.shape[1])}
        return cls(settings, vectorizers, coef, intercept, [float(a) for a in best]), report

    def save(self, folder: Path) -> None:
        from safetensors.numpy import save_file

        vocabularies = [v.get_feature_names_out().tolist() for v in self.vectorizers]
        document = {"vectorizers": [{"settings": s, "vocabulary": vocab} for s, vocab in zip(self.settings, vocabularies)],
                    "alphas": self.alphas}
        atomic_write_text(folder / SETTINGS_FILE, json.dumps(document, ensure_ascii=False) + "\n")
        tensors = {f"idf.{i}": np.asarray(v.idf_, dtype=np.float32) for i, v in enumerate(self.vectorizers)}
        save_file({**tensors, "coef": self.coef, "intercept": self.intercept}, str(folder / WEIGHTS_FILE))

    @classmethod
    def load(cls, folder: Path) -> "TfidfRidge":
        from safetensors.numpy import load_file

        from filterforge.io import read_json

        document = read_json(folder / SETTINGS_FILE)
        tensors = load_file(str(folder / WEIGHTS_FILE))
        vectorizers = []
        for i, entry in enumerate(document["vectorizers"]):
            vectorizer = make_vectorizer(entry["settings"], entry["vocabulary"])
            vectorizer.idf_ = tensors[f"idf.{i}"]
            vectorizers.append(vectorizer)
        return cls([e["settings"] for e in document["vectorizers"]], vectorizers, tensors["coef"], tensors["intercept"],
                   document["alphas"])
