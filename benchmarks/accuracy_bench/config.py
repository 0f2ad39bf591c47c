"""What the benchmark runs on and with: datasets, students, profiles, paths and constants."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DATASETS_ROOT = REPO.parent / "shared" / "datasets"
DEFAULT_WORK_DIR = REPO / "runs" / "accuracy-benchmark"
RESULTS = REPO / "benchmarks" / "results"
DEFAULT_TIME_BUDGET_S = 3450.0  # ~60 min on a quiet 2-core CPU, with a few minutes for the jobs after the guard

TARGET_RATIO = 0.85  # the recommended model's test MAE <= this x TF-IDF + ridge's, on sustainability
TARGET_UPPER_BOUND = 1.0  # ... and the paired bootstrap interval of that ratio ends below this
TARGET_DATASET = "sustainability"
LEARNING_CURVE_FRACTIONS = (0.25, 0.5, 1.0)
TOP_SHARE = 0.10  # Recall@k uses the top 10 % of test articles by oracle weighted average
BOOTSTRAP_SAMPLES = 1000
TRUNCATION_MARGIN = 0.05  # student/TF-IDF ratio on cut articles must exceed that on whole ones by this to blame truncation


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
    """A student row. ``recipe`` students train with what filterforge's ``train`` uses when nothing is given
    (TrainConfig's defaults and the model kind's recipe: epochs, learning rates, layer-wise decay, warm-up,
    early stopping; see ``recipe.py``) except the benchmark's article-token budget and ``batch_size``; the
    others set their own budget-limited settings (the rest from the same defaults)."""

    key: str
    label: str  # a recipe student's label gets the defaults appended (recipe.student_label)
    model: str  # "encoder" or "decoder": replaced by the profile's model names
    strategy: str
    lora: bool = False
    batch_size: int = 8
    recipe: bool = False
    learning_rate: float | None = None  # None: filterforge's default (the model kind's recipe)
    head_learning_rate: float | None = None
    warmup_ratio: float | None = None


MINILM_DISTILLATION = StudentSpec("minilm-distillation", "MiniLM distillation", "encoder", "distillation",
                                  batch_size=16, recipe=True)
SMOLLM2_DISTILLATION = StudentSpec("smollm2-distillation", "SmolLM2-135M distillation (full FT)", "decoder",
                                   "distillation", learning_rate=5e-5, head_learning_rate=1e-3, warmup_ratio=0.1)
SMOLLM2_INSTRUCTION = (
    StudentSpec("smollm2-instruction-lora", "SmolLM2-135M instruction (LoRA r16)", "decoder", "instruction",
                lora=True, learning_rate=5e-4, head_learning_rate=1e-3, warmup_ratio=0.1),
    StudentSpec("smollm2-instruction-full", "SmolLM2-135M instruction (full FT)", "decoder", "instruction",
                learning_rate=5e-5, head_learning_rate=1e-3, warmup_ratio=0.1),
)
STUDENTS = (MINILM_DISTILLATION, SMOLLM2_DISTILLATION, *SMOLLM2_INSTRUCTION)
HEAD_TAIL = StudentSpec("minilm-head-tail", "MiniLM head-tail plugin", "encoder", "head-tail", batch_size=16,
                        recipe=True)
ALL_STUDENTS = (*STUDENTS, HEAD_TAIL)
STUDENT_KEYS = tuple(s.key for s in ALL_STUDENTS)


def student_by_key(key: str) -> StudentSpec | None:
    return next((s for s in ALL_STUDENTS if s.key == key), None)


@dataclass(frozen=True)
class Profile:
    """Every knob that trades accuracy for CPU time; recorded in the output."""

    name: str
    encoder_model: str = "minilm"
    decoder_model: str = "smollm2-135m"
    encoder_article_tokens: int = 254  # + [CLS] [SEP] = 256
    decoder_article_tokens: int = 128  # filterforge train refuses fewer (--min-article-tokens)
    # Only when the training defaults carry no early stopping: recipe students then train at most this many
    # epochs on datasets with more than large_dataset_rows train articles (the CPU budget).
    encoder_epochs_large: int = 1
    large_dataset_rows: int = 1000
    decoder_epochs: int = 1
    decoder_max_steps: int = 12
    student_val_limit: int = 200  # val articles that pick checkpoints (students) and alphas (baselines) ...
    fit_share: float = 0.5  # ... but at least this share of val is left for fitting the ensembles
    ensemble_folds: int = 5  # k of the cross-fitted ensemble MAE on the fit split
    head_tail_min_truncated_share: float = 0.25
    max_train: int | None = None  # development caps; a capped run is not a benchmark result
    max_val: int | None = None
    max_test: int | None = None
    datasets: tuple[str, ...] = tuple(DATASETS)
    students: tuple[str, ...] = STUDENT_KEYS
    threads: int = 2
    seed: int = 42

    @property
    def is_benchmark(self) -> bool:
        return self.max_train is None and self.max_val is None and self.max_test is None

    @property
    def caps(self) -> dict[str, int | None]:
        return {"train": self.max_train, "val": self.max_val, "test": self.max_test}


PROFILES = {
    "full": Profile("full"),
    "quick": Profile("quick", decoder_max_steps=3, max_train=300, max_val=100, max_test=150,
                     datasets=("sustainability",), student_val_limit=100),
}

# Seconds per token on the 2-core CPU (field notes), used only to decide whether a job still fits.
COST_PER_TOKEN = {"encoder": {"train": 0.7e-3, "infer": 0.17e-3}, "decoder": {"train": 3.9e-3, "infer": 1.35e-3}}
# Each instruction article token also attends over the cached prompt's keys: instruction_speed.py measured an
# instruction article at ~3.2x a distillation article's cost on this CPU.
INSTRUCTION_ARTICLE_COST = 3.3
JOB_OVERHEAD_S = {"encoder": 10.0, "decoder": 30.0}  # loading, saving (0.5 GB of SmolLM2 weights)
PROBE_OVERHEAD_S = 5.0
ENSEMBLE_OVERHEAD_S = 10.0  # copying the members, loading them twice (fit and test)
CHARS_PER_TOKEN = 4.0

# From ../shared/datasets/README.md (not recomputed: those 50 articles are not in the dataset).
SUSTAINABILITY_ORACLE_NOTE = (
    "Sustainability has no second-oracle file; the datasets README reports that on 50 other articles scored with the "
    "same prompt by Gemini Flash and Gemini Pro the oracle-vs-oracle MAE is 1.76: the student is graded against one "
    "oracle's habits (for example arXiv papers get technical_credibility 6-7 whatever their topic), which TF-IDF "
    "picks up from surface words.")
