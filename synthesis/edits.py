"""Physically meaningful edits of a motion: timing, spatial extent, posture and effort.

:class:`EditParameters` contains the bounded parameters the solver searches, and
:func:`apply_edit` applies them to a dense motion (one pose per frame). The edits run in
this order:

1. Timing. :func:`time_map` builds one monotone map between source and output time from
   ``time_scale`` (playback speed) and ``time_warp`` (sharper or more even timing, derived
   from the motion's own speed curve). Dense motions are resampled through it; sparse
   keyframes move their key times through the same map (:func:`apply_edit_to_keys`).
2. Spatial extent. Each joint of a body group swings further from (``> 1``) or closer to
   (``< 1``) its mean rotation over the clip: ``q = mean * exp(k * log(mean^-1 * q))``.
3. Effort. ``smoothness`` low-passes and ``accent`` sharpens the rotation curves, with
   filter widths in seconds so the result does not depend on the frame rate.
4. Posture. Spine and head flexion, shoulder raise, arm openness, arm raise and stance
   width are rotations about the body's own lateral and forward axes. These axes are
   found per frame from the hips and shoulders, so the edits work on any rig (BVH with a
   rest pose along X, Y-up or Z-up armatures). Elbow extension turns each forearm about
   its elbow's hinge.
5. Root. When the legs change, the root's horizontal travel scales with the feet's
   horizontal excursion and the root height keeps planted feet on the source's floor.
6. Foot locking (:func:`synthesis.contacts.lock_feet`) and loop closing.

Edits that need a role the bone map lacks, or a motion that cannot carry them (a still
pose cannot be re-timed by its speed), are skipped and named in :attr:`EditResult.skipped`.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import weakref
from dataclasses import dataclass, field

import numpy as np

from . import quaternion
from .contacts import (
    SIDES,
    _knee_axes,
    _signed_angle,
    detect_foot_contacts,
    lock_feet,
    reference_height,
    vertical_axis,
)
from ._kinematics_subset import _multiply as _subset_multiply
from ._kinematics_subset import _rotate as _subset_rotate
from .skeleton import Motion, forward_kinematics

__all__ = [
    "EditParameters",
    "PARAMETER_NAMES",
    "PARAMETER_BOUNDS",
    "NEUTRAL_PARAMETERS",
    "EditResult",
    "KeyEdit",
    "TimeMap",
    "time_map",
    "mean_rotation",
    "apply_edit",
    "apply_edit_to_keys",
]

logger = logging.getLogger(__name__)

MAX_SMOOTHING_SECONDS = 0.15
"""Gaussian sigma of the low-pass filter at ``smoothness = 1``, in seconds."""
ACCENT_SECONDS = 0.06
"""Gaussian sigma of the unsharp mask behind ``accent``, in seconds."""
MAX_ACCENT_GAIN = 1.5
"""Unsharp-mask gain at ``accent = 1``: the rotation's high-pass part is added this many times."""
SPEED_SMOOTHING_SECONDS = 0.05
"""Gaussian sigma applied to the speed curve that drives ``time_warp``, in seconds."""
SPEED_RATIO_LIMITS = (0.2, 5.0)
"""Clip of the speed relative to the clip mean before ``time_warp`` raises it to a power."""
LOOP_ANGLE_TOLERANCE = 0.05
"""Largest joint rotation difference (radians) between first and last frame of a loop."""
LOOP_POSITION_TOLERANCE = 0.02
"""Largest pelvis position difference (body heights) between first and last frame of a loop."""
LOOP_BLEND_SECONDS = 0.5
"""Length of the end section that absorbs the loop residual, in seconds."""
STRIDE_RATIO_LIMITS = (0.5, 2.0)
"""Clip of the factor on the root's horizontal travel when the legs' extent changes."""
MAX_EXTENT_ANGLE = 0.95 * math.pi
"""Largest rotation from the mean pose an extent edit may produce, in radians."""
MAX_ELBOW_FLEXION = 2.4
"""Elbow bend (radians from straight) that ``elbow_extension = -1`` would reach.

It stays below a human elbow's usual flexion range of about 145 degrees (2.5 radians)."""


