"""int8 that uses the hardware: which ONNX Runtime quantization, graph and session settings give the
fastest CPU student that keeps its accuracy.

The student's fp32 graph is built the way `filterforge export` builds it (Optimum, one graph; encoders
fused by ONNX Runtime's transformer optimizer without SkipLayerNormalization), then every candidate:

- dynamic int8, QOperator (DynamicQuantizeMatMul / QAttention): the export default (per channel), per
  tensor, with reduce_range (7-bit weights, meant for CPUs without VNNI), quantized before the fusions,
  and the previous default (graph and session with ORT's SkipLayerNormalization);
- static int8 (uint8 activations, int8 per-channel weights, MinMax ranges) in QDQ and QOperator format,
  before and after the fusions, calibrated on real articles: the run's own val split with `--run`, else
  synthetic demo articles;
- fp16 (`--quantize fp16`); bf16 (probed: ONNX Runtime's CPU provider has no bf16 MatMul kernel, so it
  is reported, not timed) and torch bf16 eager (oneDNN on AMX) as a reference for what bf16 could give.

Each is timed against torch eager fp32 at batch 1 and each length, the runtimes taking turns in blocks
(load from other processes hits them alike; ratios come from one run). Accuracy per option: max |option
- torch fp32| on raw scores over articles, and with `--run RUN_DIR --data TEST_JSONL` (a trained
student and its filter's test split) the test MAE of torch fp32 and of the option, and the change (the
export gate refuses a rise above 0.05). Last, a table of session options (intra-op threads, spinning,
graph optimisation level) for the best int8 graph.

    python benchmarks/int8_options.py                                   # MiniLM (packaged, random head), ~2 min
    python benchmarks/int8_options.py --run RUN_DIR --data TEST_JSONL   # a trained student: MAE per option
    python benchmarks/int8_options.py --smollm2                         # also SmolLM2-135M (packaged; slow)
    python benchmarks/int8_options.py --quick                           # 8 rounds, 128 tokens, fewer articles
    python benchmarks/int8_options.py --threads 1 --cpu-time ...        # a loaded machine: work, not latency

Writes benchmarks/results/int8_options.json (`--output`) and prints the tables.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from int8_graphs import DEFAULT_NAME, Option, build_options, export_fp32
from onnx_latency import machine_description, real_token_ids

REPO = Path(__file__).resolve().parents[1]
BLOCKS = 4  # each runtime runs rounds/BLOCKS timed calls per block, the runtimes taking turns
MAX_MAE_INCREASE = 0.05
CPU_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8", "amx_bf16", "avx512_bf16", "avx512_fp16")


@dataclass
class Subject:
    """The student being measured, its tokenizer and (with --run) its run, predictor and test rows."""

    name: str
    student: Any
    tokenizer: Any
    max_length: int
    run: Any = None
    predictor: Any = None
    test_rows: list[dict] = field(default_factory=list)


# -- the student ------------------------------------------------------------------------------------
def packaged_subject(model_name: str, max_length: int) -> Subject:
    import torch
    from transformers import AutoTokenizer

    from filterforge.student.model import build_student
    from filterforge.student.sources import resolve_model

    torch.manual_seed(0)
    path = resolve_model(model_name)
    student = build_student(path, 8, "regression", None, {}).eval()
    return Subject(model_name, student, AutoTokenizer.from_pretrained(str(path)), max_length)


def run_subject(run_dir: Path, test_path: Path | None, threads: int) -> Subject:
    from filterforge.data.splits import load_split
    from filterforge.runs.run import Run
    from filterforge.runtime.loader import load_predictor
    from filterforge.student.model import merge_lora

    run = Run.open(run_dir)
    predictor = load_predictor(run, runtime="torch", device="cpu", threads=threads)
    merge_lora(predictor.model)
    predictor.model.float().eval()
    rows = load_split(test_path, run.filter_spec()) if test_path else []
    return Subject(run.root.name, predictor.model, predictor.tokenizer, predictor.max_length, run, predictor, rows)


def calibration_rows(subject: Subject, count: int, given: Path | None) -> tuple[list[dict], str]:
    """Articles for static calibration: the run's own val split (or `given`), else demo articles."""
    from filterforge.data.demo import generate_demo_articles
    from filterforge.data.splits import load_split, split_file
    from filterforge.errors import FilterforgeError

    if subject.run is None:
        return generate_demo_articles(n=count, seed=5), f"{count} synthetic demo articles (no --run)"
    path = Path(given) if given else split_file(subject.run.data_dir(), "val")
    rows = load_split(path, subject.run.filter_spec(), required=False)
    if not rows:
        raise FilterforgeError(f"static int8 calibrates on the run's val articles: {path} is missing or empty "
                               "(give the run's val split with --calibration-data)")
    return rows[:count], f"{min(count, len(rows))} articles of {path}"


