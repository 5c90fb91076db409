"""Laban Movement Analysis (LMA) features of a motion, measured per time window.

Every feature is computed from world joint positions of the bones that
``synthesis.roles`` maps, never from a rig's own joint list, so extra in-between joints
(``Spine1``, ``Neck1``, ``LHipJoint``) and twist bones change nothing. The steps are:

1. Sample the motion on a fixed time grid of ``analysis_frame_rate`` samples per second
   (slerp between source frames), so that finite differences do not depend on the
   source frame rate.
2. Run forward kinematics, divide positions by the body height (pelvis-to-head plus
   thigh-to-foot chain lengths of the rest skeleton), and infer the up axis.
3. Differentiate with a Savitzky-Golay fit (cubic, ``smoothing_seconds`` wide), which
   gives velocity, acceleration and jerk in body heights per second to the power 1, 2, 3.
4. Aggregate per window of ``window_seconds``, every ``hop_seconds``.

Shape features are ratios of the rig's own chain lengths or angles, and features that
need a reference posture compare with the rig's rest pose measured relative to its own
trunk, so a rest pose lying along any axis is fine. The feature table with formulas,
units and LMA components is :data:`FEATURES`; ``docs/lma_features.md`` explains the
choice and how well each feature separates emotional styles.

Cost: one call costs one forward-kinematics pass over the motion resampled to
``analysis_frame_rate`` plus vectorised numpy over samples and windows; see
``docs/benchmarks.md`` for measured times.
"""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass

import numpy as np

from .roles import BoneMap, body_height
from .skeleton import Motion, MotionError, forward_kinematics

__all__ = [
    "FEATURE_EXTRACTOR_VERSION",
    "FEATURE_NAMES",
    "FEATURES",
    "FeatureInfo",
    "FeatureSettings",
    "window_features",
    "clip_features",
    "window_times",
]

logger = logging.getLogger(__name__)

FEATURE_EXTRACTOR_VERSION = "1.0.0"
"""Version of the feature formulas; models trained on other versions must be retrained."""

COMPONENTS = ("Body", "Effort.Weight", "Effort.Time", "Effort.Space", "Effort.Flow", "Shape", "Space")


@dataclass(frozen=True)
class FeatureInfo:
    """Description of one LMA feature."""

    name: str
    """Identifier, also the column name in feature tables."""
    component: str
    """LMA component: one of ``COMPONENTS``."""
    unit: str
    """Unit of the value, for example ``"body heights/s"`` or ``"1"`` for unit-free ratios."""
    formula: str
    """One-line definition of the per-window value."""
    speed_exponent: int = 0
    """Playing the motion ``k`` times faster multiplies the value by about ``k ** speed_exponent``."""


