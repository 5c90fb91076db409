"""Rebuild the bundled emotion models from the Bandai Namco datasets.

Run from the repository root (``make train`` does)::

    python -m training.train

Steps, top to bottom:

1. Index the clips and extract their features (cached).
2. Cross-validate every design leaving one content out, then the unlabelled-data variants.
3. Choose the best target design, PAD regressor and style classifier, cross-validate
   them again with other seeds to measure how much the numbers move, and refit them on
   all clips.
4. Export the ONNX files and ``models/manifest.json``, and write ``docs/model_report.md`` with figures.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import torch

from models.emotions import EMOTIONAL_STYLES, EMOTIONS
from training import analysis, evaluate, export, networks
from training.data import (
    DEFAULT_DATASET_ROOT,
    REPOSITORY_ROOT,
    FeatureSet,
    Standardizer,
    compute_features,
    index_clips,
    pad_matrix,
)

logger = logging.getLogger("training.train")

LICENCE = (
    "Bandai-Namco-Research-Motiondataset, CC BY-NC 4.0, (c) Bandai Namco Research Inc.; "
    "models trained on it may be used only non-commercially, with attribution"
)
MODEL_FILES = ("manifest.json", "target_features.onnx", "neutral_features.onnx", "pad_regressor.onnx", "style_classifier.onnx")
"""Files that training writes into the models folder; stale ones are removed before each export."""
SHIPPED_DESIGNS = ("content-emotion", "delta-mlp", "average")
"""Target designs that take the edited motion into account; the best of them ships."""


def _parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASET_ROOT, help="folder with bandai-namco-1 and -2")
    parser.add_argument("--output", type=Path, default=REPOSITORY_ROOT / "models", help="folder for the ONNX files and manifest")
    parser.add_argument("--artifacts", type=Path, default=REPOSITORY_ROOT / "training" / "artifacts")
    parser.add_argument("--report", type=Path, default=REPOSITORY_ROOT / "docs" / "model_report.md")
    parser.add_argument("--epochs", type=int, default=networks.TrainSettings.epochs, help="optimisation steps per network")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads; 1 avoids thread contention on a shared 2-core machine"
    )
    parser.add_argument(
        "--seeds", type=int, default=5,
        help="cross-validate the chosen models with this many seeds (the first is --seed) to report their spread",
    )
    parser.add_argument("--jobs", type=int, default=2, help="processes for the extra seeds")
    parser.add_argument("--skip-evaluation", action="store_true", help="skip cross-validation and use the default designs")
    parser.add_argument("--no-report", action="store_true", help="do not write the report and figures")
    return parser.parse_args(argv)


def choose_models(summary: dict[str, Any]) -> dict[str, str]:
    """Pick the shipped target design, PAD regressor and classifier from the cross-validation summary."""
    design = min(SHIPPED_DESIGNS, key=lambda name: summary["target_error"][name])
    regressors = [name for name in summary["pad_error"] if analysis.split_name(name)[0] in analysis.REGRESSORS]
    regressor = min(regressors, key=lambda name: float(np.mean(summary["pad_error"][name])))
    classifiers = [name for name in summary["recognition"] if not name.startswith("nearest-pad/")]
    classifier = max(classifiers, key=lambda name: summary["recognition"][name])
    return {"design": design, "regressor": regressor, "classifier": classifier}


UNLABELLED_VARIANTS = {
    "+ bandai-namco-1 non-emotional styles (unlabelled)": {"nonemotional_styles": True, "dataset2": "none"},
    "+ bandai-namco-2 (unlabelled)": {"nonemotional_styles": False, "dataset2": "unlabelled"},
    "+ both (unlabelled)": {"nonemotional_styles": True, "dataset2": "unlabelled"},
    "+ both, bandai-namco-2 as PAD-labelled pairs": {"nonemotional_styles": True, "dataset2": "pairs"},
}
"""Extra clip sets for the networks, compared with the shipped set (bandai-namco-1 emotional styles only)."""


def unlabelled_experiment(
    features: FeatureSet, options: evaluate.ExperimentOptions, main_summary: dict[str, Any]
) -> dict[str, dict[str, float]]:
    """Cross-validate the VAE and the content-emotion network on each clip set of ``UNLABELLED_VARIANTS``."""
    table = {
        "bandai-namco-1 emotional styles only (shipped)": {
            "vae_reconstruction": main_summary["vae_reconstruction"],
            "target_error": main_summary["target_error"]["content-emotion"],
        }
    }
    for label, changes in UNLABELLED_VARIANTS.items():
        variant = evaluate.with_options(
            options, designs=("content-emotion",), regressors=(), classifiers=(), **changes
        )
        summary = evaluate.summarize(evaluate.run_cv(features, variant, progress=True))
        table[label] = {
            "vae_reconstruction": summary["vae_reconstruction"],
            "target_error": summary["target_error"]["content-emotion"],
        }
        logger.info("Unlabelled-data variant %r: %s", label, table[label])
    return table


def _ignore_known_warnings() -> None:
    # scikit-learn 1.9 deprecates SVC(probability=True); the candidate still works until 1.11.
    warnings.filterwarnings("ignore", message="The `probability` parameter was deprecated", category=FutureWarning)


def _seed_worker_init() -> None:
    torch.set_num_threads(1)
    _ignore_known_warnings()


def _seed_run(features: FeatureSet, options: evaluate.ExperimentOptions, choice: dict[str, str], seed: int) -> dict[str, Any]:
    variant = evaluate.seed_options(options, choice, seed)
    return evaluate.seed_metrics(evaluate.summarize(evaluate.run_cv(features, variant)), choice)


def seed_experiment(
    features: FeatureSet, options: evaluate.ExperimentOptions, choice: dict[str, str], main_summary: dict[str, Any],
    seeds: int, jobs: int,
) -> dict[str, Any]:
    """Cross-validate the chosen models with ``seeds - 1`` more seeds and return the per-seed numbers and their spread.

    The seed sets the networks' initialisation and batches and the scikit-learn
    models' randomness, so the spread shows how much of a difference between two
    candidates, or between a number and its target, is luck.
    """
    first = options.settings.seed
    per_seed = {first: evaluate.seed_metrics(main_summary, choice)}
    extra = list(range(first + 1, first + max(seeds, 1)))
    if extra:
        from tqdm import tqdm

        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=max(jobs, 1), mp_context=context, initializer=_seed_worker_init) as pool:
            futures = {seed: pool.submit(_seed_run, features, options, choice, seed) for seed in extra}
            for seed in tqdm(extra, desc="seeds", unit="seed"):
                per_seed[seed] = futures[seed].result()
    for seed, metrics in per_seed.items():
        logger.info("Seed %d: %s", seed, json.dumps(metrics, default=float))
    return {"per_seed": {str(seed): metrics for seed, metrics in per_seed.items()}, "spread": evaluate.spread(per_seed)}


def fit_final(features: FeatureSet, choice: dict[str, str], options: evaluate.ExperimentOptions) -> dict[str, Any]:
    """Fit the chosen models on every clip."""
    settings = options.settings
    emotional = features.where(lambda clip: clip.dataset == 1 and clip.emotional)
    scaler = Standardizer.fit(emotional.clip_features)
    network_set = evaluate._network_training_set(features, scaler, options)
    content_model = networks.train_content_emotion(network_set, settings)
    if choice["design"] == "content-emotion":
        target_model = content_model
    elif choice["design"] == "delta-mlp":
        target_model = networks.train_delta(network_set, settings)
    else:
        target_model = networks.AverageTarget([content_model, networks.train_delta(network_set, settings)])

    x = scaler.transform(emotional.clip_features)
    pad = pad_matrix(emotional.clips)
    regressor_x, regressor_pad = x, pad
    if options.analysis_dataset2:
        extra = features.where(lambda clip: clip.dataset == 2 and clip.emotional)
        regressor_x = np.concatenate([x, scaler.transform(extra.clip_features)])
        regressor_pad = np.concatenate([pad, pad_matrix(extra.clips)])
    regressor_name, regressor_residual = analysis.split_name(choice["regressor"])
    if regressor_residual:
        regressor_x = analysis.with_residual(regressor_x, content_model)
    regressor = analysis.make_regressor(regressor_name, settings.seed).fit(regressor_x, regressor_pad)
    labels = np.array([EMOTIONAL_STYLES.index(clip.style) for clip in emotional.clips])
    classifier_name, classifier_residual = analysis.split_name(choice["classifier"])
    decoded = None
    if options.classifier_decoded_weight > 0:
        styles = [clip.style for clip in emotional.clips]
        decoded = analysis.decoded_examples(x, styles, [clip.content for clip in emotional.clips], content_model)
    classifier_x, classifier_labels, weights = evaluate.classifier_training_set(
        x, labels, decoded, options.classifier_decoded_weight
    )
    if classifier_residual:
        classifier_x = analysis.with_residual(classifier_x, content_model)
    classifier = analysis.make_classifier(classifier_name, settings.seed)
    classifier.fit(classifier_x, classifier_labels, sample_weight=weights)
    return {
        "scaler": scaler,
        "target": target_model,
        "neutral": content_model,
        "regressor": regressor,
        "classifier": classifier,
    }


def export_models(
    fitted: dict[str, Any], features: FeatureSet, choice: dict[str, str], options: evaluate.ExperimentOptions,
    metrics: dict[str, Any], output: Path,
) -> Path:
    """Write the ONNX files and the manifest into ``output``."""
    output.mkdir(parents=True, exist_ok=True)
    for name in MODEL_FILES:
        (output / name).unlink(missing_ok=True)
    count = len(features.names)
    target_entry = export.export_target_network(fitted["target"], count, output / "target_features.onnx")
    target_entry["design"] = choice["design"]
    entries = {"target": target_entry}
    residual_roles = [role for role in ("regressor", "classifier") if analysis.split_name(choice[role])[1]]
    if residual_roles:
        entries["neutral"] = export.export_target_network(fitted["neutral"], count, output / "neutral_features.onnx")
        entries["neutral"]["design"] = "content-emotion at PAD (0, 0, 0)"
    regressor_inputs = 2 * count if "regressor" in residual_roles else count
    entries["pad"] = export.export_regressor(fitted["regressor"], regressor_inputs, output / "pad_regressor.onnx")
    entries["pad"]["design"] = choice["regressor"]
    entries["pad"]["input_kind"] = "features+residual" if "regressor" in residual_roles else "features"
    class_names = [EMOTIONAL_STYLES[int(label)] for label in fitted["classifier"].classes_]
    classifier_inputs = 2 * count if "classifier" in residual_roles else count
    entries["style"] = export.export_classifier(
        fitted["classifier"], classifier_inputs, output / "style_classifier.onnx", class_names
    )
    entries["style"]["design"] = choice["classifier"]
    entries["style"]["input_kind"] = "features+residual" if "classifier" in residual_roles else "features"
    clips = features.clips
    manifest = {
        "feature_extractor_version": features.version,
        "feature_names": list(features.names),
        "scaler": {"mean": fitted["scaler"].mean, "scale": fitted["scaler"].scale},
        "models": entries,
        "latent": {
            "content_size": options.settings.content_size if choice["design"] != "delta-mlp" else 0,
            "emotion_size": 3,
            "baseline_vae_latent_size": options.settings.latent_size,
        },
        "pad_table": {
            name: {"pad": list(emotion.pad), "source": emotion.source, "estimated": emotion.estimated}
            for name, emotion in EMOTIONS.items()
        },
        "metrics": metrics,
        "training": {
            "datasets": sorted({f"bandai-namco-{clip.dataset}" for clip in clips}),
            "clips": len(clips),
            "emotional_clips_dataset_1": sum(1 for clip in clips if clip.dataset == 1 and clip.emotional),
            "options": {key: value for key, value in asdict(options).items() if key != "settings"},
            "settings": asdict(options.settings),
            "torch": torch.__version__,
        },
        "licence": LICENCE,
    }
    return export.write_manifest(output, manifest)


def main(argv: list[str] | None = None) -> int:
    arguments = _parse_arguments(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    _ignore_known_warnings()
    torch.set_num_threads(arguments.threads)
    started = time.monotonic()

    clips = index_clips(arguments.datasets)
    features = compute_features(clips, cache_dir=arguments.artifacts / "features", progress=True)
    settings = networks.TrainSettings(epochs=arguments.epochs, seed=arguments.seed)
    options = evaluate.ExperimentOptions(settings=settings)

    metrics: dict[str, Any] = {}
    experiments: dict[str, Any] = {}
    results: list[evaluate.FoldResult] = []
    choice = {"design": "content-emotion", "regressor": "svr", "classifier": "logistic"}
    if not arguments.skip_evaluation:
        results = evaluate.run_cv(features, options, progress=True)
        summary = evaluate.summarize(results)
        choice = choose_models(summary)
        metrics = evaluate.headline_metrics(summary, choice)
        experiments = {"main": summary, "unlabelled": unlabelled_experiment(features, options, summary)}
        experiments["seeds"] = seed_experiment(features, options, choice, summary, arguments.seeds, arguments.jobs)
        metrics["seed_spread"] = experiments["seeds"]["spread"]
        metrics["seeds"] = sorted(int(seed) for seed in experiments["seeds"]["per_seed"])
        logger.info("Chosen models: %s", choice)
        logger.info("Held-out metrics: %s", json.dumps(metrics, default=float))

    fitted = fit_final(features, choice, options)
    arguments.artifacts.mkdir(parents=True, exist_ok=True)
    joblib.dump(
        {"regressor": fitted["regressor"], "classifier": fitted["classifier"], "scaler": fitted["scaler"], "choice": choice},
        arguments.artifacts / "analysis_models.joblib",
    )
    torch.save(fitted["target"].state_dict(), arguments.artifacts / "target_network.pt")
    manifest_path = export_models(fitted, features, choice, options, metrics, arguments.output)
    logger.info("Wrote %s", manifest_path)

    if experiments and not arguments.no_report:
        from training import report

        report.write_report(
            arguments.report, features, options, results, experiments, choice, metrics, arguments.output,
            training_seconds=time.monotonic() - started,
        )
    logger.info("Training finished in %.0f s", time.monotonic() - started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
