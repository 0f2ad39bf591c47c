"""The whole run: every dataset, baseline and student in priority order, saved after each job."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from . import students
from .baselines import PROBE_KEY, PROBE_LABEL, embedding_probe, mean_predictor, tfidf_ridge
from .config import (COST_PER_TOKEN, CHARS_PER_TOKEN, DATASETS, HEAD_TAIL, LEARNING_CURVE_FRACTIONS, MINILM_DISTILLATION,
                     PROBE_OVERHEAD_S, SMOLLM2_DISTILLATION, SMOLLM2_INSTRUCTION, TARGET_DATASET, Profile, StudentSpec,
                     student_by_key)
from .evidence import learning_curve_entry, oracle_noise_floor
from .report import dataset_json, report_json, write_report
from .results import MethodResult
from .scoring import clipped_mae
from .splits import Splits, prepare_dataset, student_data_dir, texts
from .student_jobs import run_student
from .target import evaluate_target
from .timing import Clock, log

TFIDF_KEY = "tfidf-ridge"
TFIDF_LABEL = "TF-IDF + ridge"


class Benchmark:
    def __init__(self, profile: Profile, datasets_root: Path, work_dir: Path, output: Path, markdown_path: Path,
                 time_budget: float):
        self.profile, self.datasets_root, self.work_dir = profile, datasets_root, work_dir
        self.output, self.markdown_path = output, markdown_path
        self.clock = Clock(time_budget)
        self.splits: dict[str, Splits] = {}
        self.student_dirs: dict[str, Path] = {}
        self.results: dict[str, list[MethodResult]] = {}
        self.learning_curve: dict[str, Any] | None = None
        self.target: dict[str, Any] | None = None
        self.notes: list[str] = []
        self.complete = False

    def run(self) -> dict[str, Any]:
        import torch

        torch.set_num_threads(self.profile.threads)
        self.prepare_splits()
        self.run_cheap_baselines()
        self.run_jobs_by_priority()
        self.check_curve_student()
        self.complete = True
        return self.save()

    def prepare_splits(self) -> None:
        for name in self.profile.datasets:
            log(f"prepare {name}")
            splits = prepare_dataset(DATASETS[name], self.datasets_root, self.work_dir, self.profile)
            self.splits[name] = splits
            self.student_dirs[name] = student_data_dir(splits, self.profile.student_val_limit)

    def run_cheap_baselines(self) -> None:
        for name, splits in self.splits.items():
            log(f"mean predictor and TF-IDF + ridge on {name}")
            self.results[name] = [self.with_val_subset(result, splits) for result in (
                mean_predictor(splits, self.profile.seed), tfidf_ridge(splits, self.profile.tfidf_alphas, self.profile.seed))]
            self.save()

    def run_jobs_by_priority(self) -> None:
        # Whatever the time guard skips comes from the end of this order. The learning curve runs
        # before the costly SmolLM2 students; if one of them later beats the curve's student on val,
        # check_curve_student says so.
        first, rest = self.profile.datasets[0], self.profile.datasets[1:]
        self.add_student(first, MINILM_DISTILLATION)
        self.add_probe(first)
        if first == TARGET_DATASET:
            self.run_learning_curve(first)
        for name in rest:
            self.add_student(name, MINILM_DISTILLATION)
            self.add_probe(name)
        self.add_student(first, SMOLLM2_DISTILLATION)
        for student in SMOLLM2_INSTRUCTION:
            self.add_student(first, student)
        for name in rest:
            self.add_student(name, SMOLLM2_DISTILLATION)
        self.run_head_tail()
        for student in SMOLLM2_INSTRUCTION:
            for name in rest:
                self.add_student(name, student)

    # -- jobs -------------------------------------------------------------------------------
    def probe_estimate(self, splits: Splits) -> float:
        rows = splits.train + splits.val + splits.test
        tokens = np.minimum(np.asarray([len(t) for t in texts(rows)]) / CHARS_PER_TOKEN, self.profile.encoder_article_tokens)
        return float(tokens.sum()) * COST_PER_TOKEN["encoder"]["infer"] + PROBE_OVERHEAD_S

    def add_probe(self, name: str) -> None:
        splits = self.splits[name]
        estimate = self.probe_estimate(splits)
        fits, why = self.clock.fits(estimate, "encoder")
        if not fits:
            log(f"  skip {PROBE_KEY} on {name}: {why}")
            self.results[name].append(MethodResult(PROBE_KEY, PROBE_LABEL, "baseline", status="skipped",
                                                   note=f"time budget: {why}"))
            return
        log(f"  frozen MiniLM embeddings + ridge on {name} ({why})")
        started = time.time()
        probe = embedding_probe(splits, students.model_path(self.profile.encoder_model), self.profile)
        self.clock.learn(estimate, time.time() - started, "encoder")
        self.results[name].insert(2, self.with_val_subset(probe, splits))  # baselines first: mean, TF-IDF, probe
        self.save()

    def with_val_subset(self, result: MethodResult, splits: Splits) -> MethodResult:
        n = self.profile.student_val_limit
        result.val_mae_first_n = clipped_mae(result.val_predictions[:n], splits.labels("val")[:n])
        return result

    def add_student(self, name: str, student: StudentSpec) -> None:
        if student.key not in self.profile.students:
            return
        result = run_student(student, self.splits[name], self.student_dirs[name], self.work_dir, self.profile, self.clock)
        self.results[name].append(result)
        self.save()

    def best_student(self, name: str) -> MethodResult | None:
        finished = [r for r in self.results.get(name, []) if r.kind == "student" and r.ok]
        return min(finished, key=lambda r: r.val_mae_first_n) if finished else None

    def method(self, name: str, key: str) -> MethodResult | None:
        return next((r for r in self.results.get(name, []) if r.key == key and r.ok), None)

    def run_learning_curve(self, name: str) -> None:
        splits = self.splits[name]
        self.learning_curve = {"dataset": name, "methods": {TFIDF_LABEL: self.tfidf_curve(name)}}
        best = self.best_student(name)
        student = student_by_key(best.key) if best else None
        if student is None:
            self.notes.append("no student finished on sustainability: the learning curve has TF-IDF + ridge only")
            self.save()
            return
        entries: list[dict] = []
        self.learning_curve["methods"][best.label] = entries
        for fraction in LEARNING_CURVE_FRACTIONS:
            if fraction >= 1.0:
                result = best
            else:
                log(f"learning curve: {student.key} on {fraction:.0%} of {name}")
                result = run_student(student, splits, self.student_dirs[name], self.work_dir, self.profile,
                                     self.clock, fraction, key_suffix=f"-{int(fraction * 100)}pct")
            entries.append(learning_curve_entry(result, fraction, train_size(splits, fraction)))
            self.save()

    def tfidf_curve(self, name: str) -> list[dict]:
        splits = self.splits[name]
        entries = []
        for fraction in LEARNING_CURVE_FRACTIONS:
            n_train = train_size(splits, fraction)
            if fraction >= 1.0:
                result = self.method(name, TFIDF_KEY)
            else:
                log(f"learning curve: TF-IDF + ridge on {fraction:.0%} of {name}")
                result = self.with_val_subset(tfidf_ridge(splits, self.profile.tfidf_alphas, self.profile.seed,
                                                          splits.train[:n_train], key=f"{TFIDF_KEY}-{int(fraction * 100)}"),
                                              splits)
            entries.append(learning_curve_entry(result, fraction, n_train))
        return entries

    def check_curve_student(self) -> None:
        if not self.learning_curve or len(self.learning_curve["methods"]) < 2:
            return
        best = self.best_student(self.learning_curve["dataset"])
        curve_label = list(self.learning_curve["methods"])[1]
        if best is not None and best.label != curve_label:
            self.notes.append(f"the learning curve is for {curve_label}, the best student when it ran; {best.label}, "
                              "which finished later, has the lower val MAE")

    def run_head_tail(self) -> None:
        if HEAD_TAIL.key not in self.profile.students:
            return
        available, why = students.head_tail_available()
        if not available:
            self.notes.append(f"head-tail students skipped: {why}")
            return
        self.notes.append(f"head-tail strategy: {why}")
        for name, splits in sorted(self.splits.items(), key=lambda item: len(item[1].train)):
            probe = self.method(name, PROBE_KEY)
            share = probe.tokens.get("share_truncated", 0.0) if probe else 0.0
            if share < self.profile.head_tail_min_truncated_share:
                self.notes.append(f"head-tail not run on {name}: only {share:.0%} of test articles exceed the MiniLM input")
                continue
            self.add_student(name, HEAD_TAIL)

    # -- outputs ----------------------------------------------------------------------------
    def noise_floor(self, name: str) -> dict | None:
        return oracle_noise_floor(self.splits[name], self.datasets_root)

    def dataset_report(self, name: str) -> dict[str, Any]:
        return dataset_json(self.splits[name], self.results.get(name, []), self.best_student(name),
                            self.profile.student_val_limit, self.noise_floor(name))

    def evaluate_target(self) -> dict[str, Any] | None:
        name = TARGET_DATASET
        if name not in self.results:
            return None
        noise_floors = [self.noise_floor(n) for n in self.splits if DATASETS[n].alt_oracle]
        return evaluate_target(self.best_student(name), self.method(name, TFIDF_KEY), self.splits[name],
                               self.learning_curve, noise_floors, self.profile.seed)

    def save(self) -> dict[str, Any]:
        self.target = self.evaluate_target() if self.results else None
        report = report_json(
            profile=self.profile, complete=self.complete, time_budget_s=self.clock.budget_s,
            elapsed_s=self.clock.elapsed, slowdown=self.clock.slowdown, datasets_root=self.datasets_root,
            datasets={name: self.dataset_report(name) for name in self.splits}, learning_curve=self.learning_curve,
            target=self.target, notes=self.notes, output=self.output)
        write_report(report, self.output, self.markdown_path)
        return report


def train_size(splits: Splits, fraction: float) -> int:
    return max(1, round(fraction * len(splits.train)))
