"""``load_predictor``: the one place that decides which runtime scores a run."""

from __future__ import annotations

from typing import Any

from filterforge.errors import FilterforgeError

RUNTIMES = ("auto", "onnx", "torch")


def choose_runtime(run: Any, runtime: str = "auto", cuda_graphs: bool = False) -> str:
    """auto: ONNX when the run has an export, except for students whose graph reads the whole prompt
    with every article while torch can cache it (unless an export folder itself was given). A shared-
    prompt decoder exported with its prompt cache as graph inputs (``input_path`` "prompt-cache",
    ``prompt_in_input`` false) runs on ONNX like any other student."""
    exports = run.exports
    if runtime == "auto":
        if cuda_graphs or not exports:
            runtime = "torch"
        elif run.export_dir is not None:
            runtime = "onnx"
        else:
            prompt_in_graph = bool(run.info(exports[0]).get("prompt_in_input", False))
            runtime = "torch" if prompt_in_graph and run.has_torch_model else "onnx"
    if runtime not in RUNTIMES[1:]:
        raise FilterforgeError(f"unknown runtime '{runtime}' (known: {', '.join(RUNTIMES)})")
    if cuda_graphs and runtime != "torch":
        raise FilterforgeError("--cuda-graphs is a torch runtime path; drop --runtime onnx")
    if runtime == "onnx" and not exports:
        raise FilterforgeError(f"--runtime onnx: {run.root} holds no ONNX export; create one with: filterforge export {run.root}")
    return runtime


def load_predictor(run: Any, runtime: str = "auto", device: str = "auto", threads: int | None = None,
                   batch_size: int = 16, cuda_graphs: bool = False, shared_prefix: bool = True,
                   export_dir: Any = None, provider: str | None = None, compile: bool = False) -> Any:
    """A `Predictor` for ``run``: torch (optionally replayed from CUDA graphs, of torch.compile'd buckets
    with ``compile``) or ONNX Runtime on the first export (or ``export_dir``)."""
    from filterforge.runtime.device import use_threads

    if export_dir is None and run.is_ensemble:
        return load_ensemble(run, runtime, device, threads, batch_size, cuda_graphs, shared_prefix, provider)
    if run.is_text_baseline and export_dir is None:
        if runtime == "onnx":
            raise FilterforgeError(f"--runtime onnx: {run.root} is a text baseline (no network, no ONNX export); "
                                   "score it with --runtime auto")
        from filterforge.runtime.baseline_predictor import BaselinePredictor

        return BaselinePredictor.from_run(run, batch_size)
    chosen = "onnx" if export_dir is not None else choose_runtime(run, runtime, cuda_graphs)
    if chosen == "onnx":
        from filterforge.runtime.onnx_predictor import OnnxPredictor

        return OnnxPredictor.from_export(run, export_dir or run.exports[0], batch_size, threads, provider)
    use_threads(threads)
    if cuda_graphs:
        from filterforge.runtime.cuda_graphs import CudaGraphPredictor

        return CudaGraphPredictor.from_run(run, device=device, compile=compile, shared_prefix=shared_prefix)
    from filterforge.runtime.torch_predictor import TorchPredictor

    return TorchPredictor.from_run(run, device=device, batch_size=batch_size, shared_prefix=shared_prefix)


def check_members_have_exports(run: Any, runtime: str) -> None:
    """``--runtime onnx`` needs an ONNX export of every neural member (text baselines need none)."""
    if runtime != "onnx":
        return
    missing = [(name, member) for name, member in run.ensemble_members()
               if not member.is_text_baseline and not member.exports]
    if missing:
        name, member = missing[0]
        raise FilterforgeError(f"--runtime onnx: ensemble member '{name}' ({member.root}) has no ONNX export"
                               f"{f' (nor do {len(missing) - 1} more)' if len(missing) > 1 else ''}; "
                               f"export the members with: filterforge export {run.root}")


def load_ensemble(run: Any, runtime: str, device: str, threads: int | None, batch_size: int, cuda_graphs: bool,
                  shared_prefix: bool, provider: str | None) -> Any:
    """An `EnsemblePredictor` whose neural members run on ``runtime`` ("auto": each member's own choice);
    text-baseline members are runtime-independent."""
    from filterforge.runtime.ensemble_predictor import EnsemblePredictor

    if runtime not in RUNTIMES:
        raise FilterforgeError(f"unknown runtime '{runtime}' (known: {', '.join(RUNTIMES)})")
    if cuda_graphs:
        raise FilterforgeError(f"--cuda-graphs: {run.root} is an ensemble (its members batch their own inputs); "
                               "score it without --cuda-graphs")
    check_members_have_exports(run, runtime)

    def load_member(name: str, member: Any) -> Any:
        member_runtime = "auto" if member.is_text_baseline else runtime
        try:
            return load_predictor(member, member_runtime, device, threads, batch_size, shared_prefix=shared_prefix,
                                  provider=provider)
        except FilterforgeError as exc:
            raise FilterforgeError(f"ensemble member '{name}': {exc}") from None

    return EnsemblePredictor.from_run(run, load_member, batch_size)