def encode(subject: Subject, rows: list[dict]) -> list[list[int]]:
    """Token ids as the student sees them: the run's strategy, else title + content cut to max_length."""
    if subject.predictor is not None:
        return [list(e.input_ids) for e in subject.predictor.encode(rows)]
    return [subject.tokenizer(f"{r['title']}\n\n{r['content']}", truncation=True, max_length=subject.max_length)["input_ids"]
            for r in rows]


def demo_articles(count: int) -> list[dict]:
    from filterforge.data.demo import generate_demo_articles

    return generate_demo_articles(n=count, seed=21)  # not the calibration articles (seed 5)


# -- graphs -------------------------------------------------------------------------------------------
def open_session(graph: Path, threads: int, level: str = "all", spinning: bool | None = None,
                 disabled_optimizers: list[str] | None = None) -> Any:
    """A session as filterforge opens one (`runtime.session_options`), with some settings changed."""
    import onnxruntime as ort

    from filterforge.runtime.session_options import CPU, session_arguments, session_options

    arguments = session_arguments(CPU)
    if disabled_optimizers is not None:
        arguments["disabled_optimizers"] = disabled_optimizers
    return ort.InferenceSession(str(graph), session_options(threads, level, spinning), providers=[CPU], **arguments)


def torch_call(student: Any) -> Callable[..., Any]:
    import torch

    def call(ids: Any, mask: Any) -> Any:
        with torch.inference_mode():
            return student(torch.from_numpy(ids), torch.from_numpy(mask)).float().numpy()
    return call


def session_call(session: Any) -> Callable[..., Any]:
    names = {i.name for i in session.get_inputs()}
    return lambda ids, mask: session.run(["scores"], {k: v for k, v in (("input_ids", ids), ("attention_mask", mask)) if k in names})[0]


def attach_calls(subject: Subject, options: list[Option], threads: int) -> None:
    import copy

    import torch

    for option in options:
        if option.kind == "ort" and option.graph is not None and option.error is None:
            try:
                option.call = session_call(open_session(option.graph, threads, **option.session))
            except Exception as exc:  # noqa: BLE001
                option.error = f"session: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
    reference = Option("torch bf16 eager (reference, not an export)", "torch", settings={"dtype": "bfloat16"})
    reference.call = torch_call(copy.deepcopy(subject.student).to(torch.bfloat16))
    options.append(reference)


CLOCK = time.perf_counter  # --cpu-time: time.thread_time


