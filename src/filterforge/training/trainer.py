"""The training loop: dynamic padding, length-grouped batches, AdamW + warmup/linear decay,
LoRA or full fine-tuning, shared-prefix batching for prompts, early stopping, exact resume.

``Trainer.run`` delegates: ``setup`` (data, tokenizer, strategy, token budget), ``build_model``,
``optimizer``, then one ``train_epoch`` and one ``end_epoch`` (validation, checkpoint) per epoch, and
``finish`` (best weights, model folder, metadata) from :mod:`filterforge.training.outputs`. Started by
torchrun, each process is one rank of a DistributedDataParallel run (:mod:`filterforge.training.distributed`).
"""

from __future__ import annotations

import logging
import math
import random
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from filterforge.errors import FilterforgeError
from filterforge.io import ensure_empty_dir, write_json
from filterforge.runs import layout
from filterforge.training import distributed
from filterforge.training.config import LOSSES, RESUME_SETTINGS, SMALL_DATA_TRAIN_ARTICLES, TrainConfig
from filterforge.training.optim import layer_wise_groups

logger = logging.getLogger(__name__)


def _timestamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")


def _precision(config: TrainConfig, device: str):
    import torch

    wanted = config.precision
    if wanted == "auto":
        wanted = "bf16" if device.startswith("cuda") and torch.cuda.is_bf16_supported() else "fp32"
    if wanted == "fp16" and not device.startswith("cuda"):
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
    raise FilterforgeError(f"unknown --loss '{name}' (known: {', '.join(LOSSES)})")


