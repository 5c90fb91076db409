"""Choose edit parameters that give a motion a target set of LMA features.

:func:`solve_edit` searches the bounded :class:`~synthesis.edits.EditParameters` for the
edit whose result has clip features (:func:`synthesis.features.clip_features`) closest
to a target vector, in a standardised feature space: each feature difference is divided
by a per-feature spread (``feature_scale``). The search is a bounded Levenberg-Marquardt
method:

1. Parameters are normalised by their range, so that each bounded box side has length 1
   (``time_scale`` on a log scale). ``x = 0`` is the identity edit.
2. The Jacobian comes from one forward difference per parameter, with a step of
   :data:`JACOBIAN_STEP` of the range: a secant over a useful part of the range rather
   than a tangent, because the features respond to the edits non-linearly.
3. Each step minimises the linearised residual plus a Tikhonov pull toward the identity
   edit (:data:`REGULARIZATION`) and a damping term, inside the bounds (a small
   box-constrained quadratic program). A step that does not lower the measured cost is
   rejected and the damping grows; an accepted step lowers it. After every evaluation
   the Jacobian gets a rank-one (Broyden) update from the measured change.

Everything is deterministic: no random numbers are drawn.

Evaluating an edit means editing the motion and measuring its features. A long motion
is not edited at full resolution during the search. It is represented by a *proxy*: a
few evenly spaced excerpts (:func:`proxy_excerpts`), whose duration-weighted features
stand in for the clip's. The proxy predicts only the *change* of each feature: the
prediction is the full clip's source value plus (or, for the speed-dependent features,
times) the proxy's change from its unedited state. The parameters found are then applied
once to the whole motion, and the result is measured at full resolution.
:attr:`SolveResult.proxy_error` reports how far the proxy's prediction was from that
measurement.

``strength`` scales the *target*, not the parameters: the solver aims at
``source + strength * (target - source)``. Parameters found for a half-way target are
what half the emotion needs, which is not half of the full-strength parameters when the
features respond non-linearly.

:func:`solve_edit_curve` handles a target that changes over time: one solve per key
time on an excerpt around it, then :func:`apply_edit_curve` blends the per-key edits
frame by frame. Sparse keyframes take the constant solution through
:func:`synthesis.edits.apply_edit_to_keys`, which keeps the key count.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass, field

import numpy as np

from . import quaternion
from .contacts import detect_foot_contacts, foot_skating, lock_feet
from .edits import (
    LOOP_ANGLE_TOLERANCE,
    NEUTRAL_PARAMETERS,
    PARAMETER_BOUNDS,
    PARAMETER_NAMES,
    EditParameters,
    EditResult,
    _apply_edit,
    _kinematics,
    _SourceAnalysis,
    apply_edit,
    time_map,
)
from .features import FEATURE_NAMES, FEATURES, FeatureExtractor, FeatureSettings
from .skeleton import Motion

__all__ = [
    "SolveResult",
    "CurveSolveResult",
    "CurveEdit",
    "solve_edit",
    "solve_edit_curve",
    "apply_edit_curve",
    "key_weights",
    "constraint_report",
    "default_feature_scale",
    "proxy_excerpts",
    "join_excerpts",
    "excerpt",
    "excerpt_features",
    "JACOBIAN_STEP",
    "REGULARIZATION",
    "PROXY_SECONDS",
    "WHOLE_MOTION_SECONDS",
]

logger = logging.getLogger(__name__)

JACOBIAN_STEP = 0.2
"""Forward-difference step per parameter, as a fraction of its range."""
REGULARIZATION = 0.01
"""Tikhonov weight on the squared normalised parameters; the cost's feature part is a sum of squared standardised differences."""
MAX_ITERATIONS = 8
"""Largest number of Levenberg-Marquardt steps after the Jacobian."""
RELATIVE_TOLERANCE = 0.01
"""An accepted step that lowers the cost by less than this fraction ends the search."""
PROXY_SECONDS = 6.0
"""Total length of the proxy excerpts of a motion longer than :data:`WHOLE_MOTION_SECONDS`, in seconds."""
WHOLE_MOTION_SECONDS = 20.0
"""A motion up to this long (seconds) is its own proxy. Excerpts of one-off actions (a slash,
a kick) miss what happens between them, and their prediction was poor on such clips."""
MIN_EXCERPT_SECONDS = 3.0
"""Shortest proxy excerpt, in seconds: long enough for three steps of a walk and one 2 s feature window."""
MAX_EXCERPTS = 3
"""Largest number of proxy excerpts."""
DEFAULT_RELATIVE_SCALE = 0.25
"""Default feature spread as a fraction of the source value (see :func:`default_feature_scale`)."""
JOIN_BLEND_SECONDS = 0.25
"""Cross-fade at each seam between proxy excerpts, in seconds."""
KEY_EXCERPT_SECONDS = 4.0
"""Length of the excerpt around each key time that :func:`solve_edit_curve` solves on, in seconds."""

STILL_ENERGY = 1e-6
"""Effector and body energy (body heights^2/s^2) below which a motion counts as a still pose."""

_MOTION_PARAMETERS = ("time_scale", "time_warp", "smoothness", "accent")
_FEATURE_FLOORS = {"radians": 0.05}
_DEFAULT_FLOOR = 0.02
_TIME_SCALE = PARAMETER_NAMES.index("time_scale")
_NEUTRAL = NEUTRAL_PARAMETERS.as_vector()
_LOW = np.array([PARAMETER_BOUNDS[name][0] for name in PARAMETER_NAMES])
_HIGH = np.array([PARAMETER_BOUNDS[name][1] for name in PARAMETER_NAMES])
# Normalised coordinates: x = (value - neutral) / span, time_scale as log(value) / log(high / low).
_SPAN = _HIGH - _LOW
_SPAN[_TIME_SCALE] = math.log(_HIGH[_TIME_SCALE] / _LOW[_TIME_SCALE])
_X_LOW = (_LOW - _NEUTRAL) / _SPAN
_X_HIGH = (_HIGH - _NEUTRAL) / _SPAN
_X_LOW[_TIME_SCALE] = math.log(_LOW[_TIME_SCALE]) / _SPAN[_TIME_SCALE]
_X_HIGH[_TIME_SCALE] = math.log(_HIGH[_TIME_SCALE]) / _SPAN[_TIME_SCALE]
# Features whose value scales with playback speed are positive; the proxy predicts their change as a ratio.
_RATIO_FEATURES = np.array([FEATURES[name].speed_exponent > 0 for name in FEATURE_NAMES])


