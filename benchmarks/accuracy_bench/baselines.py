"""What users would pick instead of a student: the mean predictor, TF-IDF + ridge, a frozen-embedding probe."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .config import Profile
from .results import MethodResult
from .scoring import SCORE_RANGE, clipped_mae, score_predictions
from .splits import Splits, texts

PROBE_KEY = "minilm-probe"
PROBE_LABEL = "frozen MiniLM embeddings + ridge"
TFIDF_MAX_FEATURES = 50000
TFIDF_MIN_ROWS_FOR_MIN_DF = 50


def mean_predictor(splits: Splits, seed: int) -> MethodResult:
    started = time.perf_counter()
    means = splits.train_means
    fit_s = time.perf_counter() - started
    pred = np.tile(means, (len(splits.test), 1))
    result = MethodResult("mean", "mean predictor (train mean per dimension)", "baseline", train_seconds=fit_s,
                          ms_per_article=0.0, tokens={"note": "no input"})
    result.test = score_predictions(pred, splits.labels("test"), splits.spec, means, seed)
    result.val_predictions = np.tile(means, (len(splits.val), 1))
    result.val_mae = clipped_mae(result.val_predictions, splits.labels("val"))
    result.predictions = pred
    return result


def ridge_predict(model: Any, x: Any, dims: int) -> np.ndarray:
    """Clipped predictions as [n, dims]: ridge returns 1-D for a single-dimension filter."""
    return np.clip(np.asarray(model.predict(x)).reshape(-1, dims), *SCORE_RANGE)


def select_ridge(x_train, y_train, x_val, y_val, alphas: Sequence[float]) -> tuple[Any, float, dict[str, float]]:
    """Fit ridge for every alpha, keep the one with the lowest val MAE (clipped to 0-10)."""
    from sklearn.linear_model import Ridge

    best, best_alpha, curve = None, None, {}
    for alpha in alphas:
        model = Ridge(alpha=alpha, solver="sparse_cg" if hasattr(x_train, "tocsr") else "auto").fit(x_train, y_train)
        curve[str(alpha)] = clipped_mae(model.predict(x_val), y_val)
        if best is None or curve[str(alpha)] < curve[str(best_alpha)]:
            best, best_alpha = model, alpha
    return best, best_alpha, curve


def alpha_note(alpha: float, alphas: Sequence[float]) -> str:
    edge = " (at the edge of the grid)" if alpha in (min(alphas), max(alphas)) else ""
    return f"alpha {alpha:g} chosen on val{edge}"


def tfidf_vectorizer(n_train: int):
    """Word 1-2 grams and character 3-5 grams."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_union

    min_df = 2 if n_train >= TFIDF_MIN_ROWS_FOR_MIN_DF else 1
    return make_union(
        TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=min_df, max_features=TFIDF_MAX_FEATURES,
                        dtype=np.float32),
        TfidfVectorizer(sublinear_tf=True, analyzer="char_wb", ngram_range=(3, 5), min_df=min_df,
                        max_features=TFIDF_MAX_FEATURES, dtype=np.float32),
    )


def tfidf_ridge(splits: Splits, alphas: Sequence[float], seed: int, train_rows: Sequence[dict] | None = None,
                key: str = "tfidf-ridge") -> MethodResult:
    train_rows = list(train_rows if train_rows is not None else splits.train)
    y_train = np.asarray([row["labels"] for row in train_rows], dtype=np.float64)
    dims = y_train.shape[1]
    started = time.perf_counter()
    vectorizer = tfidf_vectorizer(len(train_rows))
    x_train = vectorizer.fit_transform(texts(train_rows))
    x_val = vectorizer.transform(texts(splits.val))
    model, alpha, curve = select_ridge(x_train, y_train, x_val, splits.labels("val"), alphas)
    fit_s = time.perf_counter() - started
    started = time.perf_counter()
    pred = ridge_predict(model, vectorizer.transform(texts(splits.test)), dims)
    ms = (time.perf_counter() - started) / len(splits.test) * 1000
    result = MethodResult(key, "TF-IDF + ridge", "baseline", train_seconds=fit_s, ms_per_article=ms,
                          note=alpha_note(alpha, alphas), tokens={"note": "whole article (no truncation)"},
                          settings={"alpha": alpha, "alphas": list(alphas), "val_mae_by_alpha": curve,
                                    "features": x_train.shape[1], "train_examples": len(train_rows)})
    result.test = score_predictions(pred, splits.labels("test"), splits.spec, y_train.mean(0), seed)
    result.val_mae = curve[str(alpha)]
    result.predictions, result.val_predictions = pred, ridge_predict(model, x_val, dims)
    return result


