"""Runtimes that turn encoded articles into scores: one `Predictor` contract (``base``), torch, ONNX
Runtime and CUDA-graph implementations, the factory ``load_predictor`` and the `Scorer`."""
