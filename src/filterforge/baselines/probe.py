"""The embedding probe: a frozen pretrained encoder, mean pooling, and a linear head fitted by ridge
regression (one alpha per dimension, chosen on validation). It is saved as an ordinary student, so it
exports to ONNX and runs on every runtime like one."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

ALPHAS = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
MAX_LENGTH = 256
BATCH_SIZE = 16


def embed(model: Any, strategy: Any, rows: Sequence[dict], max_length: int) -> np.ndarray:
    """Pooled body states of every row (the frozen features the head is fitted on)."""
    import torch

    from filterforge.encoding.batching import collate, inference_batches, pad_token_id

    encoded = [strategy.encode(row, max_length) for row in rows]
    features = np.zeros((len(rows), model.config.hidden_size), dtype=np.float32)
    pad_id = pad_token_id(strategy.tokenizer)
    with torch.inference_mode():
        for indices in inference_batches([len(e.input_ids) for e in encoded], BATCH_SIZE):
            batch = collate(encoded, indices, None, pad_id)
            hidden = model.body(input_ids=batch.input_ids, attention_mask=batch.attention_mask).last_hidden_state
            features[indices] = model.pooling(hidden, batch.attention_mask).float().numpy()
    return features


def fit_head(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
             scales: Sequence[tuple[float, float]], alphas: Sequence[float] = ALPHAS) -> tuple[np.ndarray, np.ndarray, dict]:
    from sklearn.linear_model import Ridge

    from filterforge.baselines.tfidf import clipped_mae_per_dimension

    curve = {a: clipped_mae_per_dimension(Ridge(alpha=a).fit(x_train, y_train).predict(x_val).reshape(y_val.shape),
                                          y_val, scales) for a in alphas}
    best = [min(alphas, key=lambda a: curve[a][dim]) for dim in range(y_train.shape[1])]
    final = Ridge(alpha=np.asarray(best)).fit(x_train, y_train)
    report = {"alphas": [float(a) for a in best], "alpha_grid": [float(a) for a in alphas],
              "alpha_at_grid_edge": [a in (min(alphas), max(alphas)) for a in best],
              "val_mae_by_alpha": {str(a): [round(float(v), 4) for v in curve[a]] for a in alphas}}
    weight = np.asarray(final.coef_, dtype=np.float32).reshape(y_train.shape[1], -1)
    return weight, np.asarray(final.intercept_, dtype=np.float32).reshape(-1), report


def fit_probe(model_path: Any, strategy: Any, train_rows: Sequence[dict], val_rows: Sequence[dict],
              info: dict[str, Any]) -> tuple[Any, dict[str, Any], np.ndarray]:
    """A StudentModel whose regression head holds the ridge weights on the frozen pooled embeddings, its
    report, and its raw predictions on the validation rows."""
    import torch

    from filterforge.student.model import build_student

    spec = strategy.filter_spec
    model = build_student(model_path, len(spec.dimensions), "regression", "mean", {**info, "max_length": MAX_LENGTH})
    model.eval()
    x_train, x_val = embed(model, strategy, train_rows, MAX_LENGTH), embed(model, strategy, val_rows, MAX_LENGTH)
    y_train = np.asarray([r["labels"] for r in train_rows], dtype=np.float64)
    y_val = np.asarray([r["labels"] for r in val_rows], dtype=np.float64)
    weight, bias, report = fit_head(x_train, y_train, x_val, y_val, [d.scale for d in spec.dimensions])
    with torch.no_grad():
        model.head.output_layer().weight.copy_(torch.from_numpy(weight))
        model.head.output_layer().bias.copy_(torch.from_numpy(bias))
    val_pred = x_val @ weight.T + bias
    return model, {**report, "max_length": MAX_LENGTH, "features": int(x_train.shape[1])}, val_pred
