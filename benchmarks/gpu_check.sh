#!/usr/bin/env bash
# One GPU session's checks for issue 7, in one call (device time is scarce):
#   1. the CUDA tests (graph capture/replay, shared-prefix equivalence on the GPU);
#   2. batch-1 latency: eager vs CUDA graphs (benchmarks/cuda_graph_latency.py);
#   3. instruction training/inference: naive vs shared prefix at batch 8, shared prefix at batch 16.
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
timeout 240 $PY -m pytest -q -p no:cacheprovider tests/test_cuda_graphs.py tests/test_shared_prefix.py 2>&1 | tail -15

stamp "batch-1 latency (CUDA graphs)"
timeout 300 $PY benchmarks/cuda_graph_latency.py --shape "$SHAPE" --device "$DEVICE" --tokenizer "$TOKENIZER" \
    --model-dir "$MODEL_DIR" --output "$OUT/cuda_graph_latency.json" 2>&1 | grep -v Warning

stamp "instruction speed, batch 8 (naive loop checkpointed only if it does not fit without)"
timeout 420 $PY benchmarks/instruction_speed.py --shape "$SHAPE" --device "$DEVICE" --lora --batch-size 8 \
    --steps "$STEPS" --demo-articles 400 --infer-articles "$INFER" --infer-batch-size 32 --naive-grad-checkpointing auto \
    --tokenizer "$TOKENIZER" --model-dir "$MODEL_DIR" --output "$OUT/instruction_speed_gpu_b8.json" 2>&1 | grep -v Warning

stamp "instruction speed, batch 16 (shared prefix only)"
timeout 300 $PY benchmarks/instruction_speed.py --shape "$SHAPE" --device "$DEVICE" --lora --batch-size 16 \
    --steps "$STEPS" --demo-articles 400 --infer-articles "$INFER" --infer-batch-size 64 --skip-naive-training \
    --tokenizer "$TOKENIZER" --model-dir "$MODEL_DIR" --output "$OUT/instruction_speed_gpu_b16.json" 2>&1 | grep -v Warning
stamp "done"
