"""Leave-one-content-out evaluation of every design, baseline and analysis model.

Each fold holds out one content of the first dataset (both takes of ``walk``), and the
second dataset's clips of a content with the same name. A fold fits the standardiser,
the networks and the scikit-learn models on the training side only, then measures on
the held-out clips:

- target features: from the held-out normal clip and a style's PAD, predict the
  features of the held-out clip in that style (mean absolute error in standard units);
- round trip: PAD -> predicted target features -> PAD regressor, per PAD axis;
- recognition: top-1 accuracy over the eight emotional styles;
- reconstruction: VAE error per feature against predicting the training mean.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from sklearn.ensemble import GradientBoostingRegressor

from models.emotions import EMOTIONAL_STYLES, emotion_pad
from training import analysis, networks
from training.data import FeatureSet, Standardizer, content_folds, pad_matrix

__all__ = [
    "ExperimentOptions",
    "FoldResult",
    "run_cv",
    "summarize",
    "fit_vae_pad_regressors",
    "classifier_training_set",
    "seed_options",
    "seed_metrics",
    "spread",
]

logger = logging.getLogger(__name__)

TARGET_DESIGNS = ("mean-style-delta", "vae-gbr", "content-emotion", "delta-mlp", "average")
"""Ways to predict target features: two baselines, the two PAD-conditioned networks and their average."""


@dataclass
class ExperimentOptions:
    """Training clip sets and the models to evaluate."""

    nonemotional_styles: bool = False
    """Train the autoencoders on the first dataset's seven non-emotional styles as unlabelled clips."""
    dataset2: str = "none"
    """Second-dataset clips in the networks: ``none``, ``unlabelled`` or ``pairs`` (PAD-labelled pairs)."""
    analysis_dataset2: bool = False
    """Train the PAD regressors on the second dataset's labelled clips as well."""
    analysis_residual: bool = True
    """Also evaluate analysis models whose input adds the residual from the content-emotion network's neutral estimate."""
    classifier_decoded_weight: float = 0.3
    """Sample weight of the rows decoded from normal-only contents (``analysis.decoded_examples``) in the
    style classifiers' training set; 0 leaves them out."""
    analysis_windows: bool = False
    """Train the PAD regressors and classifiers on the clips' window features as well as the clip features."""
    regressors: tuple[str, ...] = tuple(analysis.REGRESSORS)
    classifiers: tuple[str, ...] = tuple(analysis.CLASSIFIERS)
    designs: tuple[str, ...] = TARGET_DESIGNS
    settings: networks.TrainSettings = field(default_factory=networks.TrainSettings)


@dataclass
class FoldResult:
    """Predictions of one fold for its held-out clips."""

    content: str
    target_styles: list[str]
    """Style of each held-out target row."""
    target_true: np.ndarray
    """``(targets, features)`` standardised features of the held-out styled clips."""
    target_predicted: dict[str, np.ndarray]
    """Design name to ``(targets, features)`` predictions."""
    round_trip: dict[str, dict[str, np.ndarray]]
    """Regressor name to design name to ``(targets, 3)`` PAD read back from predicted targets."""
    test_styles: list[str]
    """Style of each held-out emotional clip."""
    test_pad: np.ndarray
    pad_estimates: dict[str, np.ndarray]
    """Regressor name to ``(clips, 3)`` PAD estimated from the held-out clips."""
    class_probabilities: dict[str, np.ndarray]
    """Classifier name to ``(clips, 8)`` probabilities over ``EMOTIONAL_STYLES``."""
    vae_reconstruction: np.ndarray
    """``(clips, features)`` VAE reconstruction of the held-out emotional clips."""
    test_features: np.ndarray
    """``(clips, features)`` standardised held-out emotional clips."""
    vae_latent: np.ndarray
    """``(clips, latent)`` VAE latent means of the held-out emotional clips."""
    emotion_code: np.ndarray
    """``(clips, 3)`` the content-emotion network's encoded PAD of the held-out clips."""


