"""`filterforge bench`: latency per batch and per article, throughput and peak memory of a student,
for torch eager and every ONNX export, on every execution provider available.

Inputs are real token sequences: the run's articles (test, else val, else train split) tokenized
and cut into windows of exactly the benchmarked length, framed as the model's strategy frames them
(special tokens, or the full prompt for the instruction strategy). For the instruction strategy,
`length` counts the tokens after the prompt: torch reads them against the prompt's cached KV
(shared-prefix path), ONNX reads prompt + them (full-sequence path).
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import click

from filterforge.errors import FilterforgeError

RUNTIMES = ("torch", "onnx")


@dataclass
class Target:
    """One thing to time: a runtime on a provider, with a `run(encoded_batch)` callable."""

    runtime: str
    provider: str
    precision: str
    model: str
    path_used: str
    run: Callable[[Sequence[Any]], Any]
    prepare: Callable[[int, int, Sequence[Any]], None]
    memory: Callable[[], float | None]
    reset_memory: Callable[[], None]
    batch_sizes: tuple[int, ...] | None = None  # None: every --batch-sizes value


# -- inputs -------------------------------------------------------------------------------------

def token_stream(strategy: Any, rows: Sequence[dict], needed: int) -> list[int]:
    """Article tokens of real articles, one after the other, at least `needed` of them (repeated if few)."""
    stream: list[int] = []
    for row in rows:
        stream.extend(strategy.article_ids(row))
        if len(stream) >= needed:
            break
    if not stream:
        raise FilterforgeError("the benchmark articles have no tokens")
    while len(stream) < needed:
        stream.extend(stream[: needed - len(stream)])
    return stream


def make_inputs(strategy: Any, stream: Sequence[int], batch_size: int, length: int) -> list[Any]:
    """`batch_size` inputs of exactly `length` tokens (after the prompt when the strategy shares one)."""
    from filterforge.encoding.strategies import EncodedInput

    prefix, suffix = strategy.frame()
    shared = bool(getattr(strategy, "shares_prefix", False))
    article = article_tokens_for(strategy, length)
    inputs = []
    for row in range(batch_size):
        start = (row * article) % max(len(stream) - article, 1)
        ids = list(stream[start : start + article])
        inputs.append(EncodedInput(prefix + ids + suffix, len(prefix) if shared else 0, len(ids), len(ids)))
    return inputs


def article_tokens_for(strategy: Any, length: int) -> int:
    prefix, suffix = strategy.frame()
    shared = bool(getattr(strategy, "shares_prefix", False))
    return length - len(suffix) - (0 if shared else len(prefix))


def benchmarkable_lengths(strategy: Any, lengths: Sequence[int], window: int | None) -> tuple[list[int], list[str]]:
    """Lengths that leave room for article tokens and fit the model's context window; notes for the rest."""
    prefix, suffix = strategy.frame()
    shared = bool(getattr(strategy, "shares_prefix", False))
    usable, skipped = [], []
    for length in lengths:
        total = length + (len(prefix) if shared else 0)
        if article_tokens_for(strategy, length) < 1:
            skipped.append(f"length {length}: the template alone takes {len(prefix) + len(suffix)} tokens")
        elif window and total > window:
            skipped.append(f"length {length}: {total} tokens exceed the model's context window of {window}")
        else:
            usable.append(length)
    return usable, skipped


def benchmark_rows(data_dir: str | None, spec: Any) -> tuple[list[dict], str]:
    """The run's own articles when its splits are here, else the synthetic demo articles."""
    from filterforge.data.splits import load_split

    if data_dir and Path(data_dir).is_dir():
        for split in ("test", "val", "train"):
            rows = load_split(Path(data_dir) / f"{split}.jsonl", spec, required=False)
            if rows:
                return rows, f"{Path(data_dir) / f'{split}.jsonl'} ({len(rows)} articles)"
    from filterforge.data.demo import generate_demo_articles

    return generate_demo_articles(n=200, seed=0), "synthetic demo articles (the run's splits were not found)"


# -- targets ------------------------------------------------------------------------------------

