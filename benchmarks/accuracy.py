"""Real-data accuracy benchmark: filterforge students against what users would pick instead.

Runs filterforge's own pipeline (``prepare`` -> ``train`` -> test predictions with
``TorchPredictor``) on the oracle-scored datasets in ``../shared/datasets`` and compares, on the
same test split for every method:

- the mean predictor (per-dimension train mean),
- TF-IDF (word 1-2 grams + char 3-5 grams) + ridge, alpha chosen on val,
- frozen MiniLM sentence embeddings (mean pooling, L2-normalised) + ridge probe, alpha on val,
- filterforge students: MiniLM ``distillation`` (full fine-tune), SmolLM2-135M ``distillation``
  and ``instruction`` (LoRA and full), ``head-tail`` (plugin) where articles are long.

Plus a learning curve (25/50/100 % of train) on sustainability for TF-IDF + ridge and for the
student with the lowest val MAE, and the evidence asked for when the target (best student's test
MAE <= 0.85 x TF-IDF + ridge on sustainability) is missed.

CPU budget (the full run must finish on 2 cores in <= 45 minutes), settings in ``PROFILES``:
- every method is scored on the full test split (never fewer test articles);
- MiniLM inputs are cut to 256 tokens (sentence-transformers' own limit for this model);
- SmolLM2 inputs keep 128 article tokens (plus the prompt for ``instruction``) and train for a few
  optimizer steps only: SmolLM2 costs ~8 s per 8 x 256 training step and ~0.15 s per article to
  predict on this CPU, so these students are budget-limited and the tables say so;
- students pick their checkpoint on the first ``student_val_limit`` val articles; baselines pick
  alpha on the whole val split. Nothing is selected on test;
- a time guard skips (and reports) a job whose estimated cost would overrun ``--time-budget``.

Usage::

    python benchmarks/accuracy.py                # full run -> benchmarks/results/accuracy.{json,md}
    python benchmarks/accuracy.py --quick        # development: 1 dataset, a few hundred articles
"""

from __future__ import annotations

import gc
import importlib
import math
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import click
import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATASETS_ROOT = REPO.parent / "shared" / "datasets"
RESULTS = REPO / "benchmarks" / "results"
TARGET_RATIO = 0.85
LEARNING_CURVE_FRACTIONS = (0.25, 0.5, 1.0)
TOP_SHARE = 0.10  # Recall@k uses the top 10 % of test articles by oracle weighted average
BOOTSTRAP_SAMPLES = 1000

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@dataclass(frozen=True)
class DatasetConfig:
    name: str
    filter_id: str
    ratios: dict[str, float]
    alt_oracle: str | None = None


# The two small sets use 70/15/15 so that their test splits are not a dozen articles.
DATASETS = {
    "sustainability": DatasetConfig("sustainability", "sustainability/v1", {"train": 0.8, "val": 0.1, "test": 0.1}),
    "seece-energy-tech": DatasetConfig("seece-energy-tech", "seece-energy-tech/v1",
                                       {"train": 0.7, "val": 0.15, "test": 0.15}, "alt_oracle_gemini-pro.jsonl"),
    "commerce-prefilter": DatasetConfig("commerce-prefilter", "commerce-prefilter/v1",
                                        {"train": 0.7, "val": 0.15, "test": 0.15}),
}


@dataclass(frozen=True)
class StudentSpec:
    key: str
    label: str
    model: str  # "encoder" or "decoder": replaced by the profile's model names
    strategy: str
    lora: bool = False
    learning_rate: float = 5e-5
    head_learning_rate: float = 1e-3
    batch_size: int = 8


STUDENTS = (
    StudentSpec("minilm-distillation", "MiniLM distillation (full FT)", "encoder", "distillation",
                learning_rate=5e-5, batch_size=16),
    StudentSpec("smollm2-distillation", "SmolLM2-135M distillation (full FT)", "decoder", "distillation",
                learning_rate=5e-5),
    StudentSpec("smollm2-instruction-lora", "SmolLM2-135M instruction (LoRA r16)", "decoder", "instruction",
                lora=True, learning_rate=5e-4),
    StudentSpec("smollm2-instruction-full", "SmolLM2-135M instruction (full FT)", "decoder", "instruction",
                learning_rate=5e-5),
)
HEAD_TAIL = StudentSpec("minilm-head-tail", "MiniLM head-tail (plugin, full FT)", "encoder", "head-tail",
                        learning_rate=5e-5, batch_size=16)


@dataclass(frozen=True)
class Profile:
    """Every knob that trades accuracy for CPU time; recorded in the output."""

    name: str
    encoder_model: str = "minilm"
    decoder_model: str = "smollm2-135m"
    encoder_article_tokens: int = 254  # + [CLS] [SEP] = 256
    decoder_article_tokens: int = 128  # filterforge train refuses fewer (--min-article-tokens)
    encoder_epochs_large: int = 1  # datasets with > large_dataset_rows train articles
    encoder_epochs_small: int = 4
    decoder_epochs: int = 1
    decoder_max_steps: int = 12
    large_dataset_rows: int = 1000
    student_val_limit: int = 200
    head_tail_min_truncated_share: float = 0.25
    tfidf_alphas: tuple[float, ...] = (0.1, 0.3, 1.0, 3.0, 10.0)
    probe_alphas: tuple[float, ...] = (0.001, 0.01, 0.1, 1.0, 10.0)
    probe_batch_size: int = 32
    max_train: int | None = None  # development caps; a capped run is not a benchmark result
    max_val: int | None = None
    max_test: int | None = None
    datasets: tuple[str, ...] = tuple(DATASETS)
    students: tuple[str, ...] = tuple(s.key for s in (*STUDENTS, HEAD_TAIL))
    threads: int = 2
    seed: int = 42

    @property
    def is_benchmark(self) -> bool:
        return self.max_train is None and self.max_val is None and self.max_test is None


PROFILES = {
    "full": Profile("full"),
    "quick": Profile("quick", encoder_epochs_small=1, decoder_max_steps=3, max_train=300, max_val=100, max_test=150,
                     datasets=("sustainability",), student_val_limit=100),
}

# From ../shared/datasets/README.md (not recomputed: those 50 articles are not in the dataset).
SUSTAINABILITY_ORACLE_NOTE = (
    "Sustainability has no second-oracle file; the datasets README reports that on 50 other articles scored with the "
    "same prompt by Gemini Flash and Gemini Pro the oracle-vs-oracle MAE is 1.76: the student is graded against one "
    "oracle's habits (for example arXiv papers get technical_credibility 6-7 whatever their topic), which TF-IDF "
    "picks up from surface words.")

# Seconds per token on the 2-core CPU (field notes), used only to decide whether a job still fits.
COST_PER_TOKEN = {"encoder": {"train": 0.7e-3, "infer": 0.17e-3}, "decoder": {"train": 3.9e-3, "infer": 1.35e-3}}


INSTRUCTION_ARTICLE_COST = 3.3
TRUNCATION_MARGIN = 0.05  # student/TF-IDF ratio on cut articles must exceed that on whole ones by this to blame truncation


