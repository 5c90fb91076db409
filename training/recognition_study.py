"""Measure which changes to the style classifier raise its leave-one-content-out accuracy.

Run from the repository root (``make recognition-study`` does)::

    python -m training.recognition_study

The folds are those of ``training.evaluate``. Each holds out one content of the first
dataset, fits the standardiser on the first dataset's emotional training clips and trains
one content-emotion network on them. Every variant of a fold reuses that network, so the
variants differ only in the classifier, its training rows and its input columns. Each
network seed runs with each forest seed, and a variant is reported as the mean, minimum
and maximum top-1 accuracy over those runs. The results go to ``docs/recognition_study.md``.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import shlex
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sklearn
import torch
from sklearn.base import BaseEstimator

from models.emotions import EMOTIONAL_STYLES
from training import analysis, evaluate, networks
from training.data import (
    DEFAULT_DATASET_ROOT,
    REPOSITORY_ROOT,
    FeatureSet,
    Standardizer,
    compute_features,
    content_folds,
    index_clips,
)

__all__ = [
    "VARIANTS",
    "StudySettings",
    "FoldInputs",
    "StudyResult",
    "prepare_fold",
    "predict_variant",
    "run_study",
    "render_markdown",
    "main",
]

logger = logging.getLogger("training.recognition_study")

VARIANTS = ("absolute", "residual", "dataset2", "windows", "posture", "decoded", "gradient-boosting")
"""Classifier variants in table order. ``residual`` is the baseline that the others are compared with."""
VARIANT_NAMES = {
    "absolute": "absolute features",
    "residual": "features + residual",
    "dataset2": "bandai-namco-2 clips",
    "windows": "window training",
    "posture": "posture extremes",
    "decoded": "decoded examples",
    "gradient-boosting": "gradient boosting",
}
"""Short name of each variant in the text of the page."""
BASELINE_VARIANT = "residual"
"""Features + residual trained on the recorded clips only: the shipped classifier's input without decoded rows."""
DETAILED_VARIANTS = ("residual", "decoded")
"""Variants whose accuracy by held-out content and most common errors the page lists."""
POSTURE_FEATURES = ("uprightness", "spine_flexion", "head_flexion")
"""Features whose minimum and maximum over a clip's windows the ``posture`` variant appends."""
TARGET_ACCURACY = 0.70
"""Top-1 accuracy that the recognition row of docs/model_report.md aims for."""
DEFAULT_OUTPUT = REPOSITORY_ROOT / "docs" / "recognition_study.md"


@dataclass(frozen=True)
class StudySettings:
    """Seeds and sample weights of the study."""

    network_seeds: tuple[int, ...] = (0, 1)
    """Seeds of the content-emotion networks (``networks.TrainSettings.seed``)."""
    forest_seeds: tuple[int, ...] = (0, 1, 2)
    """``random_state`` of the classifiers. Every network seed runs with every forest seed."""
    dataset2_weight: float = 0.05
    """Sample weight of the second dataset's normal and active clips in the ``dataset2`` variant."""
    decoded_weight: float = 0.3
    """Sample weight of the decoded rows in the ``decoded`` variant."""

    def __post_init__(self) -> None:
        if not self.network_seeds or not self.forest_seeds:
            raise ValueError(
                f"StudySettings needs at least one network seed and one forest seed, got network_seeds="
                f"{self.network_seeds} and forest_seeds={self.forest_seeds}"
            )

    @property
    def runs(self) -> list[tuple[int, int]]:
        """Every ``(network_seed, forest_seed)`` pair, network seed first."""
        return [(network_seed, forest_seed) for network_seed in self.network_seeds for forest_seed in self.forest_seeds]


