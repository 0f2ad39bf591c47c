"""Instruction strategy cost: naive prompt+article sequences vs shared-prefix batching.

Training: the naive loop runs the filter prompt once per article; shared-prefix runs it once per
batch and lets the articles attend to its (differentiable) KV cache. Inference: the prompt's cache is
computed once per process. Same model, articles, prompt and seed for both paths.

    python benchmarks/instruction_speed.py                       # CPU: small random decoder, SmolLM2 tokenizer
    python benchmarks/instruction_speed.py --shape qwen2.5-1.5b --device cuda --lora   # GPU, random weights

Writes benchmarks/results/instruction_speed.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

SHAPES = {
    # SmolLM2-135M's width and heads, fewer layers, so the naive loop fits a 2-core CPU's minutes.
    "smollm2-4layers": dict(arch="llama", hidden_size=576, intermediate_size=1536, num_hidden_layers=4,
                            num_attention_heads=9, num_key_value_heads=3, max_position_embeddings=8192),
    "qwen2.5-1.5b": dict(arch="qwen2", hidden_size=1536, intermediate_size=8960, num_hidden_layers=28,
                         num_attention_heads=12, num_key_value_heads=2, max_position_embeddings=32768, rope_theta=1e6),
}


def model_folder(shape: str, out: Path, tokenizer_dir: str | None = None) -> Path:
    from transformers import AutoTokenizer, LlamaConfig, LlamaModel, Qwen2Config, Qwen2Model

    from filterforge.student.sources import resolve_model

    if shape == "smollm2-135m":
        return resolve_model("smollm2-135m")
    if (out / "config.json").exists():  # made by an earlier benchmark of this session (--model-dir)
        return out
    # The SmolLM2 tokenizer for every shape (Qwen2.5's is not available offline): the vocabulary size
    # changes only the embedding table, whose lookup costs nothing measurable.
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir or str(resolve_model("smollm2-135m")))
    spec = dict(SHAPES[shape])
    config_cls, model_cls = (LlamaConfig, LlamaModel) if spec.pop("arch") == "llama" else (Qwen2Config, Qwen2Model)
    config = config_cls(**spec, vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=False)
    import torch

    with torch.device("cuda" if torch.cuda.is_available() else "cpu"):  # random init of 1.5B weights: GPU is faster
        model = model_cls(config)
    model.save_pretrained(str(out))
    del model
    tokenizer.save_pretrained(str(out))
    return out


def write_result(path: str | Path, result: dict) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")


def train_speed(data_dir: Path, model_dir: Path, shared: bool, args, out: Path, checkpointing: bool = False) -> dict:
    from filterforge.training.config import TrainConfig
    from filterforge.training.trainer import Trainer

    config = TrainConfig(filter_id="investment-risk/v2", strategy="instruction", data_dir=str(data_dir),
                         output_dir=str(out), model=str(model_dir), epochs=1, batch_size=args.batch_size,
                         max_steps=args.steps, device=args.device, lora=args.lora, shared_prefix=shared,
                         grad_checkpointing=checkpointing,
                         quiet=True, overwrite=True, seed=0, max_train_examples=args.batch_size * args.steps)
    if args.device.startswith("cuda"):  # one untimed step first: CUDA context, kernel loading, cuBLAS workspaces
        Trainer(replace(config, max_steps=1, output_dir=str(out) + "-warmup")).run()
        shutil.rmtree(str(out) + "-warmup")  # a 1.5B run's checkpoint is GBs: the device's disk is 64 GiB
    trainer = Trainer(config)
    meta = trainer.run()
    return {"articles_per_second": meta["articles_per_second"], "train_seconds": meta["train_seconds"],
            "peak_memory_mb": meta["peak_memory_mb"], "prompt_tokens": meta["token_budget"]["prompt_tokens"],
            "article_tokens_kept_mean": meta["token_budget"]["article_tokens_kept_mean"],
            "grad_checkpointing": config.grad_checkpointing, "precision": meta.get("precision")}


def inference_speed(run_dir: Path, rows: list[dict], shared: bool, args, prefix_attention: bool = True) -> dict:
    import torch

    from filterforge.runs.run import Run
    from filterforge.runtime.loader import load_predictor

    predictor = load_predictor(Run.open(run_dir), runtime="torch", device=args.device,
                               batch_size=args.infer_batch_size or args.batch_size, shared_prefix=shared)
    predictor.prefix_attention = prefix_attention
    if args.device.startswith("cuda"):
        predictor.autocast_dtype = torch.bfloat16
    encoded = predictor.encode(rows)
    predictor.predict_encoded(encoded[: predictor.batch_size])  # warm-up (and, shared-prefix, the one-off prompt cache)
    start = time.perf_counter()
    predictor.predict_encoded(encoded)
    seconds = time.perf_counter() - start
    return {"articles_per_second": round(len(rows) / seconds, 3), "seconds": round(seconds, 2), "path": predictor.path_used}


def distillation_inference(model_dir: Path, data_dir: Path, rows: list[dict], args, out: Path) -> dict:
    from filterforge.training.config import TrainConfig
    from filterforge.training.trainer import Trainer

    Trainer(TrainConfig(filter_id="investment-risk/v2", strategy="distillation", data_dir=str(data_dir),
                        output_dir=str(out), model=str(model_dir), epochs=1, batch_size=args.batch_size, max_steps=1,
                        device=args.device, lora=args.lora, quiet=True, overwrite=True, seed=0, max_train_examples=args.batch_size)).run()
    return inference_speed(out, rows, False, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", default="smollm2-4layers", choices=[*SHAPES, "smollm2-135m"])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--infer-articles", type=int, default=16)
    parser.add_argument("--lora", action="store_true")
    parser.add_argument("--infer-batch-size", type=int, default=None, help="inference batch (default: --batch-size)")
    parser.add_argument("--naive-grad-checkpointing", choices=["off", "on", "auto"], default="off",
                        help="checkpoint the naive loop; auto: only if it runs out of GPU memory without (the "
                             "shared-prefix loop always runs without)")
    parser.add_argument("--skip-naive-training", action="store_true", help="time only the shared-prefix training")
    parser.add_argument("--tokenizer", default=None, help="tokenizer folder (default: the packaged SmolLM2's)")
    parser.add_argument("--model-dir", default=None, help="where to write (or reuse) the random-weight model")
    parser.add_argument("--demo-articles", type=int, default=120)
    parser.add_argument("--output", default=str(REPO / "benchmarks" / "results" / "instruction_speed.json"))
    args = parser.parse_args()

    from filterforge.data.demo import generate_demo_articles
    from filterforge.io import write_jsonl
    from filterforge.data.prepare import prepare
    from filterforge.provenance import provenance

    work = Path(tempfile.mkdtemp(prefix="ff-instruction-speed-"))
    write_jsonl(work / "demo.jsonl", generate_demo_articles(n=args.demo_articles, seed=11))
    data_dir = work / "splits"
    prepare("investment-risk/v2", [str(work / "demo.jsonl")], str(data_dir), seed=0)
    model_dir = model_folder(args.shape, Path(args.model_dir) if args.model_dir else work / "model", args.tokenizer)
    rows = [json.loads(line) for line in open(data_dir / "train.jsonl")][: args.infer_articles]

    shared = train_speed(data_dir, model_dir, True, args, work / "shared")
    naive, out_of_memory = None, None
    if not args.skip_naive_training:
        try:
            naive = train_speed(data_dir, model_dir, False, args, work / "naive", args.naive_grad_checkpointing == "on")
        except Exception as exc:  # torch.cuda.OutOfMemoryError, possibly wrapped
            if args.naive_grad_checkpointing != "auto" or "out of memory" not in str(exc).lower():
                raise
            out_of_memory = str(exc).splitlines()[0][:160]
    if out_of_memory:  # outside the except block, so the failed step's tensors are free
        import gc

        import torch

        gc.collect()
        torch.cuda.empty_cache()
        print(f"naive loop without gradient checkpointing ran out of GPU memory ({out_of_memory}); timing it with checkpointing")
        naive = train_speed(data_dir, model_dir, False, args, work / "naive-ckpt", True)
        naive["without_checkpointing"] = f"out of GPU memory: {out_of_memory}"
    infer_shared = inference_speed(work / "shared", rows, True, args)
    infer_repeated = inference_speed(work / "shared", rows, True, args, prefix_attention=False)
    infer_naive = inference_speed(work / "shared", rows, False, args)
    infer_distill = distillation_inference(model_dir, data_dir, rows, args, work / "distill")
    result = {
        "shape": args.shape, "weights": "random" if args.shape in SHAPES else "pretrained", "device": args.device,
        "batch_size": args.batch_size, "lora": args.lora, "prompt_tokens": shared["prompt_tokens"],
        "article_tokens_kept_mean": shared["article_tokens_kept_mean"],
        "training": {"naive": naive, "shared_prefix": shared,
                     "ratio": round(shared["articles_per_second"] / naive["articles_per_second"], 2) if naive else None},
        "infer_batch_size": args.infer_batch_size or args.batch_size,
        "inference": {"naive": infer_naive, "shared_prefix": infer_shared, "shared_prefix_repeated_cache": infer_repeated,
                      "distillation": infer_distill,
                      "prefix_attention_vs_repeated_cache": round(infer_shared["articles_per_second"] / infer_repeated["articles_per_second"], 2),
                      "shared_vs_naive": round(infer_shared["articles_per_second"] / infer_naive["articles_per_second"], 2),
                      "instruction_cost_vs_distillation": round(infer_distill["articles_per_second"] / infer_shared["articles_per_second"], 2)},
        "machine": platform.node(), **provenance(),
    }
    t, i = result["training"], result["inference"]
    print(f"\ninstruction speed: {args.shape} ({result['weights']} weights), {args.device}, batch {args.batch_size}, "
          f"prompt {result['prompt_tokens']} tokens, article tokens kept mean {result['article_tokens_kept_mean']}")
    print("| path | train articles/s | inference articles/s |\n|---|---|---|")
    naive_train = f"{t['naive']['articles_per_second']:.3f}" if t["naive"] else "not run"
    print(f"| naive (prompt per article) | {naive_train} | {i['naive']['articles_per_second']:.3f} |")
    print(f"| shared prefix (prefix attention) | {t['shared_prefix']['articles_per_second']:.3f} | {i['shared_prefix']['articles_per_second']:.3f} |")
    print(f"| shared prefix (repeated cache) | - | {i['shared_prefix_repeated_cache']['articles_per_second']:.3f} |")
    print(f"| distillation (article only) | - | {i['distillation']['articles_per_second']:.3f} |")
    print(f"training ratio {t['ratio']}x; inference ratio {i['shared_vs_naive']}x; "
          f"instruction costs {i['instruction_cost_vs_distillation']}x distillation per article at inference")
    write_result(args.output, result)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