def log(message: str) -> None:
    click.echo(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", err=True)


# -- time guard -------------------------------------------------------------------------------
class Clock:
    """Skips a job whose estimate (corrected by what earlier jobs of that model kind really took) would overrun."""

    def __init__(self, budget_s: float):
        self.budget_s = budget_s
        self.started = time.time()
        self.slowdown: dict[str, float] = {}
        self._totals: dict[str, list[float]] = {}  # kind -> [estimated, actual] seconds so far

    @property
    def elapsed(self) -> float:
        return time.time() - self.started

    def factor(self, kind: str) -> float:
        return self.slowdown.get(kind, self.slowdown.get("any", 1.0))

    def fits(self, estimate_s: float, kind: str) -> tuple[bool, str]:
        needed = estimate_s * self.factor(kind)
        left = self.budget_s - self.elapsed
        return needed <= left, f"estimated {needed:.0f} s, {left:.0f} s of the {self.budget_s:.0f} s budget left"

    def learn(self, estimate_s: float, actual_s: float, kind: str) -> None:
        """Ratio of all actual to all estimated seconds, so one short job cannot undo a long one's lesson."""
        for key in (kind, "any"):
            totals = self._totals.setdefault(key, [0.0, 0.0])
            totals[0] += estimate_s
            totals[1] += actual_s
            self.slowdown[key] = max(0.5, min(4.0, totals[1] / totals[0]))


# -- data -------------------------------------------------------------------------------------
@dataclass
class Splits:
    config: DatasetConfig
    spec: Any
    data_dir: Path
    data_hash: str
    train: list[dict]
    val: list[dict]
    test: list[dict]
    prepare_report: dict

    def labels(self, split: str) -> np.ndarray:
        return np.asarray([row["labels"] for row in getattr(self, split)], dtype=np.float64)

    @property
    def train_means(self) -> np.ndarray:
        return self.labels("train").mean(0)


def prepare_dataset(config: DatasetConfig, datasets_root: Path, work_dir: Path, profile: Profile) -> Splits:
    from filterforge.data.splits import load_split
    from filterforge.filters.spec import resolve_filter
    from filterforge.data.prepare import prepare

    data_dir = work_dir / config.name / "data"
    report = prepare(config.filter_id, [str(datasets_root / config.name / "scored.jsonl")], str(data_dir),
                     ratios=dict(config.ratios), seed=profile.seed, overwrite=True)
    spec = resolve_filter(config.filter_id)
    rows = {name: load_split(data_dir / f"{name}.jsonl", spec) for name in ("train", "val", "test")}
    if not profile.is_benchmark:  # development caps: write the capped splits so students see the same rows
        caps = {"train": profile.max_train, "val": profile.max_val, "test": profile.max_test}
        from filterforge.io import write_jsonl

        for name, cap in caps.items():
            if cap and len(rows[name]) > cap:
                rows[name] = rows[name][:cap]
                write_jsonl(data_dir / f"{name}.jsonl", rows[name])
    return Splits(config, spec, data_dir, report["data_hash"], rows["train"], rows["val"], rows["test"], report)


def student_data_dir(splits: Splits, limit: int) -> Path:
    """train.jsonl + the first `limit` val rows: what students train and pick checkpoints on."""
    from filterforge.io import write_jsonl

    target = splits.data_dir.parent / "student-data"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(splits.data_dir / "train.jsonl", target / "train.jsonl")
    write_jsonl(target / "val.jsonl", splits.val[:limit])
    return target


def texts(rows: Sequence[dict]) -> list[str]:
    from filterforge.encoding.strategies import article_text

    return [article_text(row) for row in rows]


# -- metrics ----------------------------------------------------------------------------------
def mean_spearman(pred: np.ndarray, gold: np.ndarray) -> float | None:
    """Mean over dimensions of Spearman's rho; dimensions where either side is constant are left out."""
    from scipy.stats import spearmanr

    values = []
    for j in range(gold.shape[1]):
        if np.ptp(pred[:, j]) > 0 and np.ptp(gold[:, j]) > 0:
            values.append(float(spearmanr(pred[:, j], gold[:, j]).statistic))
    return float(np.mean(values)) if values else None


def recall_at_top(pred: np.ndarray, gold: np.ndarray, spec: Any, share: float = TOP_SHARE) -> dict[str, Any]:
    """Share of the oracle's top-k articles (weighted average) that are also the prediction's top k."""
    n = len(gold)
    k = max(1, round(share * n))
    gold_avg = np.asarray([spec.weighted_average(row) for row in gold])
    pred_avg = np.asarray([spec.weighted_average(row) for row in pred])
    if np.ptp(pred_avg) == 0:  # a constant ranking picks k articles at random
        return {"k": k, "recall": k / n, "note": "constant prediction: expected recall of a random pick"}
    top_gold = set(np.argsort(-gold_avg, kind="stable")[:k].tolist())
    top_pred = set(np.argsort(-pred_avg, kind="stable")[:k].tolist())
    return {"k": k, "recall": len(top_gold & top_pred) / k}


def tier_accuracy(pred: np.ndarray, gold: np.ndarray, spec: Any) -> float:
    return float(np.mean([spec.tier(p) == spec.tier(g) for p, g in zip(pred, gold)]))


def bootstrap_mae(errors: np.ndarray, seed: int) -> list[float]:
    """95 % interval of the test MAE over resampled articles (errors: per-article mean abs error)."""
    rng = np.random.default_rng(seed)
    means = errors[rng.integers(0, len(errors), (BOOTSTRAP_SAMPLES, len(errors)))].mean(1)
    return [float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))]


def paired_ratio_interval(errors_a: np.ndarray, errors_b: np.ndarray, seed: int) -> list[float]:
    """95 % interval of MAE(a) / MAE(b) with the same resampled articles for both."""
    rng = np.random.default_rng(seed)
    index = rng.integers(0, len(errors_a), (BOOTSTRAP_SAMPLES, len(errors_a)))
    ratios = errors_a[index].mean(1) / np.maximum(errors_b[index].mean(1), 1e-12)
    return [float(np.percentile(ratios, 2.5)), float(np.percentile(ratios, 97.5))]


def score_predictions(pred: np.ndarray, gold: np.ndarray, spec: Any, train_means: np.ndarray, seed: int) -> dict[str, Any]:
    from filterforge.evaluation.metrics import regression_metrics

    pred = np.clip(np.asarray(pred, dtype=np.float64).reshape(gold.shape), 0.0, 10.0)
    metrics = regression_metrics(pred, gold, spec.dimension_names, train_means.tolist())
    metrics["spearman"] = mean_spearman(pred, gold)
    metrics["mae_ci95"] = bootstrap_mae(np.abs(pred - gold).mean(1), seed)
    if len(spec.tiers) > 1:
        metrics["tier_accuracy"] = tier_accuracy(pred, gold, spec)
    else:
        metrics["recall_at_top"] = recall_at_top(pred, gold, spec)
    return metrics


# -- baselines --------------------------------------------------------------------------------
@dataclass
class MethodResult:
    key: str
    label: str
    kind: str  # baseline | student
    status: str = "ok"  # ok | skipped | failed
    note: str = ""
    test: dict[str, Any] = field(default_factory=dict)
    val_mae: float | None = None  # whole val split (baselines: what chose alpha)
    val_mae_first_n: float | None = None  # first `student_val_limit` val articles, for every method
    train_seconds: float | None = None
    ms_per_article: float | None = None
    tokens: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    budget_limited: bool = False
    predictions: np.ndarray | None = None  # test predictions, kept in memory for the evidence
    val_predictions: np.ndarray | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("predictions")
        data.pop("val_predictions")
        return data


def _mae(pred: np.ndarray, gold: np.ndarray) -> float:
    return float(np.abs(np.clip(np.reshape(pred, gold.shape), 0, 10) - gold).mean())


def ridge_predict(model: Any, x: Any, dims: int) -> np.ndarray:
    """Clipped predictions as [n, dims]: ridge returns 1-D for a single-dimension filter."""
    return np.clip(np.asarray(model.predict(x)).reshape(-1, dims), 0, 10)


def mean_predictor(splits: Splits, seed: int) -> MethodResult:
    started = time.perf_counter()
    means = splits.train_means
    fit_s = time.perf_counter() - started
    pred = np.tile(means, (len(splits.test), 1))
    result = MethodResult("mean", "mean predictor (train mean per dimension)", "baseline", train_seconds=fit_s,
                          ms_per_article=0.0, tokens={"note": "no input"})
    result.test = score_predictions(pred, splits.labels("test"), splits.spec, means, seed)
    result.val_predictions = np.tile(means, (len(splits.val), 1))
    result.val_mae = _mae(result.val_predictions, splits.labels("val"))
    result.predictions = pred
    return result


