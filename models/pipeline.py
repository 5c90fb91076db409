"""The emotion pipeline: PAD to target LMA features, the edit solver, and the report.

This is the one place that chains the layers. The Blender operators and the headless
command call :func:`apply_emotion` and :func:`analyze_motion` and do not repeat the steps:

1. Check the PAD value (or one PAD value per frame) and measure the source motion's clip
   features.
2. The bundled target model turns the source features and the PAD value into target
   features (:meth:`models.runtime.EmotionModels.target_features`).
3. The edit solver (:func:`synthesis.solver.solve_edit`) finds the edit that brings the
   motion's features closest to the target, measuring distances in units of the models'
   training spread of each feature.
4. The PAD regressor estimates the PAD of the source and of the result, so the report
   shows whether the edit moved the motion toward the requested emotion.

A PAD value per frame that actually changes over the clip is reduced to a few key PAD
values at window times, solved per key and blended over time
(:func:`synthesis.solver.solve_edit_curve`).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .emotions import AXES, nearest_emotion, validate_pad
from .runtime import EmotionModels, ModelError

from ..synthesis import solver as _solver
from ..synthesis.edits import PARAMETER_NAMES, EditParameters, KeyEdit, apply_edit_to_keys
from ..synthesis.features import FEATURE_EXTRACTOR_VERSION, FEATURE_NAMES, FEATURES, FeatureExtractor, FeatureSettings
from ..synthesis.features import window_times as _window_times
from ..synthesis.roles import REQUIRED_ROLES, BoneMap
from ..synthesis.skeleton import Motion

__all__ = [
    "ApplyOptions",
    "apply_emotion",
    "apply_emotion_to_keys",
    "analyze_motion",
    "load_models",
    "validate_pad_input",
    "pad_keys",
    "motion_warnings",
    "pad_progress_warnings",
    "bone_map_warnings",
    "TOP_FEATURE_COUNT",
]

logger = logging.getLogger(__name__)

TOP_FEATURE_COUNT = 5
"""Number of features :func:`analyze_motion` lists as driving the PAD estimate."""

STATIC_MOTION_FRACTION = 0.01
"""A clip in which no joint moves more than this fraction of the rest skeleton's height counts as static."""

PAD_PROGRESS_FRACTION = 0.1
"""An Apply warns unless the estimated PAD error shrinks by at least this fraction of the source's."""

PAD_CLOSE_ENOUGH = 0.05
"""PAD distance to the target below which a result needs no warning, whatever the source's distance."""

_APPLY_ROLES = ("target", "pad")
_ANALYZE_ROLES = ("pad", "style")


@dataclass(frozen=True)
class ApplyOptions:
    """Options of :func:`apply_emotion` beyond the PAD value and strength."""

    keep_planted_feet: bool = True
    """Pin planted feet with two-bone IK in every edit (dense motions)."""
    key_times: tuple[float, ...] | None = None
    """Seconds from the first frame of each key of a sparse animation; :func:`apply_emotion_to_keys` moves these keys."""
    max_evaluations: int = 200
    """Upper bound on edit evaluations of the solver, per PAD key."""
    feature_settings: FeatureSettings | None = None
    """Feature extractor settings; the defaults (which the models were trained with) when ``None``."""
    max_pad_keys: int = 6
    """Largest number of PAD keys a time-varying PAD is reduced to."""
    pad_key_distance: float = 0.1
    """PAD distance from the last key at which a time-varying PAD gets a new key."""
    model_directory: str | None = None
    """Folder of ``manifest.json`` and the ONNX files; the bundled models when ``None``."""
    progress: Callable[[float, str], None] | None = None
    """Called with the finished fraction (0 to 1) and a short step name as the pipeline advances."""

    @classmethod
    def from_value(cls, value: ApplyOptions | Mapping[str, Any] | None) -> ApplyOptions:
        """Return ``value`` as options: ``None`` gives the defaults, a mapping sets the fields it names.

        Raises
        ------
        ValueError
            For a mapping key that is not a field of :class:`ApplyOptions`.
        """
        if value is None:
            return cls()
        if isinstance(value, ApplyOptions):
            return value
        names = {item.name for item in dataclasses.fields(cls)}
        unknown = sorted(set(value) - names)
        if unknown:
            raise ValueError(f"Unknown apply option(s) {', '.join(unknown)}; valid options: {', '.join(sorted(names))}")
        settings = dict(value)
        if settings.get("key_times") is not None:
            settings["key_times"] = tuple(float(time) for time in settings["key_times"])
        return cls(**settings)

    def report_progress(self, fraction: float, step: str) -> None:
        """Pass progress to :attr:`progress` when it is set."""
        if self.progress is not None:
            self.progress(float(fraction), step)


