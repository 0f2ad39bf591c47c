"""Batch-1 GPU latency: eager bf16 against the same model replayed from CUDA graphs (`--cuda-graphs`).

One article at a time, end to end (ids copied in, scores copied out), for a distillation input
(article only) and an instruction input (the filter prompt's KV cache computed once, the article's
tokens run against it). Per length three paths on the same model and inputs:

- eager, autocast: `TorchPredictor` at batch 1 (fp32 weights under bf16 autocast; the default GPU path);
- eager, bf16 weights: the static-shape function `--cuda-graphs` captures, run without a graph;
- CUDA graph: that function replayed from a graph captured once per bucketed length.

    python benchmarks/cuda_graph_latency.py --shape qwen2.5-1.5b --device cuda    # random weights
    python benchmarks/cuda_graph_latency.py --shape smollm2-4layers --device cpu  # smoke: eager paths only

Writes benchmarks/results/cuda_graph_latency.json. Issue 7's target: <= 5 ms at 512 tokens (H100).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
TARGET_MS_AT_512 = 5.0


def long_article() -> dict:
    from filterforge.data.demo import generate_demo_articles

    rows = generate_demo_articles(n=60, seed=3)
    return {"id": "long", "title": rows[0]["title"], "content": "\n\n".join(r["content"] for r in rows)}


def timed(call, sync, warmup: int, iters: int) -> dict:
    for _ in range(warmup):
        call()
    sync()
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        call()
        sync()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {"p50_ms": round(statistics.median(times), 3), "p90_ms": round(times[int(0.9 * (len(times) - 1))], 3),
            "min_ms": round(times[0], 3)}


def measure(model_dir: Path, strategy_name: str, lengths: list[int], args) -> list[dict]:
    import torch
    from transformers import AutoTokenizer

    from filterforge.runtime.cuda_graphs import GraphedScorer
    from filterforge.filters.spec import resolve_filter
    from filterforge.encoding.batching import pad_token_id
    from filterforge.runtime.torch_predictor import TorchPredictor
    from filterforge.student.model import build_student
    from filterforge.plugins.manager import get_strategies

    spec = resolve_filter("investment-risk/v2")
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    strategy = get_strategies()[strategy_name](spec, tokenizer)
    torch.manual_seed(0)
    model = build_student(model_dir, len(spec.dimensions), "regression", None, {}).to(args.device).eval()
    probe = strategy.encode(long_article(), strategy.fixed_tokens + 64)
    prefix_length = probe.prefix_length if strategy.shares_prefix else 0
    inputs = {n: strategy.encode(long_article(), prefix_length + n) for n in lengths}
    cuda = args.device.startswith("cuda")
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    max_length = prefix_length + max(lengths)

    autocast = TorchPredictor(model, tokenizer, strategy, max_length, device=args.device, batch_size=1,
                              autocast_dtype=torch.bfloat16 if cuda else None)
    reference = {n: autocast.predict_raw_encoded([inputs[n]]) for n in lengths}  # also computes the prompt cache once
    rows = {n: {"strategy": strategy_name, "length": n, "prompt_tokens": prefix_length,
                "input_tokens": len(inputs[n].input_ids)} for n in lengths}
    for n in lengths:
        rows[n]["eager_autocast"] = timed(lambda: autocast.predict_encoded([inputs[n]]), sync, args.warmup, args.iters)

    prefix = torch.tensor([inputs[lengths[0]].input_ids[:prefix_length]]) if prefix_length else None
    scorers = {"eager_bf16": GraphedScorer(model, pad_token_id(tokenizer), max_length, prefix,
                                           dtype=torch.bfloat16 if cuda else None, capture=False)}
    if cuda:
        scorers["cuda_graph"] = GraphedScorer(model, pad_token_id(tokenizer), max_length, prefix, capture=True)
        if args.compile:
            scorers["cuda_graph_compiled"] = GraphedScorer(model, pad_token_id(tokenizer), max_length, prefix,
                                                           capture=True, compile=True)
    for name, scorer in scorers.items():
        for n in lengths:
            ids = inputs[n].input_ids[prefix_length:]
            scorer.warm_up([len(ids)])
            scores = scorer.score(ids).float().cpu().numpy()
            rows[n][name] = {**timed(lambda: scorer.score(ids).cpu(), sync, args.warmup, args.iters),
                             "max_abs_diff_vs_autocast": round(float(abs(scores - reference[n]).max()), 4),
                             "bucket": scorer._bucket(len(ids))}
    del model, autocast, scorers
    if cuda:
        torch.cuda.empty_cache()
    return list(rows.values())


def peak_tflops(device_name: str) -> float | None:
    """The device's dense bf16 peak (benchmarks/gpu_peaks.json), by a name fragment such as "H200"."""
    peaks = json.loads((REPO / "benchmarks" / "gpu_peaks.json").read_text())["bf16_tflops"]
    return next((value for name, value in peaks.items() if name in device_name), None)


