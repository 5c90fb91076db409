"""Tests of the cross-validation bookkeeping in ``training.evaluate``: per-content counts and seed spread."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")

from models.emotions import EMOTIONAL_STYLES, emotion_pad  # noqa: E402
from training import evaluate  # noqa: E402


def _fold(content: str, styles: list[str], predicted: list[str]) -> evaluate.FoldResult:
    count = len(styles)
    probabilities = np.zeros((count, len(EMOTIONAL_STYLES)))
    probabilities[np.arange(count), [EMOTIONAL_STYLES.index(style) for style in predicted]] = 1.0
    pad = np.array([emotion_pad(style) for style in styles])
    features = np.zeros((count, 4))
    return evaluate.FoldResult(
        content=content,
        target_styles=["sad"],
        target_true=np.zeros((1, 4)),
        target_predicted={"mean-style-delta": np.ones((1, 4))},
        round_trip={"ridge": {"mean-style-delta": np.zeros((1, 3))}},
        test_styles=styles,
        test_pad=pad,
        pad_estimates={"ridge": pad},
        class_probabilities={"forest": probabilities},
        vae_reconstruction=features,
        test_features=features,
        vae_latent=np.zeros((count, 3)),
        emotion_code=pad,
    )


def test_summary_counts_recognition_per_content() -> None:
    results = [
        _fold("walk", ["sad", "happy", "angry"], ["sad", "normal", "angry"]),
        _fold("bow", ["sad", "proud"], ["not-confident", "not-confident"]),
    ]
    summary = evaluate.summarize(results)
    assert summary["recognition_per_content"]["forest"] == {"walk": [2, 3], "bow": [0, 2]}
    assert summary["recognition"]["forest"] == pytest.approx(2 / 5)


def test_spread_is_per_axis_over_seeds() -> None:
    per_seed = {
        0: {"round_trip_pad_mae": [0.1, 0.2, 0.3], "recognition_top1": 0.6},
        1: {"round_trip_pad_mae": [0.3, 0.2, 0.1], "recognition_top1": 0.7},
    }
    result = evaluate.spread(per_seed)
    np.testing.assert_allclose(result["round_trip_pad_mae"]["mean"], [0.2, 0.2, 0.2])
    np.testing.assert_allclose(result["round_trip_pad_mae"]["min"], [0.1, 0.2, 0.1])
    np.testing.assert_allclose(result["round_trip_pad_mae"]["max"], [0.3, 0.2, 0.3])
    assert result["recognition_top1"]["mean"] == pytest.approx([0.65])


def test_seed_options_keep_only_the_chosen_models() -> None:
    options = evaluate.ExperimentOptions()
    choice = {"design": "average", "regressor": "gradient-boosting+residual", "classifier": "random-forest+residual"}
    variant = evaluate.seed_options(options, choice, seed=3)
    assert variant.settings.seed == 3
    assert options.settings.seed == 0
    assert variant.designs == ("content-emotion", "delta-mlp", "average")
    assert variant.regressors == ("gradient-boosting",)
    assert variant.classifiers == ("random-forest",)
    assert variant.analysis_residual

    single = evaluate.seed_options(options, {**choice, "design": "delta-mlp"}, seed=1)
    assert single.designs == ("delta-mlp",)