@functools.lru_cache(maxsize=4)
def load_models(directory: str | None = None, roles: tuple[str, ...] | None = None) -> EmotionModels:
    """Load and check the emotion models once per directory (the bundled ones by default).

    ``roles`` limits the up-front file checks to those models, as in
    :meth:`models.runtime.EmotionModels.load`, so that a damaged model that a step does
    not use does not stop it.

    Raises
    ------
    ModelError
        If the models are missing, corrupt, or list features in another order than
        ``synthesis.features.FEATURE_NAMES``.
    """
    models = EmotionModels.load(directory, roles=roles)
    if tuple(models.feature_names) != tuple(FEATURE_NAMES):
        raise ModelError(
            f"The models in {models.directory} expect the features {', '.join(models.feature_names)}, "
            f"but synthesis.features measures {', '.join(FEATURE_NAMES)}; retrain with `make train`"
        )
    return models


def _feature_spread(models: EmotionModels) -> np.ndarray:
    """Return the training standard deviation of each feature, the solver's unit of distance."""
    return np.asarray(models.manifest["scaler"]["scale"], dtype=np.float64)


def _feature_mean(models: EmotionModels) -> np.ndarray:
    return np.asarray(models.manifest["scaler"]["mean"], dtype=np.float64)


def validate_pad_input(pad: Any, frame_count: int) -> np.ndarray:
    """Check a PAD value ``(3,)`` or one per frame ``(frame_count, 3)`` and return it as floats.

    Raises
    ------
    ValueError
        For another shape, or a value that is NaN, infinite or outside [-1, 1]; the
        message names the axis, the frame and the value.
    """
    try:
        array = np.asarray(pad, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"PAD must be three numbers (pleasure, arousal, dominance), got {pad!r}") from None
    if array.shape == (3,):
        return np.array(validate_pad(array), dtype=np.float64)
    if array.ndim != 2 or array.shape != (frame_count, 3):
        raise ValueError(
            f"PAD must have shape (3,) or ({frame_count}, 3) for one value per frame of this motion, got {array.shape}"
        )
    bad = ~np.isfinite(array) | (np.abs(array) > 1.0)
    if bad.any():
        frame, axis = (int(value) for value in np.argwhere(bad)[0])
        problem = "is not a number" if np.isnan(array[frame, axis]) else "is outside [-1, 1]"
        raise ValueError(
            f"PAD value {array[frame, axis]:g} for {AXES[axis]} at frame {frame} {problem}; "
            "pleasure, arousal and dominance each range from -1 to 1"
        )
    return array


def _check_strength(strength: Any) -> float:
    if not (isinstance(strength, (int, float, np.floating)) and math.isfinite(strength) and 0.0 <= strength <= 1.0):
        raise ValueError(f"strength must be a number in [0, 1], got {strength!r}")
    return float(strength)


def pad_keys(motion: Motion, pad: np.ndarray, options: ApplyOptions) -> tuple[np.ndarray, np.ndarray]:
    """Reduce a per-frame PAD ``(frames, 3)`` to key times ``(keys,)`` in seconds and key PAD values ``(keys, 3)``.

    Candidates are the feature window centres (:func:`synthesis.features.window_times`),
    plus the first and last frame. A candidate becomes a key when its PAD is at least
    ``options.pad_key_distance`` away from the last key's; the last candidate is always a
    key. Over ``options.max_pad_keys`` keys, evenly spaced ones among them are kept.
    """
    frames = motion.frame_count
    candidates = np.unique(np.concatenate([[0.0], _window_times(motion, options.feature_settings), [motion.duration]]))
    rows = np.clip(np.round(candidates * motion.frame_rate).astype(np.int64), 0, frames - 1)
    chosen = [0]
    for index in range(1, len(candidates)):
        if np.linalg.norm(pad[rows[index]] - pad[rows[chosen[-1]]]) >= options.pad_key_distance:
            chosen.append(index)
    if chosen[-1] != len(candidates) - 1:
        chosen.append(len(candidates) - 1)
    if len(chosen) > options.max_pad_keys:
        picks = np.round(np.linspace(0, len(chosen) - 1, options.max_pad_keys)).astype(np.int64)
        chosen = [chosen[pick] for pick in picks]
    return candidates[chosen], pad[rows[chosen]]