@dataclass(frozen=True)
class EditParameters:
    """Bounded edit parameters; the defaults are the identity edit."""

    time_scale: float = 1.0
    """Playback speed factor: 2 plays twice as fast, so the output has half the duration."""
    time_warp: float = 0.0
    """Timing sharpness in [-1, 1]: + makes fast parts faster and slow parts slower, - evens the speed out."""
    arm_extent: float = 1.0
    """Factor on the arm joints' rotations away from their mean pose (shoulder to hand)."""
    leg_extent: float = 1.0
    """Factor on the leg joints' rotations away from their mean pose (thigh to toe)."""
    spine_extent: float = 1.0
    """Factor on the spine joints' rotations away from their mean pose (above pelvis, below neck)."""
    head_extent: float = 1.0
    """Factor on the neck and head rotations away from their mean pose."""
    spine_flexion: float = 0.0
    """Radians of forward bend spread over the spine joints: + bends forward (slump), - extends."""
    head_flexion: float = 0.0
    """Radians of forward head tilt at the neck: + looks down, - looks up."""
    shoulder_raise: float = 0.0
    """Radians of clavicle elevation: + raises the shoulders, - drops them."""
    arm_openness: float = 0.0
    """Radians of upper-arm abduction in the body's frontal plane: + opens the arms, - closes them."""
    smoothness: float = 0.0
    """Low-pass strength in [0, 1] on the rotation curves (sustained, free flow)."""
    accent: float = 0.0
    """Unsharp-mask strength in [0, 1] on the rotation curves (sudden, strong accents)."""
    arm_raise: float = 0.0
    """Radians of upper-arm flexion about the body's lateral axis: + lifts the arms forward and up, - draws them back."""
    elbow_extension: float = 0.0
    """Fraction of the way from each frame's elbow bend to straight (+) or to fully bent (-)."""
    stance_width: float = 0.0
    """Radians of thigh abduction in the body's frontal plane: + sets the feet apart, - brings them together."""

    def as_vector(self) -> np.ndarray:
        """Return the parameters as a ``(len(PARAMETER_NAMES),)`` float array in field order."""
        return np.array([getattr(self, name) for name in PARAMETER_NAMES], dtype=np.float64)

    @classmethod
    def from_vector(cls, vector: np.ndarray) -> EditParameters:
        """Build parameters from a ``(len(PARAMETER_NAMES),)`` array in :data:`PARAMETER_NAMES` order."""
        vector = np.asarray(vector, dtype=np.float64).reshape(-1)
        if vector.shape != (len(PARAMETER_NAMES),):
            raise ValueError(
                f"EditParameters.from_vector needs {len(PARAMETER_NAMES)} values ({', '.join(PARAMETER_NAMES)}), "
                f"got {vector.shape[0]}"
            )
        return cls(**{name: float(value) for name, value in zip(PARAMETER_NAMES, vector)})

    def scaled(self, strength: float) -> EditParameters:
        """Interpolate from the identity edit (``strength = 0``) to these parameters (``strength = 1``).

        ``time_scale`` is interpolated geometrically (half strength of 2x speed is
        sqrt(2)x), every other field linearly.
        """
        if not (np.isfinite(strength) and 0.0 <= strength <= 1.0):
            raise ValueError(f"EditParameters.scaled: strength must be in [0, 1], got {strength}")
        values = {}
        for name in PARAMETER_NAMES:
            neutral = getattr(NEUTRAL_PARAMETERS, name)
            value = getattr(self, name)
            if name == "time_scale":
                values[name] = float(value**strength)
            else:
                values[name] = float(neutral + strength * (value - neutral))
        return EditParameters(**values)

    def clipped(self) -> EditParameters:
        """Return a copy with every field clipped into :data:`PARAMETER_BOUNDS`."""
        return EditParameters(
            **{name: float(np.clip(getattr(self, name), *PARAMETER_BOUNDS[name])) for name in PARAMETER_NAMES}
        )

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first field that is not finite or lies outside its bounds."""
        for name in PARAMETER_NAMES:
            value = getattr(self, name)
            low, high = PARAMETER_BOUNDS[name]
            if not (np.isfinite(value) and low <= value <= high):
                raise ValueError(
                    f"EditParameters.{name} = {value} is outside its bounds [{low}, {high}]; "
                    "clip it with EditParameters.clipped() or choose a value inside the bounds"
                )

    def differs_from_neutral(self, name: str) -> bool:
        return bool(abs(getattr(self, name) - getattr(NEUTRAL_PARAMETERS, name)) > 1e-9)


PARAMETER_NAMES: tuple[str, ...] = tuple(item.name for item in dataclasses.fields(EditParameters))
"""Field names in the order of :meth:`EditParameters.as_vector`."""

PARAMETER_BOUNDS: dict[str, tuple[float, float]] = {
    "time_scale": (0.5, 2.0),
    "time_warp": (-1.0, 1.0),
    "arm_extent": (0.5, 1.8),
    "leg_extent": (0.6, 1.5),
    "spine_extent": (0.5, 2.0),
    "head_extent": (0.5, 2.0),
    "spine_flexion": (-0.35, 0.6),
    "head_flexion": (-0.4, 0.6),
    "shoulder_raise": (-0.2, 0.35),
    "arm_openness": (-0.3, 0.6),
    "smoothness": (0.0, 1.0),
    "accent": (0.0, 1.0),
    "arm_raise": (-0.3, 0.5),
    "elbow_extension": (-0.5, 0.8),
    "stance_width": (-0.08, 0.15),
}
"""Inclusive ``(low, high)`` per field; :func:`apply_edit` rejects values outside them."""

NEUTRAL_PARAMETERS = EditParameters()
"""The identity edit."""

_LEG_PARAMETERS = ("leg_extent", "smoothness", "accent", "stance_width")
_POSTURE_PARAMETERS = (
    "spine_flexion", "head_flexion", "shoulder_raise", "arm_openness", "arm_raise", "elbow_extension", "stance_width",
)
_SPEED_ROLES = (
    "head", "left_hand", "right_hand", "left_forearm", "right_forearm",
    "left_foot", "right_foot", "left_shin", "right_shin", "chest", "neck",
)


@dataclass(frozen=True)
class TimeMap:
    """Monotone map between source time and output time, shared by dense and sparse edits."""

    source_times: np.ndarray
    """``(source_frames,)`` seconds of each source frame from the first one."""
    output_times: np.ndarray
    """``(source_frames,)`` output seconds at which each source frame plays; strictly increasing."""
    frame_rate: float
    """Frames per second of both source and output."""
    output_frame_count: int
    """Frames of the dense output: ``round(duration / time_scale * frame_rate) + 1``."""

    @property
    def output_duration(self) -> float:
        return float(self.output_times[-1])

    def to_source(self, output_seconds: np.ndarray) -> np.ndarray:
        """Map output times (seconds) to source times (seconds); clamps outside the clip."""
        return np.interp(np.asarray(output_seconds, dtype=np.float64), self.output_times, self.source_times)

    def to_output(self, source_seconds: np.ndarray) -> np.ndarray:
        """Map source times (seconds) to output times (seconds); clamps outside the clip."""
        return np.interp(np.asarray(source_seconds, dtype=np.float64), self.source_times, self.output_times)

    def source_frames(self) -> np.ndarray:
        """Return ``(output_frame_count,)`` fractional source frames for each output frame."""
        output = np.arange(self.output_frame_count) / self.frame_rate
        output[-1] = self.output_duration
        return self.to_source(output) * self.frame_rate


@dataclass
class EditResult:
    """An edited motion with what was skipped and the timing it used."""

    motion: Motion
    """The edited dense motion."""
    skipped: list[str] = field(default_factory=list)
    """One message per edit that could not apply, naming the edit and the reason."""
    timing: TimeMap | None = None
    """The time map from source to output."""
    contacts: np.ndarray | None = None
    """``(output frames, 2)`` bool foot contacts (left, right) carried over from the source."""


@dataclass
class KeyEdit:
    """Edited sparse keyframes: the same keys at new times with new poses."""

    times: np.ndarray
    """``(keys,)`` output seconds of each key, from the first output frame."""
    rotations: np.ndarray
    """``(keys, joints, 4)`` local joint rotations at the keys, sign-continuous over keys."""
    root_positions: np.ndarray
    """``(keys, 3)`` root positions at the keys, in the skeleton's unit."""
    translations: np.ndarray | None
    """``(keys, joints, 3)`` local joint translations at the keys, or ``None`` like the motion's."""
    skipped: list[str] = field(default_factory=list)
    """Edits that could not apply, as in :attr:`EditResult.skipped`."""


