"""The training loop: dynamic padding, length-grouped batches, AdamW + warmup/linear decay,
LoRA or full fine-tuning, shared-prefix batching for prompts, early stopping, exact resume."""

from __future__ import annotations

import math
import os
import random
import shutil
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click

from filterforge.errors import FilterforgeError
from filterforge.io import ensure_empty_dir, write_json


@dataclass
class TrainConfig:
    filter_id: str
    strategy: str = "distillation"
    data_dir: str | None = None
    output_dir: str | None = None
    model: str = "minilm"
    epochs: int = 3
    batch_size: int = 8
    learning_rate: float = 2e-5
    head_learning_rate: float | None = 1e-3
    weight_decay: float = 0.01
    max_length: int | None = None
    warmup_steps: int | None = None
    warmup_ratio: float | None = None
    grad_accum: int = 1
    lora: bool = False
    lora_r: int = 16
    lora_alpha: int | None = None
    lora_dropout: float = 0.05
    grad_checkpointing: bool = False
    precision: str = "auto"
    device: str = "auto"
    seed: int = 42
    early_stopping_patience: int | None = None
    min_article_tokens: int = 128
    max_steps: int | None = None
    max_train_examples: int | None = None
    resume: bool = False
    overwrite: bool = False
    quiet: bool = False
    head: str = "regression"
    pooling: str | None = None
    loss: str = "mse"
    shared_prefix: bool = True
    strategy_options: dict[str, Any] = field(default_factory=dict)
    threads: int | None = None


def _timestamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")


def _precision(config: TrainConfig, device: str):
    import torch

    wanted = config.precision
    if wanted == "auto":
        wanted = "bf16" if device.startswith("cuda") and torch.cuda.is_bf16_supported() else "fp32"
    if wanted in ("bf16", "fp16") and not device.startswith("cuda"):
        if wanted == "fp16":
            raise FilterforgeError("--precision fp16 needs a CUDA device (use fp32 or bf16 on CPU)")
    dtype = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[wanted]
    return wanted, dtype


def _seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _apply_lora(model: Any, config: TrainConfig) -> None:
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha or 2 * config.lora_r,
                      lora_dropout=config.lora_dropout, target_modules="all-linear", bias="none")
    model.body = get_peft_model(model.body, lora)


def _loss_fn(name: str):
    import torch

    if name == "mse":
        return torch.nn.MSELoss()
    if name == "huber":
        return torch.nn.HuberLoss(delta=1.0)
    raise FilterforgeError(f"unknown --loss '{name}' (known: mse, huber)")


