"""ONNX export: the graph, its checks (parity, quantization gate), quantization, and the export job."""