def select_ridge(x_train, y_train, x_val, y_val, alphas: Sequence[float]) -> tuple[Any, float, dict[str, float]]:
    """Fit ridge for every alpha, keep the one with the lowest val MAE (clipped to 0-10)."""
    from sklearn.linear_model import Ridge

    best, best_alpha, curve = None, None, {}
    for alpha in alphas:
        model = Ridge(alpha=alpha, solver="sparse_cg" if hasattr(x_train, "tocsr") else "auto").fit(x_train, y_train)
        curve[str(alpha)] = _mae(model.predict(x_val), y_val)
        if best is None or curve[str(alpha)] < curve[str(best_alpha)]:
            best, best_alpha = model, alpha
    return best, best_alpha, curve


def tfidf_vectorizer(n_train: int):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_union

    min_df = 2 if n_train >= 50 else 1
    return make_union(
        TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=min_df, max_features=50000, dtype=np.float32),
        TfidfVectorizer(sublinear_tf=True, analyzer="char_wb", ngram_range=(3, 5), min_df=min_df,
                        max_features=50000, dtype=np.float32),
    )


def tfidf_ridge(splits: Splits, alphas: Sequence[float], seed: int, train_rows: Sequence[dict] | None = None,
                key: str = "tfidf-ridge") -> MethodResult:
    train_rows = list(train_rows if train_rows is not None else splits.train)
    y_train = np.asarray([row["labels"] for row in train_rows], dtype=np.float64)
    started = time.perf_counter()
    vectorizer = tfidf_vectorizer(len(train_rows))
    x_train = vectorizer.fit_transform(texts(train_rows))
    x_val = vectorizer.transform(texts(splits.val))
    model, alpha, curve = select_ridge(x_train, y_train, x_val, splits.labels("val"), alphas)
    fit_s = time.perf_counter() - started
    val_pred = ridge_predict(model, x_val, y_train.shape[1])
    started = time.perf_counter()
    pred = ridge_predict(model, vectorizer.transform(texts(splits.test)), y_train.shape[1])
    ms = (time.perf_counter() - started) / len(splits.test) * 1000
    edge = " (at the edge of the grid)" if alpha in (min(alphas), max(alphas)) else ""
    result = MethodResult(key, "TF-IDF + ridge", "baseline", train_seconds=fit_s, ms_per_article=ms,
                          note=f"alpha {alpha:g} chosen on val{edge}",
                          tokens={"note": "whole article (no truncation)"},
                          settings={"alpha": alpha, "alphas": list(alphas), "val_mae_by_alpha": curve,
                                    "features": x_train.shape[1], "train_examples": len(train_rows)})
    result.test = score_predictions(pred, splits.labels("test"), splits.spec, y_train.mean(0), seed)
    result.val_mae = curve[str(alpha)]
    result.predictions, result.val_predictions = pred, val_pred
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
        lengths = [len(ids) for ids in self.tokenizer(list(articles), add_special_tokens=False, verbose=False)["input_ids"]]
        budget = self.max_length - self.tokenizer.num_special_tokens_to_add()
        kept = [min(n, budget) for n in lengths]
        return {"article_tokens_kept_mean": round(float(np.mean(kept)), 1),
                "share_truncated": round(float(np.mean([n > budget for n in lengths])), 4), "max_length": self.max_length}

    def embed(self, articles: Sequence[str]) -> np.ndarray:
        torch = self.torch
        order = np.argsort([len(t) for t in articles])  # similar lengths per batch: less padding
        out = np.zeros((len(articles), self.model.config.hidden_size), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                index = order[start : start + self.batch_size]
                batch = self.tokenizer([articles[i] for i in index], truncation=True, max_length=self.max_length,
                                       padding=True, return_tensors="pt")
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
                out[index] = torch.nn.functional.normalize(pooled, dim=-1).numpy()
        return out


def embedding_probe(splits: Splits, model_path: Path, profile: Profile) -> MethodResult:
    max_length = profile.encoder_article_tokens + 2
    started = time.perf_counter()
    encoder = SentenceEncoder(model_path, max_length, profile.probe_batch_size)
    x_train = encoder.embed(texts(splits.train))
    x_val = encoder.embed(texts(splits.val))
    model, alpha, curve = select_ridge(x_train, splits.labels("train"), x_val, splits.labels("val"), profile.probe_alphas)
    fit_s = time.perf_counter() - started
    val_pred = ridge_predict(model, x_val, len(splits.spec.dimensions))
    test_texts = texts(splits.test)
    started = time.perf_counter()
    pred = ridge_predict(model, encoder.embed(test_texts), len(splits.spec.dimensions))
    ms = (time.perf_counter() - started) / len(splits.test) * 1000
    edge = " (at the edge of the grid)" if alpha in (min(profile.probe_alphas), max(profile.probe_alphas)) else ""
    result = MethodResult("minilm-probe", "frozen MiniLM embeddings + ridge", "baseline", train_seconds=fit_s,
                          ms_per_article=ms, note=f"alpha {alpha:g} chosen on val{edge}",
                          tokens=encoder.token_stats(test_texts),
                          settings={"alpha": alpha, "alphas": list(profile.probe_alphas), "val_mae_by_alpha": curve,
                                    "model": str(model_path), "pooling": "mean, L2-normalised"})
    result.test = score_predictions(pred, splits.labels("test"), splits.spec, splits.train_means, profile.seed)
    result.val_mae = curve[str(alpha)]
    result.predictions, result.val_predictions = pred, val_pred
    return result


# -- students ---------------------------------------------------------------------------------
def model_name(student: StudentSpec, profile: Profile) -> str:
    return profile.encoder_model if student.model == "encoder" else profile.decoder_model


def fixed_tokens(student: StudentSpec, splits: Splits, profile: Profile) -> int:
    """Tokens the strategy adds around the article (special tokens, or prompt + chat template)."""
    from transformers import AutoTokenizer

    from filterforge.student.sources import resolve_model
    from filterforge.plugins.manager import get_strategies, lookup

    tokenizer = AutoTokenizer.from_pretrained(str(resolve_model(model_name(student, profile))))
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    return lookup("strategy", student.strategy, get_strategies())(splits.spec, tokenizer).fixed_tokens


def student_budget(student: StudentSpec, splits: Splits, profile: Profile) -> dict[str, Any]:
    n_train = len(splits.train)
    if student.model == "encoder":
        epochs = profile.encoder_epochs_large if n_train > profile.large_dataset_rows else profile.encoder_epochs_small
        return {"article_tokens": profile.encoder_article_tokens, "epochs": epochs, "max_steps": None}
    return {"article_tokens": profile.decoder_article_tokens, "epochs": profile.decoder_epochs,
            "max_steps": profile.decoder_max_steps}


def estimate_seconds(student: StudentSpec, splits: Splits, budget: dict, prompt_tokens: int, val_rows: int,
                     train_rows: int) -> float:
    """Rough CPU cost of one student job, from the field notes' per-token rates."""
    rates = COST_PER_TOKEN[student.model]
    chars = np.asarray([len(t) for t in texts(splits.train[:500])]) / 4.0
    per_article = float(np.minimum(chars, budget["article_tokens"]).mean())
    steps = math.ceil(train_rows / student.batch_size) * budget["epochs"]
    if budget["max_steps"]:
        steps = min(steps, budget["max_steps"])
    prompt = prompt_tokens if student.strategy == "instruction" else 0
    # Each article token also attends over the cached prompt's keys: instruction_speed.py measured an
    # instruction article at ~3.2x a distillation article's cost on this CPU.
    attention = INSTRUCTION_ARTICLE_COST if prompt else 1.0
    train_s = steps * (student.batch_size * per_article * attention + prompt) * rates["train"]
    infer_s = (val_rows * budget["epochs"] + len(splits.test)) * per_article * rates["infer"] * attention
    overhead = 30.0 if student.model == "decoder" else 10.0  # loading, saving 0.5 GB of SmolLM2 weights
    return train_s + infer_s + overhead


def train_student(student: StudentSpec, splits: Splits, data_dir: Path, run_dir: Path, profile: Profile,
                  budget: dict, fixed: int, max_train_examples: int | None = None) -> dict[str, Any]:
    from filterforge.training.trainer import TrainConfig, train

    config = TrainConfig(
        filter_id=splits.spec.id, strategy=student.strategy, data_dir=str(data_dir), output_dir=str(run_dir),
        model=model_name(student, profile), epochs=budget["epochs"], batch_size=student.batch_size,
        learning_rate=student.learning_rate, head_learning_rate=student.head_learning_rate,
        max_length=fixed + budget["article_tokens"], warmup_ratio=0.1, lora=student.lora,
        seed=profile.seed, max_steps=budget["max_steps"], max_train_examples=max_train_examples,
        overwrite=True, quiet=True, threads=profile.threads, device="cpu",
    )
    return train(config)


def predict_test(run_dir: Path, rows: Sequence[dict]) -> tuple[np.ndarray, float, dict[str, Any]]:
    from filterforge.runtime.torch_predictor import TorchPredictor
    from filterforge.encoding.strategies import budget_statistics

    predictor = TorchPredictor.from_dir(run_dir, device="cpu", batch_size=16)
    started = time.perf_counter()
    encoded = predictor.encode(rows)
    pred = predictor.predict_encoded(encoded)
    ms = (time.perf_counter() - started) / len(rows) * 1000
    prefix, suffix = predictor.strategy.frame()
    stats = budget_statistics(encoded, len(prefix) + len(suffix))
    truncated = np.asarray([e.truncated for e in encoded])
    del predictor
    gc.collect()
    return pred, ms, {**stats, "truncated_mask": truncated}


def run_student(student: StudentSpec, splits: Splits, data_dir: Path, work_dir: Path, profile: Profile, clock: Clock,
                fraction: float = 1.0, key_suffix: str = "") -> MethodResult:
    key = student.key + key_suffix
    result = MethodResult(key, student.label, "student")
    budget = student_budget(student, splits, profile)
    try:
        fixed = fixed_tokens(student, splits, profile)
    except Exception as exc:  # e.g. the model package is missing
        result.status, result.note = "failed", f"{type(exc).__name__}: {exc}"
        return result
    train_rows = max(1, round(fraction * len(splits.train)))
    val_rows = min(len(splits.val), profile.student_val_limit)
    estimate = estimate_seconds(student, splits, budget, fixed, val_rows, train_rows)
    fits, why = clock.fits(estimate, student.model)
    if not fits:
        result.status, result.note = "skipped", f"time budget: {why}"
        log(f"  skip {key} on {splits.config.name}: {why}")
        return result
    log(f"  train {key} on {splits.config.name} ({why})")
    run_dir = work_dir / splits.config.name / "runs" / key
    started = time.time()
    try:
        metadata = train_student(student, splits, data_dir, run_dir, profile, budget, fixed,
                                 None if fraction >= 1.0 else train_rows)
        pred, ms, stats = predict_test(run_dir, splits.test)
        shutil.rmtree(run_dir / "checkpoint", ignore_errors=True)  # resume state (1.6 GB for SmolLM2): not needed once scored
    except Exception as exc:
        result.status, result.note = "failed", f"{type(exc).__name__}: {exc}"
        log(f"  {key} failed: {result.note}")
        return result
    clock.learn(estimate, time.time() - started, student.model)
    means = np.asarray(metadata["train_label_means"])
    result.test = score_predictions(pred, splits.labels("test"), splits.spec, means, profile.seed)
    result.predictions = pred
    result.val_mae_first_n = metadata["best_val_mae"]  # the trainer's val file holds exactly those articles
    result.train_seconds = metadata["train_seconds"]
    result.ms_per_article = ms
    truncated = stats.pop("truncated_mask")
    result.tokens = {**stats, "max_length": metadata["max_length"], "train_share_truncated": metadata["token_budget"]["share_truncated"]}
    result.settings = {
        "model": model_name(student, profile), "strategy": student.strategy, "lora": student.lora,
        "learning_rate": student.learning_rate, "head_learning_rate": student.head_learning_rate,
        "batch_size": student.batch_size, "epochs": budget["epochs"], "max_steps": budget["max_steps"],
        "article_tokens": budget["article_tokens"], "train_examples": metadata["train_examples"],
        "train_examples_available": len(splits.train), "global_steps": metadata["global_steps"],
        "articles_seen": metadata["global_steps"] * student.batch_size, "stopped_by": metadata["stopped_by"],
        "best_epoch": metadata["best_epoch"], "val_examples": metadata["val_examples"],
        "articles_per_second": metadata["articles_per_second"], "peak_memory_mb": metadata["peak_memory_mb"],
        "data_hash": metadata["data_hash"], "run_dir": str(run_dir), "estimated_seconds": round(estimate),
        "job_seconds": round(time.time() - started, 1),
    }
    one_epoch_steps = math.ceil(metadata["train_examples"] / student.batch_size)
    result.budget_limited = metadata["stopped_by"] == "max_steps" and metadata["global_steps"] < one_epoch_steps
    if result.budget_limited:
        seen = metadata["global_steps"] * student.batch_size
        steps = metadata["global_steps"]
        result.note = (f"budget-limited: {steps} step{'s' if steps != 1 else ''} = {seen} of "
                       f"{metadata['train_examples']} train articles")
    result.settings["_truncated_mask"] = truncated  # removed before writing
    log(f"  {key}: test MAE {result.test['mae']:.3f} (mean predictor {result.test['mean_predictor_mae']:.3f}, "
        f"article tokens kept mean {stats['article_tokens_kept_mean']}); {result.settings['job_seconds']} s")
    return result


def head_tail_available() -> tuple[bool, str]:
    """The head-tail strategy, from the installed plugin or the plugin folder in this repository."""
    from filterforge.plugins.manager import get_strategies, register_plugin

    if "head-tail" in get_strategies():
        return True, "installed plugin"
    source = REPO / "plugins" / "filterforge-head-tail" / "src"
    if (source / "filterforge_head_tail").is_dir():
        sys.path.insert(0, str(source))
        try:
            register_plugin(importlib.import_module("filterforge_head_tail"), "filterforge-head-tail")
        except Exception as exc:  # a plugin still being written must not stop the benchmark
            return False, f"plugin folder present but not importable ({type(exc).__name__}: {exc})"
        if "head-tail" in get_strategies():
            return True, f"plugin loaded from {source.relative_to(REPO)}"
    return False, "plugin filterforge_head_tail is not importable"


# -- evidence ---------------------------------------------------------------------------------
def oracle_noise_floor(splits: Splits, datasets_root: Path) -> dict[str, Any] | None:
    """MAE between the dataset's oracle and a second oracle on the articles both scored."""
    from filterforge.io import iter_jsonl
    from filterforge.data.prepare import InvalidRow, extract_labels

    if not splits.config.alt_oracle:
        return None
    folder = datasets_root / splits.config.name
    alt_path = folder / splits.config.alt_oracle
    if not alt_path.exists():
        return None
    primary = {}
    for lineno, row in iter_jsonl(folder / "scored.jsonl"):
        try:
            primary[str(row["id"])] = extract_labels(row, splits.spec, f"scored.jsonl:{lineno}")
        except InvalidRow:
            continue
    pairs, shared_ids = [], set()
    for lineno, row in iter_jsonl(alt_path):
        ident = str(row.get("id"))
        if ident in primary:
            try:
                pairs.append((primary[ident], extract_labels(row, splits.spec, f"{alt_path.name}:{lineno}")))
                shared_ids.add(ident)
            except InvalidRow:
                continue
    if not pairs:
        return None
    first = np.asarray([p for p, _ in pairs])
    second = np.asarray([s for _, s in pairs])
    offset = (second - first).mean(0)
    test_ids = {row["id"] for row in splits.test}
    return {
        "second_oracle_file": splits.config.alt_oracle,
        "shared_articles": len(pairs),
        "shared_articles_in_test": len(shared_ids & test_ids),
        "oracle_vs_oracle_mae": float(np.abs(second - first).mean()),
        "oracle_vs_oracle_mae_per_dimension": dict(zip(splits.spec.dimension_names, np.abs(second - first).mean(0).tolist())),
        "mean_offset_second_minus_first": dict(zip(splits.spec.dimension_names, offset.tolist())),
        "oracle_vs_oracle_mae_offset_removed": float(np.abs(second - offset - first).mean()),
        "note": "the offset-removed figure subtracts each dimension's mean difference (a constant bias a student "
                "trained on one oracle would not be blamed for)",
    }


def truncation_evidence(student: MethodResult, tfidf: MethodResult, splits: Splits) -> dict[str, Any] | None:
    """Student vs TF-IDF MAE on test articles the student's input cut vs those it kept whole."""
    mask = student.settings.get("_truncated_mask")
    if mask is None or student.predictions is None or tfidf.predictions is None:
        return None
    gold = splits.labels("test")
    out = {}
    for name, rows in (("truncated", mask), ("whole", ~mask)):
        if rows.sum() == 0:
            continue
        out[name] = {"articles": int(rows.sum()),
                     "student_mae": _mae(student.predictions[rows], gold[rows]),
                     "tfidf_ridge_mae": _mae(tfidf.predictions[rows], gold[rows]),
                     "mean_predictor_mae": _mae(np.tile(splits.train_means, (int(rows.sum()), 1)), gold[rows])}
        out[name]["student_over_tfidf"] = out[name]["student_mae"] / max(out[name]["tfidf_ridge_mae"], 1e-12)
    return out


def article_length_profile(student: MethodResult, splits: Splits) -> dict[str, Any] | None:
    """How many test articles a doubled input budget would keep whole, and what it costs in tokens."""
    from transformers import AutoTokenizer

    run_dir, budget = student.settings.get("run_dir"), student.settings.get("article_tokens")
    if not run_dir or not budget:
        return None
    tokenizer = AutoTokenizer.from_pretrained(str(Path(run_dir) / "model"))
    lengths = np.asarray([len(ids) for ids in tokenizer(texts(splits.test), add_special_tokens=False, verbose=False)["input_ids"]])
    doubled = 2 * budget + 2
    return {"tokenizer": student.settings.get("model"), "article_tokens": budget, "doubled_article_tokens": doubled,
            "share_longer_than_budget": float((lengths > budget).mean()),
            "share_longer_than_doubled": float((lengths > doubled).mean()), "median_tokens": float(np.median(lengths)),
            "token_cost_doubled_over_budget": float(np.minimum(lengths, doubled).sum() / max(np.minimum(lengths, budget).sum(), 1))}


def learning_curve_entry(result: MethodResult, fraction: float, n_train: int) -> dict[str, Any]:
    entry = {"fraction": fraction, "train_examples": n_train, "status": result.status, "note": result.note}
    if result.status == "ok":
        entry.update(test_mae=result.test["mae"], test_mean_predictor_mae=result.test["mean_predictor_mae"],
                     val_mae=result.val_mae_first_n,
                     train_seconds=result.train_seconds,
                     articles_seen=result.settings.get("articles_seen"), steps=result.settings.get("global_steps"))
    return entry


# -- reporting --------------------------------------------------------------------------------
def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def cell(text: str) -> str:
    """One markdown table cell: first line only, no pipes."""
    return (text.splitlines() or [""])[0].replace("|", "/")


def ranking_cell(method: dict, spec_has_tiers: bool) -> str:
    test = method["test"]
    if spec_has_tiers:
        return fmt(test.get("tier_accuracy"))
    recall = test.get("recall_at_top")
    return fmt(recall["recall"]) if recall else "—"


def tokens_cell(method: dict) -> str:
    tokens = method["tokens"]
    if "article_tokens_kept_mean" in tokens:
        return f"{tokens['article_tokens_kept_mean']:.0f} ({tokens['share_truncated']:.0%} cut)"
    return tokens.get("note", "—")


def dataset_markdown(name: str, data: dict) -> list[str]:
    has_tiers = data["tiers"] is not None
    rank_header = "tier acc." if has_tiers else f"R@{data['recall_k']} (top 10 %)"
    lines = [f"### {name} ({data['filter']}: {data['splits']['train']} train / {data['splits']['val']} val / "
             f"{data['splits']['test']} test articles)", ""]
    lines.append(f"| method | test MAE [95% CI] | RMSE | Spearman | {rank_header} | val MAE† | train s | ms/article | "
                 "article tokens kept (cut) | notes |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|")
    best = data.get("lowest_test_mae")
    for method in data["methods"]:
        if method["status"] != "ok":
            lines.append(f"| {method['label']} | {method['status']} | | | | | | | | {cell(method['note'])} |")
            continue
        test = method["test"]
        mae = f"{test['mae']:.3f} [{test['mae_ci95'][0]:.2f}, {test['mae_ci95'][1]:.2f}]"
        if method["key"] == best:
            mae = f"**{mae}**"
        label = method["label"] + (" ‡" if method["budget_limited"] else "")
        lines.append(f"| {label} | {mae} | {fmt(test['rmse'])} | {fmt(test['spearman'])} | {ranking_cell(method, has_tiers)} | "
                     f"{fmt(method['val_mae_first_n'])} | {fmt(method['train_seconds'], 1)} | {fmt(method['ms_per_article'], 1)} | "
                     f"{tokens_cell(method)} | {cell(method['note'])} |")
    lines.append("")
    mean_mae = next((m["test"]["mae"] for m in data["methods"] if m["key"] == "mean"), None)
    lines.append(f"Mean-predictor test MAE on this split: {fmt(mean_mae)}. Lowest test MAE: **{data.get('lowest_test_mae_label', '—')}** "
                 f"({data.get('lowest_test_mae_kind', '—')}). Best student by val MAE: {data.get('best_student_label') or '—'}.")
    if data.get("oracle_noise_floor"):
        noise = data["oracle_noise_floor"]
        lines.append(f"Label noise: on {noise['shared_articles']} articles scored by both oracles the oracle-vs-oracle MAE is "
                     f"{noise['oracle_vs_oracle_mae']:.2f} ({noise['oracle_vs_oracle_mae_offset_removed']:.2f} with each "
                     f"dimension's mean offset removed), against this dataset's test MAEs above.")
    lines.append("")
    return lines


def markdown(report: dict) -> str:
    settings = report["settings"]
    lines = ["## Accuracy benchmark (real oracle data)", ""]
    if not report["is_benchmark"]:
        lines += ["**Development run with capped splits: not a benchmark result.**", ""]
    if not report["complete"]:
        lines += ["**Partial run: it stopped before every job had run; rows marked skipped did not run (see the notes "
                  "at the end).**", ""]
    lines += [
        f"Machine: {report['machine_summary']}; git {report['provenance']['git_commit']}; seed {settings['seed']}; "
        f"total {report['elapsed_seconds'] / 60:.1f} min. `{report.get('command', 'python benchmarks/accuracy.py')}` "
        f"(results in `{report.get('output', 'benchmarks/results/accuracy.json')}`).",
        "",
        f"Settings: MiniLM inputs {settings['encoder_article_tokens'] + 2} tokens, "
        f"{settings['encoder_epochs_large']} epoch on sustainability / {settings['encoder_epochs_small']} on the small sets; "
        f"SmolLM2 {settings['decoder_article_tokens']} article tokens, at most {settings['decoder_max_steps']} optimizer steps "
        f"of 8 articles. † val MAE on the first {settings['student_val_limit']} val articles, for every method: "
        "students pick checkpoints on them (and the best student is picked by it); baselines choose alpha on the "
        "whole val split. ‡ = budget-limited student "
        "(stopped by max_steps before one epoch). Every method is scored on the full test split. "
        "ms/article: test-set prediction time on this machine (batch 16 for students, 32 for the probe), tokenisation included. "
        "train s: the students' optimizer loop; the baselines' whole fit, alpha search (and the probe's embedding of train "
        "and val) included.",
        "",
    ]
    for name, data in report["datasets"].items():
        lines += dataset_markdown(name, data)
    curve = report.get("learning_curve")
    if curve:
        lines += ["### Learning curve (sustainability)", "",
                  "| method | share of train | train articles | test MAE | mean predictor | val MAE | train s |",
                  "|---|---|---|---|---|---|---|"]
        for method, entries in curve["methods"].items():
            for entry in entries:
                if entry["status"] != "ok":
                    lines.append(f"| {method} | {entry['fraction']:.0%} | {entry['train_examples']} | {entry['status']} | | | {cell(entry['note'])} |")
                    continue
                lines.append(f"| {method} | {entry['fraction']:.0%} | {entry['train_examples']} | {entry['test_mae']:.3f} | "
                             f"{entry['test_mean_predictor_mae']:.3f} | {fmt(entry['val_mae'])} | {fmt(entry['train_seconds'], 1)} |")
        lines.append("")
    target = report.get("target")
    if target:
        lines += ["### Target: best student's test MAE <= 0.85 x TF-IDF + ridge (sustainability)", ""]
        lines.append(target["summary"])
        lines.append("")
        for item in target.get("evidence_lines", []):
            lines.append(f"- {item}")
        if target.get("what_would_close_it"):
            lines += ["", "What would close the gap:"]
            lines += [f"- {item}" for item in target["what_would_close_it"]]
        lines.append("")
    if report.get("notes"):
        lines += ["Notes:"] + [f"- {note}" for note in report["notes"]] + [""]
    return "\n".join(lines)


def repo_relative(path: str | Path) -> str:
    resolved = Path(path).resolve()
    return resolved.relative_to(REPO).as_posix() if resolved.is_relative_to(REPO) else str(path)


def machine_summary() -> str:
    import platform

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()}-core CPU ({cpu}), no GPU"