def _pad_effects(models: EmotionModels, features: np.ndarray, pad: np.ndarray) -> np.ndarray:
    """Return ``(features, 3)``: the PAD estimate minus the estimate with that one feature set to its training mean."""
    count = len(FEATURE_NAMES)
    counterfactual = np.repeat(features[None], count, axis=0)
    counterfactual[np.arange(count), np.arange(count)] = _feature_mean(models)
    return pad[None] - models.estimate_pad(counterfactual)


def _influence(effects: np.ndarray) -> dict[str, float]:
    """Return feature name to the length of its PAD effect, the measure the panel sorts features by."""
    return {name: float(value) for name, value in zip(FEATURE_NAMES, np.linalg.norm(effects, axis=1))}


def _model_info(models: EmotionModels) -> dict[str, Any]:
    entries = models.manifest["models"]
    return {
        "feature_extractor_version": FEATURE_EXTRACTOR_VERSION,
        "model_feature_extractor_version": models.feature_extractor_version,
        "target_model": {"file": entries["target"]["file"], "design": entries["target"].get("design"),
                         "sha256": models.manifest["files"][entries["target"]["file"]]},
        "pad_model": {"file": entries["pad"]["file"], "design": entries["pad"].get("design"),
                      "sha256": models.manifest["files"][entries["pad"]["file"]]},
    }


def _parameters_dict(parameters: EditParameters) -> dict[str, float]:
    return {name: float(value) for name, value in zip(PARAMETER_NAMES, parameters.as_vector())}


def _pad_list(values: np.ndarray) -> list[float]:
    return [float(value) for value in values]


_FEATURE_MINIMUM = np.array([FEATURES[name].minimum for name in FEATURE_NAMES])
_FEATURE_MAXIMUM = np.array([FEATURES[name].maximum for name in FEATURE_NAMES])


def _physical_targets(targets: np.ndarray) -> np.ndarray:
    """Clip model targets into the range each feature's formula can produce.

    The target network extrapolates on contents unlike its training clips (gestures more
    than walks) and can ask for negative energy or jerk, which no edit can reach.
    """
    clipped = np.clip(targets, _FEATURE_MINIMUM, _FEATURE_MAXIMUM)
    if np.any(clipped != targets):
        names = sorted({FEATURE_NAMES[index] for index in np.argwhere(clipped != targets)[:, -1]})
        logger.info("Clipped model targets of %s into their valid range", ", ".join(names))
    return clipped


def _pad_error(estimate: np.ndarray, target: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(estimate) - np.asarray(target)))


def motion_warnings(motion: Motion) -> list[str]:
    """Return warnings about a clip whose motion features carry no information: one frame, or no movement."""
    if motion.frame_count < 2:
        return ["the clip has 1 frame: motion features are zero and the estimate reflects posture only"]
    height = float(np.max(np.ptp(motion.skeleton.rest_positions(), axis=0)))
    travel = float(np.max(np.ptp(motion.positions(), axis=0)))
    if travel <= STATIC_MOTION_FRACTION * height:
        return [
            f"the clip barely moves (no joint moves more than {100 * STATIC_MOTION_FRACTION:g}% of the body height): "
            "motion features are zero and the estimate reflects posture only"
        ]
    return []


