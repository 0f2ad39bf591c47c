"""Training throughput: filterforge's loop vs an upstream-style loop, same model, same articles.

Upstream style (the loop filterforge replaces): fp32, every article padded to max_length, gradient
checkpointing, batch 8. filterforge: dynamic padding to a multiple of 8 (64 on GPU), length-grouped
batches, no checkpointing, bf16 autocast on GPU.

    python benchmarks/train_speed.py                      # MiniLM on real sustainability articles (CPU)
    python benchmarks/train_speed.py --shape qwen2.5-1.5b --lora --device cuda   # GPU, random weights

Prints articles/s of both loops and the ratio; writes benchmarks/results/train_speed.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "datasets"


def random_model_folder(shape: str, tokenizer_source: Path, out: Path) -> Path:
    """A model folder with random weights in a named shape (speed does not depend on weight values)."""
    from transformers import AutoTokenizer, Qwen2Config, Qwen2Model

    shapes = {
        "qwen2.5-1.5b": dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
                             num_key_value_heads=2, max_position_embeddings=32768, rope_theta=1e6, vocab_size=151936),
        "tiny-qwen2": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                           num_key_value_heads=2, max_position_embeddings=32768, vocab_size=49152),
    }
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_source))
    config = Qwen2Config(**shapes[shape], pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=False)
    config.vocab_size = max(config.vocab_size, len(tokenizer))
    Qwen2Model(config).save_pretrained(str(out), safe_serialization=True)
    tokenizer.save_pretrained(str(out))
    return out


def upstream_loop(model_dir: Path, articles: list[dict], labels: list[list[float]], max_length: int, batch_size: int,
                  steps: int, device: str, grad_checkpointing: bool, lora: bool) -> dict:
    import torch
    from transformers import AutoTokenizer

    from filterforge.student.model import build_student
    from filterforge.encoding.strategies import article_text

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = build_student(model_dir, len(labels[0]), "regression", None, {})
    if lora:
        from peft import LoraConfig, get_peft_model

        model.body = get_peft_model(model.body, LoraConfig(r=16, lora_alpha=32, target_modules="all-linear"))
    if grad_checkpointing:
        model.body.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if lora:
            model.body.enable_input_require_grads()
    model.to(device).train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-5)
    texts = [article_text(a) for a in articles]
    seen = 0
    start = None
    for step in range(steps + 1):  # step 0 is warm-up, not timed
        lo = (step * batch_size) % len(texts)
        idx = [(lo + i) % len(texts) for i in range(batch_size)]
        enc = tokenizer([texts[i] for i in idx], padding="max_length", truncation=True, max_length=max_length, return_tensors="pt").to(device)
        target = torch.tensor([labels[i] for i in idx], device=device)
        loss = torch.nn.functional.mse_loss(model(enc["input_ids"], enc["attention_mask"]), target)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        if step == 0:
            start = time.perf_counter()
        else:
            seen += batch_size
    seconds = time.perf_counter() - start
    return {"articles": seen, "seconds": round(seconds, 2), "articles_per_second": round(seen / seconds, 3)}


def filterforge_loop(filter_id: str, data_dir: Path, model_dir: Path, max_length: int, batch_size: int, steps: int,
                     device: str, lora: bool, out: Path) -> dict:
    from filterforge.training.config import TrainConfig
    from filterforge.training.trainer import Trainer

    config = TrainConfig(filter_id=filter_id, data_dir=str(data_dir), output_dir=str(out), model=str(model_dir),
                         epochs=1, batch_size=batch_size, max_length=max_length, max_steps=steps, device=device,
                         lora=lora, quiet=True, overwrite=True, seed=0)
    meta = Trainer(config).run()
    return {"articles": round(meta["articles_per_second"] * meta["train_seconds"]), "seconds": meta["train_seconds"],
            "articles_per_second": meta["articles_per_second"], "precision": meta["precision"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="minilm", help="packaged alias or folder (ignored with --shape)")
    parser.add_argument("--shape", choices=["qwen2.5-1.5b", "tiny-qwen2"], help="random-weight model of this shape")
    parser.add_argument("--dataset", default="sustainability")
    parser.add_argument("--articles", type=int, default=400, help="training articles sampled from the dataset")
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--lora", action="store_true")
    parser.add_argument("--output", default=str(REPO / "benchmarks" / "results" / "train_speed.json"))
    args = parser.parse_args()

    from filterforge.student.sources import resolve_model
    from filterforge.data.prepare import prepare
    from filterforge.provenance import provenance

    scored = SHARED / args.dataset / "scored.jsonl"
    if not scored.exists():
        sys.exit(f"skipped: {scored} not found (the shared datasets are needed for real article lengths)")
    work = Path(tempfile.mkdtemp(prefix="ff-train-speed-"))
    subset = work / "subset.jsonl"
    with open(scored) as src, open(subset, "w") as dst:
        for i, line in enumerate(src):
            if i >= args.articles * 10 // 8:
                break
            dst.write(line)
    data_dir = work / "splits"
    prepare(args.dataset, [str(subset)], str(data_dir), {"train": 0.8, "val": 0.1, "test": 0.1}, seed=0)
    if args.shape:
        model_dir = random_model_folder(args.shape, resolve_model("smollm2-135m"), work / args.shape)
        label = f"{args.shape} (random weights)"
    else:
        model_dir = resolve_model(args.model)
        label = args.model
    rows = [json.loads(line) for line in open(data_dir / "train.jsonl")]
    articles, labels = rows, [r["labels"] for r in rows]

    ours = filterforge_loop(args.dataset, data_dir, model_dir, args.max_length, args.batch_size, args.steps,
                            args.device, args.lora, work / "run")
    upstream = upstream_loop(model_dir, articles, labels, args.max_length, args.batch_size, args.steps, args.device,
                             grad_checkpointing=True, lora=args.lora)
    ratio = ours["articles_per_second"] / upstream["articles_per_second"]
    result = {"model": label, "dataset": args.dataset, "device": args.device, "batch_size": args.batch_size,
              "max_length": args.max_length, "steps": args.steps, "lora": args.lora,
              "upstream_style": {**upstream, "loop": "fp32, pad to max_length, gradient checkpointing"},
              "filterforge": {**ours, "loop": "dynamic padding, length-grouped batches, no checkpointing"},
              "ratio": round(ratio, 2), "machine": platform.node(), **provenance()}
    print(f"\ntraining speed, {label}, {args.dataset} articles, batch {args.batch_size}, max_length {args.max_length}, {args.device}")
    print("| loop | articles/s |\n|---|---|")
    print(f"| upstream-style (fp32, pad to {args.max_length}, grad checkpointing) | {upstream['articles_per_second']:.2f} |")
    print(f"| filterforge ({ours['precision']}, dynamic padding, length-grouped) | {ours['articles_per_second']:.2f} |")
    print(f"| ratio | {ratio:.2f}x |")
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
