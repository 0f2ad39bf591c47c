"""`score --engine ray`: an actor pool of the same `Scorer`, run by Ray Data.

`serving/score.py` still reads, checks, deduplicates, resumes, shards and prefilters the input, holds the
output's lock and writes every row; only the articles to score travel through Ray Data (``from_items`` ->
``map_batches`` on an actor pool -> back in input order). One actor per GPU, or N CPU actors with
``--threads`` CPUs each (default 1). On a cluster (``RAY_ADDRESS``) every node must see the run folder at
the same path; each actor checks that it loaded the model the driver recorded in ``<output>.meta.json``.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from typing import Any, Iterator, NamedTuple

import numpy as np

from filterforge.errors import FilterforgeError
from filterforge.serving.writer_record import writer_differences, writer_record

logger = logging.getLogger(__name__)
MISSING_EXTRA = "--engine ray needs the ray extra: pip install 'filterforge[ray]'"
WINDOW = 50_000  # articles per Ray Data run: bounds what the driver holds; each run starts its actors anew
BATCHES_PER_CALL = 4  # an actor scores this many --batch-size batches per call (as local scoring's chunks)


def import_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401  (ray without its data extra lacks it)
    except ImportError:
        raise FilterforgeError(MISSING_EXTRA) from None
    return ray


class ActorPool(NamedTuple):
    actors: int
    resources: dict[str, float]  # Ray resources each actor holds
    options: dict[str, Any]  # what each actor passes to Scorer.load
    description: str


class ScoringActor:
    """A Ray actor holding the `Scorer` local scoring would load. Problems travel back as an ``error`` column
    (one line for the driver to raise) rather than as exceptions Ray would wrap in its own tracebacks."""

    def __init__(self, run: Any, options: dict[str, Any], expected: dict[str, Any]):
        from filterforge.runtime.scorer import Scorer

        self.scorer, self.problem = None, ""
        try:
            self.scorer = Scorer.load(run, **options)
        except FilterforgeError as exc:
            self.problem = f"a Ray actor on {socket.gethostname()} could not load the model: {exc}"
            return
        differences = writer_differences(expected, writer_record(self.scorer))
        if differences:
            self.problem = (f"a Ray actor on {socket.gethostname()} loaded another {' and '.join(differences)} than the "
                            f"driver ({'; '.join(differences.values())}); every node needs the same run folder")

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        count = len(batch["article"])
        if self.problem:
            return {"result": np.full(count, "", dtype=object), "seconds": np.zeros(count),
                    "error": np.full(count, self.problem, dtype=object)}
        articles = [json.loads(text) for text in batch["article"]]
        started = time.perf_counter()
        scores = self.scorer.score(articles)
        seconds = time.perf_counter() - started
        results = [json.dumps(self.scorer.result(values)) for values in scores]
        return {"result": np.array(results, dtype=object), "seconds": np.full(count, seconds / count),
                "error": np.full(count, "", dtype=object)}


class RayEngine:
    """Scores through a Ray Data actor pool; Ray starts (or connects, with ``RAY_ADDRESS``) at the first
    articles to score, so a run with nothing left to score never starts it."""

    def __init__(self, run: Any, options: dict[str, Any], workers: int | None):
        from filterforge.runtime.loader import choose_runtime
        from filterforge.runtime.scorer import Scorer

        self.ray = import_ray()
        runtime = choose_runtime(run, options["runtime"], options["cuda_graphs"])
        self.run, self.options, self.workers = run, {**options, "runtime": runtime}, workers
        # The driver's copy never scores: it records who writes the output and gives the prefilter its filter.
        self.scorer = Scorer.load(run, runtime=runtime, batch_size=options["batch_size"], threads=1, device="cpu")
        self.expected = writer_record(self.scorer)
        self.window = WINDOW
        self.model_seconds = 0.0
        self.pool: ActorPool | None = None
        self.started_ray = False
        self.saved_settings: tuple[bool, bool, int] | None = None

    def __enter__(self) -> "RayEngine":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self.saved_settings is not None:
            context = self.ray.data.DataContext.get_current()
            preserve_order, progress_bars, level = self.saved_settings
            context.execution_options.preserve_order, context.enable_progress_bars = preserve_order, progress_bars
            logging.getLogger("ray.data").setLevel(level)
        if self.started_ray:
            self.ray.shutdown()

    def describe(self) -> str:
        predictor = self.scorer.predictor
        return (f"{predictor.runtime} from {predictor.source_dir}; calibration "
                f"{'applied' if self.scorer.calibration is not None else 'none'}; on Ray Data actors")

    def results(self, articles: list[dict]) -> Iterator[dict[str, Any]]:
        """``Scorer.result`` of each article, in order, as the actors return them."""
        if not articles:
            return iter(())
        return self._stream(articles)

    def _stream(self, articles: list[dict]) -> Iterator[dict[str, Any]]:
        pool = self._start()
        dataset = self.ray.data.from_items([{"article": json.dumps(article)} for article in articles])
        scored = dataset.map_batches(
            ScoringActor, fn_constructor_kwargs={"run": self.run, "options": pool.options, "expected": self.expected},
            batch_size=self.options["batch_size"] * BATCHES_PER_CALL, batch_format="numpy",
            compute=self.ray.data.ActorPoolStrategy(size=pool.actors), **pool.resources)
        for batch in scored.iter_batches(batch_size=None, batch_format="numpy"):
            problem = next((error for error in batch["error"] if error), None)
            if problem:
                raise FilterforgeError(problem)
            self.model_seconds += float(batch["seconds"].sum())
            for text in batch["result"]:
                yield json.loads(text)

    def _start(self) -> ActorPool:
        if self.pool is None:
            self.started_ray = self._connect()
            self._keep_order_quietly()
            self.pool = self._plan_pool()
            logger.info(f"  Ray: {self.pool.description}")
        return self.pool

    def _connect(self) -> bool:
        """Join the running Ray (this process's, or ``RAY_ADDRESS``'s cluster), else start a local one sized
        by ``--workers``. True when this engine started it (and so shuts it down)."""
        if self.ray.is_initialized():
            return False
        settings: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.ERROR}
        if not os.environ.get("RAY_ADDRESS") and self.workers:
            settings["num_cpus"] = self.workers * (self.options["threads"] or 1)
        self.ray.init(**settings)
        return True

    def _keep_order_quietly(self) -> None:
        """Rows must come back in input order. Score's own progress bar counts them, and Ray Data's execution
        plans and hints would bury score's lines: only its errors are shown (its logs stay in /tmp/ray)."""
        context = self.ray.data.DataContext.get_current()
        ray_data_logger = logging.getLogger("ray.data")
        self.saved_settings = (context.execution_options.preserve_order, context.enable_progress_bars,
                               ray_data_logger.level)
        context.execution_options.preserve_order = True
        context.enable_progress_bars = False
        ray_data_logger.setLevel(logging.ERROR)

    def _plan_pool(self) -> ActorPool:
        """One actor per GPU (``--device auto`` on a cluster with GPUs, or ``cuda``), else CPU actors of
        ``--threads`` CPUs each, as many as the cluster's CPUs hold; ``--workers`` sets the number."""
        resources = self.ray.cluster_resources()
        gpus, cpus = int(resources.get("GPU", 0)), int(resources.get("CPU", 1))
        device = self.options["device"]
        if device == "cuda" and not gpus:
            raise FilterforgeError("--device cuda: the Ray cluster has no GPU")
        if gpus and device != "cpu":
            actors = self.workers or gpus
            return ActorPool(actors, {"num_gpus": 1, "num_cpus": 1}, {**self.options, "device": "cuda"},
                             f"{actors} GPU actor{'s' * (actors > 1)} (one GPU each; the cluster has {gpus})")
        threads = self.options["threads"] or 1
        actors = self.workers or max(1, cpus // threads)
        return ActorPool(actors, {"num_cpus": threads}, {**self.options, "device": "cpu", "threads": threads},
                         f"{actors} CPU actor{'s' * (actors > 1)} ({threads} thread{'s' * (threads > 1)} each; "
                         f"the cluster has {cpus} CPU{'s' * (cpus > 1)})")
