"""Run the bundled emotion models with onnxruntime.

The folder of this file contains ``manifest.json`` and the ONNX files it lists:

- ``target_features.onnx``: standardised source features ``(n, features)`` and target
  PAD ``(n, 3)`` to standardised target features ``(n, features)``;
- ``pad_regressor.onnx``: standardised features to PAD ``(n, 3)``;
- ``style_classifier.onnx``: standardised features to probabilities over the styles;
- ``neutral_features.onnx`` (present when an analysis model needs it): the same
  network as the target one but content-emotion only, run at PAD (0, 0, 0) to estimate
  the features of a neutral recording of the same movement.

An analysis model whose manifest entry has ``input_kind`` ``features+residual`` takes
the standardised features followed by their difference from that neutral estimate.

The manifest stores the feature names and order, the feature extractor version the
models were trained with, the standardiser, the PAD table, the metrics, the training
data and its licence, and the SHA-256 of every file. This module imports only numpy,
onnxruntime and the standard library, so it runs inside Blender's Python.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "ModelError",
    "EmotionModels",
    "DEFAULT_DIRECTORY",
    "MANIFEST_NAME",
    "MANIFEST_FORMAT",
    "CHECKSUM_KEY",
    "manifest_checksum",
]

logger = logging.getLogger(__name__)

DEFAULT_DIRECTORY = Path(__file__).resolve().parent
MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1
"""Manifest layout version this module reads."""

CHECKSUM_KEY = "manifest_sha256"
"""Manifest entry with the SHA-256 of the rest of the manifest (see :func:`manifest_checksum`)."""

_RETRAIN = "retrain with `make train`"
_REINSTALL = "reinstall the extension"
_AXES = ("pleasure", "arousal", "dominance")
_INPUT_KINDS = ("features", "features+residual")


class ModelError(Exception):
    """The bundled models are missing, corrupt or do not match the feature extractor."""


def manifest_checksum(manifest: dict[str, Any]) -> str:
    """Return the SHA-256 of the manifest without its ``CHECKSUM_KEY`` entry, as canonical JSON.

    The manifest carries the standardiser's means and scales, which no model file
    hash covers; this checksum catches an edited or damaged value there.
    """
    body = {key: value for key, value in manifest.items() if key != CHECKSUM_KEY}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _current_feature_version() -> str:
    # Imported here so that loading a manifest for inspection does not need synthesis.
    try:
        from ..synthesis.features import FEATURE_EXTRACTOR_VERSION
    except ImportError:
        from synthesis.features import FEATURE_EXTRACTOR_VERSION
    return str(FEATURE_EXTRACTOR_VERSION)


class EmotionModels:
    """The bundled PAD-to-features, features-to-PAD and style models.

    Create with :meth:`load`. Inference sessions are created on first use, one per
    model, under a lock, with one intra-op thread each. The methods are safe to call
    from several threads.
    """

    def __init__(self, directory: Path, manifest: dict[str, Any]) -> None:
        self.directory = directory
        self.manifest = manifest
        self.feature_names: tuple[str, ...] = tuple(manifest["feature_names"])
        """Feature names in the order every method expects and returns."""
        self.feature_extractor_version: str = str(manifest["feature_extractor_version"])
        self.styles: tuple[str, ...] = tuple(manifest["models"]["style"]["classes"])
        """Style names in the order of the classifier's probabilities."""
        self.pad_table: dict[str, tuple[float, float, float]] = {
            name: tuple(entry["pad"]) for name, entry in manifest["pad_table"].items()
        }
        self._mean = np.asarray(manifest["scaler"]["mean"], dtype=np.float64)
        self._scale = np.asarray(manifest["scaler"]["scale"], dtype=np.float64)
        self._sessions: dict[str, Any] = {}
        self._checked_files: set[str] = set()
        self._lock = threading.Lock()

    @classmethod
    def load(cls, directory: str | os.PathLike[str] | None = None, check_feature_version: bool = True,
             roles: Iterable[str] | None = None) -> EmotionModels:
        """Read and check the manifest and model files in ``directory`` (this package's folder by default).

        ``roles`` (such as ``("pad", "style")``) limits the file checks to the models of
        those roles and the models they depend on; the other files are checked when first
        used. ``None`` checks every file the manifest lists.

        Raises
        ------
        ModelError
            If the manifest is missing or invalid, a checked file is missing or its
            SHA-256 differs, or the models were trained on another feature extractor
            version than ``synthesis.features.FEATURE_EXTRACTOR_VERSION``.
        """
        directory = Path(directory) if directory is not None else DEFAULT_DIRECTORY
        if not directory.is_dir():
            raise ModelError(
                f"Model folder {directory} does not exist or is not a folder; pass the folder that contains "
                f"{MANIFEST_NAME} and the ONNX files"
            )
        manifest_path = directory / MANIFEST_NAME
        if not manifest_path.is_file():
            raise ModelError(f"Model manifest {manifest_path} not found; {_RETRAIN} or {_REINSTALL}")
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ModelError(f"Model manifest {manifest_path} is not valid JSON ({error}); {_REINSTALL}") from error
        cls._check_manifest(manifest, manifest_path)

        if roles is None:
            names = list(manifest["files"])
        else:
            names = [manifest["models"][role]["file"] for role in cls._dependencies(manifest, roles)]
        for name in names:
            cls._check_file(directory, manifest, name)

        if check_feature_version:
            current = _current_feature_version()
            trained = str(manifest["feature_extractor_version"])
            if trained != current:
                raise ModelError(
                    f"Models in {manifest_path} were trained on feature extractor version {trained}, "
                    f"but synthesis.features is version {current}; {_RETRAIN}"
                )
        logger.info("Loaded emotion models from %s (feature extractor %s)", directory, manifest["feature_extractor_version"])
        models = cls(directory, manifest)
        models._checked_files.update(names)
        return models

    @staticmethod
    def _check_file(directory: Path, manifest: dict[str, Any], name: str) -> None:
        """Raise :class:`ModelError` when model file ``name`` is missing or its SHA-256 differs from the manifest's."""
        path = directory / name
        if not path.is_file():
            raise ModelError(f"Model file {path} listed in {MANIFEST_NAME} not found; {_REINSTALL} or {_RETRAIN}")
        actual = _sha256(path)
        expected = manifest["files"][name]
        if actual != expected:
            raise ModelError(
                f"Model file {path} is corrupt: SHA-256 {actual[:12]}... differs from {expected[:12]}... "
                f"in {MANIFEST_NAME}; {_REINSTALL} or {_RETRAIN}"
            )

    @staticmethod
    def _dependencies(manifest: dict[str, Any], roles: Iterable[str]) -> list[str]:
        """Return ``roles`` plus ``neutral`` when one of them reads the neutral model's estimate."""
        result = list(roles)
        for role in result:
            if role not in manifest["models"]:
                raise ValueError(f"Unknown model role {role!r}; the manifest lists {', '.join(manifest['models'])}")
        if any(manifest["models"][role].get("input_kind", "features") == "features+residual" for role in result):
            if "neutral" not in result:
                result.append("neutral")
        return result

    @staticmethod
    def _check_manifest(manifest: Any, path: Path) -> None:
        if not isinstance(manifest, dict):
            raise ModelError(f"Model manifest {path} is not a JSON object; {_REINSTALL}")
        if manifest.get("format") != MANIFEST_FORMAT:
            raise ModelError(
                f"Model manifest {path} has format {manifest.get('format')!r}, expected {MANIFEST_FORMAT}; "
                f"{_REINSTALL} or {_RETRAIN}"
            )
        if manifest.get(CHECKSUM_KEY) != manifest_checksum(manifest):
            raise ModelError(
                f"Model manifest {path} was edited or is damaged: its {CHECKSUM_KEY} does not match its content; "
                f"{_REINSTALL} or {_RETRAIN}"
            )
        required = ("feature_names", "feature_extractor_version", "scaler", "models", "files", "pad_table")
        missing = [key for key in required if key not in manifest]
        if missing:
            raise ModelError(f"Model manifest {path} lacks {', '.join(missing)}; {_REINSTALL} or {_RETRAIN}")
        try:
            EmotionModels._check_manifest_entries(manifest, path)
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            raise ModelError(f"Model manifest {path} is malformed ({error!r}); {_REINSTALL} or {_RETRAIN}") from error

    @staticmethod
    def _check_manifest_entries(manifest: dict[str, Any], path: Path) -> None:
        """Check the scaler and the model entries. A wrongly typed entry raises ``TypeError``, ``KeyError`` or ``AttributeError``."""
        for key, kind in (("feature_names", list), ("scaler", dict), ("models", dict), ("files", dict)):
            if not isinstance(manifest[key], kind):
                raise ModelError(
                    f"Model manifest {path}: {key} is {type(manifest[key]).__name__}, expected a JSON "
                    f"{'array' if kind is list else 'object'}; {_REINSTALL} or {_RETRAIN}"
                )
        count = len(manifest["feature_names"])
        scaler = manifest["scaler"]
        mean = np.asarray(scaler["mean"], dtype=np.float64)
        scale = np.asarray(scaler["scale"], dtype=np.float64)
        if mean.shape != (count,) or scale.shape != (count,):
            raise ModelError(f"Model manifest {path}: scaler size differs from the {count} feature names; {_RETRAIN}")
        if not (np.isfinite(mean).all() and np.isfinite(scale).all() and (scale > 0).all()):
            raise ModelError(
                f"Model manifest {path}: scaler means must be finite and scales finite and positive; {_RETRAIN}"
            )
        roles = ["target", "pad", "style"]
        for role in ("pad", "style"):
            kind = manifest["models"].get(role, {}).get("input_kind", "features")
            if kind not in _INPUT_KINDS:
                raise ModelError(f"Model manifest {path}: unknown input_kind {kind!r} of the {role} model; {_REINSTALL}")
            if kind == "features+residual" and "neutral" not in roles:
                roles.append("neutral")
        for role in roles:
            entry = manifest["models"].get(role)
            if not isinstance(entry, dict) or entry.get("file") not in manifest["files"]:
                raise ModelError(f"Model manifest {path} lists no file for the {role} model; {_REINSTALL} or {_RETRAIN}")

    def _session(self, role: str) -> Any:
        with self._lock:
            session = self._sessions.get(role)
            if session is None:
                import onnxruntime

                name = self.manifest["models"][role]["file"]
                if name not in self._checked_files:
                    self._check_file(self.directory, self.manifest, name)
                    self._checked_files.add(name)
                path = self.directory / name
                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads = 1
                options.inter_op_num_threads = 1
                try:
                    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
                except Exception as error:  # onnxruntime raises its own exception types for invalid graphs
                    raise ModelError(f"Model file {path} could not be loaded by onnxruntime ({error}); {_REINSTALL}") from error
                self._sessions[role] = session
            return session

    def _features(self, features: Any, name: str = "features") -> tuple[np.ndarray, bool]:
        """Validate ``(features,)`` or ``(n, features)`` and return them standardised as ``(n, features)``."""
        array = np.asarray(features, dtype=np.float64)
        single = array.ndim == 1
        if single:
            array = array[None, :]
        count = len(self.feature_names)
        if array.ndim != 2 or array.shape[1] != count or array.shape[0] == 0:
            raise ValueError(f"{name} must have shape ({count},) or (n, {count}) in feature_names order, got {np.shape(features)}")
        if not np.all(np.isfinite(array)):
            row, column = np.argwhere(~np.isfinite(array))[0]
            raise ValueError(f"{name} has a non-finite value for {self.feature_names[column]!r} (row {row})")
        return ((array - self._mean) / self._scale).astype(np.float32), single

    @staticmethod
    def _pad(pad: Any, rows: int) -> np.ndarray:
        array = np.asarray(pad, dtype=np.float64)
        if array.ndim == 1:
            array = np.broadcast_to(array, (rows, array.shape[0]))
        if array.ndim != 2 or array.shape[1] != 3 or array.shape[0] != rows:
            raise ValueError(f"PAD must have shape (3,) or ({rows}, 3), got {np.shape(pad)}")
        for axis, values in zip(_AXES, array.T):
            for value in values:
                if math.isnan(value) or not -1.0 <= value <= 1.0:
                    problem = "is not a number" if math.isnan(value) else "is outside [-1, 1]"
                    raise ValueError(
                        f"PAD value {value:g} for {axis} {problem}; "
                        "pleasure, arousal and dominance each range from -1 to 1"
                    )
        return array.astype(np.float32)

    def _run(self, role: str, inputs: dict[str, np.ndarray]) -> np.ndarray:
        session = self._session(role)
        output = self.manifest["models"][role]["output"]
        return np.asarray(session.run([output], inputs)[0], dtype=np.float64)

    def _analysis_input(self, role: str, standardized: np.ndarray) -> np.ndarray:
        """Return the input of the ``pad`` or ``style`` model for ``(n, features)`` standardised features."""
        if self.manifest["models"][role].get("input_kind", "features") == "features":
            return standardized
        entry = self.manifest["models"]["neutral"]
        zeros = np.zeros((standardized.shape[0], 3), dtype=np.float32)
        neutral = self._run("neutral", {entry["inputs"][0]: standardized, entry["inputs"][1]: zeros})
        return np.hstack([standardized, standardized - neutral.astype(np.float32)]).astype(np.float32)

    def target_features(self, source_features: Any, pad: Any) -> np.ndarray:
        """Return the features the motion should have to express ``pad``.

        Parameters
        ----------
        source_features
            ``(features,)`` or ``(n, features)`` clip features of the motion being edited,
            in ``feature_names`` order. It may already carry an emotion: the model reads
            the movement's content from it and ignores its emotion.
        pad
            ``(3,)`` or ``(n, 3)`` target pleasure, arousal and dominance in [-1, 1].

        Returns
        -------
        numpy.ndarray
            Target features with the shape of ``source_features``.
        """
        standardized, single = self._features(source_features, "source_features")
        pad_array = self._pad(pad, standardized.shape[0])
        entry = self.manifest["models"]["target"]
        result = self._run("target", {entry["inputs"][0]: standardized, entry["inputs"][1]: pad_array})
        result = result * self._scale + self._mean
        return result[0] if single else result

    def estimate_pad(self, features: Any) -> np.ndarray:
        """Estimate pleasure, arousal and dominance from absolute clip features.

        Returns ``(3,)`` for ``(features,)`` input and ``(n, 3)`` for ``(n, features)``,
        clipped to [-1, 1].
        """
        standardized, single = self._features(features)
        entry = self.manifest["models"]["pad"]
        inputs = self._analysis_input("pad", standardized)
        result = np.clip(self._run("pad", {entry["inputs"][0]: inputs}).reshape(-1, 3), -1.0, 1.0)
        return result[0] if single else result

    def style_probabilities(self, features: Any) -> np.ndarray:
        """Return ``(n, styles)`` probabilities over :attr:`styles` for ``(n, features)`` or ``(features,)``."""
        standardized, _ = self._features(features)
        entry = self.manifest["models"]["style"]
        inputs = self._analysis_input("style", standardized)
        return self._run("style", {entry["inputs"][0]: inputs}).reshape(standardized.shape[0], -1)

    def classify(self, features: Any) -> tuple[str, dict[str, float]]:
        """Return the most likely emotional style of one clip and the probability of every style."""
        array = np.asarray(features, dtype=np.float64)
        if array.ndim != 1:
            raise ValueError(f"classify takes one clip's features of shape ({len(self.feature_names)},), got {array.shape}")
        probabilities = self.style_probabilities(array)[0]
        table = {style: float(value) for style, value in zip(self.styles, probabilities)}
        return self.styles[int(np.argmax(probabilities))], table

    @property
    def metrics(self) -> dict[str, Any]:
        """Held-out metrics recorded at training time."""
        return dict(self.manifest.get("metrics", {}))