def _rss_peak_mb() -> float:
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def torch_targets(model_dir: Path, device: str, cuda_graphs: bool = False) -> list[Target]:
    import torch

    from filterforge.runtime.torch_predictor import TorchPredictor

    predictor = TorchPredictor.from_dir(model_dir, device=device)
    is_cuda = predictor.device.startswith("cuda")

    def prepare(batch_size: int, total_tokens: int, inputs: Sequence[Any]) -> None:
        predictor.batch_size = batch_size
        if predictor.use_shared_prefix and predictor._cache is None:
            predictor.predict_encoded(inputs[:1])  # the prompt's KV cache: once per process, never timed

    def memory() -> float | None:
        return round(torch.cuda.max_memory_allocated() / 2**20, 1) if is_cuda else _rss_peak_mb()

    def reset() -> None:
        if is_cuda:
            torch.cuda.reset_peak_memory_stats()

    provider = f"cuda ({torch.cuda.get_device_name(0)})" if is_cuda else "cpu"
    targets = [Target("torch", provider, "fp32", str(model_dir), predictor.path_used, predictor.predict_encoded,
                      prepare, memory, reset)]
    if cuda_graphs:
        graphed = TorchPredictor.from_dir(model_dir, device=device, cuda_graphs=True)

        def capture(batch_size: int, total_tokens: int, inputs: Sequence[Any]) -> None:
            scorer = graphed.graphed_scorer(inputs)
            scorer.warm_up([len(e.input_ids) - (e.prefix_length if graphed.use_shared_prefix else 0) for e in inputs])

        targets.append(Target("torch", provider, "bf16", str(model_dir), graphed.path_used, graphed.predict_encoded,
                              capture, memory, reset, batch_sizes=(1,)))
    return targets


def onnx_targets(onnx_dir: Path, threads: int | None, device: str) -> list[Target]:
    from filterforge.runtime.onnx_predictor import OnnxPredictor, available_providers

    targets = []
    for provider in available_providers(device):
        predictor = OnnxPredictor.from_dir(onnx_dir, threads=threads, provider=provider)
        on_cpu = provider == "CPUExecutionProvider"

        def prepare(batch_size: int, total_tokens: int, inputs: Sequence[Any], _p: Any = predictor) -> None:
            _p.batch_size, _p.max_batch_tokens = batch_size, max(total_tokens, 1)

        precision = (predictor.info.get("quantization") or {}).get("mode", "none")
        targets.append(Target("onnx", provider.replace("ExecutionProvider", "").lower(),
                              "fp32" if precision == "none" else precision, str(onnx_dir), predictor.path_used,
                              predictor.predict_encoded, prepare, _rss_peak_mb if on_cpu else (lambda: None),
                              lambda: None))
    return targets


# -- timing -------------------------------------------------------------------------------------

def time_target(target: Target, inputs: Sequence[Any], warmup: int, iters: int) -> dict[str, Any]:
    import numpy as np

    length = len(inputs[0].input_ids)
    target.prepare(len(inputs), len(inputs) * length, inputs)
    target.reset_memory()
    for _ in range(warmup):
        target.run(inputs)
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        target.run(inputs)
        times.append(time.perf_counter() - start)
    ms = np.asarray(times) * 1000
    batch = len(inputs)
    p50 = float(np.percentile(ms, 50))
    return {
        "p50_ms": round(p50, 3), "p95_ms": round(float(np.percentile(ms, 95)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3), "mean_ms": round(float(ms.mean()), 3),
        "ms_per_article": round(p50 / batch, 3),
        "articles_per_second": round(batch * iters / (ms.sum() / 1000), 2),
        "peak_memory_mb": target.memory(),
    }


def machine_description(device: str) -> str:
    import torch

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpu = f"{cores}-core CPU ({platform.machine()}, {platform.system()}), torch threads {torch.get_num_threads()}"
    if device != "cpu" and torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)} GPU + {cpu}"
    return cpu