def bone_map_warnings(bone_map: BoneMap) -> list[str]:
    """Return a warning when required roles were guessed from the hierarchy's shape, not found by name.

    The shape search can pick a cape or tail chain as the head or swap left and right on
    rigs with extra chains, and every feature then measures the wrong bones.
    """
    detected_by = getattr(bone_map, "detected_by", {})
    guessed = [role for role in REQUIRED_ROLES if detected_by.get(role) == "hierarchy"]
    if not guessed:
        return []
    pairs = ", ".join(f"{role}={bone_map.name(role)!r}" for role in guessed)
    return [
        f"bone roles {pairs} were guessed from the hierarchy's shape, not from bone names; check them "
        "(Emotion > Bone Map panel, or pass --bone-map FILE) because a wrong guess makes every measurement wrong"
    ]


def pad_progress_warnings(report: Mapping[str, Any]) -> list[str]:
    """Return a warning when the result's estimated PAD did not get clearly closer to the target.

    The solver moves the features toward the target model's output, but the analysis model
    may still read the result as another emotion; this makes that visible.
    """
    before = float(report["pad_error_before"])
    after = float(report["pad_error_after"])
    if after < PAD_CLOSE_ENOUGH or before - after >= PAD_PROGRESS_FRACTION * before:
        return _other_emotion_warnings(report)
    if report.get("time_varying"):
        wanted = "the keyed emotion"
    else:
        wanted = repr(nearest_emotion(report["target_pad"]))
    if after > before:
        movement = f"moved away from the target ({before:.2f} -> {after:.2f})"
    else:
        movement = f"barely moved toward the target ({before:.2f} -> {after:.2f})"
    return [
        f"the estimated PAD {movement}; the edit changed the features toward the model's target but the "
        f"analysis model does not read it as {wanted}"
    ]


def _other_emotion_warnings(report: Mapping[str, Any]) -> list[str]:
    """Return a warning when the result reads as another named emotion than the target, though closer to it."""
    if report.get("time_varying"):
        return []
    requested = nearest_emotion(report["target_pad"])
    result = nearest_emotion(report["result_pad_estimate"])
    if result == requested:
        return []
    return [
        f"the estimated PAD got closer to the target, but the result still reads as {result!r}, "
        f"not {requested!r}"
    ]


@dataclass
class _Outcome:
    """Result of :func:`_run`: the edited motion, its report and the parameters, before keys are edited."""

    motion: Motion
    report: dict[str, Any]
    parameters: list[EditParameters]
    key_times: np.ndarray | None
    curve: _solver.CurveEdit | None = None
    skipped: list[str] = field(default_factory=list)