class Trainer:
    """One training run (or one rank of it). ``run()`` returns the metadata it wrote."""

    def __init__(self, config: TrainConfig):
        self.config = config
        self.world = distributed.world_from_env()

    # -- setup ------------------------------------------------------------------------------
    def setup(self) -> None:
        from filterforge.data.splits import default_data_dir, load_split, split_file
        from filterforge.encoding.strategies import model_context_window
        from filterforge.filters.spec import resolve_filter
        from filterforge.plugins.manager import get_heads, get_poolings, get_strategies, lookup
        from filterforge.runtime.device import choose_threads, select_device, use_threads
        from filterforge.student.model import default_pooling, is_decoder_config
        from filterforge.student.sources import load_config, load_tokenizer, resolve_model

        c = self.config
        c.validate()
        self.threads, self.threads_source = self._threads(*choose_threads(c.threads))
        use_threads(self.threads)
        self.spec = resolve_filter(c.filter_id)
        strategy_cls = lookup("strategy", c.strategy, get_strategies())
        lookup("head", c.head, get_heads())
        if c.pooling:
            lookup("pooling", c.pooling, get_poolings())
        _loss_fn(c.loss)
        self.data_dir = Path(c.data_dir) if c.data_dir else default_data_dir(self.spec)
        if not self.data_dir.is_dir():
            raise FilterforgeError(
                f"data dir {self.data_dir} not found; create it with: filterforge prepare {self.spec.id} "
                f"--input 'scored/*.jsonl' --output-dir {self.data_dir}"
            )
        self.output_dir = Path(c.output_dir) if c.output_dir else Path("runs") / f"{self.spec.slug}_{c.strategy}_{_timestamp()}"
        self.checkpoint_dir = self.output_dir / layout.CHECKPOINT_DIR
        if c.resume:
            if not self.checkpoint_dir.exists():
                raise FilterforgeError(f"--resume: no checkpoint in {self.checkpoint_dir}")
        else:
            self._refuse_unfinished_run()
            ensure_empty_dir(self.output_dir, c.overwrite)
        self.train_rows = load_split(split_file(self.data_dir, "train"), self.spec)
        if c.max_train_examples:
            self.train_rows = self.train_rows[: c.max_train_examples]
        self.val_rows = load_split(split_file(self.data_dir, "val"), self.spec)

        self.model_path = resolve_model(c.model)
        self.device = distributed.rank_device(select_device(c.device), self.world)
        self.global_batch = c.batch_size * self.world.size
        self.precision, self.autocast_dtype = _precision(c, self.device)
        self.tokenizer = load_tokenizer(self.model_path)
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token or self.tokenizer.unk_token
        self.strategy = strategy_cls(self.spec, self.tokenizer, c.strategy_options)
        model_config = load_config(self.model_path)
        window = model_context_window(model_config)
        self.max_length = c.max_length or self.strategy.default_max_length(window)
        self.strategy.check_budget(self.max_length, c.min_article_tokens, window)
        self.pooling = c.pooling or default_pooling(model_config)
        c.apply_recipe("decoder" if is_decoder_config(model_config) else "encoder")
        c.validate()
        self.settings = self.resume_settings()
        if c.resume:
            self._refuse_changed_settings()

    def _threads(self, threads: int, source: str) -> tuple[int, str]:
        """The cores this process may use are shared by the ranks on its node, unless --threads was given."""
        if self.config.threads or self.world.local_size == 1:
            return threads, source
        return distributed.cores_per_rank(threads, self.world), f"{source} / {self.world.local_size} ranks on this node"

    def resume_settings(self) -> dict[str, Any]:
        """The settings recorded in every checkpoint, which a --resume must repeat."""
        from filterforge.data.splits import data_hash

        chosen = {name: getattr(self.config, name) for name in RESUME_SETTINGS}
        return {**chosen, "filter": self.spec.id, "max_length": self.max_length, "pooling": self.pooling,
                "strategy_options": self.strategy.settings, "data_hash": data_hash(self.data_dir),
                "world_size": self.world.size}

    def _refuse_changed_settings(self) -> None:
        from filterforge.training.checkpoint import recorded_settings, settings_changes

        recorded = recorded_settings(self.checkpoint_dir)
        changes = settings_changes(recorded, self.settings) if recorded else []
        if changes:
            raise FilterforgeError(
                f"--resume: the checkpoint in {self.checkpoint_dir} was trained with other settings: "
                f"{', '.join(changes)} (repeat the original settings, or start over with --overwrite)"
            )

    def _refuse_unfinished_run(self) -> None:
        from filterforge.training.checkpoint import STATE_FILE

        if not self.config.overwrite and (self.checkpoint_dir / STATE_FILE).exists():
            raise FilterforgeError(
                f"output dir {self.output_dir} already holds a training checkpoint "
                f"(add --resume to continue that run, or --overwrite to start over)"
            )

    def encode(self) -> None:
        from filterforge.encoding.strategies import budget_statistics

        self.train_encoded = [self.strategy.encode(r, self.max_length) for r in self.train_rows]
        self.val_encoded = [self.strategy.encode(r, self.max_length) for r in self.val_rows]
        self.train_labels = [r["labels"] for r in self.train_rows]
        self.val_labels = [r["labels"] for r in self.val_rows]
        self.budget = budget_statistics(self.train_encoded + self.val_encoded, self.strategy.fixed_tokens)
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
            self._enable_grad_checkpointing()
        self.model.to(self.device)
        self.forward_module = distributed.TrainingForward(self.model, self.use_shared_prefix)
        if self.world.rank:
            torch.manual_seed(c.seed + self.world.rank)  # its own dropout masks; DDP copies rank 0's weights

    def _enable_grad_checkpointing(self) -> None:
        if self.use_shared_prefix:
            raise FilterforgeError(
                "--grad-checkpointing cannot be combined with shared-prefix batching (the prompt's KV cache "
                "must stay live); add --no-shared-prefix or drop --grad-checkpointing"
            )
        body = self.model.body
        body.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if self.config.lora and hasattr(body, "enable_input_require_grads"):
            body.enable_input_require_grads()

    def optimizer(self):
        import torch
        from transformers import get_linear_schedule_with_warmup

        c = self.config
        head_params = [p for p in self.model.head.parameters() if p.requires_grad]
        head_ids = {id(p) for p in head_params}
        body = [(name, p) for name, p in self.model.named_parameters() if p.requires_grad and id(p) not in head_ids]
        groups = [
            *layer_wise_groups(body, c.learning_rate, c.layer_lr_decay),
            {"params": head_params, "lr": c.head_learning_rate or c.learning_rate},
        ]
        optimizer = torch.optim.AdamW(groups, weight_decay=c.weight_decay)
        self.batches_per_epoch = math.ceil(len(self.train_encoded) / self.global_batch)
        self.total_steps = math.ceil(self.batches_per_epoch / c.grad_accum) * c.epochs
        self.warmup = c.warmup_steps if c.warmup_steps is not None else round((c.warmup_ratio or 0.0) * self.total_steps)
        scheduler = get_linear_schedule_with_warmup(optimizer, self.warmup, self.total_steps)
        scaler = torch.amp.GradScaler("cuda", enabled=self.precision == "fp16")
        return optimizer, scheduler, scaler

    # -- evaluation -------------------------------------------------------------------------
    def evaluate_val(self) -> dict[str, Any]:
        import numpy as np

        from filterforge.metrics import regression_metrics
        from filterforge.runtime.torch_predictor import TorchPredictor

        predictor = TorchPredictor(self.model, self.tokenizer, self.strategy, self.max_length, self.device,
                                   batch_size=max(self.config.batch_size, 8), shared_prefix=self.use_shared_prefix,
                                   autocast_dtype=self.autocast_dtype)
        count = len(self.val_encoded)
        share = predictor.predict_encoded([self.val_encoded[i] for i in distributed.validation_share(count, self.world)])
        pred = distributed.gather_validation(share, count, self.world, self.device)
        return regression_metrics(pred, np.asarray(self.val_labels), self.spec.dimension_names, self.train_means)

    def history_entry(self, epoch: float, train_loss: float | None, val: dict[str, Any], step: int) -> dict[str, Any]:
        return {"epoch": epoch, "train_loss": train_loss, "val_mae": val["mae"], "val_rmse": val["rmse"],
                "val_mean_predictor_mae": val["mean_predictor_mae"], "val_per_dimension_mae": val["per_dimension_mae"],
                "global_step": step}

    # -- loop -------------------------------------------------------------------------------
    def run(self) -> dict[str, Any] | None:
        """Train and write the run; the other ranks of a distributed run write nothing and return None
        once rank 0 has written it."""
        from filterforge.runtime.device import select_device

        c = self.config
        c.validate()
        with distributed.process_group(self.world, select_device(c.device), c.distributed_timeout_minutes):
            return self._train_and_write()

    def _train_and_write(self) -> dict[str, Any] | None:
        from filterforge.runtime.device import peak_memory_mb
        from filterforge.training.outputs import finish

        c = self.config
        started = time.time()
        self.setup()
        self.encode()
        self.build_model()
        self.optimizer_state = self.optimizer()
        self.loss_fn = _loss_fn(c.loss)
        self.history: list[dict[str, Any]] = []
        self.progress = {"epoch": 0, "batch_in_epoch": 0, "global_step": 0, "best_val_mae": None, "best_epoch": None,
                         "epochs_without_improvement": 0, "train_seconds": 0.0, "articles_seen": 0, "tokens_seen": 0,
                         "epoch_losses": []}
        self.best_state = None  # kept by rank 0 only, which writes it
        if c.resume:
            self.resume()
        self.forward_module = distributed.wrap(self.forward_module, self.world, self.device)
        created = self.world.main and not self.output_dir.exists()
        if self.world.main:
            self.output_dir.mkdir(parents=True, exist_ok=True)
        try:
            stopped_by = self.train_epochs()
        except BaseException:
            if created and not any(self.output_dir.iterdir()):
                self.output_dir.rmdir()  # a run refused before its first checkpoint leaves nothing behind
            raise
        if self.progress["best_val_mae"] is None:
            self.validate_partial_epoch()
        meta = finish(self, stopped_by, started, peak_memory_mb(self.device)) if self.world.main else None
        if self.world.main:
            self._hint_small_data()
        distributed.barrier(self.world)
        return meta

    def _hint_small_data(self) -> None:
        if len(self.train_rows) <= SMALL_DATA_TRAIN_ARTICLES:
            logger.info(
                f"only {len(self.train_rows)} train articles, {self.total_steps} optimizer steps in "
                f"{self.config.epochs} epochs: so few articles need more passes (on the README's small sets "
                f"--epochs 15 --early-stopping-patience 2 beat three epochs by far), and a frozen encoder with a ridge "
                f"head may still beat fine-tuning; compare this run with `filterforge baseline {self.spec.id} --method "
                f"embedding-probe --data-dir {self.data_dir} --output-dir RUN` (`filterforge compare` fits it for you)"
            )

    def resume(self) -> None:
        """Every rank loads the checkpoint rank 0 wrote, with its own RNG states."""
        from filterforge.training import checkpoint as ckpt

        self.progress, best_state = ckpt.load_checkpoint(self.checkpoint_dir, self.model, *self.optimizer_state,
                                                         rank=self.world.rank, device=self.device)
        self.best_state = best_state if self.world.main else None
        self.progress.setdefault("epoch_losses", [])  # a checkpoint from before they were kept
        self.history = _read_history(self.output_dir, self.progress["epoch"])

    def train_epochs(self) -> str | None:
        """Every remaining epoch; returns why training stopped early, if it did."""
        self._log_header()
        self._last_save = time.monotonic()
        stopped_by = None
        for epoch in range(self.progress["epoch"], self.config.epochs):
            losses, stopped_by = self.train_epoch(epoch)
            if stopped_by is None:
                stopped_by = self.end_epoch(epoch, losses)
            if stopped_by:
                break
        if stopped_by == "max_steps" and self.progress["batch_in_epoch"]:
            self.save_checkpoint()
        return stopped_by

    def train_epoch(self, epoch: int) -> tuple[list[float], str | None]:
        """Train from the saved position to the end of ``epoch``; stops early at --max-steps."""
        from filterforge.encoding.batching import training_batches

        c = self.config
        # Every rank plans the same global batches and trains on its share of each (distributed.rank_share).
        batches = training_batches([len(e.input_ids) for e in self.train_encoded], self.global_batch,
                                   random.Random(c.seed * 1000 + epoch))
        self.forward_module.train()
        losses = self.progress["epoch_losses"]  # kept in checkpoints, so a resumed epoch's mean loss is whole
        bar = _progress_bar(len(batches), f"epoch {epoch + 1}/{c.epochs}",
                            not c.quiet and sys.stderr.isatty() and self.world.main, self.progress["batch_in_epoch"])
        self._clock = time.time()
        stopped_by = None
        try:
            for batch_index in range(self.progress["batch_in_epoch"], len(batches)):
                step_before = self.progress["global_step"]
                losses.append(self.train_step(epoch, batch_index, batches))
                self._update_bar(bar, losses)
                last_of_epoch = batch_index + 1 == len(batches)
                if c.max_steps and self.progress["global_step"] >= c.max_steps and not last_of_epoch:
                    stopped_by = "max_steps"
                    break
                if self.progress["global_step"] > step_before and not last_of_epoch and self._checkpoint_due():
                    self._save_mid_epoch(epoch, len(batches))
        finally:
            if bar is not None:
                bar.close()
        self._count_train_time()
        return losses, stopped_by

    def _checkpoint_due(self) -> bool:
        """At an optimizer step: is a --save-every-steps or --save-every-minutes checkpoint due?"""
        c = self.config
        if c.save_every_steps and self.progress["global_step"] % c.save_every_steps == 0:
            return True
        if not c.save_every_minutes:
            return False
        due = time.monotonic() - self._last_save >= c.save_every_minutes * 60
        return distributed.decided_by_rank0(due, self.world, self.device)  # every rank joins a checkpoint

    def _save_mid_epoch(self, epoch: int, batches: int) -> None:
        self._count_train_time()
        self.save_checkpoint()
        logger.info(f"  checkpoint at step {self.progress['global_step']} "
                    f"(epoch {epoch + 1}, batch {self.progress['batch_in_epoch']}/{batches})")

    def _count_train_time(self) -> None:
        """Add the time since the last call to the training time (validation time is not training time)."""
        now = time.time()
        self.progress["train_seconds"] += now - self._clock
        self._clock = now

    def train_step(self, epoch: int, batch_index: int, batches: list[list[int]]) -> float:
        import torch

        from filterforge.encoding.batching import collate, pad_multiple, pad_token_id
        from filterforge.runtime.device import autocast

        c = self.config
        optimizer, scheduler, scaler = self.optimizer_state
        indices, share = distributed.rank_share(batches[batch_index], self.world)
        batch = collate(self.train_encoded, indices, self.train_labels, pad_token_id(self.tokenizer),
                        pad_multiple(self.device), self.use_shared_prefix).to(self.device)
        optimizer_step = (batch_index + 1) % c.grad_accum == 0 or batch_index + 1 == len(batches)
        with distributed.gradient_sync(self.forward_module, self.world, optimizer_step):
            with autocast(self.device, self.autocast_dtype):
                scores = self.forward_module(batch)
            loss = self.loss_fn(scores.float(), batch.labels)
            batch_loss, tokens = self._global_loss_and_tokens(loss, share, batch)
            if not math.isfinite(batch_loss):
                raise FilterforgeError(
                    f"training loss became {batch_loss} at epoch {epoch + 1}, batch {batch_index + 1} "
                    f"(learning rate {scheduler.get_last_lr()[0]:.2e}); lower --learning-rate or use --precision fp32"
                )
            # DDP averages the ranks' gradients; this scale makes the average the global batch mean's gradient.
            scaler.scale(loss * (share * self.world.size) / c.grad_accum).backward()
        self.progress["articles_seen"] += len(batches[batch_index])
        self.progress["tokens_seen"] += tokens
        if optimizer_step:
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_([p for p in self.model.parameters() if p.requires_grad], 1.0)
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            self.progress["global_step"] += 1
        self.progress["batch_in_epoch"] = batch_index + 1
        return batch_loss

    def _global_loss_and_tokens(self, loss: Any, share: float, batch: Any) -> tuple[float, int]:
        """The global batch's mean loss and real tokens: each rank's, weighted by its share, summed."""
        tokens = batch.real_tokens() if share else 0
        global_loss, global_tokens = distributed.sum_over_ranks([loss.item() * share, tokens], self.world, self.device)
        return global_loss, int(global_tokens)

    def end_epoch(self, epoch: int, losses: list[float]) -> str | None:
        """Validate, keep the best weights, checkpoint; returns why training stops, if it does."""
        from filterforge.training import checkpoint as ckpt

        c = self.config
        entry = self.history_entry(epoch + 1, statistics.fmean(losses) if losses else None, self.evaluate_val(),
                                   self.progress["global_step"])
        self.history.append(entry)
        improved = self.progress["best_val_mae"] is None or entry["val_mae"] < self.progress["best_val_mae"]
        if improved:
            self.progress.update(best_val_mae=entry["val_mae"], best_epoch=epoch + 1, epochs_without_improvement=0)
            self.best_state = ckpt.trainable_state(self.model) if self.world.main else None
        else:
            self.progress["epochs_without_improvement"] += 1
        self.progress.update(epoch=epoch + 1, batch_in_epoch=0, epoch_losses=[])
        self._log_epoch(entry, improved)
        if self.world.main:
            write_json(self.output_dir / layout.TRAINING_HISTORY, self.history)  # before the checkpoint: see _read_history
        self.save_checkpoint()
        if c.early_stopping_patience and self.progress["epochs_without_improvement"] >= c.early_stopping_patience:
            return "early_stopping"
        if c.max_steps and self.progress["global_step"] >= c.max_steps and epoch + 1 < c.epochs:
            return "max_steps"
        return None

    def validate_partial_epoch(self) -> None:
        """Stopped before any validation: evaluate the weights as they are and keep them."""
        from filterforge.training import checkpoint as ckpt

        epoch = round(self.progress["epoch"] + self.progress["batch_in_epoch"] / self.batches_per_epoch, 3)
        entry = self.history_entry(epoch, None, self.evaluate_val(), self.progress["global_step"])
        self.history.append({**entry, "partial_epoch": True})
        self.progress.update(best_val_mae=entry["val_mae"], best_epoch=None)
        self.best_state = ckpt.trainable_state(self.model) if self.world.main else None

    def save_checkpoint(self) -> None:
        from filterforge.training import checkpoint as ckpt

        ranks_rng = distributed.gather_by_rank(ckpt.rank_rng_state(self.device), self.world, self.device)
        if self.world.main:
            ckpt.save_checkpoint(self.checkpoint_dir, self.model, *self.optimizer_state, self.best_state, self.progress,
                                 self.settings, ranks_rng)
        self._last_save = time.monotonic()

    # -- printing ---------------------------------------------------------------------------
    def _update_bar(self, bar: Any, losses: list[float]) -> None:
        if bar is None:
            return
        elapsed = self.progress["train_seconds"] + time.time() - self._clock
        bar.set_postfix(loss=f"{statistics.fmean(losses[-20:]):.3f}",
                        art_s=f"{self.progress['articles_seen'] / max(elapsed, 1e-9):.1f}")
        bar.update(1)

    def _log_header(self) -> None:
        b = self.budget
        world = f" processes={self.world.size} global_batch={self.global_batch}" if self.world.distributed else ""
        logger.info(
            f"train {self.spec.id} strategy={self.config.strategy} model={self.config.model} device={self.device} "
            f"precision={self.precision} shared_prefix={self.use_shared_prefix}{world}"
        )
        logger.info(
            f"  {len(self.train_rows)} train / {len(self.val_rows)} val articles; max_length {self.max_length}, "
            f"prompt+template {b['prompt_tokens']} tokens, article tokens kept mean {b['article_tokens_kept_mean']} "
            f"(min {b['article_tokens_kept_min']}), truncated {b['share_truncated']:.0%}"
        )

    def _log_epoch(self, entry: dict, improved: bool) -> None:
        logger.info(
            f"  epoch {entry['epoch']}: train loss {entry['train_loss']:.4f}  val MAE {entry['val_mae']:.4f} "
            f"(mean predictor {entry['val_mean_predictor_mae']:.4f}; article tokens kept mean "
            f"{self.budget['article_tokens_kept_mean']}){'  *best' if improved else ''}"
        )


def _read_history(output_dir: Path, epochs_done: int) -> list[dict]:
    """The history of the epochs the checkpoint holds (a kill between writing the history and the
    checkpoint, or a partial-epoch entry, leaves entries the resumed run writes again)."""
    from filterforge.io import read_json

    path = output_dir / layout.TRAINING_HISTORY
    history = read_json(path) if path.exists() else []
    return [entry for entry in history if not entry.get("partial_epoch") and entry["epoch"] <= epochs_done]


def _progress_bar(total: int, desc: str, enabled: bool, initial: int):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, initial=initial, leave=False, dynamic_ncols=True)


def train(config: TrainConfig) -> dict[str, Any]:
    return Trainer(config).run()