_FEATURE_TABLE = (
    FeatureInfo(
        "hand_distance", "Body", "1",
        "mean |left_hand - right_hand| / (left arm chain + right arm chain + rest upper-arm distance)",
    ),
    FeatureInfo(
        "hand_body_distance", "Body", "arm lengths",
        "mean over hands of the distance from the pelvis-neck line / arm chain length",
    ),
    FeatureInfo(
        "hand_height", "Body", "arm lengths",
        "mean over hands of (hand - upper_arm) . up / arm chain length",
    ),
    FeatureInfo(
        "foot_distance", "Body", "leg lengths",
        "mean |left_foot - right_foot| / mean leg chain length (thigh to foot)",
    ),
    FeatureInfo(
        "arm_extension", "Body", "1",
        "mean over arms of |hand - upper_arm| / arm chain length",
    ),
    FeatureInfo(
        "leg_extension", "Body", "1",
        "mean over legs of |foot - thigh| / leg chain length",
    ),
    FeatureInfo(
        "uprightness", "Shape", "1",
        "mean (head - pelvis) . up / rest |head - pelvis|",
    ),
    FeatureInfo(
        "spine_flexion", "Shape", "radians",
        "mean atan2((neck - pelvis) . forward, (neck - pelvis) . up); positive leans forward",
    ),
    FeatureInfo(
        "head_flexion", "Shape", "radians",
        "mean atan2((head - neck) . forward, (head - neck) . up) minus its rest value; positive bows",
    ),
    FeatureInfo(
        "shoulder_elevation", "Shape", "trunk lengths",
        "mean over sides of (upper_arm - neck) . trunk direction / rest trunk length, minus its rest value",
    ),
    FeatureInfo(
        "body_volume", "Shape", "body heights^3",
        "mean product of the extents of pelvis, head, hands and feet along forward, up and lateral",
    ),
    FeatureInfo(
        "effector_energy_mean", "Effort.Weight", "body heights^2/s^2",
        "mean over samples of the mean over hands, feet and head of |pelvis-relative velocity|^2",
        speed_exponent=2,
    ),
    FeatureInfo(
        "effector_energy_peak", "Effort.Weight", "body heights^2/s^2",
        "max over samples of the mean over hands, feet and head of |pelvis-relative velocity|^2",
        speed_exponent=2,
    ),
    FeatureInfo(
        "body_energy_mean", "Effort.Weight", "body heights^2/s^2",
        "mean over samples and mapped joints of |world velocity|^2",
        speed_exponent=2,
    ),
    FeatureInfo(
        "effector_acceleration_mean", "Effort.Time", "body heights/s^2",
        "mean over samples, hands, feet and head of |pelvis-relative acceleration|",
        speed_exponent=2,
    ),
    FeatureInfo(
        "effector_acceleration_peak", "Effort.Time", "body heights/s^2",
        "max over samples of the mean over hands, feet and head of |pelvis-relative acceleration|",
        speed_exponent=2,
    ),
    FeatureInfo(
        "tempo", "Effort.Time", "Hz",
        "power-weighted mean frequency of the pelvis-relative velocity of hands, feet and head",
        speed_exponent=1,
    ),
    FeatureInfo(
        "hand_directness", "Effort.Space", "1",
        "mean over hands of |pelvis-relative displacement| / (pelvis-relative path length + 1e-3)",
    ),
    FeatureInfo(
        "head_directness", "Effort.Space", "1",
        "|world displacement of the head| / (world path length of the head + 1e-3)",
    ),
    FeatureInfo(
        "effector_jerk_mean", "Effort.Flow", "body heights/s^3",
        "mean over samples, hands, feet and head of |pelvis-relative jerk|",
        speed_exponent=3,
    ),
    FeatureInfo(
        "jerk_ratio", "Effort.Flow", "1",
        "mean |jerk| * mean |velocity| / mean |acceleration|^2 over hands, feet and head",
    ),
    FeatureInfo(
        "root_speed", "Space", "body heights/s",
        "mean horizontal speed of the pelvis",
        speed_exponent=1,
    ),
    FeatureInfo(
        "root_bounce", "Space", "body heights",
        "standard deviation of the pelvis height within the window",
    ),
)

FEATURES: dict[str, FeatureInfo] = {info.name: info for info in _FEATURE_TABLE}
"""Feature name to its description, in ``FEATURE_NAMES`` order."""

FEATURE_NAMES: tuple[str, ...] = tuple(FEATURES)
"""Column order of the arrays that :func:`window_features` and :func:`clip_features` return."""

_AXES = {"x": 0, "y": 1, "z": 2}

# Path length added to the denominator of directness, in body heights: a still or
# trembling path (shorter than a millimetre on a 1.7 m body) reads as 0, not as noise.
_DIRECTNESS_EPSILON = 1e-3


