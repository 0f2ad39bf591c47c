"""`filterforge export`: one ONNX graph per student, parity-checked against torch, optionally quantized."""

from __future__ import annotations

from pathlib import Path

import click

from filterforge.cli.options import threads_option
from filterforge.export.graph import DEFAULT_OPSET
from filterforge.export.quantize import QUANTIZATIONS


@click.command(name="export")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--output", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Export folder [default: RUN_DIR/onnx, RUN_DIR/onnx-int8, RUN_DIR/onnx-fp16].")
@click.option("--quantize", type=click.Choice(QUANTIZATIONS), default="none", show_default=True,
              help="int8: ONNX Runtime dynamic quantization; fp16: half-precision graph. Both pass the MAE gate.")
@click.option("--opset", type=click.IntRange(min=17), default=DEFAULT_OPSET, show_default=True)
@click.option("--exporter", type=click.Choice(["auto", "optimum", "torch"]), default="auto", show_default=True,
              help="auto: Optimum's exporter, torch.onnx only if Optimum fails.")
@click.option("--atol", type=click.FloatRange(min=0), default=1e-3, show_default=True,
              help="Largest |ONNX - torch| allowed on the fp32 graph's raw scores.")
@click.option("--max-mae-increase", type=float, default=0.05, show_default=True,
              help="Refuse a quantized graph whose test MAE is higher than torch's by more than this.")
@click.option("--keep-fp32", default="", metavar="PATTERNS",
              help="int8: also keep nodes whose names contain one of these comma-separated parts in fp32 "
                   "(e.g. down_proj: the MLP down projections, where decoders lose int8 accuracy).")
@click.option("--parity-articles", type=click.IntRange(min=1), default=4, show_default=True,
              help="Real articles (spread over input lengths) checked one by one and as one padded batch.")
@click.option("--data-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="The run's splits [default: the data_dir in RUN_DIR/training_metadata.json].")
@click.option("--prompt-cache/--no-prompt-cache", default=True, show_default=True,
              help="Shared-prompt decoders (instruction): the graph reads article tokens and takes the prompt's "
                   "KV cache, stored in the export, as inputs; --no-prompt-cache reads prompt + article each time.")
@click.option("--attention", type=click.Choice(["auto", "fused", "eager"]), default="auto", show_default=True,
              help="Decoders: fused = one ONNX Runtime GroupQueryAttention node per layer; auto = fused where "
                   "supported and within --atol, else eager.")
@threads_option
@click.option("--overwrite", is_flag=True, help="Replace an existing export folder (only once the new one passed).")
@click.option("--parity-perturbation", type=float, default=0.0, hidden=True,
              help="Add this to ONNX outputs before the parity check (shows the failure path).")
def command(run_dir: Path, output: Path | None, quantize: str, opset: int, exporter: str, atol: float,
            max_mae_increase: float, keep_fp32: str, parity_articles: int, data_dir: Path | None,
            prompt_cache: bool, attention: str, threads: int | None, overwrite: bool, parity_perturbation: float) -> None:
    """Export RUN_DIR's student to ONNX (one graph, raw scores), check it against torch, optionally quantize."""
    from filterforge.export.export import ExportSettings, export_run, terminate_as_exit

    patterns = tuple(part.strip() for part in keep_fp32.split(",") if part.strip())
    settings = ExportSettings(output, quantize, opset, exporter, atol, max_mae_increase, parity_articles, data_dir,
                              threads, overwrite, parity_perturbation, patterns, prompt_cache, attention)
    with terminate_as_exit():
        export_run(run_dir, settings)
