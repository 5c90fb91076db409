"""Laban Movement Analysis (LMA) features of a motion, measured per time window.

Every feature is computed from world joint positions of the bones that
``synthesis.roles`` maps, never from a rig's own joint list, so extra in-between joints
(``Spine1``, ``Neck1``, ``LHipJoint``) and twist bones change nothing. The steps are:

1. Run forward kinematics on the source frames, divide positions by the body height
   (pelvis-to-head plus thigh-to-foot chain lengths of the rest skeleton), and infer
   the up axis.
2. Interpolate the positions onto a fixed time grid in seconds, so that finite
   differences do not depend on the source frame rate. The grid density and the
   smoothing width follow the motion's tempo (``FeatureSettings.adaptive_time_scale``).
3. Differentiate with a Savitzky-Golay fit (cubic, ``smoothing_seconds`` wide), which
   gives velocity, acceleration and jerk in body heights per second to the power 1, 2, 3.
4. Aggregate per window of ``window_seconds``, every ``hop_seconds``.

Shape features are ratios of the rig's own chain lengths or angles, and features that
need a reference posture compare with the rig's rest pose measured relative to its own
trunk, so a rest pose lying along any axis is fine. The feature table with formulas,
units and LMA components is :data:`FEATURES`; ``docs/lma_features.md`` explains the
choice and how well each feature separates emotional styles.

Cost: one forward-kinematics pass over the source frames, restricted to the role joints
the features read and their ancestors, plus vectorised numpy over samples and windows;
see ``docs/benchmarks.md`` for measured times. Rest-pose measures depend only on the
skeleton and the bone map: :class:`FeatureExtractor` computes them once for many
motions, and the module-level functions keep them per skeleton object.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import weakref
from dataclasses import dataclass

import numpy as np

from ._kinematics_subset import JointSubsetKinematics
from .roles import BoneMap, body_height
from .skeleton import Motion, MotionError, Skeleton

__all__ = [
    "FEATURE_EXTRACTOR_VERSION",
    "FEATURE_NAMES",
    "FEATURES",
    "FeatureInfo",
    "FeatureSettings",
    "FeatureExtractor",
    "window_features",
    "clip_features",
    "window_times",
]

logger = logging.getLogger(__name__)

FEATURE_EXTRACTOR_VERSION = "1.2.0"
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
    minimum: float = -math.inf
    """Smallest value the formula can produce: 0 for lengths, energies, rates and ratios of them."""
    maximum: float = math.inf
    """Largest value the formula can produce: 1 for directness (chord over arc)."""


_FEATURE_TABLE: tuple[FeatureInfo, ...] = (
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
        "95th percentile over samples of the mean over hands, feet and head of |pelvis-relative velocity|^2",
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
        "95th percentile over samples of the mean over hands, feet and head of |pelvis-relative acceleration|",
        speed_exponent=2,
    ),
    FeatureInfo(
        "tempo", "Effort.Time", "Hz",
        "power-weighted mean frequency of the detrended pelvis-relative paths of hands, feet and head",
        speed_exponent=1,
    ),
    FeatureInfo(
        "hand_directness", "Effort.Space", "1",
        "arc-weighted mean of chord / arc over 0.1 body heights of arc of the pelvis-relative hand paths",
    ),
    FeatureInfo(
        "head_directness", "Effort.Space", "1",
        "arc-weighted mean of chord / arc over 0.5 body heights of arc of the world head path",
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
        "root_vertical_speed", "Space", "body heights/s",
        "mean |vertical velocity of the pelvis| (bounce)",
        speed_exponent=1,
    ),
)

# Signed features: angles, and heights relative to the pelvis, the shoulders or the rest pose.
_SIGNED_FEATURES = ("hand_height", "uprightness", "spine_flexion", "head_flexion", "shoulder_elevation")
_FEATURE_TABLE = tuple(
    info if info.name in _SIGNED_FEATURES
    else dataclasses.replace(info, minimum=0.0, maximum=1.0 if info.name.endswith("_directness") else math.inf)
    for info in _FEATURE_TABLE
)

FEATURES: dict[str, FeatureInfo] = {info.name: info for info in _FEATURE_TABLE}
"""Feature name to its description, in ``FEATURE_NAMES`` order."""

FEATURE_NAMES: tuple[str, ...] = tuple(FEATURES)
"""Column order of the arrays that :func:`window_features` and :func:`clip_features` return."""

_SHAPE_NAMES = tuple(info.name for info in _FEATURE_TABLE if info.component in ("Body", "Shape"))

_AXES = {"x": 0, "y": 1, "z": 2}

# Arc lengths in body heights over which directness compares chord and arc: a hand
# stroke of about 17 cm on a 1.7 m body, and about half a step of the head's travel.
_HAND_CHORD = 0.1
_HEAD_CHORD = 0.5

# Arc length in body heights below which a path counts as still (directness 0).
_STILL_ARC = 1e-9

# Range of the tempo-driven time scale: slower motions are smoothed over at most ten
# times ``smoothing_seconds``, and faster ones are sampled at most four times as densely.
_TIME_SCALE_RANGE = (0.1, 4.0)

# Percentile of per-sample values that the "peak" features take; the maximum would
# follow single noisy samples and grow with the window length.
_PEAK_PERCENTILE = 95.0


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
    """Width in seconds of the cubic Savitzky-Golay fit that gives velocity, acceleration and
    jerk, for a motion at ``reference_tempo``."""
    adaptive_time_scale: bool = True
    """Scale smoothing and sampling with the motion's tempo: a motion of tempo ``f`` is
    smoothed over ``smoothing_seconds * reference_tempo / f`` on a grid of
    ``analysis_frame_rate * f / reference_tempo`` samples per second, with
    ``f / reference_tempo`` clipped to [0.1, 4]. Off, both stay fixed."""
    reference_tempo: float = 1.0
    """Tempo in Hz at which smoothing and sampling take their nominal values; a walk is about 1 Hz."""
    up_axis: str | None = None
    """World up axis such as ``"y"``, ``"z"`` or ``"-z"``; ``None`` infers it from the pelvis-to-head direction."""

    def __post_init__(self) -> None:
        for name in ("window_seconds", "hop_seconds", "analysis_frame_rate", "smoothing_seconds", "reference_tempo"):
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
    """Analysis time grid: ``sample_count`` samples at ``rate`` per second from time 0."""

    rate: float
    sample_count: int


def _grid(motion: Motion, rate: float) -> _Grid:
    # A source rate within 0.1 % of the analysis rate is used as is: BVH frame times are
    # rounded (0.0333333 s), and resampling those would only blur the frames.
    if abs(motion.frame_rate / rate - 1.0) < 1e-3:
        return _Grid(motion.frame_rate, motion.frame_count)
    return _Grid(float(rate), int(math.floor(motion.duration * rate + 1e-6)) + 1)


def _window_starts(duration: float, settings: FeatureSettings) -> np.ndarray:
    """Return ``(windows,)`` window start times in seconds for a motion of ``duration`` seconds."""
    if duration <= settings.window_seconds:
        return np.zeros(1)
    last = duration - settings.window_seconds
    starts = np.arange(0.0, last + 1e-9, settings.hop_seconds)
    if starts[-1] < last - 1e-9:
        # A last window flush with the end, so the final frames are measured too.
        starts = np.append(starts, last)
    return starts


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
        ``(windows,)`` centre times in seconds, increasing. Windows start every
        ``hop_seconds`` and last ``window_seconds``, except the last, which ends on the
        last frame. A motion no longer than one window has one window over the whole motion.
    """
    settings = settings or FeatureSettings()
    starts = _window_starts(motion.duration, settings)
    if len(starts) == 1 and motion.duration <= settings.window_seconds:
        return np.array([0.5 * motion.duration])
    return starts + 0.5 * settings.window_seconds