@dataclass(frozen=True)
class FeatureSettings:
    """Windowing and sampling options of the feature extractor."""

    window_seconds: float = 2.0
    """Length of one analysis window in seconds; about two walking cycles."""
    hop_seconds: float = 0.5
    """Time between the starts of consecutive windows in seconds."""
    analysis_frame_rate: float = 30.0
    """Samples per second of the fixed time grid that all derivatives are taken on."""
    smoothing_seconds: float = 0.2
    """Width in seconds of the cubic Savitzky-Golay fit that gives velocity, acceleration and jerk."""
    up_axis: str | None = None
    """World up axis such as ``"y"``, ``"z"`` or ``"-z"``; ``None`` infers it from the pelvis-to-head direction."""

    def __post_init__(self) -> None:
        for name in ("window_seconds", "hop_seconds", "analysis_frame_rate", "smoothing_seconds"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"FeatureSettings.{name} must be a positive number, got {value!r}")
        if self.up_axis is not None:
            _axis_vector(self.up_axis)


def _axis_vector(name: str) -> np.ndarray:
    text = name.strip().lower()
    sign = -1.0 if text.startswith("-") else 1.0
    letter = text.lstrip("+-")
    if letter not in _AXES:
        raise ValueError(f"Invalid up axis {name!r}; expected one of x, y, z, -x, -y, -z")
    vector = np.zeros(3)
    vector[_AXES[letter]] = sign
    return vector


@dataclass(frozen=True)
class _Grid:
    """Analysis time grid and the window layout on it."""

    rate: float
    sample_count: int
    starts: np.ndarray
    length: int


def _grid(motion: Motion, settings: FeatureSettings) -> _Grid:
    # A source rate within 0.1 % of the analysis rate is used as is: BVH frame times are
    # rounded (0.0333333 s), and resampling those would only blur the frames.
    if abs(motion.frame_rate / settings.analysis_frame_rate - 1.0) < 1e-3:
        rate = motion.frame_rate
        count = motion.frame_count
    else:
        rate = float(settings.analysis_frame_rate)
        count = int(math.floor(motion.duration * rate + 1e-6)) + 1
    length = int(round(settings.window_seconds * rate)) + 1
    hop = max(1, int(round(settings.hop_seconds * rate)))
    if count <= length:
        return _Grid(rate, count, np.zeros(1, dtype=np.int64), count)
    starts = np.arange(0, count - length + 1, hop, dtype=np.int64)
    if starts[-1] + length < count:
        # A last window flush with the end, so the final frames are measured too.
        starts = np.append(starts, count - length)
    return _Grid(rate, count, starts, length)


def window_times(motion: Motion, settings: FeatureSettings | None = None) -> np.ndarray:
    """Return the centre time of each window in seconds from the first frame.

    Parameters
    ----------
    motion : Motion
        The motion that :func:`window_features` measures.
    settings : FeatureSettings, optional
        Window options; the defaults when omitted.

    Returns
    -------
    numpy.ndarray
        ``(windows,)`` centre times in seconds, increasing. Windows are regularly spaced
        by ``hop_seconds`` except the last, which ends on the last frame. A motion
        shorter than one window has one window over the whole motion.
    """
    settings = settings or FeatureSettings()
    grid = _grid(motion, settings)
    return (grid.starts + 0.5 * (grid.length - 1)) / grid.rate


@functools.lru_cache(maxsize=64)
def _savgol_rows(window: int, order: int) -> np.ndarray:
    """Return ``(4, window, window)`` weights: derivative ``d`` at position ``i`` of a window.

    Derivatives are per sample step; divide by ``dt ** d`` for seconds.
    """
    x = np.arange(window, dtype=np.float64) - (window - 1) / 2.0
    vandermonde = x[:, None] ** np.arange(order + 1)[None, :]
    fit = np.linalg.pinv(vandermonde)  # (order + 1, window): polynomial coefficients from samples
    rows = np.zeros((4, window, window))
    for derivative in range(4):
        for power in range(derivative, order + 1):
            factor = math.factorial(power) / math.factorial(power - derivative)
            rows[derivative] += factor * (x[:, None] ** (power - derivative)) * fit[power][None, :]
    return rows


