"""Real-data accuracy benchmark: filterforge students against what users would pick instead.

Runs filterforge's own pipeline (``prepare`` -> ``train`` -> test predictions with
``TorchPredictor``) on the oracle-scored datasets in ``../shared/datasets`` and compares, on the
same test split for every method:

- the mean predictor (per-dimension train mean),
- TF-IDF (word 1-2 grams + char 3-5 grams) + ridge, alpha chosen on val,
- frozen MiniLM sentence embeddings (mean pooling, L2-normalised) + ridge probe, alpha on val,
- filterforge students: MiniLM ``distillation`` (full fine-tune), SmolLM2-135M ``distillation``
  and ``instruction`` (LoRA and full), ``head-tail`` (plugin) where articles are long.

Plus a learning curve (25/50/100 % of train) on sustainability for TF-IDF + ridge and for the
student with the lowest val MAE, and the evidence asked for when the target (best student's test
MAE <= 0.85 x TF-IDF + ridge on sustainability) is missed.

CPU budget (the full run must finish on 2 cores in <= 45 minutes), settings in ``config.PROFILES``:
- every method is scored on the full test split (never fewer test articles);
- MiniLM inputs are cut to 256 tokens (sentence-transformers' own limit for this model);
- SmolLM2 inputs keep 128 article tokens (plus the prompt for ``instruction``) and train for a few
  optimizer steps only: SmolLM2 costs ~8 s per 8 x 256 training step and ~0.15 s per article to
  predict on this CPU, so these students are budget-limited and the tables say so;
- students pick their checkpoint on the first ``student_val_limit`` val articles; baselines pick
  alpha on the whole val split. Nothing is selected on test;
- a time guard skips (and reports) a job whose estimated cost would overrun ``--time-budget``.

Modules: ``config`` (datasets, students, profiles), ``splits`` (the shared split), ``baselines``,
``students`` (filterforge's training and prediction calls) and ``student_jobs`` (budget, time
guard, scoring), ``scoring`` (metrics from ``filterforge.metrics``), ``evidence`` and
``target`` (why the target is met or missed), ``report`` (JSON and markdown), ``runner`` (the run)
and ``cli``.
"""

import os

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