# -- the run ----------------------------------------------------------------------------------
class Benchmark:
    def __init__(self, profile: Profile, datasets_root: Path, work_dir: Path, output: Path, markdown_path: Path,
                 time_budget: float):
        self.profile, self.datasets_root, self.work_dir = profile, datasets_root, work_dir
        self.output, self.markdown_path = output, markdown_path
        self.clock = Clock(time_budget)
        self.splits: dict[str, Splits] = {}
        self.student_dirs: dict[str, Path] = {}
        self.results: dict[str, list[MethodResult]] = {}
        self.learning_curve: dict[str, Any] | None = None
        self.target: dict[str, Any] | None = None
        self.notes: list[str] = []
        self.complete = False

    # jobs
    def run(self) -> dict[str, Any]:
        import torch

        torch.set_num_threads(self.profile.threads)
        for name in self.profile.datasets:
            log(f"prepare {name}")
            splits = prepare_dataset(DATASETS[name], self.datasets_root, self.work_dir, self.profile)
            self.splits[name] = splits
            self.student_dirs[name] = student_data_dir(splits, self.profile.student_val_limit)
        for name, splits in self.splits.items():
            log(f"mean predictor and TF-IDF + ridge on {name}")
            self.results[name] = [self.with_val_subset(result, splits) for result in (
                mean_predictor(splits, self.profile.seed), tfidf_ridge(splits, self.profile.tfidf_alphas, self.profile.seed))]
            self.save()
        # Most important first: whatever the time guard skips comes from the end of this order. The
        # learning curve runs before the costly SmolLM2 students; if one of them later beats the
        # curve's student on val, the report says so.
        first, rest = self.profile.datasets[0], self.profile.datasets[1:]
        minilm, smollm_distillation, *smollm_instruction = STUDENTS
        self.add_student(first, minilm)
        self.add_probe(first)
        if first == "sustainability":
            self.run_learning_curve(first)
        for name in rest:
            self.add_student(name, minilm)
            self.add_probe(name)
        self.add_student(first, smollm_distillation)
        for student in smollm_instruction:
            self.add_student(first, student)
        for name in rest:
            self.add_student(name, smollm_distillation)
        self.run_head_tail()
        for student in smollm_instruction:
            for name in rest:
                self.add_student(name, student)
        self.check_curve_student()
        self.complete = True
        return self.save()

    def add_probe(self, name: str) -> None:
        from filterforge.student.sources import resolve_model

        splits = self.splits[name]
        rows = splits.train + splits.val + splits.test
        tokens = np.minimum(np.asarray([len(t) for t in texts(rows)]) / 4.0, self.profile.encoder_article_tokens).sum()
        estimate = float(tokens) * COST_PER_TOKEN["encoder"]["infer"] + 5.0
        fits, why = self.clock.fits(estimate, "encoder")
        if not fits:
            log(f"  skip minilm-probe on {name}: {why}")
            self.results[name].append(MethodResult("minilm-probe", "frozen MiniLM embeddings + ridge", "baseline",
                                                   status="skipped", note=f"time budget: {why}"))
            return
        log(f"  frozen MiniLM embeddings + ridge on {name} ({why})")
        started = time.time()
        probe = embedding_probe(splits, resolve_model(self.profile.encoder_model), self.profile)
        self.clock.learn(estimate, time.time() - started, "encoder")
        self.results[name].insert(2, self.with_val_subset(probe, splits))
        self.save()

    def with_val_subset(self, result: MethodResult, splits: Splits) -> MethodResult:
        n = self.profile.student_val_limit
        result.val_mae_first_n = _mae(result.val_predictions[:n], splits.labels("val")[:n])
        return result

    def add_student(self, name: str, student: StudentSpec) -> None:
        if student.key not in self.profile.students:
            return
        result = run_student(student, self.splits[name], self.student_dirs[name], self.work_dir, self.profile, self.clock)
        self.results[name].append(result)
        self.save()

    def best_student(self, name: str) -> MethodResult | None:
        students = [r for r in self.results.get(name, []) if r.kind == "student" and r.status == "ok"]
        return min(students, key=lambda r: r.val_mae_first_n) if students else None

    def method(self, name: str, key: str) -> MethodResult | None:
        return next((r for r in self.results.get(name, []) if r.key == key and r.status == "ok"), None)

    def run_learning_curve(self, name: str) -> None:
        splits = self.splits[name]
        tfidf_entries: list[dict] = []
        self.learning_curve = {"dataset": name, "methods": {"TF-IDF + ridge": tfidf_entries}}
        for fraction in LEARNING_CURVE_FRACTIONS:
            n_train = max(1, round(fraction * len(splits.train)))
            if fraction >= 1.0:
                tfidf = self.method(name, "tfidf-ridge")
            else:
                log(f"learning curve: TF-IDF + ridge on {fraction:.0%} of {name}")
                tfidf = self.with_val_subset(tfidf_ridge(splits, self.profile.tfidf_alphas, self.profile.seed,
                                                         splits.train[:n_train], key=f"tfidf-ridge-{int(fraction * 100)}"), splits)
            tfidf_entries.append(learning_curve_entry(tfidf, fraction, n_train))
        best = self.best_student(name)
        student = next((s for s in (*STUDENTS, HEAD_TAIL) if best and s.key == best.key), None)
        if student is None:
            self.notes.append("no student finished on sustainability: the learning curve has TF-IDF + ridge only")
            self.save()
            return
        student_entries: list[dict] = []
        self.learning_curve["methods"][best.label] = student_entries
        for fraction in LEARNING_CURVE_FRACTIONS:
            n_train = max(1, round(fraction * len(splits.train)))
            if fraction >= 1.0:
                result = best
            else:
                log(f"learning curve: {student.key} on {fraction:.0%} of {name}")
                result = run_student(student, splits, self.student_dirs[name], self.work_dir, self.profile,
                                     self.clock, fraction, key_suffix=f"-{int(fraction * 100)}pct")
            student_entries.append(learning_curve_entry(result, fraction, n_train))
            self.save()

    def check_curve_student(self) -> None:
        if not self.learning_curve or len(self.learning_curve["methods"]) < 2:
            return
        best = self.best_student(self.learning_curve["dataset"])
        curve_label = list(self.learning_curve["methods"])[1]
        if best is not None and best.label != curve_label:
            self.notes.append(f"the learning curve is for {curve_label}, the best student when it ran; {best.label}, "
                              "which finished later, has the lower val MAE")

    def run_head_tail(self) -> None:
        if HEAD_TAIL.key not in self.profile.students:
            return
        available, why = head_tail_available()
        if not available:
            self.notes.append(f"head-tail students skipped: {why}")
            return
        self.notes.append(f"head-tail strategy: {why}")
        for name, splits in sorted(self.splits.items(), key=lambda item: len(item[1].train)):
            probe = self.method(name, "minilm-probe")
            share = probe.tokens.get("share_truncated", 0.0) if probe else 0.0
            if share < self.profile.head_tail_min_truncated_share:
                self.notes.append(f"head-tail not run on {name}: only {share:.0%} of test articles exceed the MiniLM input")
                continue
            self.add_student(name, HEAD_TAIL)

    # outputs
    def dataset_report(self, name: str) -> dict[str, Any]:
        splits = self.splits[name]
        methods = self.results.get(name, [])
        finished = [m for m in methods if m.status == "ok"]
        lowest = min(finished, key=lambda m: m.test["mae"]) if finished else None
        best = self.best_student(name)
        report = {
            "filter": splits.spec.id, "data_dir": str(splits.data_dir), "data_hash": splits.data_hash,
            "ratios": splits.config.ratios,
            "splits": {"train": len(splits.train), "val": len(splits.val), "test": len(splits.test)},
            "student_val_articles": min(len(splits.val), self.profile.student_val_limit),
            "prepare": {k: splits.prepare_report[k] for k in ("rows_read", "rows_kept", "dropped", "duplicates")},
            "tiers": splits.spec.tier_names if len(splits.spec.tiers) > 1 else None,
            "recall_k": max(1, round(TOP_SHARE * len(splits.test))),
            "methods": [self._method_json(m) for m in methods],
            "lowest_test_mae": lowest.key if lowest else None,
            "lowest_test_mae_label": lowest.label if lowest else None,
            "lowest_test_mae_kind": lowest.kind if lowest else None,
            "best_student": best.key if best else None,
            "best_student_label": best.label if best else None,
            "oracle_noise_floor": oracle_noise_floor(splits, self.datasets_root),
        }
        return report

    @staticmethod
    def _method_json(method: MethodResult) -> dict[str, Any]:
        data = method.to_json()
        data["settings"] = {k: v for k, v in data["settings"].items() if not k.startswith("_")}
        return data

    def evaluate_target(self) -> dict[str, Any] | None:
        name = "sustainability"
        if name not in self.results:
            return None
        splits = self.splits[name]
        tfidf, best = self.method(name, "tfidf-ridge"), self.best_student(name)
        if tfidf is None or best is None:
            return {"met": None, "summary": "Not evaluated: TF-IDF + ridge or every student is missing on sustainability."}
        ratio = best.test["mae"] / tfidf.test["mae"]
        gold = splits.labels("test")
        interval = paired_ratio_interval(np.abs(best.predictions - gold).mean(1), np.abs(tfidf.predictions - gold).mean(1),
                                         self.profile.seed)
        met = ratio <= TARGET_RATIO
        summary = (f"Best student by val MAE: {best.label}, test MAE {best.test['mae']:.3f} vs TF-IDF + ridge "
                   f"{tfidf.test['mae']:.3f} (mean predictor {best.test['mean_predictor_mae']:.3f}): ratio {ratio:.3f} "
                   f"(95% paired bootstrap interval {interval[0]:.2f}-{interval[1]:.2f}); target <= {TARGET_RATIO}: "
                   f"**{'met' if met else 'not met'}**.")
        target = {"met": met, "best_student": best.key, "best_student_test_mae": best.test["mae"],
                  "tfidf_ridge_test_mae": tfidf.test["mae"], "ratio": ratio, "ratio_ci95": interval,
                  "threshold": TARGET_RATIO, "summary": summary}
        evidence, lines = self.target_evidence(best, tfidf, splits)
        target["evidence"] = evidence
        target["evidence_lines"] = lines
        target["what_would_close_it"] = [] if met else self.closing_steps(best, evidence)
        return target

    def target_evidence(self, best: MethodResult, tfidf: MethodResult, splits: Splits) -> tuple[dict, list[str]]:
        evidence: dict[str, Any] = {}
        lines: list[str] = []
        trunc = truncation_evidence(best, tfidf, splits)
        if trunc:
            evidence["truncation"] = trunc
            parts = [f"{k}: {v['articles']} articles, student {v['student_mae']:.3f} vs TF-IDF {v['tfidf_ridge_mae']:.3f} "
                     f"(x{v['student_over_tfidf']:.2f})" for k, v in trunc.items()]
            lines.append(f"Truncation: the best student's input cut {best.tokens.get('share_truncated', 0):.0%} of test "
                         f"articles (mean {best.tokens.get('article_tokens_kept_mean', 0):.0f} article tokens kept); "
                         + "; ".join(parts) + ".")
        lengths = article_length_profile(best, splits)
        if lengths:
            evidence["article_lengths"] = lengths
            lines.append(f"Test article lengths ({lengths['tokenizer']} tokens, median {lengths['median_tokens']:.0f}): "
                         f"{lengths['share_longer_than_budget']:.0%} exceed the student's {lengths['article_tokens']}-token "
                         f"budget, {lengths['share_longer_than_doubled']:.0%} exceed {lengths['doubled_article_tokens']}; the "
                         f"doubled budget would cost x{lengths['token_cost_doubled_over_budget']:.2f} the article tokens.")
        per_dim = {dim: {"student": best.test["per_dimension_mae"][dim], "tfidf_ridge": tfidf.test["per_dimension_mae"][dim],
                         "mean_predictor": best.test["mean_predictor_per_dimension_mae"][dim]}
                   for dim in splits.spec.dimension_names}
        evidence["per_dimension_mae"] = per_dim
        worst = sorted(per_dim, key=lambda d: per_dim[d]["student"] - per_dim[d]["tfidf_ridge"], reverse=True)[:3]
        lines.append("Per-dimension test MAE, student vs TF-IDF (largest gaps): "
                     + ", ".join(f"{d} {per_dim[d]['student']:.2f} vs {per_dim[d]['tfidf_ridge']:.2f}" for d in worst) + ".")
        if self.learning_curve:
            evidence["learning_curve"] = self.learning_curve
            for method, entries in self.learning_curve["methods"].items():
                done = [e for e in entries if e["status"] == "ok"]
                if len(done) >= 2:
                    lines.append(f"Learning curve {method}: " + ", ".join(
                        f"{e['fraction']:.0%} -> {e['test_mae']:.3f}" for e in done) + ".")
        if best.budget_limited:
            lines.append(f"Compute: {best.note}.")
        lines.append(f"Training cost: best student {fmt(best.train_seconds, 0)} s vs TF-IDF + ridge "
                     f"{fmt(tfidf.train_seconds, 0)} s (alpha search included) on this CPU.")
        lines.append(SUSTAINABILITY_ORACLE_NOTE)
        noise = [self.dataset_report(n)["oracle_noise_floor"] for n in self.splits if DATASETS[n].alt_oracle]
        if any(noise):
            floor = next(n for n in noise if n)
            lines.append(f"Label noise (seece-energy-tech, the only dataset with a second oracle): oracle-vs-oracle MAE "
                         f"{floor['oracle_vs_oracle_mae']:.2f} on {floor['shared_articles']} shared articles "
                         f"({floor['oracle_vs_oracle_mae_offset_removed']:.2f} with the mean offset removed).")
        return evidence, lines

    def closing_steps(self, best: MethodResult, evidence: dict) -> list[str]:
        steps = []
        curve = evidence.get("learning_curve", {}).get("methods", {})
        student_curve = {e["fraction"]: e["test_mae"] for e in curve.get(best.label, []) if e["status"] == "ok"}
        tfidf_curve = {e["fraction"]: e["test_mae"] for e in curve.get("TF-IDF + ridge", []) if e["status"] == "ok"}
        common = sorted(set(student_curve) & set(tfidf_curve))
        if len(common) >= 2:
            low, high = common[-2], common[-1]
            doublings = math.log2(high / low)
            student_gain = (student_curve[low] - student_curve[high]) / doublings
            tfidf_gain = (tfidf_curve[low] - tfidf_curve[high]) / doublings
            text = (f"From {low:.0%} to {high:.0%} of train the student's test MAE went {student_curve[low]:.3f} -> "
                    f"{student_curve[high]:.3f} and TF-IDF's {tfidf_curve[low]:.3f} -> {tfidf_curve[high]:.3f}: ")
            closing = student_gain - TARGET_RATIO * tfidf_gain
            gap = student_curve[high] - TARGET_RATIO * tfidf_curve[high]
            if closing > 0:
                more = gap / closing
                text += (f"if both kept those rates per doubling of oracle data (a naive extrapolation), the student would "
                         f"reach {TARGET_RATIO} x TF-IDF after ~{more:.1f} more doublings (~{2 ** more:.0f}x the train articles).")
            else:
                text += "the gap to the target does not shrink with more data, so more oracle articles alone will not close it."
            steps.append(text)
        trunc = evidence.get("truncation", {})
        if "truncated" in trunc and "whole" in trunc:
            cut, whole = trunc["truncated"]["student_over_tfidf"], trunc["whole"]["student_over_tfidf"]
            if cut > whole + TRUNCATION_MARGIN:
                lengths = evidence.get("article_lengths")
                cost = (f"{lengths['doubled_article_tokens']}-token inputs (x{lengths['token_cost_doubled_over_budget']:.2f} "
                        f"the tokens, {lengths['share_longer_than_doubled']:.0%} still cut)") if lengths else "longer inputs"
                steps.append(f"The student falls further behind TF-IDF on articles its input cut (x{cut:.2f} vs x{whole:.2f} "
                             f"on whole ones): {cost} or the head-tail strategy should help; both cost CPU time.")
            else:
                steps.append(f"Longer inputs are unlikely to close it: the student trails TF-IDF about as much on articles "
                             f"its input cut (x{cut:.2f}) as on whole ones (x{whole:.2f}).")
        if best.budget_limited or best.settings.get("epochs", 1) <= 1:
            steps.append("More epochs (the CPU budget allowed one pass for MiniLM and a few steps for SmolLM2); "
                         "on a GPU the SmolLM2 students could train for full epochs.")
        return steps

    def save(self) -> dict[str, Any]:
        from filterforge.io import atomic_write_text, write_json
        from filterforge.provenance import provenance

        self.target = self.evaluate_target() if self.results else None
        report = {
            "benchmark": "accuracy",
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "complete": self.complete,
            "is_benchmark": self.profile.is_benchmark,
            "profile": self.profile.name,
            "settings": {**asdict(self.profile), "time_budget_s": self.clock.budget_s,
                         "learning_curve_fractions": list(LEARNING_CURVE_FRACTIONS), "target_ratio": TARGET_RATIO,
                         "student_specs": [asdict(s) for s in (*STUDENTS, HEAD_TAIL)],
                         "bootstrap_samples": BOOTSTRAP_SAMPLES, "recall_top_share": TOP_SHARE},
            "seed": self.profile.seed,
            "elapsed_seconds": round(self.clock.elapsed, 1),
            "time_guard_slowdown": {k: round(v, 3) for k, v in self.clock.slowdown.items()},
            "machine_summary": machine_summary(),
            "provenance": provenance(),
            "datasets_root": str(self.datasets_root),
            "datasets": {name: self.dataset_report(name) for name in self.splits},
            "learning_curve": self.learning_curve,
            "target": self.target,
            "notes": self.notes,
            "command": " ".join(["python", repo_relative(sys.argv[0]), *sys.argv[1:]]),
            "output": repo_relative(self.output),
        }
        write_json(self.output, report)
        atomic_write_text(self.markdown_path, markdown(report) + "\n")
        return report