def _window_index(grid: _Grid, duration: float, settings: FeatureSettings) -> np.ndarray:
    """Return ``(windows, samples)`` indices of the analysis samples in each window."""
    if duration <= settings.window_seconds:
        return np.arange(grid.sample_count)[None, :]
    length = min(grid.sample_count, int(round(settings.window_seconds * grid.rate)) + 1)
    first = np.round(_window_starts(duration, settings) * grid.rate).astype(np.int64)
    first = np.clip(first, 0, grid.sample_count - length)
    return first[:, None] + np.arange(length)[None, :]


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


def _derivatives(
    values: np.ndarray, dt: float, window: int, derivatives: tuple[int, ...] = (0, 1, 2, 3)
) -> tuple[np.ndarray, ...]:
    """Smooth and differentiate ``values: (samples, ...)`` with a cubic Savitzky-Golay fit.

    Returns one array with the shape of ``values`` per entry of ``derivatives``: 0 gives
    the smoothed values, 1, 2 and 3 velocity, acceleration and jerk, per second to that
    power. Interior samples use the centred
    fit; the first and last ``window // 2`` samples evaluate the fit of the first or
    last full window at their own position. Fewer samples than ``window`` are fitted
    with one polynomial of degree at most ``samples - 1``; one sample has zero derivatives.
    """
    count = values.shape[0]
    flat = values.reshape(count, -1)
    if count == 1:
        return tuple(values.copy() if derivative == 0 else np.zeros_like(values) for derivative in derivatives)
    results = []
    if count <= window:
        rows = _savgol_rows(count, min(3, count - 1))
        for derivative in derivatives:
            results.append((rows[derivative] @ flat).reshape(values.shape) / dt**derivative)
        return tuple(results)
    rows = _savgol_rows(window, 3)
    half = window // 2
    view = np.lib.stride_tricks.sliding_window_view(flat, window, axis=0)  # (count - window + 1, C, window)
    for derivative in derivatives:
        out = np.empty_like(flat)
        out[half : count - half] = view @ rows[derivative, half]
        out[:half] = rows[derivative, :half] @ flat[:window]
        out[count - half :] = rows[derivative, half + 1 :] @ flat[count - window :]
        results.append(out.reshape(values.shape) / dt**derivative)
    return tuple(results)


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


