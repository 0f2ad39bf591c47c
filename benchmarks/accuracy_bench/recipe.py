"""The training recipe of ``recipe`` students: what filterforge's ``train`` uses when the user sets nothing
(TrainConfig's defaults, with the unset settings filled from the model kind's recipe in
``training/recipes.yaml``), read when the benchmark runs (never copied here), except the benchmark's
article-token budget and batch size."""

from __future__ import annotations

from typing import Any

from .config import Profile, StudentSpec

RECIPE_FIELDS = ("epochs", "learning_rate", "head_learning_rate", "layer_lr_decay", "weight_decay", "warmup_steps",
                 "warmup_ratio", "early_stopping_patience", "max_steps")
KIND = {"encoder": "encoder", "decoder": "decoder"}  # StudentSpec.model -> the recipe's kind of body


def recipe(kind: str = "encoder") -> dict[str, Any]:
    """Every recipe setting as filterforge's trainer resolves it for this kind of body when nothing is given:
    ``defaults()``, then ``TrainConfig.apply_recipe``."""
    from filterforge.training.config import TrainConfig, defaults

    config = TrainConfig(**{**defaults(), "filter_id": "recipe"})
    if hasattr(config, "apply_recipe"):  # recipes per kind of body (training/recipes.yaml)
        config.apply_recipe(kind)
    return {name: getattr(config, name) for name in RECIPE_FIELDS}


def number(value: float) -> str:
    return f"{value:g}"


def describe(settings: dict[str, Any]) -> str:
    """e.g. ``3 epochs, lr 2e-05, head lr 0.001, layer-lr decay 0.9, warm-up 10 %, early stopping after 1``."""
    parts = [f"{settings['epochs']} epoch{'s' if settings['epochs'] != 1 else ''}",
             f"lr {number(settings['learning_rate'])}"]
    if settings["head_learning_rate"] is not None:
        parts.append(f"head lr {number(settings['head_learning_rate'])}")
    if settings["layer_lr_decay"] is not None:
        parts.append(f"layer-lr decay {number(settings['layer_lr_decay'])}")
    if settings["warmup_steps"] is not None:
        parts.append(f"warm-up {settings['warmup_steps']} steps")
    elif settings["warmup_ratio"]:
        parts.append(f"warm-up {settings['warmup_ratio']:.0%}")
    else:
        parts.append("no warm-up")
    patience = settings["early_stopping_patience"]
    parts.append(f"early stopping after {patience} epoch{'s' if patience != 1 else ''} without gain" if patience
                 else "no early stopping")
    return ", ".join(parts)


def student_label(student: StudentSpec, trained: dict[str, Any] | None = None) -> str:
    """A recipe student's label names its settings: ``trained`` (the config its training metadata recorded,
    recipe applied) once it has trained, else the recipe as it reads now."""
    if not student.recipe:
        return student.label
    settings = trained if trained else recipe(KIND[student.model])
    return f"{student.label} (train defaults: {describe(settings)}; batch {student.batch_size})"


def recipe_epochs(train_rows: int, profile: Profile, kind: str = "encoder") -> tuple[int, str | None]:
    """The defaults' epochs; capped on large datasets only when the defaults carry no early stopping."""
    settings = recipe(kind)
    if settings["early_stopping_patience"] is None and train_rows > profile.large_dataset_rows \
            and settings["epochs"] > profile.encoder_epochs_large:
        return profile.encoder_epochs_large, (f"{profile.encoder_epochs_large} epoch(s), not the default "
                                              f"{settings['epochs']}: the defaults carry no early stopping and this "
                                              f"dataset has over {profile.large_dataset_rows} train articles")
    return settings["epochs"], None


def train_overrides(student: StudentSpec, budget: dict[str, Any]) -> dict[str, Any]:
    """The TrainConfig fields a student sets; every other one keeps its default."""
    overrides: dict[str, Any] = {"batch_size": student.batch_size}
    if student.recipe:
        if budget["epochs"] != recipe(KIND[student.model])["epochs"]:
            overrides["epochs"] = budget["epochs"]
        return overrides
    overrides.update(epochs=budget["epochs"], max_steps=budget["max_steps"])
    for name in ("learning_rate", "head_learning_rate"):
        if getattr(student, name) is not None:
            overrides[name] = getattr(student, name)
    if student.warmup_ratio is not None:
        overrides.update(warmup_ratio=student.warmup_ratio, warmup_steps=None)
    return overrides