@dataclass
class SolveResult:
    """Edit parameters found for a target, the edited motion and how close it came."""

    parameters: EditParameters
    """Parameters applied to the motion, found for the strength-scaled target."""
    motion: Motion
    """The edited motion at full resolution (a copy of the source when nothing was edited)."""
    evaluations: int
    """Number of edit-and-measure evaluations of the proxy during the search."""
    source_features: np.ndarray
    """``(features,)`` clip features of the source motion, in ``FEATURE_NAMES`` order."""
    target_features: np.ndarray
    """``(features,)`` target after strength scaling: ``source + strength * (target - source)``."""
    achieved_features: np.ndarray
    """``(features,)`` clip features of :attr:`motion`."""
    feature_scale: np.ndarray
    """``(features,)`` spread that divides each feature difference."""
    distance_before: float
    """Root mean square standardised difference between source and target features."""
    distance_after: float
    """Root mean square standardised difference between achieved and target features."""
    relative_error_reduction: float
    """``1 - distance_after / distance_before``; 0 when the source already matches the target."""
    predicted_features: np.ndarray
    """``(features,)`` features of the result as the proxy predicted them."""
    proxy_error: float
    """Root mean square standardised difference between :attr:`predicted_features` and the
    full-resolution measurement of the edit the search found (before any fallback)."""
    proxy_excerpts: int
    """Number of excerpts in the proxy; 0 when the proxy was the whole motion."""
    features: list[dict] = field(default_factory=list)
    """One entry per feature: ``name``, ``source``, ``target``, ``achieved``, ``scale``,
    ``error_before`` and ``error_after`` (standardised, signed ``value - target``)."""
    skipped: list[str] = field(default_factory=list)
    """Edits that could not apply and why (from :func:`synthesis.edits.apply_edit`), and
    solver notes such as a motion too short to edit."""
    edit: EditResult | None = None
    """The full-resolution :class:`~synthesis.edits.EditResult` (time map, contacts), or ``None`` when nothing was edited."""


def _to_parameters(x: np.ndarray) -> EditParameters:
    values = _NEUTRAL + x * _SPAN
    values[_TIME_SCALE] = math.exp(x[_TIME_SCALE] * _SPAN[_TIME_SCALE])
    return EditParameters.from_vector(values).clipped()


def _to_normalized(parameters: EditParameters) -> np.ndarray:
    values = parameters.as_vector()
    x = (values - _NEUTRAL) / _SPAN
    x[_TIME_SCALE] = math.log(values[_TIME_SCALE]) / _SPAN[_TIME_SCALE]
    return x


def excerpt(motion: Motion, start: int, stop: int) -> Motion:
    """Return frames ``start`` (inclusive) to ``stop`` (exclusive) of ``motion`` as a new motion."""
    if not 0 <= start < stop <= motion.frame_count:
        raise ValueError(f"excerpt: frames [{start}, {stop}) are outside the motion's {motion.frame_count} frames")
    return Motion(
        skeleton=motion.skeleton,
        rotations=motion.rotations[start:stop].copy(),
        root_positions=motion.root_positions[start:stop].copy(),
        frame_rate=motion.frame_rate,
        translations=None if motion.translations is None else motion.translations[start:stop].copy(),
    )


