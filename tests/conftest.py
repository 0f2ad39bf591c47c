"""Shared fixtures: tiny random models built in memory (no hub), demo data, a CLI runner.

Tiny models use a word-level tokenizer whose vocabulary comes from the synthetic demo articles, so
token counts are word counts and nothing is downloaded.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DATASETS = SHARED / "datasets"

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "<|im_start|>", "<|im_end|>"]


def _vocabulary() -> list[str]:
    from filterforge.data.demo import generate_demo_articles

    words: dict[str, None] = {}
    for row in generate_demo_articles(n=300, seed=123):
        for word in re.findall(r"\w+|[^\w\s]", f"{row['title']} {row['content']}".lower()):
            words.setdefault(word, None)
    for line in (REPO / "filters" / "investment-risk" / "v2" / "prompt.md").read_text().lower().split():
        for word in re.findall(r"\w+|[^\w\s]", line):
            words.setdefault(word, None)
    return SPECIALS + sorted(words)


def make_tokenizer(kind: str):
    """A fast word-level tokenizer: BERT-style [CLS] a [SEP] for encoders, a chat template for decoders."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {word: index for index, word in enumerate(_vocabulary())}
    core = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    core.normalizer = normalizers.Lowercase()
    core.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()])
    core.add_special_tokens(SPECIALS)
    if kind == "encoder":
        core.post_processor = processors.BertProcessing(("[SEP]", vocab["[SEP]"]), ("[CLS]", vocab["[CLS]"]))
        return PreTrainedTokenizerFast(tokenizer_object=core, unk_token="[UNK]", pad_token="[PAD]",
                                       cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]", model_max_length=512)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, unk_token="[UNK]", pad_token="<|im_end|>",
                                        eos_token="<|im_end|>", bos_token="<|im_start|>", model_max_length=8192)
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def build_tiny_model(path: Path, kind: str) -> Path:
    import torch
    from transformers import BertConfig, BertModel, LlamaConfig, LlamaModel

    torch.manual_seed(0)
    tokenizer = make_tokenizer(kind)
    vocab_size = len(tokenizer)
    if kind == "encoder":
        config = BertConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                            intermediate_size=64, max_position_embeddings=512, pad_token_id=tokenizer.pad_token_id)
        model = BertModel(config)
    else:
        config = LlamaConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                             num_key_value_heads=2, intermediate_size=64, max_position_embeddings=8192,
                             pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                             bos_token_id=tokenizer.bos_token_id, tie_word_embeddings=False)
        model = LlamaModel(config)
    model.save_pretrained(str(path), safe_serialization=True)
    tokenizer.save_pretrained(str(path))
    return path


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory) -> Path:
    """Folder with a random 2-layer BERT (hidden 32) and a word-level tokenizer."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-encoder"), "encoder")


@pytest.fixture(scope="session")
def tiny_decoder(tmp_path_factory) -> Path:
    """Folder with a random 2-layer Llama (hidden 32, GQA 4/2) and a tokenizer with a chat template."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-decoder"), "decoder")


@pytest.fixture(scope="session")
def demo_jsonl(tmp_path_factory) -> Path:
    from filterforge.data.demo import generate_demo_articles
    from filterforge.io import write_jsonl

    path = tmp_path_factory.mktemp("demo") / "demo.jsonl"
    write_jsonl(path, generate_demo_articles(n=160, seed=7))
    return path


@pytest.fixture(scope="session")
def demo_splits(tmp_path_factory, demo_jsonl) -> Path:
    """train/val/test splits of 160 synthetic investment-risk articles."""
    from filterforge.data.prepare import prepare

    out = tmp_path_factory.mktemp("splits") / "investment_risk_v2"
    prepare("investment-risk/v2", [str(demo_jsonl)], str(out), seed=1)
    return out


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def invoke(runner: CliRunner, args: list[str]):
    """Run the real `filterforge` CLI (plugins loaded as for users) and return the result."""
    from filterforge.cli import build_cli

    return runner.invoke(build_cli(), [str(a) for a in args], catch_exceptions=False)


def tiny_train_args(data_dir: Path, model_dir: Path, out: Path, strategy: str = "distillation", *extra: str) -> list[str]:
    return ["train", "investment-risk/v2", "--strategy", strategy, "--data-dir", str(data_dir), "--model", str(model_dir),
            "--output-dir", str(out), "--epochs", "1", "--batch-size", "8", "--max-length", "192", "--quiet",
            "--learning-rate", "1e-3", *extra]


def assert_one_line_error(result, *fragments: str) -> str:
    """A CLI failure the way users must see it: exit code != 0, one line, no traceback, naming each fragment."""
    assert result.exit_code != 0, result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def train_tiny_run(out: Path, data_dir: Path, model_dir: Path, strategy: str = "distillation", *extra: str) -> Path:
    """A tiny run trained through the real CLI (for module-scoped fixtures); fails the test if training fails."""
    result = invoke(CliRunner(), tiny_train_args(data_dir, model_dir, out, strategy, *extra))
    assert result.exit_code == 0, result.output
    return out


def truncate_file(path: Path) -> None:
    """Cut a file in half, as an interrupted copy or download would."""
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def garbage_json(path: Path) -> None:
    path.write_text('{"name": "half a JSON object", ')


def copy_run(trained: Path, folder: Path) -> Path:
    """A test's own copy of a module's trained run (without its checkpoint), free to corrupt."""
    import shutil

    return shutil.copytree(trained, folder / "run", ignore=shutil.ignore_patterns("checkpoint"))


def splits_with_calibration(tmp_path_factory, demo_splits: Path, name: str, calibration_rows: int) -> Path:
    """A copy of the demo splits whose first ``calibration_rows`` train articles form a calibration split
    (the prepare report, and so the data hash, stay those of the demo splits)."""
    import shutil

    folder = tmp_path_factory.mktemp(name) / "data"
    shutil.copytree(demo_splits, folder)
    rows = (folder / "train.jsonl").read_text().splitlines()
    (folder / "calibration.jsonl").write_text("\n".join(rows[:calibration_rows]) + "\n")
    (folder / "train.jsonl").write_text("\n".join(rows[calibration_rows:]) + "\n")
    return folder