def _run(motion: Motion, bone_map, pad: Any, strength: float, options: ApplyOptions) -> _Outcome:
    strength = _check_strength(strength)
    pad_array = validate_pad_input(pad, motion.frame_count)
    models = load_models(options.model_directory, _APPLY_ROLES)
    options.report_progress(0.0, "measure source")
    extractor = FeatureExtractor(motion.skeleton, bone_map, options.feature_settings)
    source = extractor.clip_features(motion)
    spread = _feature_spread(models)
    source_pad = models.estimate_pad(source)
    options.report_progress(0.1, "solve")

    varying = pad_array.ndim == 2 and bool(np.any(np.ptp(pad_array, axis=0) > 1e-9))
    if pad_array.ndim == 2 and not varying:
        pad_array = pad_array[0]

    if not varying:
        target = _physical_targets(models.target_features(source, pad_array))
        result = _solver.solve_edit(
            motion, bone_map, target, strength, feature_scale=spread, settings=options.feature_settings,
            max_evaluations=options.max_evaluations, keep_planted_feet=options.keep_planted_feet,
            source_features=source,
        )
        options.report_progress(0.9, "measure result")
        result_pad = models.estimate_pad(result.achieved_features)
        achieved = result.achieved_features
        time_map = np.arange(motion.frame_count, dtype=np.float64) if result.edit is None else (
            result.edit.timing.source_frames() if result.edit.timing is not None
            else np.arange(result.motion.frame_count, dtype=np.float64))
        constraints = _solver.constraint_report(motion, result.motion, bone_map,
                                                None if result.edit is None else result.edit.contacts)
        report: dict[str, Any] = {
            "target_pad": _pad_list(pad_array),
            "strength": strength,
            "time_varying": False,
            "source_pad_estimate": _pad_list(source_pad),
            "result_pad_estimate": _pad_list(result_pad),
            "pad_error_before": _pad_error(source_pad, pad_array),
            "pad_error_after": _pad_error(result_pad, pad_array),
            "feature_error_before": result.distance_before,
            "feature_error_after": result.distance_after,
            "relative_error_reduction": result.relative_error_reduction,
            "proxy_error": result.proxy_error,
            "features": {
                row["name"]: {"source": row["source"], "target": row["target"], "achieved": row["achieved"]}
                for row in result.features
            },
            "parameters": _parameters_dict(result.parameters),
            "skipped": list(result.skipped),
            "evaluations": result.evaluations,
            "frames_before": motion.frame_count,
            "frames_after": result.motion.frame_count,
        }
        outcome = _Outcome(result.motion, report, [result.parameters], None, skipped=list(result.skipped))
    else:
        key_times, key_pads = pad_keys(motion, pad_array, options)
        sources = _solver.excerpt_features(motion, bone_map, key_times, settings=options.feature_settings)
        targets = _physical_targets(models.target_features(sources, key_pads))
        curve = _solver.solve_edit_curve(
            motion, bone_map, targets, key_times, strength, feature_scale=spread, settings=options.feature_settings,
            max_evaluations=options.max_evaluations, keep_planted_feet=options.keep_planted_feet,
            source_features=sources,
        )
        source_key_pads = models.estimate_pad(curve.source_features)
        result_key_pads = models.estimate_pad(curve.achieved_features)
        options.report_progress(0.9, "measure result")
        achieved = extractor.clip_features(curve.motion)
        result_pad = models.estimate_pad(achieved)
        time_map = curve.edit.source_frames
        constraints = _solver.constraint_report(motion, curve.motion, bone_map, curve.edit.contacts)
        keys = []
        for index, time in enumerate(curve.key_times):
            keys.append({
                "time": float(time),
                "output_time": float(curve.edit.to_output(time)),
                "target_pad": _pad_list(key_pads[index]),
                "source_pad_estimate": _pad_list(source_key_pads[index]),
                "result_pad_estimate": _pad_list(result_key_pads[index]),
                "feature_error_before": curve.keys[index].distance_before,
                "feature_error_after": float(np.sqrt(np.mean(np.square(
                    (curve.achieved_features[index] - curve.target_features[index]) / curve.feature_scale[index])))),
                "parameters": _parameters_dict(curve.parameters[index]),
            })
        report = {
            "target_pad": [_pad_list(row) for row in key_pads],
            "strength": strength,
            "time_varying": True,
            "key_times": [float(time) for time in curve.key_times],
            "source_pad_estimate": _pad_list(source_pad),
            "result_pad_estimate": _pad_list(result_pad),
            "pad_error_before": float(np.mean([_pad_error(a, b) for a, b in zip(source_key_pads, key_pads)])),
            "pad_error_after": float(np.mean([_pad_error(a, b) for a, b in zip(result_key_pads, key_pads)])),
            "feature_error_before": curve.distance_before,
            "feature_error_after": curve.distance_after,
            "relative_error_reduction": curve.relative_error_reduction,
            # Means over the keys' excerpts; each key's own values are under "keys".
            "features": {
                name: {
                    "source": float(curve.source_features[:, index].mean()),
                    "target": float(curve.target_features[:, index].mean()),
                    "achieved": float(curve.achieved_features[:, index].mean()),
                }
                for index, name in enumerate(FEATURE_NAMES)
            },
            "parameters": keys[0]["parameters"] if len(keys) == 1 else None,
            "keys": keys,
            "skipped": list(curve.skipped),
            "evaluations": curve.evaluations,
            "frames_before": motion.frame_count,
            "frames_after": curve.motion.frame_count,
        }
        outcome = _Outcome(curve.motion, report, list(curve.parameters), curve.key_times, curve=curve.edit,
                           skipped=list(curve.skipped))

    report.update({
        "result_emotion": nearest_emotion(report["result_pad_estimate"]),
        "influence": _influence(_pad_effects(models, achieved, np.asarray(report["result_pad_estimate"]))),
        # For each result frame, the fractional source frame it shows.
        "time_map": [float(frame) for frame in time_map],
        "foot_skating_before": constraints["foot_skating_source"],
        "foot_skating_after": constraints["foot_skating_result"],
        "max_rotation_step_before": constraints["max_rotation_step_source"],
        "max_rotation_step_after": constraints["max_rotation_step_result"],
        "loops_before": constraints["loops_source"],
        "loops_after": constraints["loops_result"],
        "models": _model_info(models),
    })
    report["warnings"] = motion_warnings(motion) + bone_map_warnings(bone_map) + pad_progress_warnings(report)
    options.report_progress(1.0, "done")
    logger.info(
        "Applied PAD %s at strength %.2f: feature error %.3f -> %.3f, PAD error %.3f -> %.3f",
        report["target_pad"], strength, report["feature_error_before"], report["feature_error_after"],
        report["pad_error_before"], report["pad_error_after"],
    )
    return outcome


