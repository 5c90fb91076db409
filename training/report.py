"""Write ``docs/model_report.md`` and its figures from the cross-validation results."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.emotions import EMOTIONAL_STYLES, emotion_pad
from training import networks
from training.data import FeatureSet, Standardizer
from training.evaluate import ExperimentOptions, FoldResult

__all__ = ["write_report"]

logger = logging.getLogger(__name__)

STYLE_COLOURS = {
    "normal": "#7f7f7f",
    "happy": "#ffbf00",
    "sad": "#1f77b4",
    "angry": "#d62728",
    "proud": "#9467bd",
    "not-confident": "#8c564b",
    "tired": "#17becf",
    "active": "#2ca02c",
}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot

    return pyplot


def _scatter(axis, points: np.ndarray, styles: list[str], title: str, labels: tuple[str, str]) -> None:
    for style in EMOTIONAL_STYLES:
        mask = np.array([s == style for s in styles])
        if mask.any():
            axis.scatter(points[mask, 0], points[mask, 1], s=22, color=STYLE_COLOURS[style], label=style, alpha=0.85)
    axis.set_title(title, fontsize=9)
    axis.set_xlabel(labels[0])
    axis.set_ylabel(labels[1])


def plot_latents(path: Path, features: FeatureSet, options: ExperimentOptions, results: list[FoldResult]) -> None:
    """Plot the baseline VAE latent and the content-emotion network's emotion code, coloured by style."""
    pyplot = _pyplot()
    emotional = features.where(lambda clip: clip.dataset == 1 and clip.emotional)
    scaler = Standardizer.fit(emotional.clip_features)
    vae = networks.train_vae(scaler.transform(emotional.clip_features), options.settings)
    with torch.no_grad():
        latent, _ = vae.encode(torch.as_tensor(scaler.transform(emotional.clip_features), dtype=torch.float32))
    styles = [clip.style for clip in emotional.clips]
    held_out_styles = [style for result in results for style in result.test_styles]
    codes = np.concatenate([result.emotion_code for result in results])

    figure, axes = pyplot.subplots(1, 3, figsize=(13, 4.2))
    _scatter(axes[0], latent.numpy(), styles, "Baseline VAE latent, bandai-namco-1 emotional clips", ("z1", "z2"))
    _scatter(axes[1], codes[:, :2], held_out_styles, "Content-emotion code, held-out contents", ("pleasure", "arousal"))
    _scatter(axes[2], codes[:, [0, 2]], held_out_styles, "Content-emotion code, held-out contents", ("pleasure", "dominance"))
    for style in EMOTIONAL_STYLES:
        pad = emotion_pad(style)
        axes[1].scatter(pad[0], pad[1], marker="*", s=180, color=STYLE_COLOURS[style], edgecolor="black")
        axes[2].scatter(pad[0], pad[2], marker="*", s=180, color=STYLE_COLOURS[style], edgecolor="black")
    axes[0].legend(fontsize=7, loc="best")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    pyplot.close(figure)


