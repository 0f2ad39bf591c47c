"""File names of run, model, export and deployed-model folders. Only this module spells them.

A run folder (``train --output-dir``)::

    RUN/training_metadata.json  training_history.json  loss_curves.png  checkpoint/
    RUN/model/                  the torch student: filterforge.json, model.safetensors, head/pooling files,
                                tokenizer, filter.yaml, prompt.md, calibration.json (after `calibrate`)
    RUN/evaluation.json  predictions.jsonl  *.png        (`evaluate`, unless --output-dir)
    RUN/evaluations.json                                 where `evaluate --output-dir` wrote evaluations
    RUN/calibration_report.json  bench.json  bench.md
    RUN/onnx/  RUN/onnx-int8/  RUN/onnx-fp16/            exports: model.onnx + filterforge.json (format onnx),
                                                         model.onnx.data (large graphs), prompt_cache.safetensors
                                                         (shared-prompt decoders)

A deployed model is a model folder with the run files it needs copied in, plus README.md and
deployment.json.

An ensemble run (``ensemble --output-dir``) is a run folder whose model folder combines others::

    RUN/model/filterforge.json  (format ensemble)  ensemble.json  filter.yaml  prompt.md  calibration.json
    RUN/model/members/<name>/   each member's model folder with its training_metadata.json; a neural
                                member's ONNX export goes in it (members/<name>/onnx/) with `export RUN`
"""

MODEL_DIR = "model"
MODEL_INFO = "filterforge.json"
MODEL_WEIGHTS = "model.safetensors"
ONNX_GRAPH = "model.onnx"
# Weights of a graph too large for one protobuf (> 2 GB, e.g. a 1.5B decoder in fp32), beside it.
ONNX_EXTERNAL_DATA = "model.onnx.data"
# A shared-prompt decoder export: the prompt's KV cache (graph inputs) with the hash of its prompt tokens.
PROMPT_CACHE = "prompt_cache.safetensors"
ONNX_FORMAT = "onnx"
EXPORT_DIR_NAMES = ("onnx", "onnx-int8", "onnx-fp16")
EXPORT_DIR_GLOB = "onnx*"
TRAINING_METADATA = "training_metadata.json"
TRAINING_HISTORY = "training_history.json"
LOSS_CURVES = "loss_curves.png"
CHECKPOINT_DIR = "checkpoint"
EVALUATION = "evaluation.json"
EVALUATION_INDEX = "evaluations.json"
PREDICTIONS = "predictions.jsonl"
PER_DIMENSION_PLOT = "per_dimension_mae.png"
PRED_VS_ORACLE_PLOT = "pred_vs_oracle.png"
CALIBRATION = "calibration.json"
CALIBRATION_REPORT = "calibration_report.json"
BENCH_JSON = "bench.json"
BENCH_MARKDOWN = "bench.md"
MODEL_CARD = "README.md"
DEPLOYMENT = "deployment.json"
# Run files a deployed model folder carries (training_metadata.json is required).
DEPLOYED_RUN_FILES = (TRAINING_METADATA, EVALUATION, CALIBRATION_REPORT, BENCH_JSON)
# A model folder of a baseline that is not a neural network (TF-IDF + ridge, the mean predictor).
BASELINE_FORMAT = "baseline"
# A model folder that combines the models in its members/ folder (`ensemble`).
ENSEMBLE_FORMAT = "ensemble"
ENSEMBLE_COMBINATION = "ensemble.json"
ENSEMBLE_MEMBERS_DIR = "members"
