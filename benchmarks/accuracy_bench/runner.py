"""The whole run: every dataset, baseline, student and ensemble in priority order, saved after each job."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from . import ensembles, students
from .baselines import LABELS, MEAN_KEY, PROBE_KEY, TFIDF_KEY, fit_baseline, product_note
from .config import (CHARS_PER_TOKEN, COST_PER_TOKEN, DATASETS, HEAD_TAIL, LEARNING_CURVE_FRACTIONS, MINILM_DISTILLATION,
                     PROBE_OVERHEAD_S, SMOLLM2_DISTILLATION, SMOLLM2_INSTRUCTION, TARGET_DATASET, Profile, StudentSpec,
                     student_by_key)
from .evidence import epoch_curve, learning_curve_entry, oracle_noise_floor
from .recipe import recipe
from .recommend import recommend, recommendation_json
from .report import dataset_json, report_json, write_report
from .results import MethodResult
from .splits import Splits, curve_data_dir, model_data_dir, prepare_dataset, texts
from .student_jobs import run_student
from .target import evaluate_target
from .timing import Clock, log

TFIDF_LABEL = LABELS[TFIDF_KEY]


class Benchmark:
    def __init__(self, profile: Profile, datasets_root: Path, work_dir: Path, output: Path, markdown_path: Path,
                 time_budget: float):
        self.profile, self.datasets_root, self.work_dir = profile, datasets_root, work_dir
        self.output, self.markdown_path = output, markdown_path
        self.clock = Clock(time_budget)
        self.splits: dict[str, Splits] = {}
        self.model_dirs: dict[str, Path] = {}
        self.results: dict[str, list[MethodResult]] = {}
        self.learning_curve: dict[str, Any] | None = None
        self.target: dict[str, Any] | None = None
        self.notes: list[str] = [product_note()]
        self.recipe = recipe("encoder")  # as the run starts; each student's label gives what it trained with
        self.complete = False

    def run(self) -> dict[str, Any]:
        import torch

        torch.set_num_threads(self.profile.threads)
        self.prepare_splits()
        self.run_cheap_baselines()
        self.run_jobs_by_priority()
        self.check_best_student_notes()
        self.complete = True
        return self.save()

    def prepare_splits(self) -> None:
        for name in self.profile.datasets:
            log(f"prepare {name}")
            splits = prepare_dataset(DATASETS[name], self.datasets_root, self.work_dir, self.profile)
            self.splits[name] = splits
            self.model_dirs[name] = model_data_dir(splits)
            self.results[name] = []

    def run_cheap_baselines(self) -> None:
        for name in self.splits:
            log(f"mean predictor and TF-IDF + ridge on {name} (filterforge baseline runs)")
            for key in (MEAN_KEY, TFIDF_KEY):
                self.add(name, self.baseline(name, key))

    def run_jobs_by_priority(self) -> None:
        # Whatever the time guard skips comes from the end of this order: the recipe student and the probe,
        # then the ensembles with them; SmolLM2 (and the ensembles needing it) after; the train-share curve last.
        names = list(self.splits)
        for name in names:
            self.add_student(name, MINILM_DISTILLATION)
            self.add_probe(name)
        for name in names:
            for plan in ensembles.student_plans(self.results[name], self.best_student(name)):
                self.add_ensemble(name, plan)
        first, rest = names[0], names[1:]
        self.add_student(first, SMOLLM2_DISTILLATION)
        for student in SMOLLM2_INSTRUCTION:
            self.add_student(first, student)
        for name in rest:
            self.add_student(name, SMOLLM2_DISTILLATION)
        self.run_head_tail()
        for student in SMOLLM2_INSTRUCTION:
            for name in rest:
                self.add_student(name, student)
        for name in names:
            plan = ensembles.distillation_instruction_plan(self.results[name])
            if plan is not None:
                self.add_ensemble(name, plan)
        if TARGET_DATASET in self.splits:
            self.run_learning_curve(TARGET_DATASET)

    # -- jobs -------------------------------------------------------------------------------
    def add(self, name: str, result: MethodResult) -> None:
        self.results[name].append(result)
        self.save()

    def baseline(self, name: str, key: str, data_dir: Path | None = None, run_key: str | None = None) -> MethodResult:
        splits = self.splits[name]
        run_dir = self.work_dir / name / "runs" / (run_key or key)
        try:
            return fit_baseline(key, splits, data_dir or self.model_dirs[name], run_dir, self.profile.encoder_model,
                                self.profile.seed, self.profile.threads)
        except Exception as exc:  # a failed baseline is a row, not the end of the run
            log(f"  {key} on {name} failed: {type(exc).__name__}: {exc}")
            return MethodResult(run_key or key, LABELS[key], "baseline", status="failed", note=f"{type(exc).__name__}: {exc}")

    def probe_estimate(self, splits: Splits) -> float:
        rows = splits.train + splits.val + splits.test
        tokens = np.minimum(np.asarray([len(t) for t in texts(rows)]) / CHARS_PER_TOKEN, self.profile.encoder_article_tokens)
        return float(tokens.sum()) * COST_PER_TOKEN["encoder"]["infer"] + PROBE_OVERHEAD_S

    def add_probe(self, name: str) -> None:
        estimate = self.probe_estimate(self.splits[name])
        fits, why = self.clock.fits(estimate, "encoder")
        if not fits:
            log(f"  skip {PROBE_KEY} on {name}: {why}")
            self.add(name, MethodResult(PROBE_KEY, LABELS[PROBE_KEY], "baseline", status="skipped",
                                        note=f"time budget: {why}"))
            return
        log(f"  frozen MiniLM embeddings + ridge on {name} ({why})")
        started = time.time()
        probe = self.baseline(name, PROBE_KEY)
        self.clock.learn(estimate, time.time() - started, "encoder")
        self.add(name, probe)

    def add_student(self, name: str, student: StudentSpec) -> None:
        if student.key not in self.profile.students:
            return
        self.add(name, run_student(student, self.splits[name], self.model_dirs[name], self.work_dir, self.profile,
                                   self.clock))

    def add_ensemble(self, name: str, plan: ensembles.Plan) -> None:
        self.add(name, ensembles.run_ensemble(plan, self.splits[name], self.model_dirs[name], self.work_dir,
                                              self.profile, self.clock))

    def best_student(self, name: str) -> MethodResult | None:
        finished = [r for r in self.results.get(name, []) if r.kind == "student" and r.ok]
        return min(finished, key=lambda r: r.val_mae_first_n) if finished else None

    def method(self, name: str, key: str) -> MethodResult | None:
        return next((r for r in self.results.get(name, []) if r.key == key and r.ok), None)

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

    # -- the train-share learning curve (last: it only runs on what the budget leaves) --------------
    def run_learning_curve(self, name: str) -> None:
        splits = self.splits[name]
        self.learning_curve = {"dataset": name, "methods": {TFIDF_LABEL: self.tfidf_curve(name)}}
        self.save()
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
                result = run_student(student, splits, self.model_dirs[name], self.work_dir, self.profile,
                                     self.clock, fraction, key_suffix=f"-{int(fraction * 100)}pct")
            entries.append(learning_curve_entry(result, fraction, train_size(splits, fraction)))
            self.save()

    def tfidf_curve(self, name: str) -> list[dict]:
        splits = self.splits[name]
        entries = []
        for fraction in LEARNING_CURVE_FRACTIONS:
            n_train = train_size(splits, fraction)
            if fraction >= 1.0:
                result = self.method(name, TFIDF_KEY) or MethodResult(TFIDF_KEY, TFIDF_LABEL, "baseline", status="failed")
            else:
                log(f"learning curve: TF-IDF + ridge on {fraction:.0%} of {name}")
                data_dir = curve_data_dir(splits, self.model_dirs[name], n_train)
                result = self.baseline(name, TFIDF_KEY, data_dir, f"{TFIDF_KEY}-{int(fraction * 100)}pct")
            entries.append(learning_curve_entry(result, fraction, n_train))
        return entries

    def check_best_student_notes(self) -> None:
        """Say so where a student that finished later beat the one the curve or the ensembles used."""
        if self.learning_curve and len(self.learning_curve["methods"]) >= 2:
            best = self.best_student(self.learning_curve["dataset"])
            curve_label = list(self.learning_curve["methods"])[1]
            if best is not None and best.label != curve_label:
                self.notes.append(f"the learning curve is for {curve_label}, the best student when it ran; "
                                  f"{best.label}, which finished later, has the lower val MAE")
        for name, results in self.results.items():
            best = self.best_student(name)
            used = {r.settings["members"][0] for r in results if r.ok and r.kind == "ensemble"
                    and r.settings.get("role", "").startswith("best student")}
            if best is not None and used and best.key not in used:
                self.notes.append(f"{name}: the student ensembles use {', '.join(sorted(used))}, the best student when "
                                  f"they ran; {best.label}, which finished later, has the lower val MAE")

    # -- outputs ----------------------------------------------------------------------------
    def noise_floor(self, name: str) -> dict | None:
        return oracle_noise_floor(self.splits[name], self.datasets_root)

    def dataset_report(self, name: str) -> dict[str, Any]:
        splits = self.splits[name]
        return dataset_json(splits, self.results.get(name, []), self.best_student(name), self.noise_floor(name),
                            recommendation_json(self.results.get(name, []), splits, self.profile.seed),
                            self.model_dirs[name])

    def epoch_curve(self) -> dict[str, Any] | None:
        recipe_student = self.method(TARGET_DATASET, MINILM_DISTILLATION.key)
        return epoch_curve(recipe_student, TARGET_DATASET) if recipe_student else None

    def evaluate_target(self) -> dict[str, Any] | None:
        name = TARGET_DATASET
        if name not in self.results:
            return None
        noise_floors = [self.noise_floor(n) for n in self.splits if DATASETS[n].alt_oracle]
        return evaluate_target(recommend(self.results[name]), self.best_student(name), self.method(name, TFIDF_KEY),
                               self.splits[name], self.learning_curve, noise_floors, self.profile.seed)

    def save(self) -> dict[str, Any]:
        self.target = self.evaluate_target() if self.results else None
        report = report_json(
            profile=self.profile, complete=self.complete, time_budget_s=self.clock.budget_s,
            elapsed_s=self.clock.elapsed, slowdown=self.clock.slowdown, datasets_root=self.datasets_root,
            datasets={name: self.dataset_report(name) for name in self.splits}, learning_curve=self.learning_curve,
            epoch_curve=self.epoch_curve(), target=self.target, notes=self.notes, output=self.output,
            recipe=self.recipe)
        write_report(report, self.output, self.markdown_path)
        return report


def train_size(splits: Splits, fraction: float) -> int:
    return max(1, round(fraction * len(splits.train)))