def mean_rotation(rotations: np.ndarray, iterations: int = 3) -> np.ndarray:
    """Return the mean rotation ``(..., 4)`` of ``rotations: (frames, ..., 4)`` over frames.

    The chordal mean: quaternions are sign-aligned with the current estimate, summed and
    normalised, a few times over, which converges for rotations within 90 degrees of one
    another and stays well defined beyond that.
    """
    rotations = np.asarray(rotations, dtype=np.float64)
    mean = quaternion.normalize(quaternion.make_continuous(rotations, axis=0).sum(axis=0))
    for _ in range(iterations):
        signs = np.where(np.sum(rotations * mean, axis=-1, keepdims=True) < 0.0, -1.0, 1.0)
        mean = quaternion.normalize(np.sum(rotations * signs, axis=0))
    return mean


def time_map(
    motion: Motion,
    parameters: EditParameters,
    bone_map=None,
    positions: np.ndarray | None = None,
    skipped: list[str] | None = None,
) -> TimeMap:
    """Build the monotone time map for ``time_scale`` and ``time_warp``.

    ``time_warp`` re-times by the motion's own speed curve ``s(t)``, the summed speed of
    the mapped joints relative to the pelvis, smoothed over
    :data:`SPEED_SMOOTHING_SECONDS`. Source time advances per output second in proportion
    to ``r(t) ** time_warp``, where ``r`` is the speed over its clip mean clipped to
    :data:`SPEED_RATIO_LIMITS`: positive warps play fast parts faster and linger on slow
    ones, and ``-1`` makes the speed almost uniform. The warped time is then scaled so
    that the first and last source frames land on the first and last output frames.

    Parameters
    ----------
    motion : Motion
    parameters : EditParameters
    bone_map : BoneMap, optional
        Picks the joints of the speed curve; all joints relative to the root without it.
    positions : (frames, joints, 3) array, optional
        World joint positions of ``motion``.
    skipped : list of str, optional
        Receives a message when ``time_warp`` cannot apply (fewer than 3 frames, still pose).
    """
    return _time_map(motion, parameters, lambda: _speed_curve(motion, bone_map, positions),
                     [] if skipped is None else skipped)


def _time_map(motion: Motion, parameters: EditParameters, speed_curve, skipped: list[str]) -> TimeMap:
    """Build :func:`time_map`'s map; ``speed_curve()`` returns the source's :func:`_speed_curve`."""
    frames = motion.frame_count
    rate = motion.frame_rate
    source_times = np.arange(frames) / rate
    duration = motion.duration
    output_frame_count = int(round(duration / parameters.time_scale * rate)) + 1
    output_duration = (output_frame_count - 1) / rate
    if frames < 2:
        if parameters.differs_from_neutral("time_warp"):
            skipped.append("time_warp: a single-frame motion has no timing to warp")
        return TimeMap(source_times, source_times.copy(), rate, 1)

    warped = source_times.copy()
    if parameters.differs_from_neutral("time_warp"):
        speed = speed_curve()
        if frames < 3 or speed is None:
            skipped.append("time_warp: the motion is still or shorter than 3 frames, so it has no speed curve to follow")
        else:
            ratio = np.clip(speed / speed.mean(), *SPEED_RATIO_LIMITS)
            # Output seconds per source second are the inverse of the source-time density.
            pace = ratio ** (-parameters.time_warp)
            steps = 0.5 * (pace[1:] + pace[:-1]) / rate
            warped = np.concatenate(([0.0], np.cumsum(steps)))
            warped *= duration / warped[-1]
    output_times = warped * (output_duration / duration)
    return TimeMap(source_times, output_times, rate, output_frame_count)


def _speed_curve(motion: Motion, bone_map, positions: np.ndarray | None) -> np.ndarray | None:
    """Return the smoothed ``(frames,)`` speed of the body relative to its pelvis, or None if still."""
    if positions is None:
        positions = motion.positions()
    reference = 0
    joints = list(range(motion.skeleton.joint_count))
    if bone_map is not None:
        pelvis = bone_map.get("pelvis")
        reference = 0 if pelvis is None else pelvis
        mapped = [bone_map.get(role) for role in _SPEED_ROLES]
        mapped = [joint for joint in mapped if joint is not None]
        joints = mapped or joints
    relative = positions[:, joints] - positions[:, reference : reference + 1]
    velocity = np.gradient(relative, axis=0) * motion.frame_rate
    speed = np.linalg.norm(velocity, axis=-1).sum(axis=-1)
    size = float(np.ptp(positions.reshape(-1, 3), axis=0).max())
    if speed.mean() <= 1e-6 * max(size, 1e-12) * motion.frame_rate:
        return None
    speed = _gaussian_filter(speed[:, None], SPEED_SMOOTHING_SECONDS * motion.frame_rate)[:, 0]
    return np.maximum(speed, 1e-12)


def _fast_length(size: int) -> int:
    """Return the smallest ``n >= size`` whose only prime factors are 2, 3 and 5, a fast FFT length."""
    best = 1 << max(0, (size - 1).bit_length())
    power5 = 1
    while power5 < best:
        power35 = power5
        while power35 < best:
            candidate = power35
            while candidate < size:
                candidate *= 2
            best = min(best, candidate)
            power35 *= 3
        power5 *= 5
    return best


def _filter_frames(values: np.ndarray, radius: int, response) -> np.ndarray:
    """Filter ``values: (frames, channels)`` along frames with a zero-phase frequency ``response``.

    ``response(frequencies)`` gets cycles per frame and returns the gain. Ends are padded
    by ``radius`` frames of reflection, so a clip's first and last frames are not pulled
    toward zero, and the FFT length leaves room so circular wrap-around stays in the padding.
    """
    frames = values.shape[0]
    padded = np.pad(values, ((radius, radius), (0, 0)), mode="reflect")
    size = _fast_length(padded.shape[0] + radius)
    spectrum = np.fft.rfft(padded, n=size, axis=0) * response(np.fft.rfftfreq(size))[:, None]
    return np.fft.irfft(spectrum, n=size, axis=0)[radius : radius + frames]


