"""`bench`: latency per batch and per article, throughput and peak memory of a run, for torch and every
ONNX export, on every execution provider available, through the same `Scorer` that scoring uses.

For a strategy that shares its prompt, ``length`` counts the tokens after the prompt: torch reads them
against the prompt's cached KV (shared-prefix path), and so does an ONNX export whose graph takes that
cache as inputs; an export made with ``--no-prompt-cache`` reads prompt + them (full-sequence path).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Sequence

from filterforge.errors import FilterforgeError

logger = logging.getLogger(__name__)
RUNTIMES = ("torch", "onnx")


def provider_name(predictor: Any) -> str:
    if predictor.runtime == "onnx":
        return predictor.provider.replace("ExecutionProvider", "").lower()
    if str(predictor.device).startswith("cuda"):
        import torch

        return f"cuda ({torch.cuda.get_device_name(0)})"
    return "cpu"


def scorers_to_time(run: Any, runtimes: Sequence[str], device: str, threads: int | None, cuda_graphs: bool,
                    compile: bool = False) -> list[Any]:
    from filterforge.runtime.onnx_predictor import available_providers
    from filterforge.runtime.scorer import Scorer

    scorers = []
    if "torch" in runtimes:
        scorers.append(Scorer.load(run, runtime="torch", device=device, threads=threads))
        if cuda_graphs:
            scorers.append(Scorer.load(run, runtime="torch", device=device, cuda_graphs=True))
            if compile:
                scorers.append(Scorer.load(run, runtime="torch", device=device, cuda_graphs=True, compile=True))
    if "onnx" in runtimes and run.is_ensemble:  # each neural member runs its own export
        scorers.append(Scorer.load(run, runtime="onnx", device=device, threads=threads))
    elif "onnx" in runtimes:
        for export_dir in run.exports:
            for provider in available_providers("cpu" if device == "cpu" else "auto"):
                scorers.append(Scorer.load(run, export_dir=export_dir, provider=provider, threads=threads))
    return scorers


def time_scorer(scorer: Any, inputs: Sequence[Any], warmup: int, iters: int) -> dict[str, Any]:
    import numpy as np

    predictor = scorer.predictor
    predictor.batch_size, predictor.max_batch_tokens = len(inputs), None  # the batch runs as one
    predictor.warm_up(inputs)
    predictor.reset_peak_memory()
    for _ in range(warmup):
        scorer.score_encoded(inputs)
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        scorer.score_encoded(inputs)
        times.append(time.perf_counter() - start)
    ms = np.asarray(times) * 1000
    p50 = float(np.percentile(ms, 50))
    return {
        "p50_ms": round(p50, 3), "p95_ms": round(float(np.percentile(ms, 95)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3), "mean_ms": round(float(ms.mean()), 3),
        "ms_per_article": round(p50 / len(inputs), 3),
        "articles_per_second": round(len(inputs) * iters / (ms.sum() / 1000), 2),
        "peak_memory_mb": predictor.peak_memory_mb(),
    }


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


def wanted_runtimes(run: Any, runtimes: Sequence[str] | None) -> list[str]:
    if run.is_ensemble:
        exported = all(m.is_text_baseline or m.exports for _, m in run.ensemble_members())
        available = {"torch": True, "onnx": exported}
    else:
        available = {"torch": run.has_torch_model or run.is_text_baseline, "onnx": bool(run.exports)}
    if not any(available.values()):
        raise FilterforgeError(f"{run.root} holds neither a torch model (model/) nor an ONNX export (onnx/)")
    default = ["onnx"] if run.export_dir is not None else [r for r in RUNTIMES if available[r]]
    wanted = list(runtimes) if runtimes else default
    for runtime in wanted:
        if runtime not in RUNTIMES:
            raise FilterforgeError(f"unknown --runtime '{runtime}' (known: {', '.join(RUNTIMES)})")
        if not available[runtime]:
            hint = f"run filterforge export {run.root}" if runtime == "onnx" else "the model it was exported from is not here"
            raise FilterforgeError(f"--runtime {runtime}: {run.root} has no {runtime} model ({hint})")
    return wanted


def run_bench(path: Path, runtimes: Sequence[str] | None, batch_sizes: Sequence[int], lengths: Sequence[int],
              threads: int | None, warmup: int, iters: int, device: str, cuda_graphs: bool = False,
              compile: bool = False) -> dict[str, Any]:
    from filterforge.encoding.strategies import model_context_window
    from filterforge.io import atomic_write_text, write_json
    from filterforge.provenance import provenance
    from filterforge.runs.run import Run
    from filterforge.runtime.baseline_predictor import WholeArticle
    from filterforge.runtime.device import describe_device, select_device, use_threads
    from filterforge.serving import bench_inputs as bi
    from filterforge.student.sources import load_config, load_tokenizer

    if compile and not cuda_graphs:
        raise FilterforgeError("--compile compiles the CUDA-graph path; add --cuda-graphs")
    threads = use_threads(threads)
    run = Run.open(path)
    wanted = wanted_runtimes(run, runtimes)
    if cuda_graphs and "torch" not in wanted:
        raise FilterforgeError("--cuda-graphs times the torch runtime; add torch to --runtime")
    torch_device = select_device(device)
    if run.is_text_baseline or run.is_ensemble:  # lengths in words: an ensemble's members tokenize them each their own way
        strategy, usable, skipped = WholeArticle(run.filter_spec()), list(lengths), []
        rows, source = bi.benchmark_rows(run.data_dir(required=False), strategy.filter_spec)
        make = lambda batch_size, length: bi.text_inputs(rows, batch_size, length)  # noqa: E731
    else:
        spec_dir = run.model_dir if run.has_torch_model else run.exports[0]
        strategy = run.strategy(load_tokenizer(spec_dir), spec_dir)
        config = spec_dir / "config.json"
        window = model_context_window(load_config(spec_dir)) if config.exists() else None
        rows, source = bi.benchmark_rows(run.data_dir(required=False), strategy.filter_spec)
        usable, skipped = bi.benchmarkable_lengths(strategy, lengths, window)
        stream = bi.token_stream(strategy, rows, max(batch_sizes) * max(usable) + 1) if usable else []
        make = lambda batch_size, length: bi.make_inputs(strategy, stream, batch_size, length)  # noqa: E731
    for note in skipped:
        logger.info(f"  skipped {note}")
    if not usable:
        raise FilterforgeError(f"no benchmarkable --lengths for {path}: " + "; ".join(skipped))
    machine = describe_device(torch_device)
    scorers = scorers_to_time(run, wanted, torch_device, threads, cuda_graphs, compile)
    if run.is_ensemble:
        make = lambda batch_size, length: scorers[0].encode(bi.text_articles(rows, batch_size, length))  # noqa: E731
    logger.info(f"bench {path}: runtimes {', '.join(wanted)}; batch sizes {list(batch_sizes)}; lengths {usable}; "
                f"threads {threads}; warmup {warmup}, iters {iters}; tokens from {source}")
    results = []
    for scorer in scorers:
        results += time_all(scorer, make, usable, batch_sizes, warmup, iters)
    report = {
        "results": results, "summary": choose_summary(results, usable, machine),
        "settings": {"runtimes": wanted, "batch_sizes": list(batch_sizes), "lengths": usable, "skipped": skipped,
                     "threads": threads, "warmup": warmup, "iters": iters, "device": device,
                     "cuda_graphs": cuda_graphs, "compile": compile},
        "token_source": source, "prompt_tokens": len(strategy.frame()[0]) if strategy.shares_prefix else 0,
        "length_definition": ("tokens after the shared prompt (torch: against its cached KV; ONNX: prompt + these)"
                              if strategy.shares_prefix else "words per article, which each member tokenizes"
                              if run.is_ensemble else "tokens per input, special tokens included"),
        "memory_note": "CPU: the process's peak resident memory during each timing (reset before it where Linux allows); "
                       "CUDA: torch's peak allocation",
        **provenance(),
    }
    json_path, markdown_path = run.bench_paths()
    write_json(json_path, report)
    atomic_write_text(markdown_path, markdown_table(results, machine))
    report["files"] = [str(json_path), str(markdown_path)]
    report["table"] = markdown_table(results, machine)
    return report


def time_all(scorer: Any, make_inputs: Any, lengths: Sequence[int], batch_sizes: Sequence[int],
             warmup: int, iters: int) -> list[dict[str, Any]]:
    """Time ``scorer`` on ``make_inputs(batch_size, length)`` for every length and batch size."""
    predictor, results = scorer.predictor, []
    for length in lengths:
        for batch_size in batch_sizes:
            if predictor.only_batch_size is not None and batch_size != predictor.only_batch_size:
                continue
            inputs = make_inputs(batch_size, length)
            timing = time_scorer(scorer, inputs, warmup, iters)
            result = {"runtime": predictor.runtime, "provider": provider_name(predictor), "precision": predictor.precision,
                      "model": str(predictor.source_dir), "path": predictor.path_used, "batch_size": batch_size,
                      "length": length, "input_tokens": len(inputs[0].input_ids),
                      "article_tokens": inputs[0].article_tokens, **timing}
            results.append(result)
            logger.info(f"  {result['runtime']:<5} {result['provider']:<5} {result['precision']:<4} batch {batch_size:>3} x "
                        f"{length:>5}: p50 {timing['p50_ms']:.1f} ms, {timing['ms_per_article']:.2f} ms/article")
    return results