@dataclass
class FoldInputs:
    """Classifier rows of one fold and one content-emotion network.

    Every row is the standardised features followed by their residual from the network's
    output at PAD (0, 0, 0), as ``analysis.with_residual`` returns them. Labels index
    ``EMOTIONAL_STYLES``.
    """

    feature_count: int
    """Features per clip: the first ``feature_count`` columns of a row are the standardised features."""
    train_rows: np.ndarray
    """``(clips, 2 * features)`` the first dataset's emotional training clips."""
    train_labels: np.ndarray
    train_posture: np.ndarray
    """``(clips, 6)`` minimum, then maximum, of ``POSTURE_FEATURES`` over each training clip's windows."""
    train_window_rows: np.ndarray
    """``(windows, 2 * features)`` every window of the training clips."""
    train_window_labels: np.ndarray
    """``(windows,)`` the label of each window's clip."""
    dataset2_rows: np.ndarray
    """``(clips, 2 * features)`` the second dataset's training clips whose style is one of the eight classes."""
    dataset2_labels: np.ndarray
    decoded_rows: np.ndarray
    """``(sources * 8, 2 * features)`` the network's output for each source clip at each style's PAD."""
    decoded_labels: np.ndarray
    decoded_contents: tuple[str, ...]
    """Contents of the source clips of ``decoded_rows``."""
    test_rows: np.ndarray
    """``(clips, 2 * features)`` the held-out emotional clips."""
    test_labels: np.ndarray
    test_posture: np.ndarray
    test_window_rows: list[np.ndarray]
    """One ``(windows, 2 * features)`` array per held-out clip."""


@dataclass
class StudyResult:
    """Predicted classes of every variant in every run, over the held-out clips of all folds."""

    runs: list[tuple[int, int]]
    """``(network_seed, forest_seed)`` of each run."""
    contents: list[str]
    """Held-out content of each clip."""
    labels: np.ndarray
    """``(clips,)`` true class of each clip, an index into ``EMOTIONAL_STYLES``."""
    predictions: dict[str, np.ndarray]
    """Variant to ``(runs, clips)`` predicted classes."""
    decoded_contents: tuple[str, ...]
    """Contents that the ``decoded`` variant decoded from in any fold."""

    def accuracy(self, variant: str) -> np.ndarray:
        """Return ``(runs,)`` top-1 accuracy of ``variant`` in each run."""
        return (self.predictions[variant] == self.labels[None, :]).mean(axis=1)


def _labels(styles: list[str]) -> np.ndarray:
    return np.array([EMOTIONAL_STYLES.index(style) for style in styles], dtype=np.int64)


def _posture_extremes(feature_set: FeatureSet, scaler: Standardizer, columns: list[int]) -> np.ndarray:
    extremes = []
    for windows in feature_set.window_features:
        posture = scaler.transform(windows)[:, columns]
        extremes.append(np.concatenate([posture.min(axis=0), posture.max(axis=0)]))
    return np.array(extremes).reshape(-1, 2 * len(columns))