def _gaussian_response(sigma_frames: float):
    """Return the frequency response of a unit-area Gaussian with ``sigma_frames``."""
    return lambda frequencies: np.exp(-2.0 * (np.pi * sigma_frames * frequencies) ** 2)


def _gaussian_filter(values: np.ndarray, sigma_frames: float) -> np.ndarray:
    """Low-pass ``values: (frames, channels)`` along frames with a Gaussian of ``sigma_frames``."""
    if sigma_frames < 1e-3 or values.shape[0] < 2:
        return values.copy()
    return _filter_frames(values, max(1, int(math.ceil(4.0 * sigma_frames))), _gaussian_response(sigma_frames))


def _chain(parents: np.ndarray, top: int | None, bottom: int | None) -> list[int] | None:
    """Return joints from ``top`` down to ``bottom`` inclusive, or None if ``bottom`` is not below ``top``."""
    if top is None or bottom is None:
        return None
    path = [bottom]
    index = bottom
    while index != top:
        index = int(parents[index])
        if index < 0:
            return None
        path.append(index)
    return path[::-1]


def _first_role(bone_map, *roles: str) -> int | None:
    return next((bone_map.get(role) for role in roles if bone_map.get(role) is not None), None)


def _spine_joints(bone_map, parents: np.ndarray) -> list[int]:
    """Return the joints that bend the trunk: strictly above the pelvis and below the neck (or head)."""
    pelvis = bone_map.get("pelvis")
    end = _first_role(bone_map, "neck", "head")
    if pelvis is not None and end is not None:
        chain = _chain(parents, pelvis, end)
        if chain is not None and len(chain) > 2:
            return chain[1:-1]
    if pelvis is not None and bone_map.get("chest") is not None:
        chain = _chain(parents, pelvis, bone_map.get("chest"))
        if chain is not None and len(chain) > 1:
            return chain[1:]
    return [joint for joint in (bone_map.get("spine"), bone_map.get("chest")) if joint is not None]


def _neck_joints(bone_map, parents: np.ndarray) -> list[int]:
    """Return the joints that tilt the head: neck up to (not including) the head, or the head alone."""
    neck, head = bone_map.get("neck"), bone_map.get("head")
    chain = _chain(parents, neck, head)
    if chain is not None and len(chain) > 1:
        return chain[:-1]
    return [joint for joint in (neck, head) if joint is not None][:1]


def _body_groups(bone_map, parents: np.ndarray) -> dict[str, list[int]]:
    """Return the joints each extent parameter scales, keyed by parameter name."""
    arms: list[int] = []
    legs: list[int] = []
    for side in SIDES:
        arm = _chain(
            parents,
            _first_role(bone_map, f"{side}_shoulder", f"{side}_upper_arm"),
            _first_role(bone_map, f"{side}_hand", f"{side}_forearm", f"{side}_upper_arm"),
        )
        arms += arm or []
        leg = _chain(
            parents,
            bone_map.get(f"{side}_thigh"),
            _first_role(bone_map, f"{side}_toe", f"{side}_foot", f"{side}_shin", f"{side}_thigh"),
        )
        legs += leg or []
    head = _chain(parents, bone_map.get("neck"), bone_map.get("head"))
    if head is None:
        head = [joint for joint in (bone_map.get("neck"), bone_map.get("head")) if joint is not None]
    return {
        "arm_extent": arms,
        "leg_extent": legs,
        "spine_extent": _spine_joints(bone_map, parents),
        "head_extent": head,
    }


def _apply_extent(rotations: np.ndarray, groups: dict[str, list[int]], parameters: EditParameters,
                  skipped: list[str]) -> None:
    """Scale rotations ``(frames, joints, 4)`` away from each joint's mean, in place."""
    edited: list[tuple[list[int], float | np.ndarray]] = []
    for name, joints in groups.items():
        if not parameters.differs_from_neutral(name):
            continue
        if not joints:
            skipped.append(f"{name}: the bone map has no joints for this body group")
            continue
        edited.append((joints, getattr(parameters, name)))
    if not edited:
        return
    every_joint = [joint for joints, _ in edited for joint in joints]
    # Each joint's edit reads only its own rotations, so disjoint groups are edited in one
    # pass over (frames, joints, 4). Groups that share a joint run one after another.
    if len(set(every_joint)) == len(every_joint):
        factors = np.concatenate([np.full(len(joints), factor) for joints, factor in edited])
        edited = [(every_joint, factors[:, None])]
    for joints, factor in edited:
        selected = rotations[:, joints]
        mean = mean_rotation(selected)
        offset = quaternion.log(quaternion.multiply(quaternion.conjugate(mean)[None], selected))
        offset *= factor
        angle = np.linalg.norm(offset, axis=-1, keepdims=True)
        offset *= np.minimum(1.0, MAX_EXTENT_ANGLE / np.maximum(angle, 1e-12))
        rotations[:, joints] = quaternion.multiply(mean[None], quaternion.exp(offset))


def _apply_effort(rotations: np.ndarray, frame_rate: float, parameters: EditParameters) -> np.ndarray:
    """Return rotations ``(frames, joints, 4)`` low-passed by ``smoothness`` and sharpened by ``accent``.

    ``rotations`` must be sign-continuous over frames. Filtering acts on the quaternion
    components and renormalises. For the small angles between neighbouring frames this
    matches filtering in the log space around the mean. Unlike that space, it does not
    wrap for joints that turn more than 180 degrees over the clip (a pelvis in a turning walk). Both filters run in one FFT pass: the low-pass ``S`` (Gaussian of
    ``smoothness * MAX_SMOOTHING_SECONDS``) followed by the unsharp mask
    ``x + gain * (x - A x)`` (Gaussian ``A`` of ``ACCENT_SECONDS``).
    """
    smoothing = parameters.smoothness * MAX_SMOOTHING_SECONDS * frame_rate
    gain = parameters.accent * MAX_ACCENT_GAIN
    accent_sigma = ACCENT_SECONDS * frame_rate
    frames, joints, _ = rotations.shape
    if frames < 2 or (smoothing < 1e-3 and gain == 0.0):
        return rotations
    smooth = _gaussian_response(smoothing)
    accent = _gaussian_response(accent_sigma)

    def response(frequencies: np.ndarray) -> np.ndarray:
        return smooth(frequencies) * (1.0 + gain - gain * accent(frequencies))

    radius = max(1, int(math.ceil(4.0 * max(smoothing, accent_sigma if gain else 0.0))))
    curves = _filter_frames(rotations.reshape(frames, joints * 4), radius, response)
    return quaternion.normalize(curves.reshape(frames, joints, 4))