def plot_confusion(path: Path, confusion: list[list[int]], title: str) -> None:
    pyplot = _pyplot()
    matrix = np.array(confusion)
    figure, axis = pyplot.subplots(figsize=(5.5, 5))
    axis.imshow(matrix, cmap="Blues")
    for row in range(matrix.shape[0]):
        for column in range(matrix.shape[1]):
            axis.text(column, row, str(matrix[row, column]), ha="center", va="center", fontsize=8)
    axis.set_xticks(range(len(EMOTIONAL_STYLES)), EMOTIONAL_STYLES, rotation=45, ha="right", fontsize=8)
    axis.set_yticks(range(len(EMOTIONAL_STYLES)), EMOTIONAL_STYLES, fontsize=8)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    axis.set_title(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    pyplot.close(figure)


def plot_reconstruction(path: Path, names: tuple[str, ...], summary: dict) -> None:
    pyplot = _pyplot()
    positions = np.arange(len(names))
    figure, axis = pyplot.subplots(figsize=(11, 4))
    axis.bar(positions - 0.2, summary["mean_baseline_per_feature"], width=0.4, label="mean of training clips")
    axis.bar(positions + 0.2, summary["vae_reconstruction_per_feature"], width=0.4, label="baseline VAE reconstruction")
    axis.set_xticks(positions, names, rotation=60, ha="right", fontsize=7)
    axis.set_ylabel("MAE (standard deviations)")
    axis.set_title("Held-out reconstruction error per feature", fontsize=9)
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    pyplot.close(figure)


def _row(values: list[str]) -> str:
    return "| " + " | ".join(values) + " |"


def _triple(values: list[float] | None) -> str:
    if values is None:
        return "n/a"
    return " / ".join(f"{value:.3f}" for value in values)


def _status(passed: bool) -> str:
    return "met" if passed else "missed"


def _spread_cell(spread: dict[str, Any], name: str, show: Any) -> str:
    if name not in spread:
        return "n/a"
    values = spread[name]
    return f"{show(values['mean'])} ({show(values['min'])} to {show(values['max'])})"


def _judged(spread: dict[str, Any], name: str, shipped: list[float]) -> list[float]:
    """Return the mean over seeds of a metric when measured, else the shipped value."""
    return list(spread[name]["mean"]) if name in spread else list(shipped)


def write_report(
    path: Path,
    features: FeatureSet,
    options: ExperimentOptions,
    results: list[FoldResult],
    experiments: dict[str, Any],
    choice: dict[str, str],
    metrics: dict[str, Any],
    models_dir: Path,
    training_seconds: float | None = None,
) -> None:
    """Write the Markdown report and the PNG figures next to it under ``figures/``."""
    summary = experiments["main"]
    figures = path.parent / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    plot_latents(figures / "latent_space.png", features, options, results)
    plot_confusion(figures / "confusion.png", summary["confusion"][choice["classifier"]], f"Style classifier ({choice['classifier']}), held-out contents")
    plot_reconstruction(figures / "reconstruction.png", features.names, summary)

    design = choice["design"]
    spread = metrics.get("seed_spread", {})
    seeds = metrics.get("seeds") or [options.settings.seed]
    seed_header = f"mean (min to max) over {len(seeds)} seeds"
    seed_note = (
        f"The status column judges the mean over {len(seeds)} seeds ({', '.join(str(seed) for seed in seeds)}): each "
        "seed retrains every network and model of every fold, so the spread is what a number can move by luck. The "
        "shipped files come from the first seed."
    )
    round_trip = metrics["round_trip_pad_mae"]
    reduction = metrics["target_features_reduction_vs_mean_style_delta"]
    lines = [
        "# Emotion models: training report",
        "",
        "Written by `make train` (`python -m training.train`); every number below is measured by that run.",
        f"Feature extractor version {features.version}, {len(features.names)} features, "
        f"{len(features.clips)} clips ({summary['test_clips']} held-out emotional clips, "
        f"{summary['target_pairs']} normal-to-style pairs).",
        "",
        "Evaluation: leave-one-content-out cross-validation over the eight contents of bandai-namco-1 recorded in "
        "every style (walk, run, dash, walk-left, walk-right, bow, bye, byebye). A fold holds out all clips of one "
        "content, including the second dataset's clips with the same content name, and fits the standardiser and "
        "every model on the rest. Feature errors are in standard deviations of the training clips. The shipped files "
        "are refit on every clip after the cross-validation, so the datasets' own clips read better than these "
        "held-out numbers.",
        "",
        "## Shipped models against the targets",
        "",
        seed_note,
        "",
        _row(["measure", "target", "shipped (seed %d)" % seeds[0], seed_header, "baseline", "status"]),
        _row(["---"] * 6),
        _row([
            "round trip PAD -> features -> PAD, MAE P / A / D",
            "<= 0.15 each",
            _triple(round_trip),
            _spread_cell(spread, "round_trip_pad_mae", _triple),
            f"VAE + GBR: {_triple(metrics['round_trip_pad_mae_vae_gbr'])}",
            _status(max(_judged(spread, "round_trip_pad_mae", round_trip)) <= 0.15),
        ]),
        _row([
            "recognition over 8 emotional styles, top-1",
            ">= 70%",
            f"{metrics['recognition_top1']:.1%} ({choice['classifier']})",
            _spread_cell(spread, "recognition_top1", lambda values: f"{values[0]:.1%}"),
            "chance 12.5%",
            _status(_judged(spread, "recognition_top1", [metrics["recognition_top1"]])[0] >= 0.70),
        ]),
        _row([
            f"target features of unseen content from its normal clip ({design}), MAE",
            ">= 20% below mean-style-delta",
            f"{metrics['target_features_mae']:.3f} ({reduction:+.1%} vs baseline)",
            _spread_cell(spread, "target_features_reduction_vs_mean_style_delta", lambda values: f"{values[0]:+.1%}"),
            f"mean-style-delta {metrics['target_features_mae_mean_style_delta']:.3f}",
            _status(_judged(spread, "target_features_reduction_vs_mean_style_delta", [reduction])[0] >= 0.20),
        ]),
        _row([
            "VAE reconstruction, MAE",
            "below the mean",
            f"{metrics['vae_reconstruction_mae']:.3f}",
            "",
            f"mean {metrics['mean_baseline_mae']:.3f}",
            _status(metrics["vae_reconstruction_mae"] < metrics["mean_baseline_mae"]),
        ]),
        _row([
            "PAD estimate from a real clip, MAE P / A / D", "", _triple(metrics["pad_mae"]) + f" ({choice['regressor']})",
            _spread_cell(spread, "pad_mae", _triple), "", "",
        ]),
        "",
        "## Target-feature designs",
        "",
        "`mean-style-delta` adds the average change from normal to the style over the training contents (it needs the "
        "style, not just PAD). `vae-gbr` is the original design: a VAE latent reached from PAD by gradient-boosted "
        "regressors, ignoring the edited motion. `content-emotion` splits the latent into a content code read from "
        "the source motion and the PAD itself, trained by cross-reconstruction. `delta-mlp` regresses the change "
        "from the source features and the PAD.",
        "",
        _row(["design", "target MAE", *[f"{style}" for style in EMOTIONAL_STYLES[1:]], f"round trip ({choice['regressor']})"]),
        _row(["---"] * (3 + len(EMOTIONAL_STYLES) - 1)),
    ]
    for name, error in summary["target_error"].items():
        per_style = summary["target_error_per_style"][name]
        lines.append(_row([name, f"{error:.3f}", *[f"{per_style.get(style, float('nan')):.3f}" for style in EMOTIONAL_STYLES[1:]],
                           _triple(summary["round_trip"][choice["regressor"]][name])]))
    lines.append(_row(["real target clips", "0", *[""] * (len(EMOTIONAL_STYLES) - 1),
                       _triple(summary["round_trip"][choice["regressor"]]["true-target"])]))
    lines += [
        "",
        "The last row reads PAD back from the real styled clips. A round trip below that row means the predicted "
        "features are more typical of the style than real clips are. With a `+residual` regressor the content-emotion "
        "network both predicts the features and supplies the regressor's neutral estimate, so that round trip may "
        "flatter the edit.",
        "",
        "## Analysis models (absolute features)",
        "",
        _row(["PAD regressor", "MAE P / A / D", "nearest-style top-1"]),
        _row(["---"] * 3),
    ]
    for name, error in summary["pad_error"].items():
        lines.append(_row([name, _triple(error), f"{summary['recognition'][f'nearest-pad/{name}']:.1%}"]))
    lines += [
        "",
        "`content-emotion encoder` is the emotion half of the content-emotion network's encoder, shown for comparison; "
        "the shipped PAD estimator is a scikit-learn model. A `+residual` model takes the absolute features followed by "
        "their difference from the content-emotion network's estimate of the same movement at PAD (0, 0, 0), a "
        "stand-in for the neutral reference that a user's clip lacks.",
    ]
    if options.classifier_decoded_weight > 0:
        lines += [
            "",
            "Every style classifier also trains on decoded rows. The content-emotion network decodes the clips of "
            "contents recorded only in the normal style (call, kick, punch, slash, respond, dance-short) at the PAD of "
            f"each of the eight styles. Each decoded row has sample weight {options.classifier_decoded_weight:g}.",
        ]
    lines += ["", _row(["style classifier", "top-1"]), _row(["---"] * 2)]
    for name, accuracy in summary["recognition"].items():
        if not name.startswith("nearest-pad/"):
            lines.append(_row([name, f"{accuracy:.1%}"]))
    lines += [
        "",
        f"Shipped: target design `{design}`, PAD regressor `{choice['regressor']}`, classifier `{choice['classifier']}` "
        "(the lowest mean error or highest top-1 above).",
        "",
        "![confusion matrix](figures/confusion.png)",
        "",
        f"Recognition by held-out content (`{choice['classifier']}`, seed {seeds[0]}):",
        "",
        _row(["held-out content", "correct"]),
        _row(["---"] * 2),
        *[
            _row([content, f"{correct} of {total}"])
            for content, (correct, total) in summary["recognition_per_content"][choice["classifier"]].items()
        ],
        "",
        "`make recognition-study` measures what else was tried to raise recognition; its results are in "
        "[recognition_study.md](recognition_study.md).",
        "",
        "## Latent space",
        "",
        "Left: the baseline VAE's latent of every emotional clip of bandai-namco-1; styles do not separate, which is why "
        "regressing from PAD to this latent failed. Middle and right: the emotion part of the content-emotion "
        "network's latent for held-out contents, with the PAD table's values as stars.",
        "",
        "![latent space](figures/latent_space.png)",
        "",
        "## Reconstruction per feature",
        "",
        "![reconstruction](figures/reconstruction.png)",
        "",
    ]
    if "unlabelled" in experiments:
        lines += [
            "## Do unlabelled clips help?",
            "",
            "The same cross-validation with the networks trained on different clip sets (PAD models unchanged).",
            "",
            _row(["network training clips", "VAE reconstruction MAE", "content-emotion target MAE"]),
            _row(["---"] * 3),
        ]
        table = experiments["unlabelled"]
        for label, values in table.items():
            lines.append(_row([label, f"{values['vae_reconstruction']:.3f}", f"{values['target_error']:.3f}"]))
        best_vae = min(table, key=lambda label: table[label]["vae_reconstruction"])
        best_target = min(table, key=lambda label: table[label]["target_error"])
        lines += [
            "",
            f"Lowest VAE reconstruction error: {best_vae}. Lowest content-emotion target error: {best_target}. "
            "The shipped networks train on the clip set in the first row, chosen from an earlier run of this table; "
            "rerun and compare before changing `ExperimentOptions`.",
            "",
        ]
    if "seeds" in experiments:
        lines += [
            "## Seed spread",
            "",
            "The chosen models cross-validated again with each seed.",
            "",
            _row(["seed", "round trip P / A / D", "recognition top-1", "target features vs mean-style-delta", "PAD estimate P / A / D"]),
            _row(["---"] * 5),
        ]
        for seed, values in experiments["seeds"]["per_seed"].items():
            lines.append(_row([
                seed,
                _triple(values["round_trip_pad_mae"]),
                f"{values['recognition_top1']:.1%}",
                f"{values['target_features_reduction_vs_mean_style_delta']:+.1%}",
                _triple(values["pad_mae"]),
            ]))
        lines.append("")
    lines += [
        "## Using the models",
        "",
        "- `EmotionModels.target_features(source_features, pad)` takes the absolute clip features of the motion being "
        "edited. The shipped network was trained on pairs from every emotional style to every other, so the source "
        "may already carry an emotion: the result is the features of the same movement with the requested PAD, not "
        "an offset added to the source's emotion.",
        "- `estimate_pad` and `classify` take absolute features, because a user's clip has no neutral recording of "
        "the same movement. Relative features appear in two places only: the target networks learn from pairs of "
        "one movement, and a `+residual` analysis model (when shipped, see its `input_kind` in the manifest) "
        "compares the clip with the network's own neutral estimate, which the runtime computes.",
        "- PAD values between the eight styles' table values are interpolated by the network; the round-trip numbers "
        "above are measured at the styles' PAD values only.",
        "",
        "## Data and licence",
        "",
        "Bandai-Namco-Research-Motiondataset 1 and 2, CC BY-NC 4.0, (c) Bandai Namco Research Inc. Models trained on "
        "it may be used only non-commercially, with attribution.",
        "",
        "PAD values: Russell & Mehrabian (1977) factor scores; `not-confident`, `active` and `exhausted` are estimates "
        "from the nearest listed terms (see `models/emotions.py`).",
        "",
    ]
    if training_seconds is not None:
        lines.insert(3, f"Run time: {training_seconds / 60:.1f} minutes on this machine's CPU cores.")
    path.write_text("\n".join(lines), encoding="utf-8")
    logger.info("Wrote %s", path)