def _network_training_set(features: FeatureSet, scaler: Standardizer, options: ExperimentOptions) -> networks.TrainingSet:
    keep = []
    for index, clip in enumerate(features.clips):
        if clip.dataset == 1 and (clip.emotional or options.nonemotional_styles):
            keep.append(index)
        elif clip.dataset == 2 and options.dataset2 != "none":
            keep.append(index)
    subset = features.subset(keep)
    pad = pad_matrix(subset.clips)
    if options.dataset2 == "unlabelled":
        pad[[clip.dataset == 2 for clip in subset.clips]] = np.nan
    return networks.TrainingSet(
        features=scaler.transform(subset.clip_features),
        pad=pad,
        groups=np.array([clip.group for clip in subset.clips]),
    )


def with_windows(features: FeatureSet, scaler: Standardizer) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Return standardised clip and window features with each row's PAD and style."""
    rows, pads, styles = [scaler.transform(features.clip_features)], [pad_matrix(features.clips)], [c.style for c in features.clips]
    for clip, windows in zip(features.clips, features.window_features):
        rows.append(scaler.transform(windows))
        pads.append(np.tile(clip.pad, (len(windows), 1)))
        styles.extend([clip.style] * len(windows))
    return np.concatenate(rows), np.concatenate(pads), styles


def fit_vae_pad_regressors(
    vae: networks.VAE, features: np.ndarray, pad: np.ndarray, seed: int
) -> list[GradientBoostingRegressor]:
    """Fit the original design's PAD -> latent regressors, one per latent variable."""
    with torch.no_grad():
        latent, _ = vae.encode(torch.as_tensor(features, dtype=torch.float32))
    latent = latent.numpy().astype(np.float64)
    regressors = []
    for dimension in range(latent.shape[1]):
        regressor = GradientBoostingRegressor(n_estimators=100, max_depth=2, learning_rate=0.05, random_state=seed)
        regressor.fit(pad, latent[:, dimension])
        regressors.append(regressor)
    return regressors


def vae_decode_pad(vae: networks.VAE, regressors: list[GradientBoostingRegressor], pad: np.ndarray) -> np.ndarray:
    """Decode features for ``(n, 3)`` PAD through the regressed latent."""
    latent = np.stack([regressor.predict(pad) for regressor in regressors], axis=1)
    with torch.no_grad():
        return vae.decode(torch.as_tensor(latent, dtype=torch.float32)).numpy().astype(np.float64)


def _mean_style_deltas(features: np.ndarray, styles: Sequence[str], groups: Sequence[str]) -> dict[str, np.ndarray]:
    deltas: dict[str, list[np.ndarray]] = {style: [] for style in EMOTIONAL_STYLES}
    by_key = {(group, style): row for row, style, group in zip(features, styles, groups)}
    for (group, style), row in by_key.items():
        normal = by_key.get((group, "normal"))
        if normal is not None and style in deltas:
            deltas[style].append(row - normal)
    return {style: np.mean(rows, axis=0) for style, rows in deltas.items() if rows}


