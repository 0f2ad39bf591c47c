"""The checks an export must pass: ONNX Runtime agrees with torch on real articles of several lengths
(parity), and a quantized graph does not raise the split's MAE by more than allowed (gate)."""

from __future__ import annotations

import logging
from typing import Any, Sequence

logger = logging.getLogger("filterforge.export.export")


def pick_parity_inputs(strategy: Any, rows: Sequence[dict], encoded: Sequence[Any], count: int, max_length: int) -> list[Any]:
    """`count` real articles spread over the range of input lengths (shortest and longest included).
    When truncation made them all equally long, one is added again cut to half its article tokens, so
    that the padded batch really mixes lengths."""
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i].input_ids))
    if len(order) <= count:
        picks = order
    elif count > 1:
        picks = list(dict.fromkeys(order[round(k * (len(order) - 1) / (count - 1))] for k in range(count)))
    else:
        picks = [order[-1]]
    inputs = [encoded[i] for i in picks]
    if len({len(e.input_ids) for e in inputs}) < 2 and inputs[-1].article_tokens > 1:
        shorter = strategy.fixed_tokens + inputs[-1].article_tokens // 2
        inputs.append(strategy.encode(rows[picks[-1]], min(shorter, max_length)))
    return inputs


def torch_raw_scores(student: Any, inputs: Sequence[Any], pad_id: int, prompt_cache: Any = None) -> Any:
    """torch's raw scores for one right-padded batch: the full sequence, or with ``prompt_cache`` (the
    prompt's KV cache) the article tokens against it, as the torch runtime's shared-prefix path runs them."""
    import numpy as np
    import torch

    from filterforge.encoding.batching import collate, pad

    with torch.inference_mode():
        if prompt_cache is not None:
            from filterforge.student.shared_prefix import forward_shared

            batch = collate(inputs, list(range(len(inputs))), None, pad_id, shared_prefix=True)
            return forward_shared(student, batch, prompt_cache).float().numpy().astype(np.float32)
        ids, mask = pad([e.input_ids for e in inputs], pad_id)
        return student(torch.from_numpy(ids), torch.from_numpy(mask)).float().numpy().astype(np.float32)


def check_parity(student: Any, predictor: Any, inputs: Sequence[Any], atol: float, perturbation: float = 0.0,
                 prompt_cache: Any = None) -> dict[str, Any]:
    """Raw scores of ONNX Runtime vs torch, one article at a time and together as padded batches (two
    sizes when the inputs allow). With ``prompt_cache`` both sides read the article tokens after the
    cached prompt (torch: its shared-prefix path; ONNX: the graph's cache inputs)."""
    import numpy as np

    from filterforge.encoding.batching import MAX_BATCH_TOKENS

    pad_id = predictor.pad_id
    worst = 0.0
    # Padded batches (at least two inputs, so padding is checked; long inputs keep it to two).
    longest = max(predictor.batch_length(e) for e in inputs)
    batch = list(inputs)[: max(2, MAX_BATCH_TOKENS // longest)]
    groups = [[e] for e in inputs] + ([batch] if len(batch) > 1 else [])
    if len(batch) > 2:
        groups.append(batch[1:])  # a second batch size, whose padding differs
    for group in groups:
        reference = torch_raw_scores(student, group, pad_id, prompt_cache)
        onnx = predictor.run_batch(*predictor.batch_arrays(group)) + perturbation
        worst = max(worst, float(np.abs(onnx - reference).max()))
    lengths = sorted(len(e.input_ids) for e in inputs)
    record = {"max_abs_diff": worst, "atol": atol, "articles": len(inputs), "input_lengths": lengths,
              "batch_sizes": sorted({len(g) for g in groups}), "passed": worst <= atol}
    if prompt_cache is not None:
        record["reference"] = "torch shared-prefix path (cached prompt)"
        record["article_lengths"] = sorted(predictor.batch_length(e) for e in inputs)
    return record


def _mae_line(label: str, metrics: dict[str, Any], tokens_kept: float) -> str:
    return (f"{label} MAE {metrics['mae']:.4f} (mean predictor {metrics['mean_predictor_mae']:.4f}; n={metrics['n']}, "
            f"article tokens kept mean {tokens_kept:.1f})")


def quantization_gate(torch_predictor: Any, quantized: Any, mode: str, encoded: Sequence[Any], rows: Sequence[dict], spec: Any,
                      metadata: dict[str, Any], split: str, max_mae_increase: float) -> dict[str, Any]:
    """MAE of the torch student and of the quantized graph on the same split; refuse a rise above the limit."""
    import numpy as np

    from filterforge.metrics import regression_metrics

    gold = np.asarray([row["labels"] for row in rows], dtype=np.float64)
    means = metadata.get("train_label_means") or gold.mean(0).tolist()
    from tqdm.auto import tqdm

    with tqdm(total=2 * len(encoded), desc=f"{mode} gate on {split}", unit="article", disable=None, leave=False) as bar:
        before = regression_metrics(torch_predictor.predict_encoded(encoded, progress=bar.update), gold,
                                    spec.dimension_names, means)
        after = regression_metrics(quantized.predict_encoded(encoded, progress=bar.update), gold,
                                   spec.dimension_names, means)
    tokens = float(np.mean([e.article_tokens for e in encoded]))
    logger.info("  " + _mae_line(f"{split} before (torch fp32)", before, tokens))
    logger.info("  " + _mae_line(f"{split} after  (ONNX {mode})", after, tokens))
    increase = after["mae"] - before["mae"]
    gate = {"split": split, "n": before["n"], "mae_before": before["mae"], "mae_after": after["mae"],
            "mae_increase": increase, "max_mae_increase": max_mae_increase,
            "mean_predictor_mae": before["mean_predictor_mae"], "article_tokens_kept_mean": round(tokens, 2),
            "per_dimension_mae_before": before["per_dimension_mae"], "per_dimension_mae_after": after["per_dimension_mae"],
            "passed": increase <= max_mae_increase}
    if not metadata.get("train_label_means"):
        gate["mean_predictor_note"] = "no training_metadata.json: the mean predictor uses this split's own means"
    logger.info(f"  MAE increase {increase:+.4f} (limit {max_mae_increase:g}): {'accepted' if gate['passed'] else 'REFUSED'}")
    return gate