def time_calls(calls: dict[str, Callable[[], Any]], rounds: int, warmup: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(BLOCKS):
        for name, call in calls.items():
            for _ in range(warmup):  # also lets the previous runtime's idle threads stop spinning
                call()
            for _ in range(max(1, rounds // BLOCKS)):
                start = CLOCK()
                call()
                times[name].append((CLOCK() - start) * 1000)
    return times


def time_options(subject: Subject, options: list[Option], lengths: list[int], rounds: int, warmup: int) -> list[dict]:
    import numpy as np

    stream = real_token_ids(subject.tokenizer, max(lengths))
    base = torch_call(subject.student)
    runnable = [o for o in options if o.call is not None and o.error is None]
    rows = []
    for length in lengths:
        ids = np.asarray([stream[:length]], dtype=np.int64)
        mask = np.ones_like(ids)
        calls = {"torch eager fp32": lambda: base(ids, mask), **{o.name: (lambda c=o.call: c(ids, mask)) for o in runnable}}
        times = time_calls(calls, rounds, warmup)
        median = {name: statistics.median(values) for name, values in times.items()}
        rows.append({"length": length, "median_ms": {k: round(v, 2) for k, v in median.items()},
                     "p90_ms": {k: round(float(np.percentile(v, 90)), 2) for k, v in times.items()},
                     "vs_torch": {k: round(median["torch eager fp32"] / v, 3) for k, v in median.items()}})
        print(f"  1 x {length}: torch eager {median['torch eager fp32']:.1f} ms; " + ", ".join(
            f"{o.name.split(' (')[0]} {median[o.name]:.1f}" for o in runnable[:3]) + " ...", flush=True)
    return rows


# -- accuracy ------------------------------------------------------------------------------------------
def raw_scores(call: Callable[..., Any], inputs: list[list[int]], pad_id: int, batch: int = 8) -> Any:
    import numpy as np

    from filterforge.encoding.batching import pad

    order = sorted(range(len(inputs)), key=lambda i: len(inputs[i]))
    out = None
    for start in range(0, len(order), batch):
        chunk = order[start:start + batch]
        ids, mask = pad([inputs[i] for i in chunk], pad_id)
        scores = call(ids.astype(np.int64), mask.astype(np.int64))
        out = np.zeros((len(inputs), scores.shape[1]), np.float32) if out is None else out
        out[chunk] = scores
    return out


def accuracy(subject: Subject, options: list[Option], articles: list[list[int]], max_mae_increase: float) -> dict[str, Any]:
    """max |option - torch fp32| on raw scores over `articles`; with test rows, MAE (clamped scores) and change."""
    import numpy as np

    from filterforge.metrics import regression_metrics

    pad_id = subject.tokenizer.pad_token_id if subject.tokenizer.pad_token_id is not None else 0
    reference = raw_scores(torch_call(subject.student), articles, pad_id)
    summary: dict[str, Any] = {"articles": len(articles), "source": "test split" if subject.test_rows else "demo articles"}
    mae_of = None
    if subject.test_rows:
        spec = subject.run.filter_spec()
        gold = np.asarray([row["labels"] for row in subject.test_rows], dtype=np.float64)
        means = subject.run.metadata(required=False).get("train_label_means") or gold.mean(0).tolist()
        low, high = np.asarray([d.scale for d in spec.dimensions], dtype=np.float32).T

        def mae_of(raw: Any) -> float:
            return float(regression_metrics(np.clip(raw, low, high), gold, spec.dimension_names, means)["mae"])
        summary["torch_fp32_mae"] = round(mae_of(reference), 4)
        summary["mean_predictor_mae"] = round(float(regression_metrics(np.tile(means, (len(gold), 1)), gold,
                                                                       spec.dimension_names, means)["mae"]), 4)
    for option in options:
        if option.call is None or option.error:
            continue
        raw = raw_scores(option.call, articles, pad_id)
        option.settings["max_abs_diff"] = round(float(np.abs(raw - reference).max()), 5)
        if mae_of is not None:
            mae = mae_of(raw)
            option.settings.update(test_mae=round(mae, 4), mae_change=round(mae - summary["torch_fp32_mae"], 4),
                                   passes_gate=mae - summary["torch_fp32_mae"] <= max_mae_increase)
        print(f"  {option.name}: max |diff| {option.settings['max_abs_diff']:.4f}" + (
            f", test MAE change {option.settings['mae_change']:+.4f}" if "mae_change" in option.settings else ""), flush=True)
    return summary


# -- session options -------------------------------------------------------------------------------------
def best_int8(options: list[Option], timings: list[dict]) -> Option | None:
    """The fastest int8 option (geometric mean over lengths) that passes the MAE gate where it was measured;
    the export default when it is within 3 % of that (timing noise should not pick the graph to tune)."""
    import math

    candidates = [o for o in options if o.name.startswith("int8") and o.call is not None and not o.error
                  and o.settings.get("passes_gate", True)]
    if not candidates:
        return None

    def speed(option: Option) -> float:
        return math.exp(math.fsum(math.log(r["vs_torch"][option.name]) for r in timings) / len(timings))
    best = max(candidates, key=speed)
    default = next((o for o in candidates if o.name == DEFAULT_NAME), None)
    return default if default is not None and speed(default) >= 0.97 * speed(best) else best


def session_table(subject: Subject, option: Option, lengths: list[int], rounds: int, warmup: int, threads: int,
                  quick: bool) -> list[dict]:
    import numpy as np

    stream = real_token_ids(subject.tokenizer, max(lengths))
    base = torch_call(subject.student)
    combos = [(t, spin, level) for t in sorted({1, threads}) for spin in (True, False)
              for level in (("all", "basic") if quick else ("basic", "extended", "all"))]
    sessions = {f"threads {t}, spinning {'on' if s else 'off'}, level {lvl}": open_session(option.graph, t, lvl, s)
                for t, s, lvl in combos}
    sessions[f"threads {threads}, spinning on, level all, SkipLayerNormFusion on"] = open_session(
        option.graph, threads, "all", True, disabled_optimizers=[])
    rows = []
    for length in lengths:
        ids = np.asarray([stream[:length]], dtype=np.int64)
        mask = np.ones_like(ids)
        calls = {"torch eager fp32": lambda: base(ids, mask),
                 **{name: (lambda c=session_call(s): c(ids, mask)) for name, s in sessions.items()}}
        median = {k: statistics.median(v) for k, v in time_calls(calls, rounds, warmup).items()}
        for name in sessions:
            rows.append({"length": length, "setting": name, "median_ms": round(median[name], 2),
                         "vs_torch": round(median["torch eager fp32"] / median[name], 3)})
    return rows


# -- report ------------------------------------------------------------------------------------------------
def option_rows(options: list[Option], timings: list[dict]) -> list[dict]:
    rows = []
    for o in options:
        row = {"name": o.name, "kind": o.kind, "build_seconds": o.build_seconds, "error": o.error, **o.settings}
        if o.graph is not None and o.graph.exists():
            row["graph_megabytes"] = round(o.graph.stat().st_size / 2**20, 1)
        for t in timings:
            if o.name in t["median_ms"]:
                row[f"median_ms_{t['length']}"] = t["median_ms"][o.name]
                row[f"vs_torch_{t['length']}"] = t["vs_torch"][o.name]
        rows.append(row)
    return rows


def option_table(rows: list[dict], timings: list[dict], with_mae: bool) -> str:
    lengths = [t["length"] for t in timings]
    head = ["option", *(f"ms @{n}" for n in lengths), *(f"vs torch @{n}" for n in lengths), "max abs diff"]
    head += ["test MAE", "MAE change"] if with_mae else []
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines.append("| torch eager fp32 | " + " | ".join(f"{t['median_ms']['torch eager fp32']:.1f}" for t in timings)
                 + " | " + " | ".join("1.00x" for _ in lengths) + " | 0 |" + (" | |" if with_mae else ""))
    for r in rows:
        if r.get("error"):
            lines.append(f"| {r['name']} | {r['error']} |")
            continue
        cells = [f"{r.get(f'median_ms_{n}', float('nan')):.1f}" for n in lengths]
        cells += [f"{r.get(f'vs_torch_{n}', float('nan')):.2f}x" for n in lengths]
        cells.append(f"{r.get('max_abs_diff', float('nan')):.4f}")
        if with_mae:
            cells += [f"{r['test_mae']:.4f}", f"{r['mae_change']:+.4f}"] if "test_mae" in r else ["", ""]
        lines.append(f"| {r['name']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def cpu_flags() -> list[str]:
    try:
        words = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return []
    return [flag for flag in CPU_FLAGS if flag in words]


def measure_model(subject: Subject, args: argparse.Namespace, lengths: list[int]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="int8-options-") as tmp:
        folder = Path(tmp)
        started = time.time()
        graphs = export_fp32(subject.student, folder)
        print(f"{subject.name}: fp32 graphs ({', '.join(graphs)}) in {time.time() - started:.1f} s", flush=True)
        rows, calibration_source = calibration_rows(subject, args.calibration_articles, args.calibration_data)
        options = build_options(graphs, folder, encode(subject, rows))
        attach_calls(subject, options, args.threads)
        subject.test_rows = subject.test_rows[:args.test_articles]
        articles = encode(subject, subject.test_rows or demo_articles(min(32, args.test_articles)))
        summary = accuracy(subject, options, articles, args.max_mae_increase)
        timings = time_options(subject, options, lengths, args.rounds, args.warmup)
        best = best_int8(options, timings)
        sessions = session_table(subject, best, lengths, args.rounds, args.warmup, args.threads, args.quick) if best else []
        result = {"model": subject.name, "decoder": bool(subject.student.is_decoder), "graphs": sorted(graphs),
                  "calibration": calibration_source, "accuracy": summary, "timings": timings,
                  "options": option_rows(options, timings), "best_int8": best.name if best else None,
                  "session_options": sessions}
    default = next(r for r in result["options"] if r["name"] == DEFAULT_NAME)
    fast = [n for n in lengths if n in (128, 256)]
    result["targets"] = {
        "default_int8_vs_torch": {n: default.get(f"vs_torch_{n}") for n in lengths},
        "default_int8_at_least_2.5x_at_128_256": all((default.get(f"vs_torch_{n}") or 0) >= 2.5 for n in fast) if fast else None,
        "default_int8_mae_change": default.get("mae_change"),
        "default_int8_mae_change_within_0.05": (default["mae_change"] <= 0.05) if "mae_change" in default else None,
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, default=None, help="a trained student's run folder (else packaged MiniLM, random head)")
    parser.add_argument("--data", type=Path, default=None, help="the filter's test split (JSONL) for test MAE (needs --run)")
    parser.add_argument("--calibration-data", type=Path, default=None, help="static calibration articles [default: the run's val split]")
    parser.add_argument("--smollm2", action="store_true", help="also SmolLM2-135M (packaged; ~10x slower)")
    parser.add_argument("--lengths", default="128,256")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2, help="untimed calls before each block")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--calibration-articles", type=int, default=64)
    parser.add_argument("--test-articles", type=int, default=1000, help="cap on test articles scored per option")
    parser.add_argument("--max-mae-increase", type=float, default=MAX_MAE_INCREASE)
    parser.add_argument("--cpu-time", action="store_true",
                        help="time calls by the calling thread's CPU time (with --threads 1 only): on a loaded machine "
                             "it compares the work each option does, not its latency")
    parser.add_argument("--quick", action="store_true", help="8 rounds, 128 tokens, 16 calibration / 64 test articles")
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks" / "results" / "int8_options.json")
    args = parser.parse_args()
    if args.data and not args.run:
        parser.error("--data needs --run (the student whose test MAE it measures)")
    if args.smollm2 and args.run:
        parser.error("--smollm2 adds the packaged SmolLM2; with --run the run's own student is measured")
    if args.cpu_time:
        if args.threads != 1:
            parser.error("--cpu-time measures the calling thread: use it with --threads 1")
        global CLOCK
        CLOCK = time.thread_time
    if args.quick:
        args.rounds, args.lengths = min(args.rounds, 8), args.lengths.split(",")[0]
        args.calibration_articles, args.test_articles = min(args.calibration_articles, 16), min(args.test_articles, 64)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    import torch

    from filterforge.errors import FilterforgeError
    from filterforge.io import write_json
    from filterforge.provenance import provenance

    torch.set_num_threads(args.threads)
    lengths = [int(x) for x in args.lengths.split(",")]
    machine = machine_description(args.threads, ", ".join(cpu_flags()) or "no VNNI/AMX")
    load_before = os.getloadavg()
    started = time.time()
    try:
        if args.run:
            subjects = [run_subject(args.run, args.data, args.threads)]
        else:
            subjects = [packaged_subject("minilm", max(lengths))]
        if args.smollm2 and not args.run:
            subjects.append(packaged_subject("smollm2-135m", max(lengths)))
        models = []
        for subject in subjects:
            models.append(measure_model(subject, args, lengths))
    except FilterforgeError as exc:
        sys.exit(f"error: {exc}")
    report = {**provenance(), "machine_description": machine, "cpu_flags": cpu_flags(),
              "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
              "load_average_before": load_before, "load_average_after": os.getloadavg(),
              "seconds": round(time.time() - started, 1), "models": models}
    write_json(args.output, report)
    print(f"\nMachine: {machine}")
    for model in models:
        print(f"\n{model['model']} (batch 1; calibration: {model['calibration']}; accuracy over {model['accuracy']['articles']} "
              f"{model['accuracy']['source']})")
        if "torch_fp32_mae" in model["accuracy"]:
            print(f"torch fp32 test MAE {model['accuracy']['torch_fp32_mae']:.4f} "
                  f"(mean predictor {model['accuracy']['mean_predictor_mae']:.4f})")
        print(option_table(model["options"], model["timings"], "torch_fp32_mae" in model["accuracy"]))
        if model["session_options"]:
            print(f"\nSession options for {model['best_int8']}:")
            print("| setting | tokens | ms | vs torch |\n|---|---|---|---|")
            for row in model["session_options"]:
                print(f"| {row['setting']} | {row['length']} | {row['median_ms']:.1f} | {row['vs_torch']:.2f}x |")
        print(f"targets: {model['targets']}")
    print(f"\nload average before/after: {load_before[0]:.2f} / {report['load_average_after'][0]:.2f}; "
          f"{report['seconds']} s; wrote {args.output}")


if __name__ == "__main__":
    main()