class Trainer:
    """One training run. ``run()`` returns the metadata it wrote."""

    def __init__(self, config: TrainConfig):
        self.config = config

    # -- setup ------------------------------------------------------------------------------
    def setup(self) -> None:
        import torch
        from transformers import AutoConfig

        from filterforge.data.splits import load_split
        from filterforge.filters.spec import resolve_filter
        from filterforge.runtime.torch_predictor import select_device
        from filterforge.student.sources import load_tokenizer, resolve_model
        from filterforge.plugins.manager import get_heads, get_poolings, get_strategies, lookup
        from filterforge.encoding.strategies import model_context_window

        c = self.config
        if c.threads:
            torch.set_num_threads(c.threads)
        self.spec = resolve_filter(c.filter_id)
        strategy_cls = lookup("strategy", c.strategy, get_strategies())
        lookup("head", c.head, get_heads())
        if c.pooling:
            lookup("pooling", c.pooling, get_poolings())
        _loss_fn(c.loss)
        if c.warmup_steps is not None and c.warmup_ratio is not None:
            raise FilterforgeError("give --warmup-steps or --warmup-ratio, not both")
        self.data_dir = Path(c.data_dir) if c.data_dir else Path("datasets") / "training" / self.spec.slug
        if not self.data_dir.is_dir():
            raise FilterforgeError(
                f"data dir {self.data_dir} not found; create it with: filterforge prepare {self.spec.id} "
                f"--input 'scored/*.jsonl' --output-dir {self.data_dir}"
            )
        self.output_dir = Path(c.output_dir) if c.output_dir else Path("runs") / f"{self.spec.slug}_{c.strategy}_{_timestamp()}"
        if c.resume:
            if not (self.output_dir / "checkpoint").exists():
                raise FilterforgeError(f"--resume: no checkpoint in {self.output_dir / 'checkpoint'}")
        else:
            ensure_empty_dir(self.output_dir, c.overwrite)
        self.train_rows = load_split(self.data_dir / "train.jsonl", self.spec)
        if c.max_train_examples:
            self.train_rows = self.train_rows[: c.max_train_examples]
        self.val_rows = load_split(self.data_dir / "val.jsonl", self.spec)

        self.model_path = resolve_model(c.model)
        self.device = select_device(c.device)
        self.precision, self.autocast_dtype = _precision(c, self.device)
        model_config = AutoConfig.from_pretrained(str(self.model_path))
        self.tokenizer = load_tokenizer(self.model_path)
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token or self.tokenizer.unk_token
        self.strategy = strategy_cls(self.spec, self.tokenizer, c.strategy_options)
        window = model_context_window(model_config)
        self.max_length = c.max_length or self.strategy.default_max_length(window)
        self.strategy.check_budget(self.max_length, c.min_article_tokens, window)
        self.context_window = window

    def encode(self) -> None:
        from filterforge.encoding.strategies import budget_statistics

        self.train_encoded = [self.strategy.encode(r, self.max_length) for r in self.train_rows]
        self.val_encoded = [self.strategy.encode(r, self.max_length) for r in self.val_rows]
        self.train_labels = [r["labels"] for r in self.train_rows]
        self.val_labels = [r["labels"] for r in self.val_rows]
        prefix, suffix = self.strategy.frame()
        self.budget = budget_statistics(self.train_encoded + self.val_encoded, len(prefix) + len(suffix))
        self.budget.update({"max_length": self.max_length, "min_article_tokens": self.config.min_article_tokens})

    def build_model(self) -> None:
        import torch

        from filterforge.student import shared_prefix as sp
        from filterforge.student.model import build_student

        c = self.config
        info = {
            "filter": self.spec.id, "filter_name": self.spec.name, "filter_version": self.spec.version,
            "dimension_names": self.spec.dimension_names, "strategy": c.strategy,
            "strategy_options": self.strategy.settings, "max_length": self.max_length,
            "base_model": c.model, "lora": "merged" if c.lora else None,
        }
        _seed_everything(c.seed)
        self.model = build_student(self.model_path, len(self.spec.dimensions), c.head, c.pooling, info)
        if self.model.is_decoder and self.model.body.config.pad_token_id is None:
            self.model.body.config.pad_token_id = self.tokenizer.pad_token_id
        means = torch.tensor(self.train_labels, dtype=torch.float32).mean(0)
        self.train_means = means.tolist()
        if hasattr(self.model.head, "set_output_bias"):
            self.model.head.set_output_bias(means)
        if c.lora:
            _apply_lora(self.model, c)
        self.use_shared_prefix = c.shared_prefix and sp.supported(self.model, self.strategy)
        if c.grad_checkpointing:
            if self.use_shared_prefix:
                raise FilterforgeError(
                    "--grad-checkpointing cannot be combined with shared-prefix batching (the prompt's KV cache "
                    "must stay live); add --no-shared-prefix or drop --grad-checkpointing"
                )
            body = self.model.body
            body.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
            if c.lora and hasattr(body, "enable_input_require_grads"):
                body.enable_input_require_grads()
        self.model.to(self.device)

    def optimizer(self):
        import torch
        from transformers import get_linear_schedule_with_warmup

        c = self.config
        head_params = [p for p in self.model.head.parameters() if p.requires_grad]
        head_ids = {id(p) for p in head_params}
        body_params = [p for p in self.model.parameters() if p.requires_grad and id(p) not in head_ids]
        groups = [
            {"params": body_params, "lr": c.learning_rate},
            {"params": head_params, "lr": c.head_learning_rate or c.learning_rate},
        ]
        optimizer = torch.optim.AdamW(groups, weight_decay=c.weight_decay)
        self.steps_per_epoch = math.ceil(math.ceil(len(self.train_encoded) / c.batch_size) / c.grad_accum)
        self.total_steps = self.steps_per_epoch * c.epochs
        warmup = c.warmup_steps if c.warmup_steps is not None else round((c.warmup_ratio or 0.0) * self.total_steps)
        self.warmup = warmup
        scheduler = get_linear_schedule_with_warmup(optimizer, warmup, self.total_steps)
        scaler = torch.amp.GradScaler("cuda", enabled=self.precision == "fp16")
        return optimizer, scheduler, scaler

    # -- evaluation -------------------------------------------------------------------------
    def evaluate_val(self) -> dict[str, Any]:
        import numpy as np

        from filterforge.runtime.torch_predictor import TorchPredictor
        from filterforge.evaluation.metrics import regression_metrics

        predictor = TorchPredictor(self.model, self.tokenizer, self.strategy, self.max_length, self.device,
                                   batch_size=max(self.config.batch_size, 8), shared_prefix=self.use_shared_prefix,
                                   autocast_dtype=self.autocast_dtype)
        pred = predictor.predict_encoded(self.val_encoded)
        return regression_metrics(pred, np.asarray(self.val_labels), self.spec.dimension_names, self.train_means)

    # -- loop -------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        import torch

        from filterforge.training import checkpoint as ckpt
        from filterforge.student import shared_prefix as sp
        from filterforge.encoding.batching import collate, length_grouped_order, pad_multiple
        from filterforge.runtime.torch_predictor import pad_token_id
        from filterforge.provenance import peak_memory_mb

        c = self.config
        started = time.time()
        self.setup()
        self.encode()
        self.build_model()
        optimizer, scheduler, scaler = self.optimizer()
        loss_fn = _loss_fn(c.loss)
        pad_id = pad_token_id(self.tokenizer)
        multiple = pad_multiple(self.device)
        history: list[dict[str, Any]] = []
        progress = {"epoch": 0, "batch_in_epoch": 0, "global_step": 0, "best_val_mae": None, "best_epoch": None,
                    "epochs_without_improvement": 0, "train_seconds": 0.0, "articles_seen": 0, "tokens_seen": 0}
        best_state = None
        checkpoint_dir = self.output_dir / "checkpoint"
        if c.resume:
            progress, best_state = ckpt.load_checkpoint(checkpoint_dir, self.model, optimizer, scheduler, scaler)
            history = _read_history(self.output_dir)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self._print_header()
        lengths = [len(e.input_ids) for e in self.train_encoded]
        stopped_by = None
        show_bar = not c.quiet and sys.stderr.isatty()
        for epoch in range(progress["epoch"], c.epochs):
            batches = length_grouped_order(lengths, c.batch_size, random.Random(c.seed * 1000 + epoch))
            self.model.train()
            losses: list[float] = []
            bar = _progress_bar(len(batches), f"epoch {epoch + 1}/{c.epochs}", show_bar, progress["batch_in_epoch"])
            epoch_start = time.time()
            for batch_index in range(progress["batch_in_epoch"], len(batches)):
                batch = collate(self.train_encoded, batches[batch_index], self.train_labels, pad_id, multiple,
                                self.use_shared_prefix).to(self.device)
                with torch.autocast(self.device.split(":")[0], dtype=self.autocast_dtype, enabled=self.autocast_dtype is not None):
                    scores = sp.forward_shared(self.model, batch) if self.use_shared_prefix else self.model(batch.input_ids, batch.attention_mask)
                loss = loss_fn(scores.float(), batch.labels)
                if not torch.isfinite(loss):
                    raise FilterforgeError(
                        f"training loss became {loss.item()} at epoch {epoch + 1}, batch {batch_index + 1} "
                        f"(learning rate {scheduler.get_last_lr()[0]:.2e}); lower --learning-rate or use --precision fp32"
                    )
                scaler.scale(loss / c.grad_accum).backward()
                losses.append(loss.item())
                progress["articles_seen"] += batch.size
                progress["tokens_seen"] += batch.real_tokens()
                last_of_epoch = batch_index + 1 == len(batches)
                if (batch_index + 1) % c.grad_accum == 0 or last_of_epoch:
                    scaler.unscale_(optimizer)
                    torch.nn.utils.clip_grad_norm_([p for p in self.model.parameters() if p.requires_grad], 1.0)
                    scaler.step(optimizer)
                    scaler.update()
                    scheduler.step()
                    optimizer.zero_grad(set_to_none=True)
                    progress["global_step"] += 1
                progress["batch_in_epoch"] = batch_index + 1
                if bar is not None:
                    elapsed = progress["train_seconds"] + time.time() - epoch_start
                    bar.set_postfix(loss=f"{statistics.fmean(losses[-20:]):.3f}", art_s=f"{progress['articles_seen'] / max(elapsed, 1e-9):.1f}")
                    bar.update(1)
                if c.max_steps and progress["global_step"] >= c.max_steps and not last_of_epoch:
                    stopped_by = "max_steps"
                    break
            if bar is not None:
                bar.close()
            progress["train_seconds"] += time.time() - epoch_start  # validation time is not training time
            if stopped_by:
                break
            val = self.evaluate_val()
            entry = {"epoch": epoch + 1, "train_loss": statistics.fmean(losses) if losses else None,
                     "val_mae": val["mae"], "val_rmse": val["rmse"], "val_mean_predictor_mae": val["mean_predictor_mae"],
                     "val_per_dimension_mae": val["per_dimension_mae"], "global_step": progress["global_step"]}
            history.append(entry)
            improved = progress["best_val_mae"] is None or val["mae"] < progress["best_val_mae"]
            if improved:
                progress.update(best_val_mae=val["mae"], best_epoch=epoch + 1, epochs_without_improvement=0)
                best_state = ckpt.trainable_state(self.model)
            else:
                progress["epochs_without_improvement"] += 1
            progress.update(epoch=epoch + 1, batch_in_epoch=0)
            self._print_epoch(entry, improved)
            ckpt.save_checkpoint(checkpoint_dir, self.model, optimizer, scheduler, scaler, best_state, progress)
            write_json(self.output_dir / "training_history.json", history)
            if c.early_stopping_patience and progress["epochs_without_improvement"] >= c.early_stopping_patience:
                stopped_by = "early_stopping"
                break
            if c.max_steps and progress["global_step"] >= c.max_steps and epoch + 1 < c.epochs:
                stopped_by = "max_steps"
                break
        if stopped_by == "max_steps" and progress["batch_in_epoch"]:
            ckpt.save_checkpoint(checkpoint_dir, self.model, optimizer, scheduler, scaler, best_state, progress)
        if best_state is None:  # stopped before any validation: evaluate what we have
            val = self.evaluate_val()
            batches_per_epoch = math.ceil(len(lengths) / c.batch_size)
            history.append({"epoch": round(progress["epoch"] + progress["batch_in_epoch"] / batches_per_epoch, 3),
                            "train_loss": None, "val_mae": val["mae"], "val_rmse": val["rmse"],
                            "val_mean_predictor_mae": val["mean_predictor_mae"], "val_per_dimension_mae": val["per_dimension_mae"],
                            "global_step": progress["global_step"], "partial_epoch": True})
            progress.update(best_val_mae=val["mae"], best_epoch=None)
            best_state = ckpt.trainable_state(self.model)
        return self.finish(best_state, history, progress, stopped_by, started, peak_memory_mb(self.device))

    # -- outputs ----------------------------------------------------------------------------
    def finish(self, best_state, history, progress, stopped_by, started, peak_mb) -> dict[str, Any]:
        import torch

        from filterforge.data.splits import data_hash
        from filterforge.student.model import merge_lora
        from filterforge.provenance import provenance
        from filterforge.evaluation.plots import plot_loss_curves

        c = self.config
        params = dict(self.model.named_parameters())
        with torch.no_grad():
            for name, value in best_state.items():
                params[name].copy_(value.to(params[name].device))
        num_parameters = sum(p.numel() for p in self.model.parameters())
        num_trainable = sum(p.numel() for p in self.model.parameters() if p.requires_grad)
        merge_lora(self.model)
        self.model.to("cpu")
        model_dir = self.output_dir / "model"
        staging = self.output_dir / ".model.tmp"
        shutil.rmtree(staging, ignore_errors=True)
        self.model.save_pretrained(staging, self.tokenizer)
        shutil.copy2(self.spec.path / "filter.yaml", staging / "filter.yaml")
        if self.spec.prompt_path.exists():
            shutil.copy2(self.spec.prompt_path, staging / "prompt.md")
        if model_dir.exists():
            shutil.rmtree(model_dir)
        os.replace(staging, model_dir)
        seconds = progress["train_seconds"]
        metadata = {
            "filter_name": self.spec.name, "filter_version": self.spec.version, "filter": self.spec.id,
            "dimension_names": self.spec.dimension_names, "num_dimensions": len(self.spec.dimensions),
            "model_name": c.model, "model_path": str(self.model_path),
            "num_parameters": num_parameters, "num_trainable_parameters": num_trainable,
            "epochs": c.epochs, "epochs_completed": progress["epoch"], "batch_size": c.batch_size,
            "learning_rate": c.learning_rate, "head_learning_rate": c.head_learning_rate,
            "max_length": self.max_length, "warmup_steps": self.warmup, "grad_accum": c.grad_accum,
            "train_examples": len(self.train_rows), "val_examples": len(self.val_rows),
            "best_val_mae": progress["best_val_mae"], "best_epoch": progress["best_epoch"],
            "val_mean_predictor_mae": history[-1]["val_mean_predictor_mae"] if history else None,
            "include_prompt": c.strategy == "instruction", "strategy": c.strategy,
            "strategy_options": self.strategy.settings,
            "training_mode": "lora" if c.lora else "full", "lora_r": c.lora_r if c.lora else None,
            "head": self.model.info["head"], "pooling": self.model.info["pooling"], "loss": c.loss,
            "shared_prefix": self.use_shared_prefix, "grad_checkpointing": c.grad_checkpointing,
            "seed": c.seed, "data_dir": str(self.data_dir), "data_hash": data_hash(self.data_dir),
            "train_label_means": self.train_means,
            "device": self.device, "precision": self.precision,
            "wall_time_seconds": round(time.time() - started, 2), "train_seconds": round(seconds, 2),
            "articles_per_second": round(progress["articles_seen"] / seconds, 3) if seconds else None,
            "tokens_per_second": round(progress["tokens_seen"] / seconds, 1) if seconds else None,
            "peak_memory_mb": peak_mb, "global_steps": progress["global_step"], "max_steps": c.max_steps,
            "stopped_by": stopped_by, "token_budget": self.budget,
            "config": {k: v for k, v in asdict(c).items() if k not in ("overwrite", "quiet")},
            **provenance(),
        }
        write_json(self.output_dir / "training_history.json", history)
        write_json(self.output_dir / "training_metadata.json", metadata)
        plot_loss_curves(history, self.output_dir / "loss_curves.png")
        self._print_footer(metadata)
        return metadata

    # -- printing ---------------------------------------------------------------------------
    def _echo(self, text: str) -> None:
        if not self.config.quiet:
            click.echo(text)

    def _print_header(self) -> None:
        b = self.budget
        self._echo(
            f"train {self.spec.id} strategy={self.config.strategy} model={self.config.model} device={self.device} "
            f"precision={self.precision} shared_prefix={self.use_shared_prefix}"
        )
        self._echo(
            f"  {len(self.train_rows)} train / {len(self.val_rows)} val articles; max_length {self.max_length}, "
            f"prompt+template {b['prompt_tokens']} tokens, article tokens kept mean {b['article_tokens_kept_mean']} "
            f"(min {b['article_tokens_kept_min']}), truncated {b['share_truncated']:.0%}"
        )

    def _print_epoch(self, entry: dict, improved: bool) -> None:
        self._echo(
            f"  epoch {entry['epoch']}: train loss {entry['train_loss']:.4f}  val MAE {entry['val_mae']:.4f} "
            f"(mean predictor {entry['val_mean_predictor_mae']:.4f}; article tokens kept mean "
            f"{self.budget['article_tokens_kept_mean']}){'  *best' if improved else ''}"
        )

    def _print_footer(self, m: dict) -> None:
        if m["stopped_by"] == "max_steps":
            self._echo(f"  stopped after --max-steps {m['max_steps']} ({m['global_steps']} optimizer steps); --resume continues")
        elif m["stopped_by"] == "early_stopping":
            self._echo(f"  early stopping after epoch {m['epochs_completed']}")
        self._echo(
            f"best val MAE {m['best_val_mae']:.4f} vs mean predictor {m['val_mean_predictor_mae']:.4f} "
            f"(article tokens kept mean {self.budget['article_tokens_kept_mean']}); "
            f"{m['articles_per_second']} articles/s; wrote {self.output_dir}"
        )


def _read_history(output_dir: Path) -> list[dict]:
    import json

    path = output_dir / "training_history.json"
    return json.loads(path.read_text()) if path.exists() else []


def _progress_bar(total: int, desc: str, enabled: bool, initial: int):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, initial=initial, leave=False, dynamic_ncols=True)


def train(config: TrainConfig) -> dict[str, Any]:
    return Trainer(config).run()