def _derivatives(values: np.ndarray, dt: float, window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Differentiate ``values: (samples, ...)`` with a cubic Savitzky-Golay fit.

    Returns velocity, acceleration and jerk with the shape of ``values``, per second to
    the power 1, 2, 3. Interior samples use the centred fit; the first and last
    ``window // 2`` samples evaluate the fit of the first or last full window at their
    own position. Fewer samples than ``window`` are fitted with one polynomial of degree
    at most ``samples - 1``.
    """
    count = values.shape[0]
    flat = values.reshape(count, -1)
    results = []
    if count == 1:
        zero = np.zeros_like(values)
        return zero, zero.copy(), zero.copy()
    if count <= window:
        rows = _savgol_rows(count, min(3, count - 1))
        for derivative in (1, 2, 3):
            results.append((rows[derivative] @ flat).reshape(values.shape) / dt**derivative)
        return results[0], results[1], results[2]
    rows = _savgol_rows(window, 3)
    half = window // 2
    view = np.lib.stride_tricks.sliding_window_view(flat, window, axis=0)  # (count - window + 1, C, window)
    for derivative in (1, 2, 3):
        out = np.empty_like(flat)
        out[half : count - half] = view @ rows[derivative, half]
        out[:half] = rows[derivative, :half] @ flat[:window]
        out[count - half :] = rows[derivative, half + 1 :] @ flat[count - window :]
        results.append(out.reshape(values.shape) / dt**derivative)
    return results[0], results[1], results[2]


def _unit(vectors: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norm, 1e-12)


@dataclass(frozen=True)
class _Rig:
    """Role joint indices and rest-pose measures of one skeleton with its bone map."""

    pelvis: int
    neck: int
    head: int
    upper_arms: tuple[int, int]
    hands: tuple[int, int]
    thighs: tuple[int, int]
    feet: tuple[int, int]
    body_joints: tuple[int, ...]
    height: float
    arm_lengths: np.ndarray
    leg_lengths: np.ndarray
    arm_span: float
    trunk_length: float
    head_reach: float
    head_rest_angle: float
    shoulder_rest: float


_BODY_ROLES = (
    "pelvis", "spine", "chest", "neck", "head",
    *(f"{side}_{part}" for side in ("left", "right") for part in ("upper_arm", "forearm", "hand", "thigh", "shin", "foot")),
)


def _rig(motion: Motion, bone_map: BoneMap) -> _Rig:
    skeleton = motion.skeleton
    pelvis, neck, head = bone_map.index("pelvis"), bone_map.index("neck"), bone_map.index("head")
    upper_arms = (bone_map.index("left_upper_arm"), bone_map.index("right_upper_arm"))
    hands = (bone_map.index("left_hand"), bone_map.index("right_hand"))
    thighs = (bone_map.index("left_thigh"), bone_map.index("right_thigh"))
    feet = (bone_map.index("left_foot"), bone_map.index("right_foot"))
    body_joints = tuple(
        sorted({index for index in (bone_map.get(role) for role in _BODY_ROLES) if index is not None})
    )

    height = float(body_height(skeleton, bone_map))
    if not (math.isfinite(height) and height > 0):
        raise MotionError(f"Skeleton body height must be positive, got {height}; check the pelvis, head and leg bones")
    arm_lengths = np.array([skeleton.chain_length(u, h) for u, h in zip(upper_arms, hands)])
    leg_lengths = np.array([skeleton.chain_length(t, f) for t, f in zip(thighs, feet)])
    for label, lengths in (("arm", arm_lengths), ("leg", leg_lengths)):
        if np.any(lengths <= 1e-9 * height):
            raise MotionError(
                f"Skeleton has a zero-length {label} chain; check the bone map for the {label} roles"
            )

    rest = skeleton.rest_positions()
    trunk = rest[neck] - rest[pelvis]
    trunk_length = float(np.linalg.norm(trunk))
    head_reach = float(np.linalg.norm(rest[head] - rest[pelvis]))
    if trunk_length <= 1e-9 * height or head_reach <= 1e-9 * height:
        raise MotionError("Skeleton rest pose puts the neck or head on the pelvis; check the bone map")
    rest_up = trunk / trunk_length
    lateral = (rest[upper_arms[0]] - rest[upper_arms[1]]) + (rest[thighs[0]] - rest[thighs[1]])
    lateral = lateral - np.dot(lateral, rest_up) * rest_up
    rest_forward = _unit(np.cross(lateral, rest_up))
    neck_to_head = rest[head] - rest[neck]
    head_rest_angle = float(np.arctan2(neck_to_head @ rest_forward, neck_to_head @ rest_up))
    shoulder_rest = float(np.mean([(rest[u] - rest[neck]) @ rest_up for u in upper_arms]) / trunk_length)
    arm_span = float(arm_lengths.sum() + np.linalg.norm(rest[upper_arms[0]] - rest[upper_arms[1]]))
    return _Rig(
        pelvis, neck, head, upper_arms, hands, thighs, feet, body_joints, height, arm_lengths,
        leg_lengths, arm_span, trunk_length, head_reach, head_rest_angle, shoulder_rest,
    )


def _sample_positions(motion: Motion, grid: _Grid) -> np.ndarray:
    """Return world positions ``(samples, joints, 3)`` on the analysis grid."""
    if grid.rate == motion.frame_rate and grid.sample_count == motion.frame_count:
        sampled = motion
    else:
        sampled = motion.sample(np.arange(grid.sample_count) / grid.rate * motion.frame_rate, grid.rate)
    positions = forward_kinematics(
        sampled.skeleton, sampled.rotations, sampled.root_positions, sampled.translations
    )
    assert isinstance(positions, np.ndarray)
    return positions


def _infer_up(positions: np.ndarray, rig: _Rig) -> np.ndarray:
    direction = np.mean(positions[:, rig.head] - positions[:, rig.pelvis], axis=0)
    if not np.any(np.abs(direction) > 0):
        raise MotionError("Cannot infer the up axis: the head stays on the pelvis; set FeatureSettings.up_axis")
    axis = int(np.argmax(np.abs(direction)))
    up = np.zeros(3)
    up[axis] = np.sign(direction[axis])
    return up


def _per_sample(positions: np.ndarray, rig: _Rig, up: np.ndarray, dt: float, settings: FeatureSettings) -> dict:
    """Compute per-sample measures from positions ``(samples, joints, 3)`` in body heights."""
    pelvis = positions[:, rig.pelvis]
    neck = positions[:, rig.neck]
    head = positions[:, rig.head]
    upper_arms = positions[:, list(rig.upper_arms)]
    hands = positions[:, list(rig.hands)]
    thighs = positions[:, list(rig.thighs)]
    feet = positions[:, list(rig.feet)]
    height = rig.height  # positions are already divided by it; lengths below are too
    arm_lengths = rig.arm_lengths / height
    leg_lengths = rig.leg_lengths / height

    lateral = (upper_arms[:, 0] - upper_arms[:, 1]) + (thighs[:, 0] - thighs[:, 1])
    lateral = lateral - (lateral @ up)[:, None] * up
    forward = _unit(np.cross(lateral, up))
    side = np.cross(up, forward)

    trunk = neck - pelvis
    trunk_unit = _unit(trunk)
    to_hands = hands - pelvis[:, None]
    along = np.sum(to_hands * trunk_unit[:, None], axis=-1)
    off_axis = np.linalg.norm(to_hands - along[..., None] * trunk_unit[:, None], axis=-1)
    neck_to_head = head - neck
    shoulder_height = np.sum((upper_arms - neck[:, None]) * trunk_unit[:, None], axis=-1)

    points = np.stack([pelvis, head, hands[:, 0], hands[:, 1], feet[:, 0], feet[:, 1]], axis=1)
    extents = [np.ptp(np.einsum("sjc,sc->sj", points, axis), axis=1) for axis in (forward, side)]
    extents.append(np.ptp(points @ up, axis=1))

    shape = {
        "hand_distance": np.linalg.norm(hands[:, 0] - hands[:, 1], axis=-1) / (rig.arm_span / height),
        "hand_body_distance": np.mean(off_axis / arm_lengths, axis=1),
        "hand_height": np.mean(((hands - upper_arms) @ up) / arm_lengths, axis=1),
        "foot_distance": np.linalg.norm(feet[:, 0] - feet[:, 1], axis=-1) / np.mean(leg_lengths),
        "arm_extension": np.mean(np.linalg.norm(hands - upper_arms, axis=-1) / arm_lengths, axis=1),
        "leg_extension": np.mean(np.linalg.norm(feet - thighs, axis=-1) / leg_lengths, axis=1),
        "uprightness": ((head - pelvis) @ up) / (rig.head_reach / height),
        "spine_flexion": np.arctan2(np.sum(trunk * forward, axis=-1), trunk @ up),
        "head_flexion": np.arctan2(np.sum(neck_to_head * forward, axis=-1), neck_to_head @ up) - rig.head_rest_angle,
        "shoulder_elevation": np.mean(shoulder_height, axis=1) / (rig.trunk_length / height) - rig.shoulder_rest,
        "body_volume": extents[0] * extents[1] * extents[2],
    }

    window = max(5, 2 * int(round(settings.smoothing_seconds / dt / 2.0)) + 1)
    effectors = np.stack([hands[:, 0], hands[:, 1], feet[:, 0], feet[:, 1], head], axis=1) - pelvis[:, None]
    velocity, acceleration, jerk = _derivatives(effectors, dt, window)
    body_velocity, _, _ = _derivatives(positions[:, list(rig.body_joints)], dt, window)
    pelvis_velocity, _, _ = _derivatives(pelvis, dt, window)
    horizontal = pelvis_velocity - (pelvis_velocity @ up)[:, None] * up

    kinematic = {
        "speed": np.linalg.norm(velocity, axis=-1),  # (samples, effectors)
        "energy": np.mean(np.sum(velocity**2, axis=-1), axis=1),
        "body_energy": np.mean(np.sum(body_velocity**2, axis=-1), axis=1),
        "acceleration": np.mean(np.linalg.norm(acceleration, axis=-1), axis=1),
        "jerk": np.mean(np.linalg.norm(jerk, axis=-1), axis=1),
        "root_speed": np.linalg.norm(horizontal, axis=-1),
        "root_height": pelvis @ up,
        "velocity": velocity,
        "hands": hands - pelvis[:, None],
        "head": head,
    }
    return {"shape": shape, "kinematic": kinematic}


def _directness(paths: np.ndarray) -> np.ndarray:
    """Return displacement over path length for ``paths: (windows, samples, ..., 3)``."""
    steps = np.linalg.norm(np.diff(paths, axis=1), axis=-1).sum(axis=1)
    displacement = np.linalg.norm(paths[:, -1] - paths[:, 0], axis=-1)
    return displacement / (steps + _DIRECTNESS_EPSILON)


def _tempo(velocity: np.ndarray, rate: float) -> np.ndarray:
    """Return the power-weighted mean frequency in Hz of ``velocity: (windows, samples, ...)``."""
    samples = velocity.shape[1]
    if samples < 3:
        return np.zeros(velocity.shape[0])
    centred = velocity - velocity.mean(axis=1, keepdims=True)
    taper = np.hanning(samples).reshape((1, samples) + (1,) * (velocity.ndim - 2))
    spectrum = np.abs(np.fft.rfft(centred * taper, axis=1)) ** 2
    power = spectrum.reshape(spectrum.shape[0], spectrum.shape[1], -1).sum(axis=-1)  # (windows, frequencies)
    frequencies = np.fft.rfftfreq(samples, 1.0 / rate)
    total = power.sum(axis=1)
    # Below this power (body heights^2/s^2 summed over a spectrum) the body is still.
    still = total <= 1e-18
    return np.where(still, 0.0, (power @ frequencies) / np.where(still, 1.0, total))


def window_features(
    motion: Motion, bone_map: BoneMap, settings: FeatureSettings | None = None
) -> np.ndarray:
    """Measure every feature of :data:`FEATURE_NAMES` in each time window.

    Parameters
    ----------
    motion : Motion
        Any frame rate, length unit and up axis; at least one frame.
    bone_map : BoneMap
        Roles of ``motion.skeleton``; needs pelvis, neck, head and, for both sides,
        upper_arm, hand, thigh and foot (spine, chest, forearm and shin are used when mapped).
    settings : FeatureSettings, optional
        Window and sampling options; the defaults when omitted.

    Returns
    -------
    numpy.ndarray
        ``(windows, features)`` values in :data:`FEATURE_NAMES` order; window ``i`` is
        centred at ``window_times(motion, settings)[i]``.
    """
    settings = settings or FeatureSettings()
    if motion.frame_count < 1:
        raise MotionError("Motion has no frames; features need at least one frame")
    rig = _rig(motion, bone_map)
    grid = _grid(motion, settings)
    positions = _sample_positions(motion, grid) / rig.height
    up = _axis_vector(settings.up_axis) if settings.up_axis is not None else _infer_up(positions, rig)
    dt = 1.0 / grid.rate
    measures = _per_sample(positions, rig, up, dt, settings)
    shape, kinematic = measures["shape"], measures["kinematic"]

    index = grid.starts[:, None] + np.arange(grid.length)[None, :]  # (windows, samples)
    energy = kinematic["energy"][index]
    acceleration = kinematic["acceleration"][index]
    jerk = kinematic["jerk"][index]
    mean_speed = kinematic["speed"][index].mean(axis=(1, 2))
    mean_acceleration = acceleration.mean(axis=1)
    mean_jerk = jerk.mean(axis=1)
    denominator = mean_acceleration**2
    tiny = denominator <= 1e-24
    jerk_ratio = np.where(tiny, 0.0, mean_jerk * mean_speed / np.where(tiny, 1.0, denominator))

    values = {name: shape[name][index].mean(axis=1) for name in shape}
    values.update(
        effector_energy_mean=energy.mean(axis=1),
        effector_energy_peak=energy.max(axis=1),
        body_energy_mean=kinematic["body_energy"][index].mean(axis=1),
        effector_acceleration_mean=mean_acceleration,
        effector_acceleration_peak=acceleration.max(axis=1),
        tempo=_tempo(kinematic["velocity"][index], grid.rate),
        hand_directness=_directness(kinematic["hands"][index]).mean(axis=1),
        head_directness=_directness(kinematic["head"][index]),
        effector_jerk_mean=mean_jerk,
        jerk_ratio=jerk_ratio,
        root_speed=kinematic["root_speed"][index].mean(axis=1),
        root_bounce=kinematic["root_height"][index].std(axis=1),
    )
    return np.stack([values[name] for name in FEATURE_NAMES], axis=1)


def clip_features(motion: Motion, bone_map: BoneMap, settings: FeatureSettings | None = None) -> np.ndarray:
    """Summarise a motion as one feature vector: the mean of :func:`window_features` over windows.

    Peak features are therefore the mean of the per-window peaks. A motion shorter than
    one window is measured as one window.

    Returns
    -------
    numpy.ndarray
        ``(features,)`` in :data:`FEATURE_NAMES` order.
    """
    return window_features(motion, bone_map, settings).mean(axis=0)