def _rig(skeleton: Skeleton, bone_map: BoneMap) -> _Rig:
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


def _sample_positions(source: np.ndarray, frame_rate: float, grid: _Grid) -> np.ndarray:
    """Interpolate source positions ``(frames, joints, 3)`` linearly onto the analysis grid.

    Interpolating positions costs a fraction of slerp plus forward kinematics per grid and
    differs from it by the chord-to-arc gap within one source frame.
    """
    frames = source.shape[0]
    if grid.rate == frame_rate and grid.sample_count == frames:
        return source
    times = np.clip(np.arange(grid.sample_count) * (frame_rate / grid.rate), 0.0, frames - 1)
    lower = np.floor(times).astype(np.int64)
    upper = np.minimum(lower + 1, frames - 1)
    weight = (times - lower)[:, None, None]
    return source[lower] * (1.0 - weight) + source[upper] * weight


def _effector_paths(positions: np.ndarray, rig: _Rig) -> np.ndarray:
    """Return ``(samples, 5, 3)`` hands, feet and head relative to the pelvis."""
    joints = [*rig.hands, *rig.feet, rig.head]
    return positions[:, joints] - positions[:, rig.pelvis][:, None]


@functools.lru_cache(maxsize=16)
def _tempo_basis(samples: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the linear trend basis ``(samples, 2)``, its pseudo-inverse and the Hann taper, read-only."""
    time = np.linspace(-1.0, 1.0, samples)
    trend = np.stack([np.ones(samples), time], axis=1)
    arrays = (trend, np.linalg.pinv(trend), np.hanning(samples))
    for array in arrays:
        array.setflags(write=False)
    return arrays


def _tempo(paths: np.ndarray, rate: float) -> np.ndarray:
    """Return the power-weighted mean frequency in Hz of ``paths: (windows, samples, ...)``.

    Each window's paths lose their linear trend and get a Hann taper before the Fourier
    transform. A window whose paths do not move has tempo 0.
    """
    samples = paths.shape[1]
    if samples < 3:
        return np.zeros(paths.shape[0])
    flat = paths.reshape(paths.shape[0], samples, -1)
    trend, trend_fit, taper = _tempo_basis(samples)
    residual = flat - trend @ (trend_fit @ flat)
    spectrum = np.abs(np.fft.rfft(residual * taper[None, :, None], axis=1)) ** 2
    power = spectrum.sum(axis=-1)  # (windows, frequencies)
    frequencies = np.fft.rfftfreq(samples, 1.0 / rate)
    total = power.sum(axis=1)
    # Below this power (squared body heights summed over a spectrum) the body is still.
    still = total <= 1e-18
    return np.where(still, 0.0, (power @ frequencies) / np.where(still, 1.0, total))


def _infer_up(positions: np.ndarray, rig: _Rig) -> np.ndarray:
    direction = np.mean(positions[:, rig.head] - positions[:, rig.pelvis], axis=0)
    if not np.any(np.abs(direction) > 0):
        raise MotionError("Cannot infer the up axis: the head stays on the pelvis; set FeatureSettings.up_axis")
    axis = int(np.argmax(np.abs(direction)))
    up = np.zeros(3)
    up[axis] = np.sign(direction[axis])
    return up


def _per_sample(positions: np.ndarray, rig: _Rig, up: np.ndarray, dt: float, smoothing_seconds: float) -> dict:
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

    per_sample = {
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

    window = max(5, 2 * int(round(smoothing_seconds / dt / 2.0)) + 1)
    effectors = np.stack([hands[:, 0], hands[:, 1], feet[:, 0], feet[:, 1], head], axis=1) - pelvis[:, None]
    smooth, velocity, acceleration, jerk = _derivatives(effectors, dt, window)
    # Head and pelvis are body joints, so their velocities are columns of the body's fit
    # instead of two more fits.
    body_joints = list(rig.body_joints)
    body = positions if body_joints == list(range(positions.shape[1])) else positions[:, body_joints]
    (body_velocity,) = _derivatives(body, dt, window, derivatives=(1,))
    (smooth_head,) = _derivatives(head, dt, window, derivatives=(0,))
    head_velocity = body_velocity[:, body_joints.index(rig.head)]
    pelvis_velocity = body_velocity[:, body_joints.index(rig.pelvis)]
    vertical = pelvis_velocity @ up
    horizontal = pelvis_velocity - vertical[:, None] * up

    per_sample.update(
        effector_energy=np.mean(np.sum(velocity**2, axis=-1), axis=1),
        body_energy=np.mean(np.sum(body_velocity**2, axis=-1), axis=1),
        effector_speed=np.mean(np.linalg.norm(velocity, axis=-1), axis=1),
        effector_acceleration=np.mean(np.linalg.norm(acceleration, axis=-1), axis=1),
        effector_jerk=np.mean(np.linalg.norm(jerk, axis=-1), axis=1),
        root_speed=np.linalg.norm(horizontal, axis=-1),
        root_vertical_speed=np.abs(vertical),
    )
    hand_directness, hand_arc = zip(
        *(_local_directness(smooth[:, side], velocity[:, side], dt, _HAND_CHORD) for side in (0, 1))
    )
    head_directness, head_arc = _local_directness(smooth_head, head_velocity, dt, _HEAD_CHORD)
    per_sample.update(
        hand_directness=np.stack(hand_directness, axis=1),
        hand_arc=np.stack(hand_arc, axis=1),
        head_directness=head_directness,
        head_arc=head_arc,
        effector_paths=effectors,
    )
    return per_sample


def _local_directness(
    path: np.ndarray, velocity: np.ndarray, dt: float, chord: float
) -> tuple[np.ndarray, np.ndarray]:
    """Measure how straight a path is around each sample, on a fixed arc length.

    Parameters
    ----------
    path : numpy.ndarray
        ``(samples, 3)`` smoothed positions in body heights.
    velocity : numpy.ndarray
        ``(samples, 3)`` its velocity in body heights per second.
    dt : float
        Sample spacing in seconds.
    chord : float
        Arc length in body heights over which straightness is measured.

    Returns
    -------
    directness : numpy.ndarray
        ``(samples,)`` straight-line distance over arc length between the points of the
        path ``chord / 2`` before and after the sample (clamped at the path's ends); 0
        where the path does not move.
    arc : numpy.ndarray
        ``(samples,)`` arc length that each sample covers, the weight of its directness.

    Because the measure is taken on arc length rather than time, playing the motion
    faster or at another frame rate leaves it unchanged.
    """
    speed = np.linalg.norm(velocity, axis=-1)
    arc = speed * dt
    # Cumulative arc length at each sample, trapezoidal between samples.
    cumulative = np.concatenate(([0.0], np.cumsum(0.5 * (arc[1:] + arc[:-1]))))
    total = cumulative[-1]
    lower = np.clip(cumulative - 0.5 * chord, 0.0, total)
    upper = np.clip(cumulative + 0.5 * chord, 0.0, total)
    if total <= 0.0:
        return np.zeros(len(path)), arc
    start = np.stack([np.interp(lower, cumulative, path[:, axis]) for axis in range(3)], axis=-1)
    end = np.stack([np.interp(upper, cumulative, path[:, axis]) for axis in range(3)], axis=-1)
    span = upper - lower
    moving = span > _STILL_ARC
    directness = np.where(
        moving, np.linalg.norm(end - start, axis=-1) / np.where(moving, span, 1.0), 0.0
    )
    return directness, arc


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Return the mean of ``values: (windows, samples, ...)`` weighted over samples and trailing axes; 0 where all weights are 0."""
    axes = tuple(range(1, values.ndim))
    total = weights.sum(axis=axes)
    still = total <= _STILL_ARC
    return np.where(still, 0.0, (values * weights).sum(axis=axes) / np.where(still, 1.0, total))


def _aggregate(per_sample: dict, index: np.ndarray, rate: float, whole_tempo: float | None = None) -> np.ndarray:
    """Aggregate per-sample measures over the samples ``index: (windows, samples)``.

    ``whole_tempo``, the tempo of all samples when the caller has it, replaces the
    Fourier transform when ``index`` is one window over all samples. Returns
    ``(windows, features)`` in ``FEATURE_NAMES`` order.
    """
    # One window over all samples reads the arrays as they are instead of copying them.
    whole = index.shape == (1, len(per_sample["effector_paths"]))
    windowed = {name: values[None] if whole else values[index] for name, values in per_sample.items()}
    if whole and whole_tempo is not None:
        tempo = np.array([whole_tempo])
    else:
        tempo = _tempo(windowed["effector_paths"], rate)
    values = {name: windowed[name].mean(axis=1) for name in _SHAPE_NAMES}
    energy = windowed["effector_energy"]
    acceleration = windowed["effector_acceleration"]
    mean_speed = windowed["effector_speed"].mean(axis=1)
    mean_acceleration = acceleration.mean(axis=1)
    mean_jerk = windowed["effector_jerk"].mean(axis=1)
    tiny = mean_acceleration**2 <= 1e-24
    values.update(
        effector_energy_mean=energy.mean(axis=1),
        effector_energy_peak=np.percentile(energy, _PEAK_PERCENTILE, axis=1),
        body_energy_mean=windowed["body_energy"].mean(axis=1),
        effector_acceleration_mean=mean_acceleration,
        effector_acceleration_peak=np.percentile(acceleration, _PEAK_PERCENTILE, axis=1),
        tempo=tempo,
        hand_directness=_weighted_mean(windowed["hand_directness"], windowed["hand_arc"]),
        head_directness=_weighted_mean(windowed["head_directness"], windowed["head_arc"]),
        effector_jerk_mean=mean_jerk,
        jerk_ratio=np.where(tiny, 0.0, mean_jerk * mean_speed / np.where(tiny, 1.0, mean_acceleration**2)),
        root_speed=windowed["root_speed"].mean(axis=1),
        root_vertical_speed=windowed["root_vertical_speed"].mean(axis=1),
    )
    return np.stack([values[name] for name in FEATURE_NAMES], axis=1)


def _measure(motion: Motion, prepared: _PreparedRig, settings: FeatureSettings) -> tuple[dict, _Grid, float | None]:
    """Return per-sample measures, their grid, and the tempo of all samples when it was measured on that grid."""
    rig = prepared.rig
    source = prepared.kinematics.positions(motion.rotations, motion.root_positions, motion.translations) / rig.height
    grid = _grid(motion, settings.analysis_frame_rate)
    positions = _sample_positions(source, motion.frame_rate, grid)
    up = _axis_vector(settings.up_axis) if settings.up_axis is not None else _infer_up(positions, rig)

    # The motion's own tempo sets the time scale of smoothing and sampling, so that a
    # motion played k times faster is smoothed over 1/k the time on a k times denser grid:
    # its samples are then the same poses, and derivatives scale exactly by k, k^2, k^3.
    scale = 1.0
    whole_tempo = None
    if settings.adaptive_time_scale:
        whole_tempo = float(_tempo(_effector_paths(positions, rig)[None], grid.rate)[0])
        scale = float(np.clip(whole_tempo / settings.reference_tempo, *_TIME_SCALE_RANGE))
        rate = settings.analysis_frame_rate * scale
        if abs(rate / grid.rate - 1.0) >= 1e-3:
            grid = _grid(motion, rate)
            positions = _sample_positions(source, motion.frame_rate, grid)
            whole_tempo = None
    smoothing = settings.smoothing_seconds / scale
    logger.debug("Measuring %d samples at %.2f Hz, smoothing over %.3f s", grid.sample_count, grid.rate, smoothing)
    return _per_sample(positions, rig, up, 1.0 / grid.rate, smoothing), grid, whole_tempo


@dataclass(frozen=True)
class _PreparedRig:
    """Everything feature extraction needs that depends only on the skeleton and the bone map."""

    rig: _Rig
    """Rest-pose measures, with joint indices that are columns of ``kinematics.positions``."""
    kinematics: JointSubsetKinematics
    """Forward kinematics of the role joints that the features read."""


def _prepare(skeleton: Skeleton, bone_map: BoneMap) -> _PreparedRig:
    """Measure the rest pose and plan the forward kinematics of the joints that features read."""
    rig = _rig(skeleton, bone_map)
    joints = sorted({rig.pelvis, rig.neck, rig.head, *rig.upper_arms, *rig.hands, *rig.thighs, *rig.feet,
                     *rig.body_joints})
    column = {joint: position for position, joint in enumerate(joints)}
    columns = dataclasses.replace(
        rig,
        pelvis=column[rig.pelvis],
        neck=column[rig.neck],
        head=column[rig.head],
        upper_arms=(column[rig.upper_arms[0]], column[rig.upper_arms[1]]),
        hands=(column[rig.hands[0]], column[rig.hands[1]]),
        thighs=(column[rig.thighs[0]], column[rig.thighs[1]]),
        feet=(column[rig.feet[0]], column[rig.feet[1]]),
        body_joints=tuple(column[joint] for joint in rig.body_joints),
    )
    return _PreparedRig(columns, JointSubsetKinematics(skeleton, joints))


# Prepared rigs of the skeletons that the module-level functions have seen, per bone map.
# Weak keys drop an entry when its skeleton is garbage collected. Skeleton is a frozen
# dataclass compared by identity, so a new or edited skeleton (``with_offsets``) is a new key.
# NOTE: a skeleton whose arrays are changed in place keeps its stale entry. Nothing in
# this package does that, and a caller that does should build a FeatureExtractor after the change.
_PREPARED: weakref.WeakKeyDictionary[Skeleton, dict[tuple, _PreparedRig]] = weakref.WeakKeyDictionary()
_PREPARED_PER_SKELETON = 8


def _cached_prepare(skeleton: Skeleton, bone_map: BoneMap) -> _PreparedRig:
    """Return the prepared rig of ``skeleton`` and ``bone_map``, measuring it on first use."""
    key = (bone_map.skeleton_names, tuple(bone_map.joints.items()))
    per_bone_map = _PREPARED.setdefault(skeleton, {})
    prepared = per_bone_map.get(key)
    if prepared is None:
        prepared = _prepare(skeleton, bone_map)
        if len(per_bone_map) >= _PREPARED_PER_SKELETON:
            per_bone_map.clear()
        per_bone_map[key] = prepared
    return prepared


class FeatureExtractor:
    """LMA feature extractor bound to one skeleton, bone map and settings.

    Construction does the work that depends only on the rig: it measures the rest pose
    (body height, chain lengths, rest angles), checks the bone map and plans forward
    kinematics over the role joints and their ancestors. Each call then costs only the
    per-motion work, which is what the edit solver needs when it measures hundreds of
    edited variants of one motion. Results equal those of the module-level
    :func:`window_features` and :func:`clip_features`.

    Parameters
    ----------
    skeleton : Skeleton
        Skeleton of every motion passed to the methods.
    bone_map : BoneMap
        Roles of ``skeleton``, with the roles that :func:`window_features` lists.
    settings : FeatureSettings, optional
        Window and sampling options; the defaults when omitted.

    Raises
    ------
    MissingRolesError, MotionError, ValueError
        As :func:`window_features` does, but once here instead of at every call.
    """

    def __init__(self, skeleton: Skeleton, bone_map: BoneMap, settings: FeatureSettings | None = None) -> None:
        self.skeleton = skeleton
        """Skeleton the extractor was prepared for."""
        self.bone_map = bone_map
        """Roles of ``skeleton``."""
        self.settings = settings or FeatureSettings()
        """Window and sampling options of every call."""
        self._prepared = _prepare(skeleton, bone_map)

    @property
    def measured_joints(self) -> tuple[int, ...]:
        """Skeleton indices of the joints whose positions the features read, increasing.

        Only these joints and their ancestors affect the features. Rotations and
        translations of any other joint change no feature value.
        """
        return self._prepared.kinematics.joints

    def _check_skeleton(self, motion: Motion) -> None:
        other = motion.skeleton
        if other is self.skeleton:
            return
        mine = self.skeleton
        same = (
            other.names == mine.names
            and np.array_equal(other.parents, mine.parents)
            and np.array_equal(other.offsets, mine.offsets)
            and np.array_equal(other.rest_rotations, mine.rest_rotations)
            and other.end_sites.keys() == mine.end_sites.keys()
            and all(np.array_equal(other.end_sites[joint], mine.end_sites[joint]) for joint in mine.end_sites)
        )
        if not same:
            raise ValueError(
                f"The motion's skeleton ({other.joint_count} joints) differs from the one this FeatureExtractor "
                f"was prepared for ({mine.joint_count} joints) in joint names, parents, offsets, rest rotations "
                "or end sites; create a FeatureExtractor for the motion's skeleton"
            )

    def window_features(self, motion: Motion) -> np.ndarray:
        """Measure every feature in each time window, as :func:`window_features` does.

        Returns ``(windows, features)`` values in :data:`FEATURE_NAMES` order.
        """
        self._check_skeleton(motion)
        return _window_features(motion, self._prepared, self.settings)

    def clip_features(self, motion: Motion) -> np.ndarray:
        """Summarise a whole motion as one feature vector, as :func:`clip_features` does.

        Returns ``(features,)`` in :data:`FEATURE_NAMES` order.
        """
        self._check_skeleton(motion)
        return _clip_features(motion, self._prepared, self.settings)

    def window_times(self, motion: Motion) -> np.ndarray:
        """Return the centre time in seconds of each window, as :func:`window_times` does."""
        return window_times(motion, self.settings)


def _window_features(motion: Motion, prepared: _PreparedRig, settings: FeatureSettings) -> np.ndarray:
    per_sample, grid, whole_tempo = _measure(motion, prepared, settings)
    return _aggregate(per_sample, _window_index(grid, motion.duration, settings), grid.rate, whole_tempo)


def _clip_features(motion: Motion, prepared: _PreparedRig, settings: FeatureSettings) -> np.ndarray:
    per_sample, grid, whole_tempo = _measure(motion, prepared, settings)
    return _aggregate(per_sample, np.arange(grid.sample_count)[None, :], grid.rate, whole_tempo)[0]


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
    return _window_features(motion, _cached_prepare(motion.skeleton, bone_map), settings or FeatureSettings())


def clip_features(motion: Motion, bone_map: BoneMap, settings: FeatureSettings | None = None) -> np.ndarray:
    """Summarise a whole motion as one feature vector.

    Every feature takes the statistic that :func:`window_features` takes in one window,
    over all samples of the motion as one window: means are time averages over the whole
    motion, peaks its 95th percentile, tempo the spectrum of the whole motion. This keeps
    clip values independent of where window boundaries fall, so playing a motion faster
    scales them by the power that :attr:`FeatureInfo.speed_exponent` gives. For a motion shorter than
    one window the result equals the single row of :func:`window_features`.

    Parameters
    ----------
    motion, bone_map, settings
        As for :func:`window_features`.

    Returns
    -------
    numpy.ndarray
        ``(features,)`` in :data:`FEATURE_NAMES` order.
    """
    return _clip_features(motion, _cached_prepare(motion.skeleton, bone_map), settings or FeatureSettings())