@click.command()
@click.option("--quick", is_flag=True, help="Development run: sustainability only, 300 train / 100 val / 150 test articles.")
@click.option("--datasets", "dataset_names", help=f"Comma-separated subset of: {', '.join(DATASETS)}.")
@click.option("--datasets-root", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_DATASETS_ROOT,
              show_default=True)
@click.option("--work-dir", type=click.Path(file_okay=False, path_type=Path), default=REPO / "runs" / "accuracy-benchmark",
              show_default=True, help="Splits and student runs (git-ignored).")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Default: benchmarks/results/accuracy.json "
              "(accuracy-quick.json in the work dir for capped runs).")
@click.option("--time-budget", type=float, default=2620.0, show_default=True,
              help="Seconds; a job whose estimate would overrun it is skipped and reported.")
@click.option("--encoder-model", default="minilm", show_default=True, help="Encoder for the probe and MiniLM students.")
@click.option("--decoder-model", default="smollm2-135m", show_default=True, help="Decoder for the SmolLM2 students.")
@click.option("--max-train", type=int, help="Development cap on train articles (not a benchmark result).")
@click.option("--max-val", type=int, help="Development cap on val articles.")
@click.option("--max-test", type=int, help="Development cap on test articles.")
@click.option("--decoder-max-steps", type=int, help="Override the SmolLM2 step budget.")
@click.option("--encoder-article-tokens", type=int, help="Override the MiniLM article-token budget (default 254).")
@click.option("--students", "student_keys", help="Comma-separated subset of: "
              f"{', '.join(s.key for s in (*STUDENTS, HEAD_TAIL))}.")
