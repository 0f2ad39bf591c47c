#!/usr/bin/env bash
# One GPU session's checks (issue 16), in one device call of at most 10 minutes:
#   1. the CUDA tests (graph capture/replay incl. torch.compile'd buckets, shared-prefix and
#      prefix-attention equivalence on the GPU);
#   2. batch-1 latency: eager vs CUDA graphs vs graphs of torch.compile'd buckets, with model-FLOP
#      utilisation (benchmarks/cuda_graph_latency.py --compile);
#   3. distillation training speed, LoRA r16, bf16, 512 tokens vs the upstream-style loop
#      (benchmarks/train_speed.py);
#   4. instruction training/inference at batch 16: prefix attention vs the repeated prompt cache vs
#      distillation per article (benchmarks/instruction_speed.py).
# Qwen2.5-1.5B-shaped model with RANDOM weights (speed does not depend on weight values), built once
# and reused; the SmolLM2 tokenizer stands in for Qwen's (not available offline).
#
#   TOKENIZER=path/to/tokenizer OUT=results/ bash benchmarks/gpu_check.sh   # SHAPE=smollm2-4layers DEVICE=cpu for a smoke run
set -u
export PYTHONPATH="${PYTHONPATH:+$PYTHONPATH:}src" PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false TQDM_DISABLE=1 \
    TRANSFORMERS_VERBOSITY=error
OUT="${OUT:-benchmarks/results}"
SHAPE="${SHAPE:-qwen2.5-1.5b}"
DEVICE="${DEVICE:-cuda}"
TOKENIZER="${TOKENIZER:-.devcarry/smollm2-tokenizer}"
MODEL_DIR="${MODEL_DIR:-/tmp/ff-gpu-check-model}"
STEPS="${STEPS:-8}"
INFER="${INFER:-256}"
PY="${PY:-python3}"
mkdir -p "$OUT"
started=$(date +%s)
stamp() { echo "=== $(( $(date +%s) - started )) s: $*"; }

stamp "environment"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
$PY -c "import torch, transformers, peft; print('torch', torch.__version__, 'transformers', transformers.__version__, 'peft', peft.__version__, 'cuda', torch.cuda.is_available())"

stamp "CUDA tests"
timeout 170 $PY -m pytest -q -p no:cacheprovider -m "slow or not slow" tests/runtime/test_cuda_graphs.py \
    tests/student/test_shared_prefix.py tests/student/test_prefix_attention.py 2>&1 | tail -15

stamp "batch-1 latency (CUDA graphs, torch.compile, MFU)"
timeout 150 $PY benchmarks/cuda_graph_latency.py --shape "$SHAPE" --device "$DEVICE" --tokenizer "$TOKENIZER" \
    --model-dir "$MODEL_DIR" --compile --output "$OUT/cuda_graph_latency.json" 2>&1 | grep -v Warning

stamp "distillation training speed (LoRA r16, bf16, 512 tokens) vs the upstream-style loop"
timeout 120 $PY benchmarks/train_speed.py --shape "${TRAIN_SHAPE:-qwen2.5-1.5b}" --device "$DEVICE" --lora \
    --output "$OUT/train_speed_gpu.json" 2>&1 | grep -v Warning

stamp "instruction speed, batch 16 (prefix attention; inference also with the repeated cache and distillation)"
timeout 150 $PY benchmarks/instruction_speed.py --shape "$SHAPE" --device "$DEVICE" --lora --batch-size 16 \
    --steps "$STEPS" --demo-articles 400 --infer-articles "$INFER" --infer-batch-size 64 --skip-naive-training \
    --tokenizer "$TOKENIZER" --model-dir "$MODEL_DIR" --output "$OUT/instruction_speed_gpu_b16.json" 2>&1 | grep -v Warning
stamp "done"
