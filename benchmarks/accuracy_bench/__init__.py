"""Real-data accuracy benchmark: filterforge students and ensembles against what users would pick instead.

Runs filterforge's own pipeline (``prepare`` -> ``train`` / ``baseline`` / ``ensemble`` -> scoring through
``Scorer``) on the oracle-scored datasets in ``../shared/datasets`` and compares, on the same test split
for every method:

- baselines as filterforge ``baseline`` runs: the mean predictor, TF-IDF + ridge, the frozen-MiniLM probe;
- filterforge students: MiniLM ``distillation`` with TrainConfig's defaults (the recipe; ``recipe.py``),
  SmolLM2-135M ``distillation`` and ``instruction`` (LoRA and full, budget-limited), ``head-tail``
  (plugin) where articles are long;
- stack ensembles through ``filterforge ensemble``: best student + TF-IDF, best student + probe, best
  distillation + best instruction student (where both finished);

and recommends per dataset the model with the lowest MAE on the fit articles (ensembles cross-fitted).
Val is cut in two: the first ``student_val_limit`` articles (at most half of val) pick the students'
checkpoints and the baselines' alphas; the rest (calibration.jsonl of the model data) fits the ensembles
and ranks the candidates. Nothing is fitted or selected on test. Plus the recipe student's validation
MAE per epoch on sustainability, a train-share learning curve (25/50/100 %, last priority), and the
evidence asked for when the target (the recommended model's test MAE <= 0.85 x TF-IDF + ridge on
sustainability, paired bootstrap interval of the ratio below 1) is missed.

CPU budget (the full run fits in about an hour on 2 cores), settings in ``config.PROFILES``: every
method is scored on the full test split; MiniLM inputs are cut to 256 tokens; SmolLM2 keeps 128 article
tokens and trains a few optimizer steps; a time guard skips (and reports) a job whose estimated cost
would overrun ``--time-budget``, from the end of the priority order (SmolLM2 rows, then the curve).

Modules: ``config`` (datasets, students, profiles), ``recipe`` (TrainConfig's defaults), ``splits`` (the
shared split, the model data), ``pipeline`` (filterforge's run-level calls: baseline, ensemble, Scorer),
``baselines``, ``students`` + ``student_jobs`` (training, budget, time guard, scoring), ``ensembles``,
``recommend`` (cross-fitting, the recommendation), ``scoring`` (metrics from ``filterforge.metrics``),
``evidence`` and ``target``, ``report`` (JSON), ``markdown`` + ``sections`` (its rendering), ``runner``
(the run) and ``cli``.
"""

import os

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