@click.option("--threads", type=int, default=2, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
def main(quick, dataset_names, datasets_root, work_dir, output, time_budget, encoder_model, decoder_model,
         max_train, max_val, max_test, decoder_max_steps, encoder_article_tokens, student_keys, threads, seed):
    """Compare filterforge students with TF-IDF, embedding-probe and mean baselines on real oracle data."""
    from filterforge.errors import FilterforgeError

    profile = PROFILES["quick" if quick else "full"]
    changes: dict[str, Any] = {"encoder_model": encoder_model, "decoder_model": decoder_model, "threads": threads, "seed": seed}
    if dataset_names:
        names = tuple(n.strip() for n in dataset_names.split(",") if n.strip())
        unknown = [n for n in names if n not in DATASETS]
        if unknown:
            raise FilterforgeError(f"unknown dataset {', '.join(unknown)} (known: {', '.join(DATASETS)})")
        changes["datasets"] = names
    if student_keys:
        keys = tuple(k.strip() for k in student_keys.split(",") if k.strip())
        known = [s.key for s in (*STUDENTS, HEAD_TAIL)]
        unknown = [k for k in keys if k not in known]
        if unknown:
            raise FilterforgeError(f"unknown student {', '.join(unknown)} (known: {', '.join(known)})")
        changes["students"] = keys
    for key, value in (("max_train", max_train), ("max_val", max_val), ("max_test", max_test),
                       ("decoder_max_steps", decoder_max_steps), ("encoder_article_tokens", encoder_article_tokens)):
        if value is not None:
            changes[key] = value
    profile = replace(profile, **changes)
    missing = [n for n in profile.datasets if not (datasets_root / n / "scored.jsonl").exists()]
    if missing:
        raise FilterforgeError(f"{datasets_root}: no scored.jsonl for {', '.join(missing)} (see ../shared/datasets/README.md)")
    if output is None:
        output = RESULTS / "accuracy.json" if profile.is_benchmark else work_dir / "accuracy-quick.json"
    benchmark = Benchmark(profile, datasets_root, work_dir, output, output.with_suffix(".md"), time_budget)
    report = benchmark.run()
    click.echo(markdown(report))
    log(f"wrote {output} and {output.with_suffix('.md')} in {report['elapsed_seconds'] / 60:.1f} min")


if __name__ == "__main__":
    main()
