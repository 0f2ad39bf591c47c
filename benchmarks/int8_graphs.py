"""The candidate graphs of `int8_options.py`: the student's fp32 graphs as `filterforge export` builds
them, and each quantization built from them (dynamic through the library's own `quantize_graph` with one
setting changed, static through ONNX Runtime's `quantize_static`, fp16, the bf16 probe)."""

from __future__ import annotations

import os
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

DEFAULT_NAME = "int8 dynamic QOperator per-channel (export default)"


@dataclass
class Option:
    name: str
    kind: str  # "ort", "torch" or "unsupported"
    graph: Path | None = None
    session: dict[str, Any] = field(default_factory=dict)  # extra session settings (int8_options.open_session)
    settings: dict[str, Any] = field(default_factory=dict)
    build_seconds: float = 0.0
    error: str | None = None
    call: Callable[..., Any] | None = None  # (ids, mask) -> raw scores [batch, dims]


@contextmanager
def quiet_quantizer() -> Iterator[None]:
    """ONNX Runtime's quantizer logs pre-processing hints on the root logger; it also writes temp files
    into the working directory (run it from a temp dir)."""
    import logging
    import warnings

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="int8-quantizer-") as scratch, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        os.chdir(scratch)
        try:
            yield
        finally:
            os.chdir(cwd)
            root.setLevel(level)


@contextmanager
def int8_method(**changes: Any) -> Iterator[None]:
    """`quantize_graph(..., "int8")` with some of its settings changed (the library path, one knob moved)."""
    from filterforge.export.quantize import INT8_METHOD

    saved = dict(INT8_METHOD)
    INT8_METHOD.update(changes)
    try:
        yield
    finally:
        INT8_METHOD.clear()
        INT8_METHOD.update(saved)


def export_fp32(student: Any, folder: Path) -> dict[str, Path]:
    """plain (as exported), fused (the export's fusions) and fused_skip (the previous fusions) fp32 graphs."""
    from filterforge.export.graph import export_graph, fuse_encoder_graph

    graphs = {"plain": folder / "plain.onnx"}
    if student.is_decoder:
        from filterforge.export.graph import decoder_attentions

        for attention in decoder_attentions(student):  # best first, as the export tries them
            try:
                export_graph(student, graphs["plain"], 18, "auto", attention)
                break
            except Exception as exc:  # noqa: BLE001 - the next attention is the fallback
                print(f"  {attention} attention export failed ({type(exc).__name__}); trying the next")
        return graphs
    export_graph(student, graphs["plain"], 18, "auto")
    for name, skip in (("fused", False), ("fused_skip", True)):
        if fuse_encoder_graph(graphs["plain"], folder / f"{name}.onnx", student.config, skip_layer_norm=skip) is not None:
            graphs[name] = folder / f"{name}.onnx"
    return graphs


def head_nodes(graph: Path) -> list[str]:
    import onnx

    names = [n.name for n in onnx.load(str(graph), load_external_data=False).graph.node if "/head/" in n.name]
    return names + [f"{name}_MatMul" for name in names]


def static_int8(source: Path, target: Path, fmt: str, calibration: list[list[int]]) -> None:
    import numpy as np
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.items = iter([{"input_ids": np.asarray([ids], dtype=np.int64),
                                "attention_mask": np.ones((1, len(ids)), dtype=np.int64)} for ids in calibration])

        def get_next(self) -> dict | None:
            return next(self.items, None)

    with quiet_quantizer():
        quantize_static(str(source), str(target), Reader(), quant_format=getattr(QuantFormat, fmt),
                        op_types_to_quantize=["MatMul"], per_channel=True, reduce_range=False,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        nodes_to_exclude=head_nodes(source), calibrate_method=CalibrationMethod.MinMax,
                        extra_options={"MatMulConstBOnly": True, "DefaultTensorType": onnx.TensorProto.FLOAT})