def model_flops(model_dir: Path, tokens: int, prompt_tokens: int) -> float:
    """Forward FLOPs of one article: 2 x body parameters x tokens (no vocabulary projection runs) plus
    attention scores and values over the article's own keys (causal) and the cached prompt's."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(str(model_dir))
    hidden, layers = config.hidden_size, config.num_hidden_layers
    kv = hidden * config.num_key_value_heads // config.num_attention_heads
    per_layer = 2 * hidden * (hidden + 2 * kv) + 2 * hidden * hidden + 3 * 2 * hidden * config.intermediate_size
    attention = 4 * hidden * tokens * (tokens / 2 + prompt_tokens)
    return layers * (per_layer * tokens + attention)


def add_utilisation(row: dict, flops: float, peak: float | None) -> None:
    row["forward_gflop"] = round(flops / 1e9, 2)
    for timing in (row[p] for p in ("eager_autocast", "eager_bf16", "cuda_graph", "cuda_graph_compiled") if p in row):
        achieved = flops / (timing["p50_ms"] / 1000) / 1e12
        timing["tflops"] = round(achieved, 2)
        timing["mfu"] = round(achieved / peak, 4) if peak else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", default="smollm2-4layers")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--lengths", default="128,256,512")
    parser.add_argument("--strategies", default="distillation,instruction")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--iters", type=int, default=50)
    parser.add_argument("--compile", action="store_true", help="also time graphs of torch.compile'd buckets (CUDA)")
    parser.add_argument("--tokenizer", default=None, help="tokenizer folder (default: the packaged SmolLM2's)")
    parser.add_argument("--model-dir", default=None, help="where to write (or reuse) the random-weight model")
    parser.add_argument("--output", default=str(REPO / "benchmarks" / "results" / "cuda_graph_latency.json"))
    args = parser.parse_args()

    import torch

    from filterforge.provenance import provenance
    from instruction_speed import SHAPES, model_folder, write_result

    work = Path(tempfile.mkdtemp(prefix="ff-cuda-graphs-"))
    model_dir = model_folder(args.shape, Path(args.model_dir) if args.model_dir else work / "model", args.tokenizer)
    lengths = [int(x) for x in args.lengths.split(",")]
    rows = []
    for name in args.strategies.split(","):
        rows += measure(model_dir, name.strip(), lengths, args)
    device = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "cpu"
    paths = ["eager_autocast", "eager_bf16", "cuda_graph", "cuda_graph_compiled"]
    peak = peak_tflops(device)
    for row in rows:
        add_utilisation(row, model_flops(model_dir, row["length"], row["prompt_tokens"]), peak)
    print(f"\nbatch-1 latency, {args.shape} ({'random' if args.shape in SHAPES else 'pretrained'} weights), {device}, "
          f"p50 ms of {args.iters} calls, end to end (ids in, scores out)")
    print("| input | tokens run (cached prompt) | eager, autocast | eager, bf16 weights | CUDA graph | graph + torch.compile | best MFU |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        cells = [f"{row[p]['p50_ms']:.2f}" if p in row else "-" for p in paths]
        mfu = max((row[p].get("mfu") or 0 for p in paths if p in row), default=0)
        print(f"| {row['strategy']} | {row['length']} ({row['prompt_tokens']}) | {' | '.join(cells)} | {mfu:.1%} |")
    at_512 = [min(r[p]["p50_ms"] for p in ("cuda_graph", "cuda_graph_compiled") if p in r)
              for r in rows if r["length"] == 512 and "cuda_graph" in r]
    result = {"shape": args.shape, "weights": "random" if args.shape in SHAPES else "pretrained", "device": device,
              "settings": vars(args), "results": rows,
              "target": {"ms_at_512": TARGET_MS_AT_512, "cuda_graph_ms_at_512": at_512,
                         "met": bool(at_512) and max(at_512) <= TARGET_MS_AT_512} if at_512 else None,
              **provenance()}
    write_result(args.output, result)


if __name__ == "__main__":
    main()
