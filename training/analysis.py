"""scikit-learn models that read PAD and the emotional style from absolute LMA features.

An arbitrary user clip has no neutral reference of the same movement, so these models
take absolute standardised clip features. Candidates are compared by
leave-one-content-out cross-validation in ``training.evaluate`` and the best is
exported with skl2onnx.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor, RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.multioutput import MultiOutputRegressor
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.svm import SVC, SVR

from models.emotions import EMOTIONAL_STYLES, emotion_pad

__all__ = [
    "REGRESSORS",
    "CLASSIFIERS",
    "RESIDUAL_SUFFIX",
    "make_regressor",
    "make_classifier",
    "with_residual",
    "decoded_examples",
    "split_name",
]

RESIDUAL_SUFFIX = "+residual"
"""Suffix of a model name whose input is the features followed by their residual (see :func:`with_residual`)."""


def _gradient_boosting_regressor(seed: int) -> BaseEstimator:
    return MultiOutputRegressor(
        GradientBoostingRegressor(n_estimators=150, max_depth=2, learning_rate=0.05, subsample=0.8, random_state=seed)
    )


REGRESSORS: dict[str, Callable[[int], BaseEstimator]] = {
    "ridge": lambda seed: Ridge(alpha=10.0),
    "gradient-boosting": _gradient_boosting_regressor,
    "svr": lambda seed: MultiOutputRegressor(SVR(C=1.0, epsilon=0.05)),
    "mlp": lambda seed: MLPRegressor(
        hidden_layer_sizes=(32,), alpha=1.0, max_iter=3000, learning_rate_init=3e-3, random_state=seed
    ),
}
"""Candidate PAD regressors by name; each factory takes the random seed."""

CLASSIFIERS: dict[str, Callable[[int], BaseEstimator]] = {
    "logistic": lambda seed: LogisticRegression(C=0.5, max_iter=5000),
    "svc": lambda seed: SVC(C=3.0, probability=True, random_state=seed),
    "random-forest": lambda seed: RandomForestClassifier(n_estimators=200, max_depth=6, random_state=seed),
    "gradient-boosting": lambda seed: GradientBoostingClassifier(
        n_estimators=100, max_depth=2, learning_rate=0.1, subsample=0.8, random_state=seed
    ),
    "mlp": lambda seed: MLPClassifier(hidden_layer_sizes=(32,), alpha=1.0, max_iter=3000, random_state=seed),
}
"""Candidate style classifiers over the eight emotional styles by name."""


def make_regressor(name: str, seed: int = 0) -> BaseEstimator:
    """Return an unfitted PAD regressor from ``REGRESSORS``."""
    if name not in REGRESSORS:
        raise ValueError(f"Unknown PAD regressor {name!r}; choose one of {', '.join(REGRESSORS)}")
    return REGRESSORS[name](seed)


def make_classifier(name: str, seed: int = 0) -> BaseEstimator:
    """Return an unfitted style classifier from ``CLASSIFIERS``."""
    if name not in CLASSIFIERS:
        raise ValueError(f"Unknown style classifier {name!r}; choose one of {', '.join(CLASSIFIERS)}")
    return CLASSIFIERS[name](seed)


def predict_pad(model: BaseEstimator, features: np.ndarray) -> np.ndarray:
    """Return ``(n, 3)`` PAD predictions clipped to [-1, 1]."""
    return np.clip(np.asarray(model.predict(features), dtype=np.float64).reshape(-1, 3), -1.0, 1.0)


def with_residual(features: np.ndarray, content_model: torch.nn.Module) -> np.ndarray:
    """Return ``(n, 2 * features)``: the standardised features, then their residual from a neutral estimate.

    The neutral estimate is the content-emotion network's output for the same
    content at PAD (0, 0, 0), so the residual approximates the features relative to a
    neutral recording of the same movement, which a user's clip does not have.
    """
    with torch.no_grad():
        neutral = content_model(
            torch.as_tensor(features, dtype=torch.float32), torch.zeros(len(features), 3)
        ).numpy().astype(np.float64)
    return np.hstack([features, features - neutral])


def decoded_examples(
    features: np.ndarray, styles: Sequence[str], contents: Sequence[str], content_model: torch.nn.Module
) -> tuple[np.ndarray, np.ndarray]:
    """Return style-labelled rows decoded from the clips of contents recorded only in the normal style.

    ``features`` are standardised clip features with each clip's style and content.
    The content-emotion network decodes every such clip at the PAD of each of the
    eight emotional styles, which gives the style classifier examples of movements
    (kicks, punches, calls) that no actor performed with an emotion. Returns
    ``(rows, features)`` decoded features and ``(rows,)`` indices into
    ``EMOTIONAL_STYLES``, style by style; both are empty when every content has
    emotional recordings.
    """
    styled = {content for content, style in zip(contents, styles) if style != "normal"}
    sources = features[[content not in styled for content in contents]]
    if len(sources) == 0:
        return np.zeros((0, features.shape[1])), np.zeros(0, dtype=np.int64)
    decoded = []
    with torch.no_grad():
        source_tensor = torch.as_tensor(sources, dtype=torch.float32)
        for style in EMOTIONAL_STYLES:
            pad = torch.as_tensor(np.tile(emotion_pad(style), (len(sources), 1)), dtype=torch.float32)
            decoded.append(content_model(source_tensor, pad).numpy().astype(np.float64))
    labels = np.repeat(np.arange(len(EMOTIONAL_STYLES)), len(sources))
    return np.concatenate(decoded), labels


def split_name(name: str) -> tuple[str, bool]:
    """Split a model name into the candidate name and whether it takes the residual input."""
    if name.endswith(RESIDUAL_SUFFIX):
        return name[: -len(RESIDUAL_SUFFIX)], True
    return name, False