def markdown_table(results: Sequence[dict], machine: str) -> str:
    torch_p50 = {(r["batch_size"], r["length"]): r["p50_ms"] for r in results if r["runtime"] == "torch"}
    lines = [
        f"Machine: {machine}",
        "",
        "| runtime | provider | precision | path | batch | length | p50 ms | p95 ms | p99 ms | ms/article | articles/s | peak MB | vs torch |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        base = torch_p50.get((r["batch_size"], r["length"]))
        ratio = f"{base / r['p50_ms']:.2f}x" if base and r["runtime"] != "torch" else "-"
        lines.append(
            f"| {r['runtime']} | {r['provider']} | {r['precision']} | {r['path']} | {r['batch_size']} | {r['length']} | "
            f"{r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['p99_ms']:.1f} | {r['ms_per_article']:.2f} | "
            f"{r['articles_per_second']:.1f} | {r['peak_memory_mb'] if r['peak_memory_mb'] is not None else '-'} | {ratio} |"
        )
    return "\n".join(lines) + "\n"


def choose_summary(results: Sequence[dict], lengths: Sequence[int], machine: str) -> dict[str, Any]:
    """What `compare` reads: torch at batch 1 and the first requested length, so runs are comparable."""
    def pick(runtime: str | None) -> dict | None:
        for length in lengths:
            for r in results:
                if (runtime is None or r["runtime"] == runtime) and r["batch_size"] == 1 and r["length"] == length:
                    return r
        return None

    chosen = pick("torch") or pick(None) or results[0]
    return {"ms_per_article": chosen["ms_per_article"], "runtime": chosen["runtime"], "precision": chosen["precision"],
            "provider": chosen["provider"], "batch_size": chosen["batch_size"], "length": chosen["length"],
            "inference_peak_memory_mb": chosen["peak_memory_mb"], "path": chosen["path"], "machine": machine}


def _parse_ints(text: str, option: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise FilterforgeError(f"{option} expects comma-separated whole numbers, got '{text}'") from None
    if not values or any(v < 1 for v in values):
        raise FilterforgeError(f"{option} expects positive whole numbers, got '{text}'")
    return values


def _torch_model_dir(path: Path) -> Path | None:
    for candidate in (path / "model", path):
        if (candidate / "filterforge.json").exists() and (candidate / "model.safetensors").exists():
            return candidate
    return None


def _resolve_sources(path: Path) -> tuple[Path | None, list[Path]]:
    """(torch model dir or None, ONNX export dirs) at a run dir or a model dir; for an export dir, the
    torch model is the one it was exported from (when it is still there)."""
    from filterforge.runtime.onnx_predictor import is_onnx_dir, onnx_dirs, read_info

    if is_onnx_dir(path):
        source = read_info(path).get("source_model_dir")
        return (_torch_model_dir(Path(source)) if source else None), [path]
    torch_dir = _torch_model_dir(path)
    exports = onnx_dirs(path)
    if torch_dir is None and not exports:
        raise FilterforgeError(f"{path} holds neither a torch model (model/) nor an ONNX export (onnx/)")
    return torch_dir, exports


def _data_dir_for(torch_dir: Path | None, exports: Sequence[Path]) -> str | None:
    """The run's data dir as its training metadata (or an export's filterforge.json) recorded it."""
    candidates = [torch_dir.parent / "training_metadata.json"] if torch_dir is not None else []
    for candidate in candidates + [e / "filterforge.json" for e in exports]:
        if candidate.exists():
            recorded = json.loads(candidate.read_text()).get("data_dir")
            if recorded:
                return recorded
    return None


def run_bench(path: Path, runtimes: Sequence[str] | None, batch_sizes: Sequence[int], lengths: Sequence[int],
              threads: int | None, warmup: int, iters: int, device: str, echo: Any = click.echo,
              cuda_graphs: bool = False) -> dict[str, Any]:
    import torch
    from transformers import AutoConfig

    from filterforge.filters.spec import load_filter
    from filterforge.io import atomic_write_text, write_json
    from filterforge.student.sources import load_tokenizer
    from filterforge.runtime.onnx_predictor import is_onnx_dir
    from filterforge.plugins.manager import get_strategies, lookup
    from filterforge.provenance import provenance
    from filterforge.encoding.strategies import model_context_window

    if threads:
        torch.set_num_threads(threads)
    torch_dir, exports = _resolve_sources(path)
    available = {"torch": torch_dir is not None, "onnx": bool(exports)}
    default = ["onnx"] if is_onnx_dir(path) else [r for r in RUNTIMES if available[r]]  # an export dir: its graph
    wanted = list(runtimes) if runtimes else default
    for runtime in wanted:
        if runtime not in RUNTIMES:
            raise FilterforgeError(f"unknown --runtime '{runtime}' (known: {', '.join(RUNTIMES)})")
        if not available[runtime]:
            hint = f"run filterforge export {path}" if runtime == "onnx" else "the model it was exported from is not here"
            raise FilterforgeError(f"--runtime {runtime}: {path} has no {runtime} model ({hint})")
    threads = threads or torch.get_num_threads()
    torch_device = "cpu" if device == "cpu" else ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise FilterforgeError("--device cuda requested but no CUDA GPU is available")

    spec_dir = torch_dir or exports[0]
    spec = load_filter(spec_dir)
    info = json.loads((spec_dir / "filterforge.json").read_text())
    tokenizer = load_tokenizer(spec_dir)
    strategy = lookup("strategy", info["strategy"], get_strategies())(spec, tokenizer, info.get("strategy_options") or {})
    window = model_context_window(AutoConfig.from_pretrained(str(spec_dir))) if (spec_dir / "config.json").exists() else None
    rows, source = benchmark_rows(_data_dir_for(torch_dir, exports), spec)
    shared = bool(getattr(strategy, "shares_prefix", False))
    usable, skipped = benchmarkable_lengths(strategy, lengths, window)
    for note in skipped:
        echo(f"  skipped {note}")
    if not usable:
        raise FilterforgeError(f"no benchmarkable --lengths for {path}: " + "; ".join(skipped))
    stream = token_stream(strategy, rows, max(batch_sizes) * max(usable) + 1)

    machine = machine_description(torch_device)
    echo(f"bench {path}: runtimes {', '.join(wanted)}; batch sizes {list(batch_sizes)}; lengths {usable}; "
         f"threads {threads}; warmup {warmup}, iters {iters}; tokens from {source}")
    targets: list[Target] = []
    if cuda_graphs and "torch" not in wanted:
        raise FilterforgeError("--cuda-graphs times the torch runtime; add torch to --runtime")
    if "torch" in wanted:
        targets += torch_targets(torch_dir, torch_device, cuda_graphs)
    if "onnx" in wanted:
        for export_dir in exports:
            targets += onnx_targets(export_dir, threads, "cpu" if device == "cpu" else "auto")
    results = []
    for target in targets:
        for length in usable:
            for batch_size in batch_sizes:
                if target.batch_sizes is not None and batch_size not in target.batch_sizes:
                    continue
                inputs = make_inputs(strategy, stream, batch_size, length)
                timing = time_target(target, inputs, warmup, iters)
                result = {"runtime": target.runtime, "provider": target.provider, "precision": target.precision,
                          "model": target.model, "path": target.path_used, "batch_size": batch_size, "length": length,
                          "input_tokens": len(inputs[0].input_ids),
                          "article_tokens": inputs[0].article_tokens, **timing}
                results.append(result)
                echo(f"  {target.runtime:<5} {target.provider:<5} {target.precision:<4} batch {batch_size:>3} x {length:>5}: "
                     f"p50 {timing['p50_ms']:.1f} ms, {timing['ms_per_article']:.2f} ms/article")
    summary = choose_summary(results, usable, machine)
    table = markdown_table(results, machine)
    report = {
        "results": results, "summary": summary,
        "settings": {"runtimes": wanted, "batch_sizes": list(batch_sizes), "lengths": usable, "skipped": skipped,
                     "threads": threads, "warmup": warmup, "iters": iters, "device": device,
                     "cuda_graphs": cuda_graphs},
        "token_source": source, "prompt_tokens": len(strategy.frame()[0]) if shared else 0,
        "length_definition": ("tokens after the shared prompt (torch: against its cached KV; ONNX: prompt + these)"
                              if shared else "tokens per input, special tokens included"),
        "memory_note": "CPU: the process's peak resident memory so far (runtimes run one after the other); CUDA: torch's peak allocation",
        **provenance(),
    }
    write_json(path / "bench.json", report)
    atomic_write_text(path / "bench.md", table)
    echo("")
    echo(table)
    echo(f"wrote {path / 'bench.json'} and {path / 'bench.md'}")
    return report


@click.command(name="bench")
@click.argument("path", metavar="RUN_DIR|ONNX_DIR", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--runtime", "runtimes", default=None,
              help="Comma-separated: torch,onnx [default: every runtime PATH holds; every ONNX export is timed].")
@click.option("--batch-sizes", default="1,8,32", show_default=True)
@click.option("--lengths", default="128,512", show_default=True,
              help="Input lengths in tokens (after the prompt for the instruction strategy).")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="CPU threads for torch and ONNX Runtime.")
@click.option("--warmup", type=click.IntRange(min=0), default=5, show_default=True)
@click.option("--iters", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--cuda-graphs", is_flag=True,
              help="Also time the torch batch-1 path replayed from CUDA graphs (bf16, decoder students, GPU only).")
def command(path: Path, runtimes: str | None, batch_sizes: str, lengths: str, threads: int | None, warmup: int,
            iters: int, device: str, cuda_graphs: bool) -> None:
    """Latency (p50/p95/p99 per batch and per article), throughput and peak memory; writes bench.json + bench.md."""
    chosen = [r.strip() for r in runtimes.split(",") if r.strip()] if runtimes else None
    run_bench(path, chosen, _parse_ints(batch_sizes, "--batch-sizes"), _parse_ints(lengths, "--lengths"), threads,
              warmup, iters, device, cuda_graphs=cuda_graphs)
