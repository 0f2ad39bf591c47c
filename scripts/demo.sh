#!/usr/bin/env bash
# The main job end to end on the embedded default: synthetic investment-risk/v2 articles, the two
# packaged offline models, both strategies. Installs into .venv first (scripts/setup.sh).
# Everything lands in demo/ (ignored by git). 18 minutes on a quiet 2-core CPU, setup excluded.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${SKIP_SETUP:-0}" = 1 ] || bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH" HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
OUT=demo
FILTER=investment-risk/v2
DATA=$OUT/data/investment_risk_v2
# On CPU the instruction strategy pays for a ~4,500-token prompt: bound its training steps.
INSTRUCTION_STEPS=${INSTRUCTION_STEPS:-4}
step() { printf '\n=== %s\n' "$*"; }

step "1. synthetic scored articles (marked synthetic) and splits"
filterforge demo-data $FILTER --n 600 --seed 0 --output $OUT/demo_articles.jsonl
filterforge prepare $FILTER --input $OUT/demo_articles.jsonl --output-dir $DATA --calibration-ratio 0.1 --seed 42 --overwrite

step "2a. train: distillation on MiniLM (article only, full fine-tune)"
filterforge train $FILTER --strategy distillation --model minilm --data-dir $DATA --output-dir $OUT/runs/distillation \
  --epochs 3 --batch-size 16 --learning-rate 1e-4 --max-length 256 --warmup-ratio 0 --early-stopping-patience 0 --overwrite

step "2b. train: instruction on SmolLM2-135M (filter prompt + article, shared-prefix batching)"
echo "NOTE: bounded to --max-steps $INSTRUCTION_STEPS on CPU (a full epoch of ~4,500-token inputs takes over an hour here)"
filterforge train $FILTER --strategy instruction --model smollm2-135m --data-dir $DATA --output-dir $OUT/runs/instruction \
  --epochs 1 --batch-size 4 --learning-rate 5e-5 --max-steps "$INSTRUCTION_STEPS" --overwrite

step "3. evaluate both on the test split, with the edge-case suite"
for run in distillation instruction; do
  filterforge evaluate $OUT/runs/$run --test-data $DATA/test.jsonl --edge-cases filters/$FILTER/edge_cases.yaml
done

step "4. compare and decide"
filterforge compare $OUT/runs/distillation $OUT/runs/instruction --output $OUT/report.md
WINNER=$(python -c "import json;print(json.load(open('$OUT/comparison.json'))['decision']['chosen_run'])")
echo "winner: $WINNER"

step "5. calibrate the winner on the calibration split"
filterforge calibrate "$WINNER"

step "6. export to ONNX (fp32 parity gate, then int8 with the MAE gate) and benchmark"
filterforge export "$WINNER" --output $OUT/onnx --overwrite
filterforge export "$WINNER" --output $OUT/onnx-int8 --quantize int8 --overwrite || echo "int8 refused by the MAE gate (see above)"
filterforge bench $OUT/onnx --runtime torch,onnx --batch-sizes 1,8 --lengths 128,256 --warmup 3 --iters 20

step "7. score new articles and deploy"
rm -f $OUT/scores.jsonl $OUT/scores_deployed.jsonl  # score resumes an existing output: start each demo afresh
filterforge score $OUT/onnx --input $OUT/demo_articles.jsonl --output $OUT/scores.jsonl --runtime onnx
filterforge deploy "$WINNER" --overwrite
head -n 40 $OUT/demo_articles.jsonl > $OUT/new_articles.jsonl
filterforge score $FILTER --input $OUT/new_articles.jsonl --output $OUT/scores_deployed.jsonl --runtime torch
echo "done: see $OUT/report.md, $OUT/runs/*/evaluation.json, $OUT/scores.jsonl, filters/$FILTER/model/README.md"