def classifier_training_set(
    rows: np.ndarray, labels: np.ndarray, decoded: tuple[np.ndarray, np.ndarray] | None, weight: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the style classifiers' rows, labels and sample weights: real clips weigh 1, decoded rows ``weight``."""
    if decoded is None or len(decoded[0]) == 0:
        return rows, labels, np.ones(len(rows))
    decoded_rows, decoded_labels = decoded
    weights = np.concatenate([np.ones(len(rows)), np.full(len(decoded_rows), weight)])
    return np.concatenate([rows, decoded_rows]), np.concatenate([labels, decoded_labels]), weights


def run_fold(features: FeatureSet, content: str, train: np.ndarray, test: np.ndarray, options: ExperimentOptions) -> FoldResult:
    """Fit every model on ``train`` and measure on the emotional clips of ``test``."""
    settings = options.settings
    train_set = features.subset(train)
    test_set = features.subset(test).where(lambda clip: clip.emotional)

    emotional_train = train_set.where(lambda clip: clip.dataset == 1 and clip.emotional)
    scaler = Standardizer.fit(emotional_train.clip_features)
    train_x = scaler.transform(emotional_train.clip_features)
    train_pad = pad_matrix(emotional_train.clips)
    train_styles = [clip.style for clip in emotional_train.clips]
    test_x = scaler.transform(test_set.clip_features)
    test_pad = pad_matrix(test_set.clips)
    test_styles = [clip.style for clip in test_set.clips]

    # Target pairs: the held-out normal clip of each take to each styled clip of that take.
    by_key = {(clip.group, clip.style): row for row, clip in enumerate(test_set.clips)}
    sources, targets, target_styles = [], [], []
    for (group, style), row in by_key.items():
        if style != "normal" and (group, "normal") in by_key:
            sources.append(by_key[(group, "normal")])
            targets.append(row)
            target_styles.append(style)
    source_x = test_x[sources]
    target_x = test_x[targets]
    target_pad = np.array([emotion_pad(style) for style in target_styles])

    network_set = _network_training_set(train_set, scaler, options)
    vae_features = network_set.features
    vae = networks.train_vae(vae_features, settings)
    with torch.no_grad():
        vae_reconstruction, vae_latent, _ = vae(torch.as_tensor(test_x, dtype=torch.float32))

    predicted: dict[str, np.ndarray] = {}
    deltas = _mean_style_deltas(train_x, train_styles, [clip.group for clip in emotional_train.clips])
    predicted["mean-style-delta"] = source_x + np.stack([deltas[style] for style in target_styles])
    if "vae-gbr" in options.designs:
        regressors = fit_vae_pad_regressors(vae, train_x, train_pad, settings.seed)
        predicted["vae-gbr"] = vae_decode_pad(vae, regressors, target_pad)
    content_model = None
    if "content-emotion" in options.designs or options.analysis_residual:
        content_model = networks.train_content_emotion(network_set, settings)
    if "content-emotion" in options.designs and content_model is not None:
        predicted["content-emotion"] = networks.predict(content_model, source_x, target_pad)
    if "delta-mlp" in options.designs:
        delta_model = networks.train_delta(network_set, settings)
        predicted["delta-mlp"] = networks.predict(delta_model, source_x, target_pad)
    if "average" in options.designs and "content-emotion" in predicted and "delta-mlp" in predicted:
        predicted["average"] = (predicted["content-emotion"] + predicted["delta-mlp"]) / 2

    if content_model is not None:
        with torch.no_grad():
            emotion_code = content_model.emotion(torch.as_tensor(test_x, dtype=torch.float32)).numpy()
    else:
        emotion_code = np.full((len(test_x), 3), np.nan)

    analysis_x, analysis_pad, analysis_styles = train_x, train_pad, train_styles
    if options.analysis_windows:
        analysis_x, analysis_pad, analysis_styles = with_windows(emotional_train, scaler)
    regressor_x, regressor_pad = analysis_x, analysis_pad
    if options.analysis_dataset2:
        extra = train_set.where(lambda clip: clip.dataset == 2 and clip.emotional)
        regressor_x = np.concatenate([analysis_x, scaler.transform(extra.clip_features)])
        regressor_pad = np.concatenate([analysis_pad, pad_matrix(extra.clips)])
    input_kinds = {"": lambda values: values}
    if options.analysis_residual and content_model is not None:
        input_kinds[analysis.RESIDUAL_SUFFIX] = lambda values: analysis.with_residual(values, content_model)

    decoded = None
    if content_model is not None and options.classifier_decoded_weight > 0 and options.classifiers:
        decoded = analysis.decoded_examples(
            train_x, train_styles, [clip.content for clip in emotional_train.clips], content_model
        )

    pad_estimates: dict[str, np.ndarray] = {}
    round_trip: dict[str, dict[str, np.ndarray]] = {}
    labels = np.array([EMOTIONAL_STYLES.index(style) for style in analysis_styles])
    class_probabilities: dict[str, np.ndarray] = {}
    classifier_x, classifier_labels, weights = classifier_training_set(
        analysis_x, labels, decoded, options.classifier_decoded_weight
    )
    for suffix, transform in input_kinds.items():
        for name in options.regressors:
            regressor = analysis.make_regressor(name, settings.seed).fit(transform(regressor_x), regressor_pad)
            key = name + suffix
            pad_estimates[key] = analysis.predict_pad(regressor, transform(test_x))
            round_trip[key] = {
                design: analysis.predict_pad(regressor, transform(values)) for design, values in predicted.items()
            }
            round_trip[key]["true-target"] = analysis.predict_pad(regressor, transform(target_x))

        classifier_inputs, test_inputs = transform(classifier_x), transform(test_x)
        for name in options.classifiers:
            classifier = analysis.make_classifier(name, settings.seed)
            classifier.fit(classifier_inputs, classifier_labels, sample_weight=weights)
            probabilities = np.zeros((len(test_x), len(EMOTIONAL_STYLES)))
            probabilities[:, classifier.classes_] = classifier.predict_proba(test_inputs)
            class_probabilities[name + suffix] = probabilities

    return FoldResult(
        content=content,
        target_styles=target_styles,
        target_true=target_x,
        target_predicted=predicted,
        round_trip=round_trip,
        test_styles=test_styles,
        test_pad=test_pad,
        pad_estimates=pad_estimates,
        class_probabilities=class_probabilities,
        vae_reconstruction=vae_reconstruction.numpy().astype(np.float64),
        test_features=test_x,
        vae_latent=vae_latent.numpy().astype(np.float64),
        emotion_code=emotion_code,
    )


def run_cv(features: FeatureSet, options: ExperimentOptions, progress: bool = False) -> list[FoldResult]:
    """Run every leave-one-content-out fold and return the per-fold results."""
    folds = content_folds(features.clips)
    iterator = folds
    if progress:
        from tqdm import tqdm

        iterator = tqdm(folds, desc="cross-validation", unit="fold")
    results = []
    for content, train, test in iterator:
        results.append(run_fold(features, content, train, test, options))
        logger.debug("Fold %s done", content)
    return results


def _pad_nearest(pad: np.ndarray) -> np.ndarray:
    centres = np.array([emotion_pad(style) for style in EMOTIONAL_STYLES])
    distances = np.linalg.norm(pad[:, None, :] - centres[None], axis=-1)
    return distances.argmin(axis=1)


def summarize(results: list[FoldResult]) -> dict:
    """Pool the folds into the metrics the report and the manifest show."""
    target_styles = [style for result in results for style in result.target_styles]
    target_true = np.concatenate([result.target_true for result in results])
    designs = list(results[0].target_predicted)
    target_error = {}
    per_style_error = {}
    for design in designs:
        predicted = np.concatenate([result.target_predicted[design] for result in results])
        absolute = np.abs(predicted - target_true)
        target_error[design] = float(absolute.mean())
        per_style_error[design] = {
            style: float(absolute[[s == style for s in target_styles]].mean()) for style in sorted(set(target_styles))
        }

    target_pad = np.array([emotion_pad(style) for style in target_styles])
    round_trip = {}
    for regressor in results[0].round_trip:
        round_trip[regressor] = {}
        for design in results[0].round_trip[regressor]:
            estimates = np.concatenate([result.round_trip[regressor][design] for result in results])
            round_trip[regressor][design] = np.abs(estimates - target_pad).mean(axis=0).tolist()

    test_pad = np.concatenate([result.test_pad for result in results])
    labels = np.array([EMOTIONAL_STYLES.index(style) for result in results for style in result.test_styles])
    pad_error = {}
    recognition = {}
    for regressor in results[0].pad_estimates:
        estimates = np.concatenate([result.pad_estimates[regressor] for result in results])
        pad_error[regressor] = np.abs(estimates - test_pad).mean(axis=0).tolist()
        recognition[f"nearest-pad/{regressor}"] = float((_pad_nearest(estimates) == labels).mean())
    codes = np.concatenate([result.emotion_code for result in results])
    if np.isfinite(codes).all():
        pad_error["content-emotion encoder"] = np.abs(codes - test_pad).mean(axis=0).tolist()
        recognition["nearest-pad/content-emotion encoder"] = float((_pad_nearest(codes) == labels).mean())
    confusion = {}
    per_content: dict[str, dict[str, list[int]]] = {}
    contents = [result.content for result in results for _ in result.test_styles]
    for classifier in results[0].class_probabilities:
        probabilities = np.concatenate([result.class_probabilities[classifier] for result in results])
        prediction = probabilities.argmax(axis=1)
        recognition[classifier] = float((prediction == labels).mean())
        correct = prediction == labels
        per_content[classifier] = {
            result.content: [int(correct[[c == result.content for c in contents]].sum()), len(result.test_styles)]
            for result in results
        }
        matrix = np.zeros((len(EMOTIONAL_STYLES), len(EMOTIONAL_STYLES)), dtype=np.int64)
        np.add.at(matrix, (labels, prediction), 1)
        confusion[classifier] = matrix.tolist()

    test_features = np.concatenate([result.test_features for result in results])
    reconstruction = np.concatenate([result.vae_reconstruction for result in results])
    return {
        "target_error": target_error,
        "target_error_per_style": per_style_error,
        "round_trip": round_trip,
        "pad_error": pad_error,
        "recognition": recognition,
        "confusion": confusion,
        "recognition_per_content": per_content,
        "vae_reconstruction_per_feature": np.abs(reconstruction - test_features).mean(axis=0).tolist(),
        "mean_baseline_per_feature": np.abs(test_features).mean(axis=0).tolist(),
        "vae_reconstruction": float(np.abs(reconstruction - test_features).mean()),
        "mean_baseline": float(np.abs(test_features).mean()),
        "test_clips": int(len(labels)),
        "target_pairs": int(len(target_styles)),
    }


def with_options(options: ExperimentOptions, **changes: object) -> ExperimentOptions:
    """Return a copy of ``options`` with fields replaced."""
    return replace(options, **changes)


def headline_metrics(summary: dict, choice: dict[str, str]) -> dict:
    """Return the held-out numbers of the shipped models, with their baselines, for the manifest."""
    design, regressor, classifier = choice["design"], choice["regressor"], choice["classifier"]
    baseline = summary["target_error"]["mean-style-delta"]
    return {
        "evaluation": "leave-one-content-out over the 8 contents of bandai-namco-1 recorded in every style",
        "target_features_mae": summary["target_error"][design],
        "target_features_mae_mean_style_delta": baseline,
        "target_features_mae_vae_gbr": summary["target_error"].get("vae-gbr"),
        "target_features_reduction_vs_mean_style_delta": 1.0 - summary["target_error"][design] / baseline,
        "round_trip_pad_mae": summary["round_trip"][regressor][design],
        "round_trip_pad_mae_vae_gbr": summary["round_trip"][regressor].get("vae-gbr"),
        "pad_mae": summary["pad_error"][regressor],
        "recognition_top1": summary["recognition"][classifier],
        "recognition_classes": list(EMOTIONAL_STYLES),
        "confusion": summary["confusion"][classifier],
        "vae_reconstruction_mae": summary["vae_reconstruction"],
        "mean_baseline_mae": summary["mean_baseline"],
        "units": "feature errors in standard deviations of the training clips; PAD errors in PAD units",
    }


def seed_options(options: ExperimentOptions, choice: dict[str, str], seed: int) -> ExperimentOptions:
    """Return options that train every network and model with ``seed`` and evaluate only the chosen models.

    The design list keeps what the chosen design needs, so ``average`` keeps both
    networks, and drops the VAE baseline regressors. The analysis models keep their
    absolute and residual inputs.
    """
    design = choice["design"]
    designs = ("content-emotion", "delta-mlp", "average") if design == "average" else (design,)
    settings = replace(options.settings, seed=seed)
    return replace(
        options,
        designs=designs,
        regressors=(analysis.split_name(choice["regressor"])[0],),
        classifiers=(analysis.split_name(choice["classifier"])[0],),
        settings=settings,
    )


def seed_metrics(summary: dict, choice: dict[str, str]) -> dict[str, float | list[float]]:
    """Return the chosen models' headline numbers from one cross-validation summary."""
    design, regressor, classifier = choice["design"], choice["regressor"], choice["classifier"]
    baseline = summary["target_error"]["mean-style-delta"]
    return {
        "round_trip_pad_mae": summary["round_trip"][regressor][design],
        "recognition_top1": summary["recognition"][classifier],
        "target_features_mae": summary["target_error"][design],
        "target_features_reduction_vs_mean_style_delta": 1.0 - summary["target_error"][design] / baseline,
        "pad_mae": summary["pad_error"][regressor],
    }


def spread(per_seed: dict[int, dict[str, float | list[float]]]) -> dict[str, dict[str, list[float]]]:
    """Return mean, minimum and maximum over seeds of each metric (per PAD axis for PAD metrics)."""
    result = {}
    for name in next(iter(per_seed.values())):
        values = np.array([np.atleast_1d(metrics[name]) for metrics in per_seed.values()], dtype=np.float64)
        result[name] = {
            "mean": values.mean(axis=0).tolist(),
            "min": values.min(axis=0).tolist(),
            "max": values.max(axis=0).tolist(),
        }
    return result