def _body_frame(positions: np.ndarray, bone_map, up: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Return per-frame unit ``lateral`` (toward the character's right) and ``forward`` axes, ``(frames, 3)``.

    Lateral is the summed left-to-right direction of the thighs, upper arms and shoulders
    (whichever are mapped), made horizontal. Forward is ``up x lateral``: for a Y-up
    character facing +Z, whose right side is at -X, that is +Z. Frames where the
    direction is undefined take the clip's mean. Returns None without any left/right pair.
    """
    lateral = np.zeros((positions.shape[0], 3))
    found = False
    for role in ("thigh", "upper_arm", "shoulder"):
        left, right = bone_map.get(f"left_{role}"), bone_map.get(f"right_{role}")
        if left is None or right is None:
            continue
        direction = positions[:, right] - positions[:, left]
        norm = np.linalg.norm(direction, axis=-1, keepdims=True)
        lateral += np.where(norm > 1e-12, direction / np.maximum(norm, 1e-12), 0.0)
        found = True
    if not found:
        return None
    lateral -= (lateral @ up)[:, None] * up
    norm = np.linalg.norm(lateral, axis=-1)
    valid = norm > 1e-6
    if not valid.any():
        return None
    lateral[valid] /= norm[valid, None]
    if not valid.all():
        mean = lateral[valid].mean(axis=0)
        lateral[~valid] = mean / max(np.linalg.norm(mean), 1e-12)
    forward = np.cross(up, lateral)
    return lateral, forward


def _apply_posture(motion: Motion, bone_map, parameters: EditParameters, up: np.ndarray,
                   skipped: list[str], positions: np.ndarray, world: np.ndarray) -> bool:
    """Rotate spine, neck, shoulders, arms and thighs about body axes, in place on ``motion.rotations``.

    Each joint ``j`` gets a world-space rotation ``R`` about an axis of the body frame,
    converted to its local frame with the parent's world rotation ``P`` and rest rotation
    ``B``: ``local = (P B)^-1 R (P B) local``. Using the unedited parents for every joint
    makes each delta relative to the body as its ancestors carry it, so a head flexion
    stays a nod after the spine bends. Elbows turn the same way about their hinge axes
    (:func:`_elbow_change`). ``positions`` and ``world`` are the motion's world joint
    positions and rotations. Returns whether any rotation changed.
    """
    requested = [name for name in _POSTURE_PARAMETERS if parameters.differs_from_neutral(name)]
    if not requested:
        return False
    skeleton = motion.skeleton
    frame = _body_frame(positions, bone_map, up)
    if frame is None:
        for name in requested:
            skipped.append(f"{name}: no left/right thigh, upper-arm or shoulder pair to find the body's facing")
        return False
    lateral, forward = frame
    frames = motion.frame_count
    deltas: dict[int, np.ndarray] = {}

    def add(joint: int, axis: np.ndarray, angle) -> None:
        delta = quaternion.from_axis_angle(axis, np.broadcast_to(angle, (frames,)))
        deltas[joint] = quaternion.multiply(delta, deltas[joint]) if joint in deltas else delta

    # A positive rotation about -lateral turns the up axis toward forward.
    if "spine_flexion" in requested:
        joints = _spine_joints(bone_map, skeleton.parents)
        if not joints:
            skipped.append("spine_flexion: the bone map has no spine or chest joints above the pelvis")
        for joint in joints:
            add(joint, -lateral, parameters.spine_flexion / len(joints))
    if "head_flexion" in requested:
        joints = _neck_joints(bone_map, skeleton.parents)
        if not joints:
            skipped.append("head_flexion: the bone map has no neck or head")
        for joint in joints:
            add(joint, -lateral, parameters.head_flexion / len(joints))
    # Abduction turns the left side about +forward and the right side about -forward.
    for name, role in (("shoulder_raise", "shoulder"), ("arm_openness", "upper_arm"), ("stance_width", "thigh")):
        if name not in requested:
            continue
        for side, sign in zip(SIDES, (1.0, -1.0)):
            joint = bone_map.get(f"{side}_{role}")
            if joint is None:
                skipped.append(f"{name}: the bone map has no {side}_{role}, so that side is unchanged")
                continue
            add(joint, sign * forward, getattr(parameters, name))
            foot = bone_map.get(f"{side}_foot")
            if name == "stance_width" and foot is not None:
                # The opposite turn at the ankle keeps the foot's world orientation, so it stays flat.
                add(foot, sign * forward, -parameters.stance_width)
    # A positive rotation about +lateral turns a hanging arm's down direction toward forward.
    if "arm_raise" in requested:
        for side in SIDES:
            joint = bone_map.get(f"{side}_upper_arm")
            if joint is None:
                skipped.append(f"arm_raise: the bone map has no {side}_upper_arm, so that side is unchanged")
                continue
            add(joint, lateral, parameters.arm_raise)
    if "elbow_extension" in requested:
        for side in SIDES:
            change = _elbow_change(bone_map, skeleton.parents, side, parameters.elbow_extension, positions, world, up)
            if change is None:
                skipped.append(
                    f"elbow_extension: the {side} arm needs upper_arm, forearm and hand roles in one chain, "
                    "so that side is unchanged"
                )
                continue
            add(bone_map.get(f"{side}_forearm"), *change)

    if not deltas:
        return False
    # Every joint's change reads only the unedited world rotations and its own local
    # rotation, so all joints go through the products at once, as (frames, joints, 4).
    joints = list(deltas)
    parents = skeleton.parents[joints]
    parent_world = world[:, np.maximum(parents, 0)]
    parent_world[:, parents < 0] = (1.0, 0.0, 0.0, 0.0)
    rest_frame = quaternion.multiply(parent_world, skeleton.rest_rotations[joints][None])
    delta = np.stack([deltas[joint] for joint in joints], axis=1)
    local_delta = quaternion.multiply(quaternion.multiply(quaternion.conjugate(rest_frame), delta), rest_frame)
    motion.rotations[:, joints] = quaternion.normalize(quaternion.multiply(local_delta, motion.rotations[:, joints]))
    return True


def _elbow_change(bone_map, parents: np.ndarray, side: str, extension: float, positions: np.ndarray,
                  world: np.ndarray, up: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Return the world hinge axes ``(frames, 3)`` and angles ``(frames,)`` that open or close one elbow.

    The bend is the angle from the upper arm's direction to the forearm's about the
    elbow's hinge (found as for a knee, so it keeps its sign on straight frames). For
    ``extension > 0`` the new bend is ``(1 - extension) * bend``. For ``extension < 0``
    it moves ``-extension`` of the way to :data:`MAX_ELBOW_FLEXION`. Bends already past
    those limits stay. Returns None when the arm's roles are missing or not one chain.
    """
    shoulder, elbow, wrist = (bone_map.get(f"{side}_{role}") for role in ("upper_arm", "forearm", "hand"))
    if shoulder is None or elbow is None or wrist is None:
        return None
    chain = _chain(parents, shoulder, wrist)
    if chain is None or elbow not in chain[1:-1]:
        return None
    upper = positions[:, elbow] - positions[:, shoulder]
    lower = positions[:, wrist] - positions[:, elbow]
    axis = _knee_axes(positions[:, shoulder], positions[:, elbow], positions[:, wrist], world[:, elbow], up)
    bend = _signed_angle(upper, lower, axis)
    if extension >= 0.0:
        change = -extension * np.maximum(bend, 0.0)
    else:
        change = -extension * np.maximum(MAX_ELBOW_FLEXION - bend, 0.0)
    return axis, change


def _foot_points(bone_map, side: str) -> list[int]:
    return [joint for joint in (bone_map.get(f"{side}_foot"), bone_map.get(f"{side}_toe")) if joint is not None]


def _follow_legs(edited: Motion, edited_positions: np.ndarray, base_positions: np.ndarray, contacts: np.ndarray,
                 bone_map, up: np.ndarray, height: float, skipped: list[str]) -> None:
    """Move the root so it follows edited legs, in place on ``edited.root_positions``.

    Horizontal: the root's travel from its first frame scales by the ratio of the edited
    to the source spread (standard deviation) of the feet along the body's forward axis,
    relative to the pelvis, so longer strides cover more ground. Vertical: on contact
    frames the contacting foot's lowest point (foot or toe joint) returns to its source
    height; between contacts the offset is interpolated linearly. ``edited_positions``
    ``(frames, joints, 3)`` are the edited motion's world joint positions, moved in place
    along with the root.
    """
    pelvis = bone_map.get("pelvis")
    feet = [bone_map.get(f"{side}_foot") for side in SIDES]
    if pelvis is None or all(foot is None for foot in feet):
        skipped.append("root: the bone map needs the pelvis and a foot to move the root with the legs")
        return

    frame = _body_frame(base_positions, bone_map, up)
    present = [foot for foot in feet if foot is not None]
    if frame is None:
        skipped.append("root stride: no left/right pair to find the body's facing, so the stride is unchanged")
    else:
        forward = frame[1]
        spread_source = np.mean([np.std(np.sum((base_positions[:, foot] - base_positions[:, pelvis]) * forward, -1))
                                 for foot in present])
        spread_edited = np.mean([np.std(np.sum((edited_positions[:, foot] - edited_positions[:, pelvis]) * forward, -1))
                                 for foot in present])
        # Below this spread the feet do not step, so there is no stride to scale.
        if spread_source > 0.005 * height:
            ratio = float(np.clip(spread_edited / spread_source, *STRIDE_RATIO_LIMITS))
            travel = base_positions[:, pelvis] - base_positions[0, pelvis]
            travel -= (travel @ up)[:, None] * up
            shift = (ratio - 1.0) * travel
            edited.root_positions += shift
            edited_positions += shift[:, None]

    offsets = np.zeros(edited.frame_count)
    counts = np.zeros(edited.frame_count)
    for column, side in enumerate(SIDES):
        points = _foot_points(bone_map, side)
        if not points or not contacts[:, column].any():
            continue
        rows = contacts[:, column]
        source_low = np.min(base_positions[rows][:, points] @ up, axis=-1)
        edited_low = np.min(edited_positions[rows][:, points] @ up, axis=-1)
        offsets[rows] += source_low - edited_low
        counts[rows] += 1
    contact_frames = np.flatnonzero(counts > 0)
    if contact_frames.size:
        vertical = np.interp(np.arange(edited.frame_count), contact_frames, offsets[contact_frames] / counts[contact_frames])
    else:
        points = sum((_foot_points(bone_map, side) for side in SIDES), [])
        vertical = np.full(edited.frame_count, np.min(base_positions[:, points] @ up) - np.min(edited_positions[:, points] @ up))
    edited.root_positions += vertical[:, None] * up
    edited_positions += vertical[:, None, None] * up


def _loop_state(motion: Motion, positions: np.ndarray, bone_map, up: np.ndarray, height: float) -> tuple[bool, bool]:
    """Return whether ``motion`` loops in its poses, and whether its pelvis also returns horizontally."""
    if motion.frame_count < 3:
        return False, False
    angles = quaternion.angle_between(motion.rotations[0], motion.rotations[-1])
    pelvis = bone_map.get("pelvis")
    pelvis = 0 if pelvis is None else pelvis
    difference = positions[-1, pelvis] - positions[0, pelvis]
    vertical = abs(float(difference @ up))
    horizontal = float(np.linalg.norm(difference - (difference @ up) * up))
    loops = bool(angles.max() < LOOP_ANGLE_TOLERANCE and vertical < LOOP_POSITION_TOLERANCE * height)
    return loops, loops and horizontal < LOOP_POSITION_TOLERANCE * height


def _close_loop(motion: Motion, bone_map, up: np.ndarray, horizontal: bool) -> None:
    """Blend the first-to-last residual into the end of ``motion`` so the last pose equals the first, in place."""
    frames = motion.frame_count
    blend = int(min(round(LOOP_BLEND_SECONDS * motion.frame_rate), frames - 1))
    if blend < 1:
        return
    ramp = np.zeros(frames)
    ramp[frames - blend - 1 :] = np.linspace(0.0, 1.0, blend + 1)
    ramp = ramp * ramp * (3.0 - 2.0 * ramp)
    rows = slice(frames - blend, frames)

    residual = quaternion.log(quaternion.multiply(quaternion.conjugate(motion.rotations[-1]), motion.rotations[0]))
    correction = quaternion.exp(ramp[rows, None, None] * residual[None])
    motion.rotations[rows] = quaternion.multiply(motion.rotations[rows], correction)

    pelvis = bone_map.get("pelvis")
    pelvis = 0 if pelvis is None else pelvis
    positions = forward_kinematics(motion.skeleton, motion.rotations[[0, -1]], motion.root_positions[[0, -1]],
                                   None if motion.translations is None else motion.translations[[0, -1]])
    assert isinstance(positions, np.ndarray)
    difference = positions[0, pelvis] - positions[1, pelvis]
    if not horizontal:
        difference = (difference @ up) * up
    motion.root_positions[rows] += ramp[rows, None] * difference


_KINEMATIC_LEVELS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _kinematic_levels(skeleton) -> list[tuple[np.ndarray, np.ndarray]]:
    """Return ``(joints, their parents)`` index arrays per depth of the joint tree, root excluded."""
    levels = _KINEMATIC_LEVELS.get(skeleton)
    if levels is None:
        depth = np.zeros(skeleton.joint_count, dtype=np.int64)
        for joint in range(1, skeleton.joint_count):
            depth[joint] = depth[skeleton.parents[joint]] + 1
        levels = []
        for level in range(1, int(depth.max()) + 1):
            joints = np.flatnonzero(depth == level)
            levels.append((joints, skeleton.parents[joints]))
        _KINEMATIC_LEVELS[skeleton] = levels
    return levels


def _kinematics(motion: Motion) -> tuple[np.ndarray, np.ndarray]:
    """Return world joint positions ``(frames, joints, 3)`` and rotations ``(frames, joints, 4)``.

    The same products and sums as ``synthesis.skeleton.forward_kinematics`` in the same
    order, so the results are bit-identical to it. The joints of one tree depth are
    computed in one numpy step on ``(component, joint, frame)`` arrays, so the number of
    numpy calls grows with the tree's depth instead of its joint count.
    """
    skeleton = motion.skeleton
    # forward_kinematics multiplies by the rest rotations even when they are identities,
    # which changes no bit of a finite quaternion, so that product is skipped then.
    rest = skeleton.rest_rotations
    rotations = motion.rotations if np.all(rest == (1.0, 0.0, 0.0, 0.0)) else quaternion.multiply(rest[None], motion.rotations)
    local = np.ascontiguousarray(rotations.transpose(2, 1, 0))
    if motion.translations is not None:
        offsets = np.ascontiguousarray(motion.translations.transpose(2, 1, 0))
    else:
        offsets = skeleton.offsets.T[:, :, None]
    world = np.empty_like(local)
    positions = np.empty((3,) + local.shape[1:])
    world[:, 0] = local[:, 0]
    positions[:, 0] = motion.root_positions.T
    if motion.translations is not None:
        positions[:, 0] += offsets[:, 0]
    for joints, parents in _kinematic_levels(skeleton):
        parent_world = world[:, parents]
        world[:, joints] = _subset_multiply(parent_world, local[:, joints])
        level_positions = np.empty((3,) + parent_world.shape[1:])
        _subset_rotate(parent_world, offsets[:, joints], out=level_positions)
        level_positions += positions[:, parents]
        positions[:, joints] = level_positions
    # The memory layout of forward_kinematics' results (joint-major, as frames-major views)
    # keeps the summation order of later reductions, and so their bits, as they were.
    positions = np.moveaxis(np.ascontiguousarray(positions.transpose(1, 2, 0)), 0, 1)
    return positions, np.moveaxis(np.ascontiguousarray(world.transpose(1, 2, 0)), 0, 1)


@dataclass
class _SourceAnalysis:
    """What :func:`apply_edit` measures on the source motion, which no edit parameter changes.

    The solver edits one proxy motion many times, so it builds this once and passes it
    to :func:`_apply_edit`. Nothing here may be changed in place by an edit.
    """

    motion: Motion
    bone_map: object
    height: float
    positions: np.ndarray
    """``(frames, joints, 3)`` world joint positions."""
    up: np.ndarray
    contacts: np.ndarray
    """``(frames, 2)`` bool foot contacts (left, right)."""
    loops: bool
    loops_horizontally: bool
    _speed: tuple[np.ndarray | None] | None = None

    @classmethod
    def of(cls, motion: Motion, bone_map) -> _SourceAnalysis:
        height = reference_height(motion, bone_map)
        positions, _ = _kinematics(motion)
        up = vertical_axis(motion, bone_map, positions)
        contacts = detect_foot_contacts(motion, bone_map, positions=positions)
        loops, loops_horizontally = _loop_state(motion, positions, bone_map, up, height)
        return cls(motion, bone_map, height, positions, up, contacts, loops, loops_horizontally)

    def speed(self) -> np.ndarray | None:
        """Return the :func:`_speed_curve` of the source, computed on first use."""
        if self._speed is None:
            self._speed = (_speed_curve(self.motion, self.bone_map, self.positions),)
        return self._speed[0]


def apply_edit(
    motion: Motion,
    bone_map,
    parameters: EditParameters,
    *,
    keep_planted_feet: bool = True,
    keep_loop: bool = True,
    return_report: bool = False,
) -> Motion | EditResult:
    """Apply ``parameters`` to a dense motion and return the edited copy.

    Parameters
    ----------
    motion : Motion
        The source motion, one pose per frame; it is not changed.
    bone_map : BoneMap
        Roles of the motion's skeleton (``synthesis.roles.detect_roles``).
    parameters : EditParameters
        Must lie inside :data:`PARAMETER_BOUNDS`.
    keep_planted_feet : bool
        Detect foot contacts in the source and pin those feet in the output with two-bone IK.
    keep_loop : bool
        If the source's first and last poses match (within :data:`LOOP_ANGLE_TOLERANCE`
        radians per joint and :data:`LOOP_POSITION_TOLERANCE` body heights at the pelvis),
        make the output's first and last poses match too.
    return_report : bool
        Return an :class:`EditResult` with the skipped edits, time map and contacts
        instead of the bare motion.

    Returns
    -------
    Motion or EditResult
        The output has ``round(duration / time_scale * frame_rate) + 1`` frames at the
        source frame rate, and sign-continuous rotations.
    """
    parameters.validate()
    return _apply_edit(motion, bone_map, parameters, _SourceAnalysis.of(motion, bone_map),
                       keep_planted_feet=keep_planted_feet, keep_loop=keep_loop, return_report=return_report)


def _apply_edit(
    motion: Motion,
    bone_map,
    parameters: EditParameters,
    source: _SourceAnalysis,
    *,
    keep_planted_feet: bool = True,
    keep_loop: bool = True,
    return_report: bool = False,
) -> Motion | EditResult:
    """Run :func:`apply_edit` with the source's measurements already taken (``source``)."""
    parameters.validate()
    skipped: list[str] = []
    height = source.height
    source_positions = source.positions
    up = source.up
    source_contacts = source.contacts
    loops, loops_horizontally = source.loops, source.loops_horizontally

    timing = _time_map(motion, parameters, source.speed, skipped)
    source_frames = timing.source_frames()
    retimed = timing.output_frame_count != motion.frame_count or not np.allclose(
        source_frames, np.arange(motion.frame_count)
    )
    if retimed:
        edited = motion.sample(source_frames)
        # Linear interpolation of the source positions replaces forward kinematics of the
        # slerped poses. Halfway between frames of a 30 fps Bandai run they differ by 5 mm at most.
        lower = np.floor(source_frames).astype(np.int64)
        upper = np.minimum(lower + 1, motion.frame_count - 1)
        weight = (source_frames - lower)[:, None, None]
        base_positions = source_positions[lower] * (1.0 - weight) + source_positions[upper] * weight
    else:
        edited = motion.copy()
        base_positions = source_positions
    contacts = source_contacts[np.clip(np.round(source_frames).astype(np.int64), 0, motion.frame_count - 1)]

    rotations = quaternion.make_continuous(edited.rotations, axis=0)
    _apply_extent(rotations, _body_groups(bone_map, motion.skeleton.parents), parameters, skipped)
    rotations = _apply_effort(rotations, motion.frame_rate, parameters)
    edited.rotations = rotations
    positions, world = _kinematics(edited)
    # Posture edits other than stance_width turn joints above the pelvis only, so the pelvis
    # and legs that root following and foot locking read keep their positions and rotations.
    if _apply_posture(edited, bone_map, parameters, up, skipped, positions, world) and parameters.differs_from_neutral(
        "stance_width"
    ):
        positions, world = _kinematics(edited)
    if any(parameters.differs_from_neutral(name) for name in _LEG_PARAMETERS):
        _follow_legs(edited, positions, base_positions, contacts, bone_map, up, height, skipped)

    if keep_planted_feet and contacts.any():
        edited = lock_feet(edited, bone_map, contacts, skipped=skipped, positions=positions, world_rotations=world,
                           up=up)
    if keep_loop and loops:
        _close_loop(edited, bone_map, up, loops_horizontally)
    edited.rotations = quaternion.make_continuous(quaternion.normalize(edited.rotations), axis=0)

    for message in skipped:
        logger.info("Edit skipped: %s", message)
    if return_report:
        return EditResult(motion=edited, skipped=skipped, timing=timing, contacts=contacts)
    return edited


def apply_edit_to_keys(
    motion: Motion,
    bone_map,
    parameters: EditParameters,
    key_times: np.ndarray,
    *,
    keep_planted_feet: bool = False,
    keep_loop: bool = True,
) -> KeyEdit:
    """Edit sparse keyframes through the dense edit, keeping the number of keys.

    ``motion`` is the keyed animation evaluated on every frame (its interpolated curves),
    and ``key_times`` are the keys' times in seconds from the motion's first frame. Each
    key moves to ``time_map(...).to_output(key_time)``, and its new pose is the dense
    edited motion at that output time. So timing edits move keys, and extent, posture and
    effort edits change key values as they change the curve at the key.

    Parameters
    ----------
    motion : Motion
    bone_map : BoneMap
    parameters : EditParameters
    key_times : (keys,) array
        Seconds, non-decreasing, inside ``[0, motion.duration]``.
    keep_planted_feet : bool
        Foot locking is off by default, because the pins hold only at the keys and the
        curve between keys may still slide.
    keep_loop : bool
        As in :func:`apply_edit`.
    """
    key_times = np.asarray(key_times, dtype=np.float64).reshape(-1)
    if key_times.size == 0:
        raise ValueError("apply_edit_to_keys: key_times is empty; pass the time in seconds of each key")
    if not np.all(np.isfinite(key_times)) or np.any(np.diff(key_times) < 0):
        raise ValueError("apply_edit_to_keys: key_times must be finite seconds in non-decreasing order")
    tolerance = 0.5 / motion.frame_rate
    if key_times[0] < -tolerance or key_times[-1] > motion.duration + tolerance:
        raise ValueError(
            f"apply_edit_to_keys: key times span [{key_times[0]:.4f}, {key_times[-1]:.4f}] s but the motion covers "
            f"[0, {motion.duration:.4f}] s; evaluate the action over the keys' whole range"
        )
    result = apply_edit(motion, bone_map, parameters, keep_planted_feet=keep_planted_feet, keep_loop=keep_loop,
                        return_report=True)
    assert isinstance(result, EditResult) and result.timing is not None
    times = result.timing.to_output(key_times)
    poses = result.motion.sample(times * motion.frame_rate)
    return KeyEdit(
        times=times,
        rotations=quaternion.make_continuous(poses.rotations, axis=0),
        root_positions=poses.root_positions,
        translations=poses.translations,
        skipped=result.skipped,
    )