class SentenceEncoder:
    """Frozen encoder, mean pooling over real tokens, L2-normalised (as sentence-transformers does)."""

    def __init__(self, model_path: Path, max_length: int, batch_size: int):
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(str(model_path))
        self.model = AutoModel.from_pretrained(str(model_path)).eval()
        self.max_length, self.batch_size, self.torch = max_length, batch_size, torch

    def token_stats(self, articles: Sequence[str]) -> dict[str, Any]:
        ids = self.tokenizer(list(articles), add_special_tokens=False, verbose=False)["input_ids"]
        lengths = [len(article_ids) for article_ids in ids]
        budget = self.max_length - self.tokenizer.num_special_tokens_to_add()
        kept = [min(n, budget) for n in lengths]
        return {"article_tokens_kept_mean": round(float(np.mean(kept)), 1),
                "share_truncated": round(float(np.mean([n > budget for n in lengths])), 4),
                "max_length": self.max_length}

    def embed(self, articles: Sequence[str]) -> np.ndarray:
        order = np.argsort([len(t) for t in articles])  # similar lengths per batch: less padding
        out = np.zeros((len(articles), self.model.config.hidden_size), dtype=np.float32)
        with self.torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                index = order[start : start + self.batch_size]
                out[index] = self._embed_batch([articles[i] for i in index])
        return out

    def _embed_batch(self, articles: list[str]) -> np.ndarray:
        batch = self.tokenizer(articles, truncation=True, max_length=self.max_length, padding=True, return_tensors="pt")
        hidden = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
        return self.torch.nn.functional.normalize(pooled, dim=-1).numpy()


def embedding_probe(splits: Splits, model_path: Path, profile: Profile) -> MethodResult:
    dims = len(splits.spec.dimensions)
    max_length = profile.encoder_article_tokens + 2
    started = time.perf_counter()
    encoder = SentenceEncoder(model_path, max_length, profile.probe_batch_size)
    x_train = encoder.embed(texts(splits.train))
    x_val = encoder.embed(texts(splits.val))
    model, alpha, curve = select_ridge(x_train, splits.labels("train"), x_val, splits.labels("val"), profile.probe_alphas)
    fit_s = time.perf_counter() - started
    test_texts = texts(splits.test)
    started = time.perf_counter()
    pred = ridge_predict(model, encoder.embed(test_texts), dims)
    ms = (time.perf_counter() - started) / len(splits.test) * 1000
    result = MethodResult(PROBE_KEY, PROBE_LABEL, "baseline", train_seconds=fit_s, ms_per_article=ms,
                          note=alpha_note(alpha, profile.probe_alphas), tokens=encoder.token_stats(test_texts),
                          settings={"alpha": alpha, "alphas": list(profile.probe_alphas), "val_mae_by_alpha": curve,
                                    "model": str(model_path), "pooling": "mean, L2-normalised"})
    result.test = score_predictions(pred, splits.labels("test"), splits.spec, splits.train_means, profile.seed)
    result.val_mae = curve[str(alpha)]
    result.predictions, result.val_predictions = pred, ridge_predict(model, x_val, dims)
    return result