def apply_emotion(
    motion: Motion,
    bone_map,
    pad: Any,
    strength: float = 1.0,
    options: ApplyOptions | Mapping[str, Any] | None = None,
) -> tuple[Motion, dict[str, Any]]:
    """Edit a dense motion so that it expresses a PAD emotion.

    Parameters
    ----------
    motion : Motion
        The source motion, one pose per frame; it is not changed.
    bone_map : BoneMap
        Roles of ``motion.skeleton`` (:func:`synthesis.roles.detect_roles`).
    pad : (3,) or (frames, 3) array_like
        Pleasure, arousal and dominance in [-1, 1], or one value per frame of ``motion``
        for an emotion that changes over the clip.
    strength : float
        In [0, 1]; the solver aims at ``source + strength * (target - source)`` features,
        so 0 returns a copy of the source.
    options : ApplyOptions or mapping, optional
        A mapping sets the :class:`ApplyOptions` fields it names. When ``key_times`` is set,
        the report also lists the keys' new times under ``"keys_output_times"``.

    Returns
    -------
    (Motion, dict)
        The edited motion and a JSON-ready report. The report has ``target_pad``, ``strength``,
        ``time_varying``, ``source_pad_estimate``, ``result_pad_estimate``,
        ``pad_error_before`` / ``pad_error_after`` (Euclidean PAD distance of the
        estimates to the target), ``feature_error_before`` / ``feature_error_after`` (root
        mean square feature difference in training standard deviations),
        ``relative_error_reduction``, ``features`` (name to ``source``, ``target``,
        ``achieved``), ``parameters`` (edit parameter name to value), ``skipped``,
        ``evaluations``, ``frames_before`` / ``frames_after``, ``foot_skating_before`` /
        ``foot_skating_after`` (body heights per second on contact frames),
        ``max_rotation_step_before`` / ``_after`` (radians), ``loops_before`` /
        ``loops_after``, ``result_emotion`` (the named emotion nearest the result's
        estimate), ``influence`` (feature name to the length of its effect on the result's
        PAD estimate, as in :func:`analyze_motion`), ``time_map`` (for each result frame,
        the fractional source frame it shows), ``models`` (versions and hashes) and
        ``warnings`` (a static or one-frame source, or an estimated PAD that did not get
        clearly closer to the target). A time-varying PAD also
        gives ``key_times`` and ``keys`` (per key: times, PAD values, errors,
        parameters), and ``target_pad`` is then the list of key PAD values.

    Raises
    ------
    ValueError
        For a PAD value of the wrong shape, NaN or outside [-1, 1], or a strength outside [0, 1].
    ModelError
        If the bundled models are missing or do not match the feature extractor.
    """
    options = ApplyOptions.from_value(options)
    outcome = _run(motion, bone_map, pad, strength, options)
    if options.key_times is not None:
        keys = _edit_keys(motion, bone_map, outcome, options)
        outcome.report["keys_output_times"] = [float(time) for time in keys.times]
    return outcome.motion, outcome.report


