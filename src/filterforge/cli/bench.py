"""`filterforge bench`: latency, throughput and peak memory per runtime; writes bench.json + bench.md."""

from __future__ import annotations

from pathlib import Path

import click

from filterforge.cli.options import device_option, parse_ints, threads_option


@click.command(name="bench")
@click.argument("path", metavar="RUN_DIR|ONNX_DIR", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--runtime", "runtimes", default=None,
              help="Comma-separated: torch,onnx [default: every runtime PATH holds; every ONNX export is timed].")
@click.option("--batch-sizes", default="1,8,32", show_default=True)
@click.option("--lengths", default="128,512", show_default=True,
              help="Input lengths in tokens (after the prompt for the instruction strategy).")
@threads_option
@click.option("--warmup", type=click.IntRange(min=0), default=5, show_default=True)
@click.option("--iters", type=click.IntRange(min=1), default=50, show_default=True)
@device_option
@click.option("--cuda-graphs", is_flag=True,
              help="Also time the torch batch-1 path replayed from CUDA graphs (bf16, decoder students, GPU only).")
@click.option("--compile", "compile_graphs", is_flag=True,
              help="With --cuda-graphs: also time graphs of torch.compile'd length buckets (Inductor kernels).")
def command(path: Path, runtimes: str | None, batch_sizes: str, lengths: str, threads: int | None, warmup: int,
            iters: int, device: str, cuda_graphs: bool, compile_graphs: bool) -> None:
    """Latency (p50/p95/p99 per batch and per article), throughput and peak memory; writes bench.json + bench.md."""
    from filterforge.serving.bench import run_bench

    chosen = [r.strip() for r in runtimes.split(",") if r.strip()] if runtimes else None
    report = run_bench(path, chosen, parse_ints(batch_sizes, "--batch-sizes"), parse_ints(lengths, "--lengths"),
                       threads, warmup, iters, device, cuda_graphs=cuda_graphs, compile=compile_graphs)
    click.echo("")
    click.echo(report["table"])
    click.echo(f"wrote {report['files'][0]} and {report['files'][1]}")
