"""Why the ONNX path of an instruction student keeps the full prompt, measured.

An instruction student is exported as one graph over prompt + article (the prompt's KV cache is not a
graph input), while the torch runtime computes that cache once per process. This script trains a
small instruction student (SmolLM2's width and heads, 4 layers, random weights, the real 4,458-token
investment-risk/v2 prompt; one optimizer step: speed does not depend on what it learned), exports it
with `filterforge export`, and times both runtimes with `filterforge bench` at batch 1, with the same
article lengths, next to a distillation student of the same model.

    python benchmarks/onnx_instruction_cost.py        # CPU, ~5 minutes on 2 cores

Writes benchmarks/results/onnx_instruction_cost.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))


def train(strategy: str, data_dir: Path, model_dir: Path, out: Path, max_length: int | None) -> Path:
    from filterforge.training.config import TrainConfig
    from filterforge.training.trainer import Trainer

    Trainer(TrainConfig(filter_id="investment-risk/v2", strategy=strategy, data_dir=str(data_dir), output_dir=str(out),
                        model=str(model_dir), epochs=1, batch_size=2, max_steps=1, max_length=max_length, quiet=True,
                        overwrite=True, seed=0, max_train_examples=2)).run()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default="128,256", help="article-side tokens per input")
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tokenizer", default=None)
    parser.add_argument("--output", default=str(REPO / "benchmarks" / "results" / "onnx_instruction_cost.json"))
    args = parser.parse_args()

    import torch

    from filterforge.serving.bench import run_bench
    from filterforge.data.demo import generate_demo_articles
    from filterforge.export.export import ExportSettings, export_run
    from filterforge.io import write_jsonl
    from filterforge.data.prepare import prepare
    from filterforge.provenance import provenance
    from instruction_speed import model_folder, write_result

    torch.set_num_threads(args.threads)
    lengths = [int(x) for x in args.lengths.split(",")]
    work = Path(tempfile.mkdtemp(prefix="ff-onnx-instruction-"))
    write_jsonl(work / "demo.jsonl", generate_demo_articles(n=80, seed=5))
    data_dir = work / "splits"
    prepare("investment-risk/v2", [str(work / "demo.jsonl")], str(data_dir), seed=0)
    model_dir = model_folder("smollm2-4layers", work / "model", args.tokenizer)
    rows = []
    for strategy in ("instruction", "distillation"):
        run = train(strategy, data_dir, model_dir, work / strategy, None if strategy == "instruction" else 512)
        export_run(run, ExportSettings(threads=args.threads, overwrite=True))
        report = run_bench(run, ["torch", "onnx"], [1], lengths, args.threads, 2, args.iters, "cpu")
        for r in report["results"]:
            rows.append({"strategy": strategy, "runtime": r["runtime"], "path": r["path"], "length": r["length"],
                         "input_tokens": r["input_tokens"], "p50_ms": r["p50_ms"]})
    by = {(r["strategy"], r["runtime"], r["length"]): r for r in rows}
    print("\n| student | runtime (path) | article tokens | tokens in the input | p50 ms/article |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['strategy']} | {r['runtime']} ({r['path']}) | {r['length']} | {r['input_tokens']} | {r['p50_ms']:.1f} |")
    ratios = {str(n): {"onnx_full_prompt_vs_torch_cached": round(by[("instruction", "onnx", n)]["p50_ms"] / by[("instruction", "torch", n)]["p50_ms"], 2),
                       "torch_instruction_vs_distillation": round(by[("instruction", "torch", n)]["p50_ms"] / by[("distillation", "torch", n)]["p50_ms"], 2)}
              for n in lengths}
    print(json.dumps(ratios))
    result = {"model": "smollm2-4layers (random weights)", "threads": args.threads, "results": rows, "ratios": ratios,
              **provenance()}
    write_result(args.output, result)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
