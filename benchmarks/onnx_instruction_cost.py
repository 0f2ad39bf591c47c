"""What an instruction student costs on ONNX Runtime: the prompt-cache graph vs torch's cached prompt.

An instruction student's export takes the prompt's KV cache as graph inputs (computed once by torch at
export, stored in the export, bound once per process), as the torch runtime computes that cache once per
process. This script trains a small instruction student (SmolLM2's width and heads, 4 layers, random
weights, the real 4,458-token investment-risk/v2 prompt; one optimizer step: speed does not depend on
what it learned), exports it twice with `filterforge export` -- the default prompt-cache graph (onnx/)
and, for reference, `--no-prompt-cache` (onnx-full-prompt/: prompt + article in every input, the earlier
export) -- and times torch and both graphs with `filterforge bench` at the same article lengths, next to
a distillation student of the same model (its graph: fused attention).

    python benchmarks/onnx_instruction_cost.py            # CPU, ~6 minutes on 2 cores
    python benchmarks/onnx_instruction_cost.py --batch-sizes 1,4
    python benchmarks/onnx_instruction_cost.py --quick    # tiny decoder, 60-word prompt: checks the script

Writes benchmarks/results/onnx_instruction_cost.json (--quick: onnx_instruction_cost_quick.json in the
temp folder).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
FULL_PROMPT_EXPORT = "onnx-full-prompt"
QUICK_SHAPE = dict(arch="llama", hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                   num_key_value_heads=2, max_position_embeddings=8192)


def train(strategy: str, data_dir: Path, model_dir: Path, out: Path, max_length: int | None) -> Path:
    from filterforge.training.config import TrainConfig
    from filterforge.training.trainer import Trainer

    Trainer(TrainConfig(filter_id="investment-risk/v2", strategy=strategy, data_dir=str(data_dir), output_dir=str(out),
                        model=str(model_dir), epochs=1, batch_size=2, max_steps=1, max_length=max_length, quiet=True,
                        overwrite=True, seed=0, max_train_examples=2)).run()
    return out


def short_prompt_filters(work: Path, words: int) -> Path:
    """investment-risk/v2 with the first ``words`` words of its prompt, found first through FILTERFORGE_FILTERS_PATH."""
    source = REPO / "filters" / "investment-risk" / "v2"
    folder = work / "filters" / "investment-risk" / "v2"
    folder.mkdir(parents=True)
    for name in ("filter.yaml", "demo_scenarios.yaml"):
        shutil.copy2(source / name, folder / name)
    (folder / "prompt.md").write_text(" ".join((source / "prompt.md").read_text().split()[:words]))
    return work / "filters"


def label(strategy: str, row: dict) -> str:
    if row["runtime"] == "torch":
        return f"{strategy} torch ({row['path']})"
    graph = "prompt-cache graph" if row["path"] == "shared-prefix" else "full-sequence graph"
    return f"{strategy} onnx {row['precision']} ({graph})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default="128,256", help="article-side tokens per input")
    parser.add_argument("--batch-sizes", default="1")
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tokenizer", default=None)
    parser.add_argument("--quick", action="store_true",
                        help="2-layer hidden-64 decoder, 60-word prompt, 16/32 tokens, 2 iterations: checks the script")
    parser.add_argument("--output", default=None, help="[default: benchmarks/results/onnx_instruction_cost.json]")
    args = parser.parse_args()
    if args.quick:
        args.lengths, args.iters = "16,32", 2
    default = (Path(tempfile.gettempdir()) / "onnx_instruction_cost_quick.json" if args.quick
               else REPO / "benchmarks" / "results" / "onnx_instruction_cost.json")
    args.output = args.output or str(default)

    import torch

    import instruction_speed
    from filterforge.data.demo import generate_demo_articles
    from filterforge.data.prepare import prepare
    from filterforge.export.export import ExportSettings, export_run
    from filterforge.io import write_jsonl
    from filterforge.provenance import provenance
    from filterforge.serving.bench import run_bench

    torch.set_num_threads(args.threads)
    lengths = [int(x) for x in args.lengths.split(",")]
    batch_sizes = [int(x) for x in args.batch_sizes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="ff-onnx-instruction-"))
    shape = "smollm2-4layers"
    if args.quick:
        os.environ["FILTERFORGE_FILTERS_PATH"] = str(short_prompt_filters(work, 60))
        instruction_speed.SHAPES["quick-llama"] = QUICK_SHAPE
        shape = "quick-llama"
    write_jsonl(work / "demo.jsonl", generate_demo_articles(n=80, seed=5))
    data_dir = work / "splits"
    prepare("investment-risk/v2", [str(work / "demo.jsonl")], str(data_dir), seed=0)
    model_dir = instruction_speed.model_folder(shape, work / "model", args.tokenizer)
    rows, records = [], {}
    for strategy in ("instruction", "distillation"):
        run = train(strategy, data_dir, model_dir, work / strategy, None if strategy == "instruction" else 512)
        records[strategy] = export_run(run, ExportSettings(threads=args.threads, overwrite=True))
        if strategy == "instruction":
            export_run(run, ExportSettings(output=run / FULL_PROMPT_EXPORT, threads=args.threads, overwrite=True,
                                           prompt_cache=False))
        report = run_bench(run, ["torch", "onnx"], batch_sizes, lengths, args.threads, 2, args.iters, "cpu")
        for r in report["results"]:
            rows.append({"strategy": strategy, "label": label(strategy, r), "runtime": r["runtime"], "path": r["path"],
                         "batch_size": r["batch_size"], "length": r["length"], "input_tokens": r["input_tokens"],
                         "p50_ms": r["p50_ms"], "ms_per_article": r["ms_per_article"]})
    print("\n| student | runtime (path) | batch | article tokens | tokens in the input | p50 ms | ms/article |\n"
          "|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['strategy']} | {r['label']} | {r['batch_size']} | {r['length']} | {r['input_tokens']} | "
              f"{r['p50_ms']:.1f} | {r['ms_per_article']:.2f} |")
    by = {(r["label"], r["batch_size"], r["length"]): r["ms_per_article"] for r in rows}
    torch_cached, onnx_cached = "instruction torch (shared-prefix)", "instruction onnx fp32 (prompt-cache graph)"
    ratios = {}
    for b in batch_sizes:
        for n in lengths:
            ratio = {"onnx_prompt_cache_vs_torch_cached": round(by[(onnx_cached, b, n)] / by[(torch_cached, b, n)], 2),
                     "onnx_full_prompt_vs_torch_cached": round(by[("instruction onnx fp32 (full-sequence graph)", b, n)]
                                                               / by[(torch_cached, b, n)], 2),
                     "torch_instruction_vs_distillation": round(by[(torch_cached, b, n)]
                                                                / by[("distillation torch (full-sequence)", b, n)], 2)}
            ratios[f"batch {b} x {n}"] = ratio
    print(json.dumps(ratios, indent=2))
    result = {"model": f"{shape} (random weights)", "threads": args.threads, "quick": args.quick,
              "prompt_tokens": records["instruction"]["prompt_tokens"],
              "instruction_export": {k: records["instruction"].get(k) for k in ("input_path", "traced_attention", "parity")},
              "distillation_attention": records["distillation"].get("traced_attention"),
              "results": rows, "ratios": ratios, **provenance()}
    instruction_speed.write_result(args.output, result)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
