"""What a finished training run writes: the best weights as ``model/``, the history, the metadata and
the loss curves (file names from :mod:`filterforge.runs.layout`)."""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import asdict
from typing import Any

from filterforge.io import write_json
from filterforge.runs import layout

logger = logging.getLogger("filterforge.training.trainer")


def restore_best(trainer: Any) -> None:
    import torch

    params = dict(trainer.model.named_parameters())
    with torch.no_grad():
        for name, value in trainer.best_state.items():
            params[name].copy_(value.to(params[name].device))


def save_model(trainer: Any) -> None:
    """Merge LoRA, save the student with its tokenizer and filter files, then swap it in as ``model/``."""
    from filterforge.student.model import merge_lora

    merge_lora(trainer.model)
    trainer.model.to("cpu")
    model_dir = trainer.output_dir / layout.MODEL_DIR
    staging = trainer.output_dir / f".{layout.MODEL_DIR}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    trainer.model.save_pretrained(staging, trainer.tokenizer)
    for source in trainer.spec.package_files():
        shutil.copy2(source, staging / source.name)
    if model_dir.exists():
        shutil.rmtree(model_dir)
    os.replace(staging, model_dir)


def metadata(trainer: Any, stopped_by: str | None, started: float, peak_mb: float,
             num_parameters: int, num_trainable: int) -> dict[str, Any]:
    from filterforge.data.splits import data_hash
    from filterforge.provenance import provenance

    c, progress, history = trainer.config, trainer.progress, trainer.history
    seconds = progress["train_seconds"]
    return {
        "filter_name": trainer.spec.name, "filter_version": trainer.spec.version, "filter": trainer.spec.id,
        "dimension_names": trainer.spec.dimension_names, "num_dimensions": len(trainer.spec.dimensions),
        "model_name": c.model, "model_path": str(trainer.model_path),
        "num_parameters": num_parameters, "num_trainable_parameters": num_trainable,
        "epochs": c.epochs, "epochs_completed": progress["epoch"], "batch_size": c.batch_size,
        **distribution(trainer),
        "learning_rate": c.learning_rate, "head_learning_rate": c.head_learning_rate,
        "layer_lr_decay": c.layer_lr_decay, "recipe": c.recipe,
        "max_length": trainer.max_length, "warmup_steps": trainer.warmup, "grad_accum": c.grad_accum,
        "train_examples": len(trainer.train_rows), "val_examples": len(trainer.val_rows),
        "best_val_mae": progress["best_val_mae"], "best_epoch": progress["best_epoch"],
        "val_mean_predictor_mae": history[-1]["val_mean_predictor_mae"] if history else None,
        "include_prompt": trainer.strategy.uses_prompt, "strategy": c.strategy,
        "strategy_options": trainer.strategy.settings,
        "training_mode": "lora" if c.lora else "full", "lora_r": c.lora_r if c.lora else None,
        "head": trainer.model.info["head"], "pooling": trainer.model.info["pooling"], "loss": c.loss,
        "shared_prefix": trainer.use_shared_prefix, "grad_checkpointing": c.grad_checkpointing,
        "seed": c.seed, "data_dir": str(trainer.data_dir), "data_hash": data_hash(trainer.data_dir),
        "train_label_means": trainer.train_means,
        "device": trainer.device, "precision": trainer.precision,
        "threads": trainer.threads, "threads_source": trainer.threads_source,
        "wall_time_seconds": round(time.time() - started, 2), "train_seconds": round(seconds, 2),
        "articles_per_second": round(progress["articles_seen"] / seconds, 3) if seconds else None,
        "tokens_per_second": round(progress["tokens_seen"] / seconds, 1) if seconds else None,
        "peak_memory_mb": peak_mb, "global_steps": progress["global_step"], "max_steps": c.max_steps,
        "stopped_by": stopped_by, "token_budget": trainer.budget,
        "config": {k: v for k, v in asdict(c).items() if k not in ("overwrite", "quiet")},
        **provenance(),
    }


def distribution(trainer: Any) -> dict[str, Any]:
    """How many processes trained and how the global batch (the articles of one step) was split."""
    from filterforge.training.distributed import backend

    world = trainer.world
    return {"world_size": world.size, "batch_size_per_rank": trainer.config.batch_size,
            "global_batch_size": trainer.global_batch,
            "distributed_backend": backend(trainer.device) if world.distributed else None}


def finish(trainer: Any, stopped_by: str | None, started: float, peak_mb: float) -> dict[str, Any]:
    """Keep the best validation weights, write every output, return the metadata."""
    from filterforge.plots import plot_loss_curves

    restore_best(trainer)
    num_parameters = sum(p.numel() for p in trainer.model.parameters())
    num_trainable = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)
    save_model(trainer)
    meta = metadata(trainer, stopped_by, started, peak_mb, num_parameters, num_trainable)
    write_json(trainer.output_dir / layout.TRAINING_HISTORY, trainer.history)
    write_json(trainer.output_dir / layout.TRAINING_METADATA, meta)
    plot_loss_curves(trainer.history, trainer.output_dir / layout.LOSS_CURVES)
    log_footer(meta, trainer.budget, trainer.output_dir)
    return meta


def log_footer(m: dict[str, Any], budget: dict[str, Any], output_dir: Any) -> None:
    if m["stopped_by"] == "max_steps":
        logger.info(f"  stopped after --max-steps {m['max_steps']} ({m['global_steps']} optimizer steps); --resume continues")
    elif m["stopped_by"] == "early_stopping":
        logger.info(f"  early stopping after epoch {m['epochs_completed']}")
    logger.info(
        f"best val MAE {m['best_val_mae']:.4f} vs mean predictor {m['val_mean_predictor_mae']:.4f} "
        f"(article tokens kept mean {budget['article_tokens_kept_mean']}); "
        f"{m['articles_per_second']} articles/s; wrote {output_dir}"
    )
