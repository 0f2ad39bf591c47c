"""Model sources: the packaged SmolLM2 tokenizer fix and loading mislabelled byte-level tokenizers."""

from __future__ import annotations


def test_gguf_llama_tokenizer_class_is_pinned_to_the_generic_fast_tokenizer(tmp_path):
    """A byte-level BPE vocabulary labelled LlamaTokenizerFast loses its spaces under transformers 5."""
    import json

    from filterforge.student.sources import pin_byte_level_tokenizer_class

    byte_level = tmp_path / "byte-level"
    byte_level.mkdir()
    (byte_level / "tokenizer.json").write_text(json.dumps({"pre_tokenizer": {"type": "ByteLevel"}}))
    (byte_level / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "LlamaTokenizerFast", "eos_token": "x"}))
    assert pin_byte_level_tokenizer_class(byte_level)
    config = json.loads((byte_level / "tokenizer_config.json").read_text())
    assert config == {"tokenizer_class": "PreTrainedTokenizerFast", "eos_token": "x"}
    assert not pin_byte_level_tokenizer_class(byte_level)  # already pinned

    sentencepiece = tmp_path / "metaspace"
    sentencepiece.mkdir()
    (sentencepiece / "tokenizer.json").write_text(json.dumps({"pre_tokenizer": {"type": "Metaspace"}}))
    (sentencepiece / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "LlamaTokenizerFast"}))
    assert not pin_byte_level_tokenizer_class(sentencepiece)  # a real Llama tokenizer keeps its class


def test_a_mislabelled_byte_level_tokenizer_loads_with_the_generic_class(tmp_path, tiny_decoder):
    """Runs saved before the pin still load right: the folder is read, not rewritten."""
    import json
    import shutil

    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    from filterforge.student.sources import load_tokenizer

    folder = tmp_path / "run-model"
    shutil.copytree(tiny_decoder, folder)
    tokenizer_json = json.loads((folder / "tokenizer.json").read_text())
    tokenizer_json["pre_tokenizer"] = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    (folder / "tokenizer.json").write_text(json.dumps(tokenizer_json))
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config["tokenizer_class"] = "LlamaTokenizerFast"
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    before = (folder / "tokenizer_config.json").read_text()
    tokenizer = load_tokenizer(folder)
    assert type(tokenizer) is PreTrainedTokenizerFast
    assert (folder / "tokenizer_config.json").read_text() == before
    assert type(load_tokenizer(tiny_decoder)) is type(AutoTokenizer.from_pretrained(str(tiny_decoder)))