def _edit_keys(motion: Motion, bone_map, outcome: _Outcome, options: ApplyOptions) -> KeyEdit:
    key_times = np.asarray(options.key_times, dtype=np.float64)
    if outcome.curve is None:
        return apply_edit_to_keys(motion, bone_map, outcome.parameters[0], key_times,
                                  keep_planted_feet=options.keep_planted_feet)
    # Time-varying: keys move through the blended time map and take the blended pose there.
    times = outcome.curve.to_output(key_times)
    poses = outcome.motion.sample(times * motion.frame_rate)
    return KeyEdit(times=times, rotations=poses.rotations, root_positions=poses.root_positions,
                   translations=poses.translations, skipped=list(outcome.skipped))


def apply_emotion_to_keys(
    motion: Motion,
    bone_map,
    pad: Any,
    strength: float = 1.0,
    options: ApplyOptions | Mapping[str, Any] | None = None,
) -> tuple[KeyEdit, dict[str, Any]]:
    """Edit the keys of a sparse animation so that it expresses a PAD emotion, keeping the key count.

    ``motion`` is the animation evaluated on every frame and ``options.key_times`` the
    keys' times in seconds. The solve runs on the dense motion as in
    :func:`apply_emotion`, and :func:`synthesis.edits.apply_edit_to_keys` applies the same
    parameters to the keys: each key moves through the time map and takes the edited
    pose there. Foot locking holds at the keys only. Returns the :class:`KeyEdit` and the
    report of :func:`apply_emotion`.
    """
    options = ApplyOptions.from_value(options)
    if options.key_times is None or len(options.key_times) == 0:
        raise ValueError("apply_emotion_to_keys needs options.key_times: the time in seconds of each key")
    outcome = _run(motion, bone_map, pad, strength, options)
    keys = _edit_keys(motion, bone_map, outcome, options)
    outcome.report["keys_output_times"] = [float(time) for time in keys.times]
    return keys, outcome.report


def analyze_motion(motion: Motion, bone_map, options: ApplyOptions | Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Estimate the emotion an animation expresses.

    Returns
    -------
    dict
        JSON-ready: ``pad`` (pleasure, arousal, dominance in [-1, 1]), ``emotion`` (the
        nearest named emotion in :data:`models.emotions.EMOTIONS`), ``style`` and
        ``style_probabilities`` (the style classifier), ``features``, ``z_scores`` (deviation
        from the training mean in training standard deviations) and ``influence`` (length
        of ``pad_effect``, defined below), each a map from feature name to number, and
        ``top_features``: the :data:`TOP_FEATURE_COUNT` features that move the PAD
        estimate most. Each feature's effect is the change of the estimate when that
        feature alone is set to its training mean (``pad_effect``, three numbers, the
        estimate minus that counterfactual). The list is sorted by the effect's length,
        with the feature's value, its training mean, its deviation in training standard
        deviations (``z``) and its LMA component. ``warnings`` lists reasons not to trust
        the estimate, such as a clip of one frame or one that barely moves.
    """
    options = ApplyOptions.from_value(options)
    models = load_models(options.model_directory, _ANALYZE_ROLES)
    features = FeatureExtractor(motion.skeleton, bone_map, options.feature_settings).clip_features(motion)
    pad = models.estimate_pad(features)
    mean = _feature_mean(models)
    spread = _feature_spread(models)

    effects = _pad_effects(models, features, pad)
    order = np.argsort(-np.linalg.norm(effects, axis=1), kind="stable")[:TOP_FEATURE_COUNT]
    top = [
        {
            "name": FEATURE_NAMES[index],
            "value": float(features[index]),
            "training_mean": float(mean[index]),
            "z": float((features[index] - mean[index]) / spread[index]),
            "pad_effect": _pad_list(effects[index]),
            "component": FEATURES[FEATURE_NAMES[index]].component,
        }
        for index in order
    ]
    style, probabilities = models.classify(features)
    return {
        "pad": _pad_list(pad),
        "emotion": nearest_emotion(pad),
        "style": style,
        "style_probabilities": probabilities,
        "features": {name: float(value) for name, value in zip(FEATURE_NAMES, features)},
        "z_scores": {name: float(value) for name, value in zip(FEATURE_NAMES, (features - mean) / spread)},
        "influence": _influence(effects),
        "top_features": top,
        "models": _model_info(models),
        "warnings": motion_warnings(motion) + bone_map_warnings(bone_map),
    }

