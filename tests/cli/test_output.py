"""What the command line shows: filterforge's messages as plain lines, and `--quiet` silencing them and
third-party progress bars and warnings."""

from __future__ import annotations

import logging

from conftest import invoke, tiny_train_args


def test_quiet_keeps_warnings_and_silences_library_info_and_transformers(capsys, monkeypatch):
    from transformers.utils import logging as hf_logging

    from filterforge.cli.output import quiet, show_progress

    for name in ("HF_HUB_DISABLE_PROGRESS_BARS", "TRANSFORMERS_VERBOSITY", "TRANSFORMERS_NO_ADVISORY_WARNINGS"):
        monkeypatch.delenv(name, raising=False)  # restored after the test
    show_progress()
    quiet()
    try:
        logging.getLogger("filterforge.anything").info("progress line")
        hf_logging.get_logger("transformers.tokenization_utils").warning("legacy behaviour")
        logging.getLogger("filterforge.anything").warning("a real warning")
        captured = capsys.readouterr()
        assert "progress line" not in captured.out + captured.err
        assert "legacy behaviour" not in captured.out + captured.err
        assert "a real warning" in captured.out
        assert not hf_logging.is_progress_bar_enabled()
    finally:
        show_progress()
        hf_logging.set_verbosity_warning()
        hf_logging.enable_progress_bar()


def test_train_quiet_prints_nothing(runner, demo_splits, tiny_encoder, tmp_path):
    result = invoke(runner, tiny_train_args(demo_splits, tiny_encoder, tmp_path / "run"))
    assert result.exit_code == 0, result.output
    assert result.output == ""
    loud = invoke(runner, [a for a in tiny_train_args(demo_splits, tiny_encoder, tmp_path / "loud") if a != "--quiet"])
    assert loud.exit_code == 0 and "best val MAE" in loud.output and "mean predictor" in loud.output