def _decoded_examples(
    emotional_train: FeatureSet, scaler: Standardizer, content_model: networks.ContentEmotionAE
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Return ``analysis.decoded_examples`` of the training clips, with the contents they were decoded from."""
    styles = [clip.style for clip in emotional_train.clips]
    contents = [clip.content for clip in emotional_train.clips]
    rows, labels = analysis.decoded_examples(scaler.transform(emotional_train.clip_features), styles, contents, content_model)
    styled = {content for content, style in zip(contents, styles) if style != "normal"}
    return rows, labels, tuple(sorted(set(contents) - styled))


def prepare_fold(features: FeatureSet, train: np.ndarray, test: np.ndarray, network_seed: int) -> FoldInputs:
    """Fit one fold's standardiser and content-emotion network, then build every variant's rows."""
    settings = networks.TrainSettings(seed=network_seed)
    train_set = features.subset(train)
    test_set = features.subset(test).where(lambda clip: clip.emotional)
    emotional_train = train_set.where(lambda clip: clip.dataset == 1 and clip.emotional)
    scaler = Standardizer.fit(emotional_train.clip_features)

    # The same network training set as training.evaluate.run_fold builds with its default options.
    network_set = evaluate._network_training_set(train_set, scaler, evaluate.ExperimentOptions(settings=settings))
    content_model = networks.train_content_emotion(network_set, settings)

    def residual_rows(values: np.ndarray) -> np.ndarray:
        return analysis.with_residual(scaler.transform(values), content_model)

    train_styles = [clip.style for clip in emotional_train.clips]
    window_counts = [len(windows) for windows in emotional_train.window_features]
    posture_columns = [features.names.index(name) for name in POSTURE_FEATURES]
    dataset2 = train_set.where(lambda clip: clip.dataset == 2 and clip.style in EMOTIONAL_STYLES)
    decoded, decoded_labels, decoded_contents = _decoded_examples(emotional_train, scaler, content_model)
    return FoldInputs(
        feature_count=features.clip_features.shape[1],
        train_rows=residual_rows(emotional_train.clip_features),
        train_labels=_labels(train_styles),
        train_posture=_posture_extremes(emotional_train, scaler, posture_columns),
        train_window_rows=residual_rows(np.concatenate(emotional_train.window_features)),
        train_window_labels=np.repeat(_labels(train_styles), window_counts),
        dataset2_rows=residual_rows(dataset2.clip_features),
        dataset2_labels=_labels([clip.style for clip in dataset2.clips]),
        decoded_rows=analysis.with_residual(decoded, content_model),
        decoded_labels=decoded_labels,
        decoded_contents=decoded_contents,
        test_rows=residual_rows(test_set.clip_features),
        test_labels=_labels([clip.style for clip in test_set.clips]),
        test_posture=_posture_extremes(test_set, scaler, posture_columns),
        test_window_rows=[residual_rows(windows) for windows in test_set.window_features],
    )


def _probabilities(classifier: BaseEstimator, rows: np.ndarray) -> np.ndarray:
    """Predict ``(rows, 8)`` probabilities over ``EMOTIONAL_STYLES``, zero for a class absent from training."""
    probabilities = np.zeros((len(rows), len(EMOTIONAL_STYLES)))
    probabilities[:, classifier.classes_] = classifier.predict_proba(rows)
    return probabilities


def predict_variant(variant: str, inputs: FoldInputs, forest_seed: int, settings: StudySettings) -> np.ndarray:
    """Train one variant's classifier on a fold and return ``(held-out clips, 8)`` probabilities."""
    if variant not in VARIANTS:
        raise ValueError(f"Invalid variant {variant!r}: expected one of {', '.join(VARIANTS)}")
    classifier_name = "gradient-boosting" if variant == "gradient-boosting" else "random-forest"
    classifier = analysis.make_classifier(classifier_name, forest_seed)
    rows, labels, test_rows = inputs.train_rows, inputs.train_labels, inputs.test_rows
    weights: np.ndarray | None = None

    if variant == "absolute":
        rows = rows[:, : inputs.feature_count]
        test_rows = test_rows[:, : inputs.feature_count]
    elif variant == "dataset2":
        extra = (inputs.dataset2_rows, inputs.dataset2_labels)
        rows, labels, weights = evaluate.classifier_training_set(rows, labels, extra, settings.dataset2_weight)
    elif variant == "posture":
        rows = np.hstack([rows, inputs.train_posture])
        test_rows = np.hstack([test_rows, inputs.test_posture])
    elif variant == "decoded":
        extra = (inputs.decoded_rows, inputs.decoded_labels)
        rows, labels, weights = evaluate.classifier_training_set(rows, labels, extra, settings.decoded_weight)
    elif variant == "windows":
        rows = np.concatenate([rows, inputs.train_window_rows])
        labels = np.concatenate([labels, inputs.train_window_labels])

    classifier.fit(rows, labels, sample_weight=weights)
    if variant != "windows":
        return _probabilities(classifier, test_rows)

    # A held-out clip's probabilities are the mean over its clip row and its window rows.
    clip_rows = [np.vstack([row[None, :], windows]) for row, windows in zip(test_rows, inputs.test_window_rows)]
    probabilities = _probabilities(classifier, np.concatenate(clip_rows))
    boundaries = np.cumsum([len(block) for block in clip_rows])[:-1]
    return np.stack([block.mean(axis=0) for block in np.split(probabilities, boundaries)])


def run_study(features: FeatureSet, settings: StudySettings, progress: bool = False) -> StudyResult:
    """Run every variant in every fold and run, training one network per fold and network seed."""
    folds = content_folds(features.clips)
    iterator = folds
    if progress:
        from tqdm import tqdm

        iterator = tqdm(folds, desc="recognition study", unit="fold")
    runs = settings.runs
    fold_predictions: dict[str, dict[tuple[int, int], list[np.ndarray]]] = {
        variant: {run: [] for run in runs} for variant in VARIANTS
    }
    contents: list[str] = []
    labels: list[np.ndarray] = []
    decoded_contents: set[str] = set()
    for content, train, test in iterator:
        for network_seed in settings.network_seeds:
            inputs = prepare_fold(features, train, test, network_seed)
            decoded_contents.update(inputs.decoded_contents)
            for forest_seed in settings.forest_seeds:
                for variant in VARIANTS:
                    probabilities = predict_variant(variant, inputs, forest_seed, settings)
                    fold_predictions[variant][(network_seed, forest_seed)].append(probabilities.argmax(axis=1))
        contents.extend([content] * len(inputs.test_labels))
        labels.append(inputs.test_labels)
        logger.debug("Fold %s done", content)

    predictions = {
        variant: np.stack([np.concatenate(by_run[run]) for run in runs]) for variant, by_run in fold_predictions.items()
    }
    return StudyResult(
        runs=runs,
        contents=contents,
        labels=np.concatenate(labels),
        predictions=predictions,
        decoded_contents=tuple(sorted(decoded_contents)),
    )


def _classifier_text(name: str) -> str:
    """Return the classifier's constructor call with its non-default parameters, without the seed."""
    return "`" + repr(analysis.make_classifier(name).set_params(random_state=None)) + "`"


def _plural(count: int, noun: str) -> str:
    return noun if count == 1 else noun + "s"


def _runs_text(result: StudyResult) -> str:
    return f"{len(result.runs)} {_plural(len(result.runs), 'run')}"


def _percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def _variant_labels(settings: StudySettings) -> dict[str, str]:
    return {
        "absolute": "absolute features",
        "residual": "features + residual (baseline)",
        "dataset2": f"+ bandai-namco-2 normal and active clips, weight {settings.dataset2_weight:g}",
        "windows": "+ window training, window-averaged prediction",
        "posture": "+ posture extremes over windows",
        "decoded": f"+ decoded examples of contents without emotional recordings, weight {settings.decoded_weight:g}",
        "gradient-boosting": "gradient boosting + residual",
    }


def _shipped_training_text(settings: StudySettings) -> str:
    """Describe how ``make train`` uses the decoded rows, read from ``training.evaluate``'s default options."""
    weight = evaluate.ExperimentOptions().classifier_decoded_weight
    if weight <= 0:
        return "`make train` trains the style classifiers without decoded rows."
    same = "the same weight" if weight == settings.decoded_weight else "weight"
    return (
        f"`make train` adds these decoded rows to the style classifiers' training set with {same} {weight:g} "
        "(`ExperimentOptions.classifier_decoded_weight` in `training/evaluate.py`)."
    )


def _variant_definitions(result: StudyResult, settings: StudySettings) -> list[str]:
    forest = _classifier_text("random-forest")
    boosting = _classifier_text("gradient-boosting")
    posture = ", ".join(f"`{name}`" for name in POSTURE_FEATURES)
    definitions = {
        "absolute": "the standardised clip features only.",
        "residual": "the standardised features followed by their residual from the content-emotion network's output "
        "for the same clip at PAD (0, 0, 0) (`analysis.with_residual`), trained on the recorded clips only. The "
        "shipped style classifier takes this input at run time. This variant is the baseline of the comparisons.",
        "dataset2": "the second dataset's training-side clips in the two styles that are among the eight classes "
        f"(normal and active), with sample weight {settings.dataset2_weight:g}. The first dataset's clips keep "
        "weight 1.",
        "windows": "the training rows also contain every window of every training clip, labelled with its clip's "
        "style. A held-out clip's probabilities are the mean over its clip row and its window rows.",
        "posture": f"the minimum and maximum over the clip's windows of the standardised {posture}, six columns "
        "appended to the baseline input.",
        "decoded": "the first dataset's training clips of contents recorded only in the normal style "
        f"({', '.join(result.decoded_contents)}) go through the content-emotion network at the PAD of each of the "
        f"eight styles. The decoded rows are labelled with that style and have sample weight "
        f"{settings.decoded_weight:g}. {_shipped_training_text(settings)}",
        "gradient-boosting": "the baseline input with gradient boosting in place of the random forest.",
    }
    lines = [
        f"Every variant except the last uses {forest}. The last uses {boosting}. "
        "Parameters not shown keep their scikit-learn defaults, and both take the forest seed as `random_state`. "
        "The variants marked + add one change each to the baseline.",
        "",
    ]
    lines += [f"- **{VARIANT_NAMES[variant]}**: {definitions[variant]}" for variant in VARIANTS]
    return lines


def _variant_table(result: StudyResult, settings: StudySettings) -> list[str]:
    labels = _variant_labels(settings)
    baseline = result.accuracy(BASELINE_VARIANT)
    network_seeds = np.array([network_seed for network_seed, _ in result.runs])
    seed_header = " / ".join(str(seed) for seed in settings.network_seeds)
    lines = [
        f"| variant | mean top-1 | min–max | mean per network seed {seed_header} | mean − baseline (points) "
        "| same-seed run − baseline, min–max (points) | same-seed runs above the baseline |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for variant in VARIANTS:
        accuracy = result.accuracy(variant)
        spread = f"{_percent(accuracy.min())}–{_percent(accuracy.max())}"
        per_seed = " / ".join(_percent(accuracy[network_seeds == seed].mean()) for seed in settings.network_seeds)
        difference = 100 * (accuracy.mean() - baseline.mean())
        paired = 100 * (accuracy - baseline)
        paired_columns = f"{paired.min():+.1f} to {paired.max():+.1f} | {int((paired > 0).sum())} of {len(result.runs)}"
        if variant == BASELINE_VARIANT:
            paired_columns = "– | –"
        lines.append(
            f"| {labels[variant]} | {_percent(accuracy.mean())} | {spread} | {per_seed} | {difference:+.1f} "
            f"| {paired_columns} |"
        )
    return lines


def _content_rows(result: StudyResult, variant: str) -> list[tuple[str, int, int, str]]:
    """Count ``(content, correct, total, most common wrong prediction)`` of ``variant`` per held-out content."""
    predictions = result.predictions[variant]
    rows = []
    for content in dict.fromkeys(result.contents):
        mask = np.array([clip_content == content for clip_content in result.contents])
        predicted = predictions[:, mask]
        true = np.broadcast_to(result.labels[mask], predicted.shape)
        wrong = Counter(EMOTIONAL_STYLES[index] for index in predicted[predicted != true])
        most_common = "none"
        if wrong:
            style, count = wrong.most_common(1)[0]
            most_common = f"{style} ({count})"
        rows.append((content, int((predicted == true).sum()), int(predicted.size), most_common))
    return rows


def _top_confusions(result: StudyResult, variant: str, count: int = 5) -> list[tuple[str, str, int, int]]:
    """Count the ``count`` most common errors of ``variant``.

    Returns ``(true style, predicted style, clips, clips of the true style)`` per error, over all runs.
    """
    predictions = result.predictions[variant]
    true = np.broadcast_to(result.labels, predictions.shape)
    wrong = predictions != true
    pairs = Counter(zip(true[wrong].tolist(), predictions[wrong].tolist()))
    style_totals = Counter(true.ravel().tolist())
    return [
        (EMOTIONAL_STYLES[label], EMOTIONAL_STYLES[predicted], clips, style_totals[label])
        for (label, predicted), clips in pairs.most_common(count)
    ]


def _spread_sentences(result: StudyResult) -> list[str]:
    baseline = result.accuracy(BASELINE_VARIANT)
    clip_count = len(result.labels)
    sentences = [
        f"The baseline scores {_percent(baseline.mean())} on average over the {_runs_text(result)}, "
        f"from {_percent(baseline.min())} to {_percent(baseline.max())}, "
        f"a spread of {100 * (baseline.max() - baseline.min()):.1f} points. "
        f"One of the {clip_count} held-out clips is {100 / clip_count:.1f} points."
    ]
    if (0, 0) not in result.runs:
        return sentences

    # make train trains the shipped models with seed 0 for the networks and the classifiers alike.
    for index, variant in enumerate(DETAILED_VARIANTS):
        accuracy = result.accuracy(variant)
        seed_zero = accuracy[result.runs.index((0, 0))]
        difference = 100 * (seed_zero - accuracy.mean())
        relation = "equal to its mean"
        if difference >= 0.05:
            relation = f"{difference:.1f} points above its mean"
        elif difference <= -0.05:
            relation = f"{-difference:.1f} points below its mean"
        run = "In that run,"
        if index == 0:
            run = "With network seed 0 and forest seed 0, the seeds of the shipped models,"
        sentences.append(f"{run} the {VARIANT_NAMES[variant]} variant scores {_percent(seed_zero)}, {relation}.")
    return sentences


def _join(names: list[str]) -> str:
    if len(names) < 2:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _comparison_sentences(result: StudyResult) -> list[str]:
    baseline = result.accuracy(BASELINE_VARIANT)
    spread = 100 * (baseline.max() - baseline.min())
    others = [variant for variant in VARIANTS if variant != BASELINE_VARIANT]
    within, higher, lower = [], [], []
    for variant in others:
        difference = 100 * (result.accuracy(variant).mean() - baseline.mean())
        if abs(difference) < spread:
            within.append(VARIANT_NAMES[variant])
        elif difference > 0:
            higher.append(VARIANT_NAMES[variant])
        else:
            lower.append(VARIANT_NAMES[variant])
    sentences = []
    if not higher:
        sentences.append("No variant's mean is higher than the baseline's by more than that spread.")
    for group, singular, plural in (
        (higher, "is higher than the baseline's by more than", "are higher than the baseline's by more than"),
        (within, "differs from the baseline's by less than", "differ from the baseline's by less than"),
        (lower, "is lower than the baseline's by more than", "are lower than the baseline's by more than"),
    ):
        if len(group) == 1:
            sentences.append(f"The mean of {group[0]} {singular} that spread.")
        elif group:
            sentences.append(f"The means of {_join(group)} {plural} that spread.")

    # Runs with the same seeds share the network and the forest seed, so they compare pairwise.
    run_count = len(result.runs)
    for variant in others:
        paired = 100 * (result.accuracy(variant) - baseline)
        if (paired > 0).all() or (paired < 0).all():
            direction = "higher" if paired[0] > 0 else "lower"
            sentences.append(
                f"Run by run with the same seeds, the {VARIANT_NAMES[variant]} variant scores {direction} than the "
                f"baseline in all {run_count} runs, by {abs(paired).min():.1f} to {abs(paired).max():.1f} points."
            )
    return sentences


def _target_sentence(result: StudyResult) -> str:
    means = {variant: result.accuracy(variant).mean() for variant in VARIANTS}
    reached = [VARIANT_NAMES[variant] for variant, mean in means.items() if mean >= TARGET_ACCURACY]
    if reached:
        return f"The mean of {_join(reached)} reaches the target of {_percent(TARGET_ACCURACY)}."
    best = max(means, key=lambda variant: means[variant])
    best_run = max(float(result.accuracy(variant).max()) for variant in VARIANTS)
    return (
        f"No variant's mean reaches the target of {_percent(TARGET_ACCURACY)}. The highest mean is "
        f"{_percent(means[best])} ({VARIANT_NAMES[best]}), and the best single run of any variant scores "
        f"{_percent(best_run)}."
    )


def _reading(result: StudyResult) -> str:
    """Write the reading paragraph from the numbers, so that it stays true when the study is rerun."""
    sentences = [*_spread_sentences(result), *_comparison_sentences(result), _target_sentence(result)]
    for variant in DETAILED_VARIANTS:
        content, correct, total, most_common = min(_content_rows(result, variant), key=lambda row: row[1] / row[2])
        sentences.append(
            f"The weakest held-out content for {VARIANT_NAMES[variant]} is {content} with {correct} of {total} "
            f"correct, and its most common wrong prediction (with count) is {most_common}."
        )
    return " ".join(sentences)


def _introduction(
    result: StudyResult, settings: StudySettings, command: str, machine: str, seconds: float
) -> list[str]:
    fold_count = len(set(result.contents))
    network_count = len(settings.network_seeds) * fold_count
    classifier_count = network_count * len(settings.forest_seeds) * len(VARIANTS)
    network_seeds = ", ".join(map(str, settings.network_seeds))
    forest_seeds = ", ".join(map(str, settings.forest_seeds))
    return [
        "This page records what was tried to raise the top-1 accuracy of the style classifier over the eight "
        "emotional styles, and what each attempt measured. The evaluation is the leave-one-content-out "
        f"cross-validation of `training/evaluate.py`: {fold_count} folds, one per content, with "
        f"{len(result.labels)} held-out emotional clips in total. Each fold trains one content-emotion network per "
        "network seed and reuses it for every variant. Every variant then runs with every forest seed, so each "
        f"number below pools {_runs_text(result)} (network seeds {network_seeds} × forest seeds {forest_seeds}). "
        "`training/recognition_study.py` generates this page. To rerun it, use `make recognition-study` or "
        "`.venv/bin/python -m training.recognition_study`.",
        "",
        f"Command: `{command}`. Machine: {machine}. Run time: {seconds / 60:.1f} minutes for {network_count} "
        f"networks and {classifier_count} classifiers.",
    ]


def _content_section(result: StudyResult) -> list[str]:
    rows = {variant: _content_rows(result, variant) for variant in DETAILED_VARIANTS}
    names = [VARIANT_NAMES[variant] for variant in DETAILED_VARIANTS]
    columns = [f"{name}: correct / clips | most common wrong prediction (count)" for name in names]
    lines = [
        f"Pooled over the {_runs_text(result)}, for {_join(names)}.",
        "",
        f"| held-out content | {' | '.join(columns)} |",
        "| --- |" + " ---: | --- |" * len(DETAILED_VARIANTS),
    ]
    for index, content in enumerate(dict.fromkeys(result.contents)):
        cells = []
        for variant in DETAILED_VARIANTS:
            _, correct, total, most_common = rows[variant][index]
            cells.append(f"{correct} / {total} ({_percent(correct / total)}) | {most_common}")
        lines.append(f"| {content} | {' | '.join(cells)} |")
    return lines


def _confusion_section(result: StudyResult) -> list[str]:
    lines = [
        f"The five most common errors of each variant, pooled over the {_runs_text(result)}. The last column counts "
        "the clips of the true style over all runs."
    ]
    for variant in DETAILED_VARIANTS:
        lines += [
            "",
            f"| {VARIANT_NAMES[variant]}: true style | predicted style | clips | of |",
            "| --- | --- | ---: | ---: |",
        ]
        for true_style, predicted_style, clips, style_total in _top_confusions(result, variant):
            lines.append(f"| {true_style} | {predicted_style} | {clips} | {style_total} |")
    return lines


def render_markdown(result: StudyResult, settings: StudySettings, command: str, machine: str, seconds: float) -> str:
    """Return the study's Markdown page: variants, accuracy by held-out content, confusions and a reading."""
    sections = [
        ["# Emotion recognition study"],
        _introduction(result, settings, command, machine, seconds),
        ["## Variants"],
        _variant_definitions(result, settings),
        _variant_table(result, settings),
        ["## Accuracy by held-out content"],
        _content_section(result),
        ["## Most common confusions"],
        _confusion_section(result),
        ["## Reading"],
        [_reading(result)],
    ]
    return "\n\n".join("\n".join(section) for section in sections) + "\n"


def _describe_machine() -> str:
    threads = torch.get_num_threads()
    return (
        f"{os.cpu_count()}-core {platform.machine()}, Python {platform.python_version()}, torch {torch.__version__} "
        f"with {threads} CPU {_plural(threads, 'thread')}, scikit-learn {sklearn.__version__}, "
        f"one-minute load average {os.getloadavg()[0]:.1f} at the end of the run"
    )


def _parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASET_ROOT, help="folder with bandai-namco-1 and -2")
    parser.add_argument(
        "--features", type=Path, default=REPOSITORY_ROOT / "training" / "artifacts" / "features",
        help="feature cache folder",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="Markdown file to write")
    parser.add_argument(
        "--network-seeds", type=int, nargs="+", default=list(StudySettings.network_seeds),
        help="seeds of the content-emotion networks, one network per fold and seed",
    )
    parser.add_argument(
        "--forest-seeds", type=int, nargs="+", default=list(StudySettings.forest_seeds),
        help="random_state of the classifiers, each run with every network seed",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads for training the networks")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = _parse_arguments(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    torch.set_num_threads(arguments.threads)
    started = time.monotonic()

    features = compute_features(index_clips(arguments.datasets), cache_dir=arguments.features, progress=True)
    settings = StudySettings(network_seeds=tuple(arguments.network_seeds), forest_seeds=tuple(arguments.forest_seeds))
    result = run_study(features, settings, progress=True)
    seconds = time.monotonic() - started

    command_arguments = sys.argv[1:] if argv is None else argv
    command = shlex.join([".venv/bin/python", "-m", "training.recognition_study", *command_arguments])
    page = render_markdown(result, settings, command, _describe_machine(), seconds)
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(page, encoding="utf-8")
    for variant in VARIANTS:
        accuracy = result.accuracy(variant)
        logger.info("%s: mean %.3f, min %.3f, max %.3f", variant, accuracy.mean(), accuracy.min(), accuracy.max())
    logger.info("Wrote %s in %.0f s", arguments.output, seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