def bf16_probe() -> str | None:
    """None when ONNX Runtime's CPU provider runs a bf16 MatMul, else its error (one line)."""
    import numpy as np
    import onnxruntime as ort
    from onnx import TensorProto, helper

    weight = helper.make_tensor("w", TensorProto.BFLOAT16, [4, 4], np.zeros(16, np.uint16).tobytes(), raw=True)
    graph = helper.make_graph(
        [helper.make_node("Cast", ["x"], ["xb"], to=TensorProto.BFLOAT16), helper.make_node("MatMul", ["xb", "w"], ["yb"]),
         helper.make_node("Cast", ["yb"], ["y"], to=TensorProto.FLOAT)], "bf16",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 4])], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 4])],
        [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    try:
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        session.run(None, {"x": np.ones((4, 4), np.float32)})
        return None
    except Exception as exc:  # noqa: BLE001 - the answer is the error
        return str(exc).splitlines()[0][:200]


def build_options(graphs: dict[str, Path], folder: Path, calibration: list[list[int]]) -> list[Option]:
    from filterforge.export.quantize import quantize_graph

    fused = graphs.get("fused", graphs["plain"])
    previous = {"disabled_optimizers": []}  # ORT may fuse SkipLayerNormalization again
    plans: list[tuple[str, Path | None, Callable[[Path], None] | None, dict, dict]] = [
        ("ORT fp32", fused, None, {}, {"graph": "fused" if "fused" in graphs else "plain"}),
        (DEFAULT_NAME, None, lambda t: quantize_graph(fused, t, "int8"), {}, {"per_channel": True, "reduce_range": False}),
    ]

    def dynamic(source: Path, **changes: Any) -> Callable[[Path], None]:
        def build(target: Path) -> None:
            with int8_method(**changes):
                quantize_graph(source, target, "int8")
        return build

    plans += [("int8 dynamic per-tensor", None, dynamic(fused, per_channel=False), {}, {"per_channel": False}),
              ("int8 dynamic per-channel reduce_range", None, dynamic(fused, reduce_range=True), {}, {"reduce_range": True})]
    if "fused" in graphs:
        plans.append(("int8 dynamic before fusion", None, dynamic(graphs["plain"]), {}, {"graph": "plain"}))
    if "fused_skip" in graphs:
        skip = graphs["fused_skip"]
        plans += [("ORT fp32, SkipLayerNorm (previous)", skip, None, previous, {"graph": "fused with SkipLayerNormalization"}),
                  ("int8 dynamic, SkipLayerNorm (previous default)", None, lambda t: quantize_graph(skip, t, "int8"), previous,
                   {"graph": "fused with SkipLayerNormalization"})]
    stages = [("before fusion", graphs["plain"])] + ([("after fusion", graphs["fused"])] if "fused" in graphs else [])
    for stage, source in stages:
        for fmt in ("QDQ", "QOperator"):
            plans.append((f"int8 static {fmt} {stage}", None,
                          lambda t, s=source, f=fmt: static_int8(s, t, f, calibration), {},
                          {"format": fmt, "graph": stage, "calibration_articles": len(calibration)}))
    plans.append(("fp16", None, lambda t: quantize_graph(fused, t, "fp16"), {}, {}))

    options = []
    for index, (name, graph, build, session, settings) in enumerate(plans):
        option = Option(name, "ort", graph, session, settings)
        if build is not None:
            option.graph = folder / f"option-{index}.onnx"
            started = time.time()
            try:
                build(option.graph)
            except Exception as exc:  # noqa: BLE001 - a candidate the quantizer cannot build is a result
                option.error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"
            option.build_seconds = round(time.time() - started, 1)
        print(f"  built {name}" + (f" (failed: {option.error})" if option.error else f" in {option.build_seconds} s"), flush=True)
        options.append(option)
    reason = bf16_probe()
    options.append(Option("bf16 (ORT CPU)", "unsupported", error=f"not runnable: {reason}" if reason else
                          "ORT ran a bf16 MatMul: a bf16 graph is worth adding to this benchmark"))
    return options


# -- sessions and calls -------------------------------------------------------------------------------