def proxy_excerpts(motion: Motion, proxy_seconds: float = PROXY_SECONDS,
                   whole_motion_seconds: float = WHOLE_MOTION_SECONDS) -> list[tuple[int, int]]:
    """Choose the frame ranges ``[(start, stop), ...]`` that stand in for ``motion`` during the search.

    A motion no longer than ``max(whole_motion_seconds, 1.5 * proxy_seconds)`` is its own
    proxy (one range over every frame). A longer one gets ``min(MAX_EXCERPTS, proxy_seconds // MIN_EXCERPT_SECONDS)``
    excerpts, at least one, that share ``proxy_seconds`` equally and are centred at evenly
    spaced times, so the beginning, middle and end of a varied clip are all represented.
    """
    if not (math.isfinite(proxy_seconds) and proxy_seconds > 0):
        raise ValueError(f"proxy_seconds must be a positive number of seconds, got {proxy_seconds}")
    frames = motion.frame_count
    if motion.duration <= max(whole_motion_seconds, 1.5 * proxy_seconds):
        return [(0, frames)]
    count = int(min(MAX_EXCERPTS, max(1, proxy_seconds // MIN_EXCERPT_SECONDS)))
    length = int(round(proxy_seconds / count * motion.frame_rate)) + 1
    ranges = []
    for index in range(count):
        centre = (index + 0.5) / count * (frames - 1)
        start = int(np.clip(round(centre - 0.5 * (length - 1)), 0, frames - length))
        ranges.append((start, start + length))
    return ranges


def join_excerpts(motion: Motion, ranges: list[tuple[int, int]], blend_seconds: float = JOIN_BLEND_SECONDS) -> Motion:
    """Join excerpts of ``motion`` into one motion, cross-fading ``blend_seconds`` at each seam.

    Editing one joined motion costs about as much as editing one excerpt, because the
    cost of :func:`synthesis.edits.apply_edit` on a few hundred frames is mostly fixed per
    call. Each excerpt after the first is shifted so that its root starts where the
    previous one's root is at the start of the seam, and its first frames are blended
    into the previous excerpt's last frames (slerp for rotations, linear for positions,
    smoothstep weights). Facing is not aligned: a seam between two headings turns the
    root within ``blend_seconds``.
    """
    parts = [excerpt(motion, start, stop) for start, stop in ranges]
    joined = parts[0]
    for part in parts[1:]:
        overlap = int(min(round(blend_seconds * motion.frame_rate), joined.frame_count - 1, part.frame_count - 1))
        shift = joined.root_positions[joined.frame_count - overlap - 1] - part.root_positions[0]
        root = part.root_positions + shift
        if overlap > 0:
            ramp = np.linspace(0.0, 1.0, overlap + 2)[1:-1]
            weight = ramp * ramp * (3.0 - 2.0 * ramp)
            tail = slice(joined.frame_count - overlap, joined.frame_count)
            blended_rotations = quaternion.slerp(joined.rotations[tail], part.rotations[:overlap],
                                                 np.broadcast_to(weight[:, None], (overlap, motion.skeleton.joint_count)))
            blended_root = joined.root_positions[tail] * (1.0 - weight[:, None]) + root[:overlap] * weight[:, None]
            rotations = np.concatenate([joined.rotations[: tail.start], blended_rotations, part.rotations[overlap:]])
            root_positions = np.concatenate([joined.root_positions[: tail.start], blended_root, root[overlap:]])
        else:
            rotations = np.concatenate([joined.rotations, part.rotations])
            root_positions = np.concatenate([joined.root_positions, root])
        translations = None
        if motion.translations is not None:
            assert joined.translations is not None and part.translations is not None
            translations = np.concatenate([joined.translations[: joined.frame_count - overlap], part.translations])
        joined = Motion(motion.skeleton, quaternion.make_continuous(rotations, axis=0), root_positions,
                        motion.frame_rate, translations)
    return joined


def default_feature_scale(source_features: np.ndarray, target_features: np.ndarray | None = None) -> np.ndarray:
    """Return the default per-feature spread ``(features,)`` used to standardise differences.

    The spread is ``DEFAULT_RELATIVE_SCALE`` (a quarter) of the larger magnitude of the
    source and target values, so a 25 % change of any feature counts as one unit. It is
    at least 0.05 for features in radians and 0.02 for every other feature, so features
    near zero in both (an upright spine's flexion) do not dominate. The emotion pipeline
    passes the standard deviations of the models' training data instead, which is the
    better choice whenever a data set is at hand.
    """
    magnitude = np.abs(np.asarray(source_features, dtype=np.float64))
    if target_features is not None:
        magnitude = np.maximum(magnitude, np.abs(np.asarray(target_features, dtype=np.float64)))
    floors = np.array([_FEATURE_FLOORS.get(FEATURES[name].unit, _DEFAULT_FLOOR) for name in FEATURE_NAMES])
    return np.maximum(DEFAULT_RELATIVE_SCALE * magnitude, floors)


def excerpt_features(
    motion: Motion,
    bone_map,
    times: np.ndarray,
    excerpt_seconds: float = KEY_EXCERPT_SECONDS,
    settings: FeatureSettings | None = None,
) -> np.ndarray:
    """Measure clip features of an excerpt of ``excerpt_seconds`` centred at each of ``times`` (seconds).

    Excerpts are clipped to the motion (shifted inward near its ends). Returns
    ``(len(times), features)``: these are the source features that
    :func:`solve_edit_curve` compares per-key targets with.
    """
    extractor = FeatureExtractor(motion.skeleton, bone_map, settings)
    return np.stack([extractor.clip_features(excerpt(motion, *_key_range(motion, t, excerpt_seconds))) for t in
                     np.asarray(times, dtype=np.float64).reshape(-1)])


def _key_range(motion: Motion, time: float, excerpt_seconds: float) -> tuple[int, int]:
    frames = motion.frame_count
    length = min(frames, int(round(excerpt_seconds * motion.frame_rate)) + 1)
    start = int(np.clip(round(time * motion.frame_rate - 0.5 * (length - 1)), 0, frames - length))
    return start, start + length


def _check_features(values, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (len(FEATURE_NAMES),):
        raise ValueError(
            f"{name} must have shape ({len(FEATURE_NAMES)},) in synthesis.features.FEATURE_NAMES order, got {array.shape}"
        )
    if not np.all(np.isfinite(array)):
        bad = FEATURE_NAMES[int(np.flatnonzero(~np.isfinite(array))[0])]
        raise ValueError(f"{name} has a non-finite value for feature {bad!r}")
    return array


def _check_scale(feature_scale, source: np.ndarray, target: np.ndarray) -> np.ndarray:
    if feature_scale is None:
        return default_feature_scale(source, target)
    scale = _check_features(feature_scale, "feature_scale")
    if np.any(scale <= 0):
        bad = FEATURE_NAMES[int(np.flatnonzero(scale <= 0)[0])]
        raise ValueError(f"feature_scale for {bad!r} must be positive; pass each feature's spread (standard deviation)")
    return scale


def _check_strength(strength: float) -> float:
    if not (isinstance(strength, (int, float, np.floating)) and math.isfinite(strength) and 0.0 <= strength <= 1.0):
        raise ValueError(f"strength must be a number in [0, 1], got {strength!r}")
    return float(strength)


def _is_still(features: np.ndarray) -> bool:
    """Return whether clip features describe a still pose: no effector or body kinetic energy."""
    energies = [FEATURE_NAMES.index(name) for name in ("effector_energy_mean", "body_energy_mean")]
    return bool(np.all(np.abs(features[energies]) < STILL_ENERGY))


def _rms(values: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(values))))


def _box_qp(hessian: np.ndarray, gradient: np.ndarray, low: np.ndarray, high: np.ndarray,
            start: np.ndarray) -> np.ndarray:
    """Minimise ``0.5 y'Hy + g'y`` over ``low <= y <= high`` by projected Newton steps (``H`` positive definite)."""

    def cost(y: np.ndarray) -> float:
        return float(0.5 * y @ hessian @ y + gradient @ y)

    y = np.clip(start, low, high)
    for _ in range(4 * len(y) + 10):
        slope = hessian @ y + gradient
        # Variables held at a bound whose slope pushes further out stay fixed; the rest move.
        fixed = ((y <= low + 1e-12) & (slope > 0)) | ((y >= high - 1e-12) & (slope < 0))
        free = ~fixed
        if not free.any():
            break
        step = np.zeros_like(y)
        step[free] = -np.linalg.solve(hessian[np.ix_(free, free)], slope[free])
        current = cost(y)
        fraction = 1.0
        while fraction > 1e-6:
            candidate = np.clip(y + fraction * step, low, high)
            if cost(candidate) <= current - 1e-15:
                break
            fraction *= 0.5
        else:
            break
        if np.max(np.abs(candidate - y)) < 1e-10:
            y = candidate
            break
        y = candidate
    return y


class _Evaluator:
    """Edits the proxy excerpts and predicts the whole motion's features from them."""

    def __init__(self, motion: Motion, bone_map, ranges: list[tuple[int, int]], extractor: FeatureExtractor,
                 source: np.ndarray, keep_planted_feet: bool) -> None:
        self.bone_map = bone_map
        self.extractor = extractor
        self.keep_planted_feet = keep_planted_feet
        self.exact = len(ranges) == 1 and ranges[0] == (0, motion.frame_count)
        self.proxy = motion if self.exact else join_excerpts(motion, ranges)
        self.source = source
        # Every evaluation edits the same proxy, so its kinematics, contacts and speed curve are measured once.
        self.proxy_analysis = _SourceAnalysis.of(self.proxy, bone_map)
        self.count = 0
        self.cache: dict[bytes, tuple[np.ndarray, EditResult | None]] = {}
        neutral = np.zeros(len(PARAMETER_NAMES))
        self.cache[self._key(neutral)] = self._measure(neutral)
        self.base = self.cache[self._key(neutral)][0]

    @staticmethod
    def _key(x: np.ndarray) -> bytes:
        return np.round(x, 12).tobytes()

    def _measure(self, x: np.ndarray) -> tuple[np.ndarray, EditResult | None]:
        result = _apply_edit(self.proxy, self.bone_map, _to_parameters(x), self.proxy_analysis,
                             keep_planted_feet=self.keep_planted_feet and self.exact, return_report=True)
        assert isinstance(result, EditResult)
        self.count += 1
        return self.extractor.clip_features(result.motion), (result if self.exact else None)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Return the predicted ``(features,)`` of the whole motion edited with normalised parameters ``x``."""
        key = self._key(x)
        if key not in self.cache:
            self.cache[key] = self._measure(x)
        measured = self.cache[key][0]
        if self.exact:
            return measured
        change = measured - self.base
        ratio = _RATIO_FEATURES & (np.abs(self.base) > 1e-9)
        prediction = self.source + change
        prediction[ratio] = self.source[ratio] * measured[ratio] / self.base[ratio]
        return prediction

    def edit_result(self, x: np.ndarray) -> EditResult | None:
        """Return the full-resolution edit of ``x`` when the proxy is the whole motion and ``x`` was evaluated."""
        entry = self.cache.get(self._key(x))
        return None if entry is None else entry[1]


def _search(evaluator: _Evaluator, target: np.ndarray, scale: np.ndarray, max_evaluations: int,
            active: np.ndarray, skipped: list[str]) -> np.ndarray:
    """Return normalised parameters ``x`` that bring the predicted features close to ``target``.

    Only the parameters where ``active`` is true move. A parameter whose forward
    difference changes no feature is held neutral and named in ``skipped``.
    """
    count = len(PARAMETER_NAMES)
    x = np.zeros(count)
    low = np.where(active, _X_LOW, 0.0)
    high = np.where(active, _X_HIGH, 0.0)

    def residual(point: np.ndarray) -> np.ndarray:
        return (evaluator.predict(point) - target) / scale

    def cost_of(point: np.ndarray, values: np.ndarray) -> float:
        return float(values @ values + REGULARIZATION * point @ point)

    r = residual(x)
    cost = cost_of(x, r)
    jacobian = np.zeros((len(r), count))
    for column in np.flatnonzero(active):
        if evaluator.count >= max_evaluations:
            logger.info("Solver stopped building the Jacobian after %d evaluations", evaluator.count)
            return x
        # Step toward the side with more room, so one-sided parameters (smoothness, accent) step inward.
        direction = 1.0 if _X_HIGH[column] >= -_X_LOW[column] else -1.0
        step = np.zeros(count)
        step[column] = direction * JACOBIAN_STEP
        jacobian[:, column] = (residual(step) - r) / step[column]
        if np.max(np.abs(jacobian[:, column])) < 1e-6:
            low[column] = high[column] = 0.0
            skipped.append(f"{PARAMETER_NAMES[column]}: changes none of the features of this motion, so it stays neutral")

    damping = 1e-3 * max(float(np.mean(np.sum(jacobian**2, axis=0))), 1e-12)
    best_x, best_cost = x, cost
    for iteration in range(MAX_ITERATIONS):
        if evaluator.count >= max_evaluations:
            break
        # Linearised cost in y = x + d: |J (y - x) + r|^2 + reg |y|^2 + damping |y - x|^2.
        hessian = jacobian.T @ jacobian + (REGULARIZATION + damping) * np.eye(count)
        gradient = jacobian.T @ (r - jacobian @ x) - damping * x
        y = _box_qp(hessian, gradient, low, high, x)
        move = y - x
        if np.max(np.abs(move)) < 1e-4:
            break
        r_new = residual(y)
        cost_new = cost_of(y, r_new)
        predicted_change = r_new - r
        jacobian += np.outer(predicted_change - jacobian @ move, move) / float(move @ move)
        logger.debug("Solver step %d: cost %.4g -> %.4g (damping %.3g)", iteration, cost, cost_new, damping)
        if cost_new < cost:
            improvement = (cost - cost_new) / max(cost, 1e-12)
            x, r, cost = y, r_new, cost_new
            best_x, best_cost = x, cost
            damping /= 3.0
            if improvement < RELATIVE_TOLERANCE:
                break
        else:
            damping *= 4.0
    logger.debug("Solver finished with cost %.4g after %d evaluations", best_cost, evaluator.count)
    return best_x


def _feature_table(source: np.ndarray, target: np.ndarray, achieved: np.ndarray, scale: np.ndarray) -> list[dict]:
    return [
        {
            "name": name,
            "source": float(source[index]),
            "target": float(target[index]),
            "achieved": float(achieved[index]),
            "scale": float(scale[index]),
            "error_before": float((source[index] - target[index]) / scale[index]),
            "error_after": float((achieved[index] - target[index]) / scale[index]),
        }
        for index, name in enumerate(FEATURE_NAMES)
    ]


def solve_edit(
    motion: Motion,
    bone_map,
    target_features: np.ndarray,
    strength: float = 1.0,
    *,
    feature_scale: np.ndarray | None = None,
    settings: FeatureSettings | None = None,
    max_evaluations: int = 200,
    keep_planted_feet: bool = True,
    source_features: np.ndarray | None = None,
    proxy_seconds: float = PROXY_SECONDS,
) -> SolveResult:
    """Find and apply the edit that brings ``motion``'s clip features closest to a target.

    Parameters
    ----------
    motion : Motion
        The dense source motion (one pose per frame); it is not changed.
    bone_map : BoneMap
        Roles of ``motion.skeleton``, with the roles :func:`synthesis.features.clip_features` needs.
    target_features : (features,) array
        Target clip features in ``FEATURE_NAMES`` order, in the feature units.
    strength : float
        In [0, 1]; the solver aims at ``source + strength * (target - source)``. 0 returns
        a copy of the source.
    feature_scale : (features,) array, optional
        Positive spread per feature that divides every feature difference, for example the
        standard deviations of the emotion models' training data. Defaults to
        :func:`default_feature_scale` of the source features.
    settings : FeatureSettings, optional
        Feature extractor settings; the defaults when omitted.
    max_evaluations : int
        Upper bound on proxy evaluations (one Jacobian costs 13). The search usually stops
        earlier, after at most ``13 + MAX_ITERATIONS``.
    keep_planted_feet : bool
        Pin planted feet with foot locking in every evaluation and in the final edit.
    source_features : (features,) array, optional
        Clip features of ``motion`` when the caller has measured them already.
    proxy_seconds : float
        Total proxy length in seconds (:func:`proxy_excerpts`).

    Returns
    -------
    SolveResult

    Raises
    ------
    ValueError
        For a target, scale or source feature vector of the wrong shape or with a
        non-finite value, a non-positive scale, a strength outside [0, 1], or
        ``max_evaluations`` below 1.
    """
    strength = _check_strength(strength)
    if not (isinstance(max_evaluations, (int, np.integer)) and max_evaluations >= 1):
        raise ValueError(f"max_evaluations must be a positive integer, got {max_evaluations!r}")
    extractor = FeatureExtractor(motion.skeleton, bone_map, settings)
    target_full = _check_features(target_features, "target_features")
    if source_features is None:
        source = extractor.clip_features(motion)
    else:
        source = _check_features(source_features, "source_features")
    scale = _check_scale(feature_scale, source, target_full)
    target = source + strength * (target_full - source)
    distance_before = _rms((source - target) / scale)
    skipped: list[str] = []

    if distance_before == 0.0 or motion.frame_count < 3:
        if motion.frame_count < 3 and distance_before > 0.0:
            skipped.append(
                f"solver: the motion has {motion.frame_count} frame(s); at least 3 are needed to change its features, "
                "so it is returned unchanged"
            )
        return SolveResult(
            parameters=NEUTRAL_PARAMETERS, motion=motion.copy(), evaluations=0, source_features=source,
            target_features=target, achieved_features=source.copy(), feature_scale=scale,
            distance_before=distance_before, distance_after=distance_before, relative_error_reduction=0.0,
            predicted_features=source.copy(), proxy_error=0.0, proxy_excerpts=0,
            features=_feature_table(source, target, source, scale), skipped=skipped,
        )

    active = np.ones(len(PARAMETER_NAMES), dtype=bool)
    if _is_still(source):
        # Re-timing or filtering a constant pose only adds rounding noise, which the
        # scale-free features (tempo, jerk ratio) would read as motion.
        active[[PARAMETER_NAMES.index(name) for name in _MOTION_PARAMETERS]] = False
        skipped.append(
            f"{', '.join(_MOTION_PARAMETERS)}: the motion is a still pose, so timing and effort edits have nothing to act on"
        )
    ranges = proxy_excerpts(motion, proxy_seconds)
    evaluator = _Evaluator(motion, bone_map, ranges, extractor, source, keep_planted_feet)
    x = _search(evaluator, target, scale, max_evaluations, active, skipped)
    parameters = _to_parameters(x)
    predicted = evaluator.predict(x)

    edit = evaluator.edit_result(x)
    if edit is None:
        full_edit = apply_edit(motion, bone_map, parameters, keep_planted_feet=keep_planted_feet, return_report=True)
        assert isinstance(full_edit, EditResult)
        edit = full_edit
    achieved = predicted.copy() if evaluator.exact else extractor.clip_features(edit.motion)
    distance_after = _rms((achieved - target) / scale)
    proxy_error = _rms((predicted - achieved) / scale)
    if distance_after > distance_before:
        # Only a proxy can mislead like this: an exact search never accepts a worse point.
        logger.warning(
            "The edit found on the proxy moved the full motion away from the target (distance %.3f -> %.3f, "
            "predicted %.3f); trying half of it", distance_before, distance_after, _rms((predicted - target) / scale),
        )
        half = parameters.scaled(0.5)
        half_edit = apply_edit(motion, bone_map, half, keep_planted_feet=keep_planted_feet, return_report=True)
        assert isinstance(half_edit, EditResult)
        half_achieved = extractor.clip_features(half_edit.motion)
        half_distance = _rms((half_achieved - target) / scale)
        if half_distance < distance_before:
            parameters, edit, achieved, distance_after = half, half_edit, half_achieved, half_distance
            skipped.append("solver: the proxy overestimated the edit; half of the edit it found was applied")
        else:
            skipped.append(
                f"solver: the edit found on the proxy moved the motion away from the target (distance "
                f"{distance_before:.3f} -> {distance_after:.3f}, half of it {half_distance:.3f}), so the source is "
                "returned unchanged; a longer proxy_seconds may help"
            )
            return SolveResult(
                parameters=NEUTRAL_PARAMETERS, motion=motion.copy(), evaluations=evaluator.count,
                source_features=source, target_features=target, achieved_features=source.copy(),
                feature_scale=scale, distance_before=distance_before, distance_after=distance_before,
                relative_error_reduction=0.0, predicted_features=predicted,
                proxy_error=proxy_error, proxy_excerpts=len(ranges),
                features=_feature_table(source, target, source, scale), skipped=skipped,
            )
    skipped.extend(edit.skipped)
    return SolveResult(
        parameters=parameters,
        motion=edit.motion,
        evaluations=evaluator.count,
        source_features=source,
        target_features=target,
        achieved_features=achieved,
        feature_scale=scale,
        distance_before=distance_before,
        distance_after=distance_after,
        relative_error_reduction=1.0 - distance_after / distance_before,
        predicted_features=predicted,
        proxy_error=proxy_error,
        proxy_excerpts=0 if evaluator.exact else len(ranges),
        features=_feature_table(source, target, achieved, scale),
        skipped=skipped,
        edit=edit,
    )


def constraint_report(source: Motion, result: Motion, bone_map, result_contacts: np.ndarray | None = None) -> dict:
    """Measure what an edit must keep: planted feet, continuous rotations and a closed loop.

    Parameters
    ----------
    source, result : Motion
        The motion before and after the edit.
    bone_map : BoneMap
        Roles of the shared skeleton.
    result_contacts : (result frames, 2) bool array, optional
        Foot contacts of ``result``, normally the source's carried through the time map
        (:attr:`synthesis.edits.EditResult.contacts`). When omitted, they are detected on ``result``.

    Returns
    -------
    dict
        ``foot_skating_source`` and ``foot_skating_result`` (body heights per second,
        mean horizontal foot speed on contact frames), ``max_rotation_step_source`` and
        ``max_rotation_step_result`` (largest rotation of any joint between neighbouring
        frames, radians: a quaternion flip or a pop shows up here), ``loop_gap_source`` and
        ``loop_gap_result`` (largest joint rotation between first and last frame, radians)
        and ``loops_source`` / ``loops_result`` (gap below ``LOOP_ANGLE_TOLERANCE``).
    """
    # One forward kinematics pass per motion serves both contact detection and foot skating.
    source_positions, _ = _kinematics(source)
    result_positions, _ = _kinematics(result)
    source_contacts = detect_foot_contacts(source, bone_map, positions=source_positions)
    if result_contacts is None:
        result_contacts = detect_foot_contacts(result, bone_map, positions=result_positions)

    def largest_step(motion: Motion) -> float:
        if motion.frame_count < 2:
            return 0.0
        return float(np.max(quaternion.angle_between(motion.rotations[1:], motion.rotations[:-1])))

    def loop_gap(motion: Motion) -> float:
        return float(np.max(quaternion.angle_between(motion.rotations[0], motion.rotations[-1])))

    report = {
        "foot_skating_source": foot_skating(source, bone_map, source_contacts, positions=source_positions),
        "foot_skating_result": foot_skating(result, bone_map, result_contacts, positions=result_positions),
        "max_rotation_step_source": largest_step(source),
        "max_rotation_step_result": largest_step(result),
        "loop_gap_source": loop_gap(source),
        "loop_gap_result": loop_gap(result),
    }
    report["loops_source"] = report["loop_gap_source"] < LOOP_ANGLE_TOLERANCE
    report["loops_result"] = report["loop_gap_result"] < LOOP_ANGLE_TOLERANCE
    return report


def key_weights(times: np.ndarray, key_times: np.ndarray) -> np.ndarray:
    """Return ``(len(times), keys)`` blend weights that pass smoothly from key to key.

    Between neighbouring keys the weight moves from one to the other along a smoothstep
    ``3u^2 - 2u^3``, whose slope is zero at both keys, so the blend has no kinks there.
    Before the first key and after the last the nearest key has weight 1. Each row sums
    to 1 and has at most two non-zero entries. ``key_times`` must be strictly increasing.
    """
    times = np.asarray(times, dtype=np.float64).reshape(-1)
    key_times = np.asarray(key_times, dtype=np.float64).reshape(-1)
    weights = np.zeros((len(times), len(key_times)))
    if len(key_times) == 1:
        weights[:, 0] = 1.0
        return weights
    segment = np.clip(np.searchsorted(key_times, times, side="right") - 1, 0, len(key_times) - 2)
    u = np.clip((times - key_times[segment]) / (key_times[segment + 1] - key_times[segment]), 0.0, 1.0)
    u = u * u * (3.0 - 2.0 * u)
    rows = np.arange(len(times))
    weights[rows, segment] = 1.0 - u
    weights[rows, segment + 1] += u
    return weights


@dataclass
class CurveEdit:
    """A motion edited with parameters that change over time."""

    motion: Motion
    """The edited dense motion."""
    source_frames: np.ndarray
    """``(output frames,)`` fractional source frame shown at each output frame."""
    output_times: np.ndarray
    """``(source frames,)`` output seconds at which each source frame plays; strictly increasing."""
    weights: np.ndarray
    """``(source frames, keys)`` blend weight of each key's parameters at each source frame."""
    contacts: np.ndarray
    """``(output frames, 2)`` bool foot contacts (left, right) carried over from the source."""
    skipped: list[str] = field(default_factory=list)
    """Edits that could not apply, as in :attr:`synthesis.edits.EditResult.skipped`."""

    def to_output(self, source_seconds: np.ndarray) -> np.ndarray:
        """Map source times (seconds) to output times (seconds)."""
        source_times = np.arange(len(self.output_times)) / self.motion.frame_rate
        return np.interp(np.asarray(source_seconds, dtype=np.float64), source_times, self.output_times)


def _blend_rotations(stack: list[np.ndarray], weights: np.ndarray) -> np.ndarray:
    """Blend ``(frames, joints, 4)`` rotations per frame with ``weights: (frames, keys)`` by successive slerp.

    With at most two non-zero weights per frame (as :func:`key_weights` gives) this is the
    exact slerp between the two.
    """
    blended = stack[0].copy()
    total = weights[:, 0].copy()
    for index in range(1, len(stack)):
        weight = weights[:, index]
        total = total + weight
        fraction = np.where(total > 0.0, weight / np.where(total > 0.0, total, 1.0), 0.0)
        blended = quaternion.slerp(blended, stack[index], np.broadcast_to(fraction[:, None], blended.shape[:2]))
    return blended


def apply_edit_curve(
    motion: Motion,
    bone_map,
    key_times: np.ndarray,
    parameters: list[EditParameters],
    *,
    keep_planted_feet: bool = True,
) -> CurveEdit:
    """Apply edit parameters that change over time, given at key times, to a dense motion.

    1. Every key's extent, posture and effort edits (all but ``time_scale`` and
       ``time_warp``) are applied to the whole motion on the source time base, without
       foot locking, so all results have the source's frames.
    2. Per frame, rotations are blended by slerp and positions linearly, with the
       :func:`key_weights` of the frame's time.
    3. Timing follows a time-varying speed. Each key's ``time_warp`` gives a pace (output
       seconds per source second) from :func:`synthesis.edits.time_map`. The paces are
       blended with the same weights and divided by the geometric blend of the keys'
       ``time_scale``, and their integral gives the output times. The output has
       ``round(output duration * frame_rate) + 1`` frames, and the first and last source
       frames stay first and last.
    4. The source's foot contacts are carried through the time map and the feet locked.

    NOTE: loops are not closed, because an emotion that changes over the clip ends in a
    different pose than it starts.

    Parameters
    ----------
    motion : Motion
    bone_map : BoneMap
    key_times : (keys,) array
        Source seconds, strictly increasing.
    parameters : list of EditParameters
        One per key, inside :data:`synthesis.edits.PARAMETER_BOUNDS`.
    keep_planted_feet : bool
        Pin planted feet after blending and re-timing.
    """
    key_times = np.asarray(key_times, dtype=np.float64).reshape(-1)
    if len(parameters) != len(key_times) or len(key_times) == 0:
        raise ValueError(
            f"apply_edit_curve needs one EditParameters per key time, got {len(parameters)} for {len(key_times)} times"
        )
    if not np.all(np.isfinite(key_times)) or np.any(np.diff(key_times) <= 0):
        raise ValueError("apply_edit_curve: key_times must be finite seconds in strictly increasing order")
    for item in parameters:
        item.validate()
    frames = motion.frame_count
    rate = motion.frame_rate
    source_times = np.arange(frames) / rate
    weights = key_weights(source_times, key_times)
    skipped: list[str] = []
    positions = motion.positions()

    rotations: list[np.ndarray] = []
    roots: list[np.ndarray] = []
    translations: list[np.ndarray | None] = []
    paces: list[np.ndarray] = []
    for item in parameters:
        shaped = dataclasses.replace(item, time_scale=1.0, time_warp=0.0)
        result = apply_edit(motion, bone_map, shaped, keep_planted_feet=False, keep_loop=False, return_report=True)
        assert isinstance(result, EditResult)
        skipped.extend(message for message in result.skipped if message not in skipped)
        rotations.append(quaternion.make_continuous(result.motion.rotations, axis=0))
        roots.append(result.motion.root_positions)
        translations.append(result.motion.translations)
        warp_messages: list[str] = []
        warped = time_map(motion, EditParameters(time_warp=item.time_warp), bone_map, positions, warp_messages)
        skipped.extend(message for message in warp_messages if message not in skipped)
        paces.append(np.gradient(warped.output_times) * rate if frames > 1 else np.ones(frames))

    blended = Motion(
        skeleton=motion.skeleton,
        rotations=_blend_rotations(rotations, weights),
        root_positions=np.einsum("fk,kfc->fc", weights, np.stack(roots)),
        frame_rate=rate,
        translations=None if motion.translations is None else np.einsum(
            "fk,kfjc->fjc", weights, np.stack([item for item in translations if item is not None])),
    )

    log_scale = weights @ np.log([item.time_scale for item in parameters])
    pace = np.einsum("fk,kf->f", weights, np.stack(paces)) / np.exp(log_scale)
    output_times = np.concatenate(([0.0], np.cumsum(0.5 * (pace[1:] + pace[:-1]) / rate)))
    if frames > 1:
        output_count = int(round(output_times[-1] * rate)) + 1
        output_times *= (output_count - 1) / rate / output_times[-1]
        source_frames = np.interp(np.arange(output_count) / rate, output_times, np.arange(frames, dtype=np.float64))
    else:
        source_frames = np.zeros(1)
    edited = blended.sample(source_frames)

    source_contacts = detect_foot_contacts(motion, bone_map, positions=positions)
    contacts = source_contacts[np.clip(np.round(source_frames).astype(np.int64), 0, frames - 1)]
    if keep_planted_feet and contacts.any():
        edited = lock_feet(edited, bone_map, contacts, skipped=skipped)
    edited.rotations = quaternion.make_continuous(quaternion.normalize(edited.rotations), axis=0)
    for message in skipped:
        logger.info("Edit skipped: %s", message)
    return CurveEdit(motion=edited, source_frames=source_frames, output_times=output_times, weights=weights,
                     contacts=contacts, skipped=skipped)


@dataclass
class CurveSolveResult:
    """Per-key edit parameters for a time-varying target, the blended edit and how close it came."""

    key_times: np.ndarray
    """``(keys,)`` source seconds of the keys."""
    parameters: list[EditParameters]
    """Parameters found at each key."""
    keys: list[SolveResult]
    """The solve at each key, on the excerpt of ``excerpt_seconds`` around it."""
    motion: Motion
    """The edited motion at full resolution."""
    edit: CurveEdit
    """The blended edit: time map, weights, contacts and skipped edits."""
    evaluations: int
    """Proxy evaluations over all keys."""
    source_features: np.ndarray
    """``(keys, features)`` clip features of the source excerpt around each key."""
    target_features: np.ndarray
    """``(keys, features)`` strength-scaled targets."""
    achieved_features: np.ndarray
    """``(keys, features)`` clip features of the result's excerpt around each key's output time."""
    feature_scale: np.ndarray
    """``(keys, features)`` spread that divides each feature difference."""
    distance_before: float
    """Mean over keys of the root mean square standardised source-to-target difference."""
    distance_after: float
    """Mean over keys of the root mean square standardised result-to-target difference."""
    relative_error_reduction: float
    """``1 - distance_after / distance_before``; 0 when the source already matches every target."""
    skipped: list[str] = field(default_factory=list)
    """Edits and parameters that could not apply, over all keys."""


def solve_edit_curve(
    motion: Motion,
    bone_map,
    target_features: np.ndarray,
    key_times: np.ndarray,
    strength: float = 1.0,
    *,
    feature_scale: np.ndarray | None = None,
    settings: FeatureSettings | None = None,
    max_evaluations: int = 200,
    keep_planted_feet: bool = True,
    source_features: np.ndarray | None = None,
    excerpt_seconds: float = KEY_EXCERPT_SECONDS,
) -> CurveSolveResult:
    """Find edit parameters per key time for a target that changes over the motion, and apply them blended.

    Each key's target is compared with the clip features of the excerpt of
    ``excerpt_seconds`` centred at its time (:func:`excerpt_features`), and
    :func:`solve_edit` finds that key's parameters on the excerpt. :func:`apply_edit_curve`
    then blends the keys' edits over the whole motion with smooth weights and a
    time-varying speed. Finally the result is measured on the excerpt around each key's
    output time.

    Parameters
    ----------
    motion : Motion
    bone_map : BoneMap
    target_features : (keys, features) array
        Target clip features of the excerpt around each key, in ``FEATURE_NAMES`` order.
    key_times : (keys,) array
        Source seconds, strictly increasing.
    strength : float
        In [0, 1]; scales each key's target toward its source excerpt's features.
    feature_scale : (features,) or (keys, features) array, optional
        Spread per feature; :func:`default_feature_scale` per key when omitted.
    settings : FeatureSettings, optional
    max_evaluations : int
        Upper bound on proxy evaluations per key.
    keep_planted_feet : bool
    source_features : (keys, features) array, optional
        :func:`excerpt_features` of ``motion`` at ``key_times`` when already measured.
    excerpt_seconds : float
        Length of the excerpt around each key, in seconds.
    """
    strength = _check_strength(strength)
    key_times = np.asarray(key_times, dtype=np.float64).reshape(-1)
    targets = np.asarray(target_features, dtype=np.float64)
    if targets.ndim != 2 or targets.shape != (len(key_times), len(FEATURE_NAMES)):
        raise ValueError(
            f"target_features must have shape ({len(key_times)}, {len(FEATURE_NAMES)}): one row per key time, "
            f"got {targets.shape}"
        )
    if not (math.isfinite(excerpt_seconds) and excerpt_seconds > 0):
        raise ValueError(f"excerpt_seconds must be a positive number of seconds, got {excerpt_seconds}")
    if source_features is None:
        sources = excerpt_features(motion, bone_map, key_times, excerpt_seconds, settings)
    else:
        sources = np.asarray(source_features, dtype=np.float64)
        if sources.shape != targets.shape:
            raise ValueError(f"source_features must have shape {targets.shape} like target_features, got {sources.shape}")
    scales = None if feature_scale is None else np.broadcast_to(np.asarray(feature_scale, dtype=np.float64),
                                                                 targets.shape)

    keys = []
    for index, time in enumerate(key_times):
        part = excerpt(motion, *_key_range(motion, float(time), excerpt_seconds))
        keys.append(solve_edit(
            part, bone_map, targets[index], strength,
            feature_scale=None if scales is None else scales[index], settings=settings,
            max_evaluations=max_evaluations, keep_planted_feet=keep_planted_feet,
            source_features=sources[index], proxy_seconds=max(PROXY_SECONDS, excerpt_seconds),
        ))
    parameters = [key.parameters for key in keys]
    edit = apply_edit_curve(motion, bone_map, key_times, parameters, keep_planted_feet=keep_planted_feet)

    extractor = FeatureExtractor(motion.skeleton, bone_map, settings)
    output_key_times = edit.to_output(key_times)
    achieved = np.stack([
        extractor.clip_features(excerpt(edit.motion, *_key_range(edit.motion, float(time),
                                                                 excerpt_seconds / key.parameters.time_scale)))
        for time, key in zip(output_key_times, keys)
    ])
    scaled_targets = np.stack([key.target_features for key in keys])
    used_scales = np.stack([key.feature_scale for key in keys])
    before = float(np.mean([key.distance_before for key in keys]))
    after = float(np.mean([_rms((achieved[index] - scaled_targets[index]) / used_scales[index])
                           for index in range(len(keys))]))
    skipped = list(edit.skipped)
    for key in keys:
        skipped.extend(message for message in key.skipped if message not in skipped)
    return CurveSolveResult(
        key_times=key_times, parameters=parameters, keys=keys, motion=edit.motion, edit=edit,
        evaluations=sum(key.evaluations for key in keys), source_features=sources,
        target_features=scaled_targets, achieved_features=achieved, feature_scale=used_scales,
        distance_before=before, distance_after=after,
        relative_error_reduction=0.0 if before == 0.0 else 1.0 - after / before, skipped=skipped,
    )
