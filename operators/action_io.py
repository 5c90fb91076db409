"""Read an armature's action into a :class:`Motion` and write a motion back as a new action.

Coordinates: the motion is in world space, in the scene's length unit. The skeleton's
root rest rotation includes the armature object's rotation, and its offsets include the
object's scale. The root positions go through the object's world matrix, so an armature
imported from a centimetre BVH with object scale 0.01 reads in metres. Only uniform,
positive object scale is supported. The object matrix is the one at the current frame,
because object-level keys in the action are not evaluated per frame.

Bones: the skeleton has one joint per bone of the armature's main hierarchy (the root
bone with the most descendants), parents before children. For joint ``j`` with parent
``p`` and rest matrices ``M`` (``bone.matrix_local``, armature space):

- ``rest_rotations[j]`` is the rotation of ``M[p]^-1 @ M[j]``, so ``motion.rotations``
  are the pose bones' own rotations, whatever their rotation mode.
- ``offsets[j]`` is ``M[p]^-1 @ head[j]``, the bone's head in the parent's rest frame.
- a pose bone's ``location`` is in its own rest frame, so a bone with location keys gets
  ``translations[:, j] = offsets[j] + rest_rotations[j] (location)``.

Reading evaluates the F-curves in numpy from the keyframes (constant, linear and Bezier
segments, with Blender's handle correction and extrapolation) and never changes the
current frame. Writing copies the source action, replaces the bone channels it owns and
assigns the copy, so the source action keeps every key.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal, cast

import bpy
import numpy as np
from bpy.types import Action, EnumProperty, FCurve, Object

from ..synthesis import quaternion
from ..synthesis.skeleton import Motion, Skeleton
from . import action_compat

__all__ = [
    "ArmatureError",
    "ChannelKeys",
    "BoneKeys",
    "read_armature_motion",
    "write_armature_motion",
    "armature_skeleton",
    "require_armature",
    "require_action",
    "require_bone_channels",
    "check_action_editable",
    "check_constraints",
    "check_finite_keys",
    "validate_armature_action",
]

log = logging.getLogger(__name__)


class ArmatureError(ValueError):
    """Error for an armature or action that cannot be read or edited. The message names it and the fix."""


# Rotation mode to (pose bone property, number of array indices).
ROTATION_CHANNELS = {
    'QUATERNION': ("rotation_quaternion", 4),
    'AXIS_ANGLE': ("rotation_axis_angle", 4),
    **{order: ("rotation_euler", 3) for order in ('XYZ', 'XZY', 'YXZ', 'YZX', 'ZXY', 'ZYX')},
}

_BONE_PATH = re.compile(r'^pose\.bones\["((?:[^"\\]|\\.)*)"\]\.(\w+)$')

_INTERPOLATION = {
    name: item.value
    for name, item in cast(EnumProperty, bpy.types.Keyframe.bl_rna.properties["interpolation"]).enum_items.items()
}
_HANDLE_TYPE = {
    name: item.value
    for name, item in cast(EnumProperty, bpy.types.Keyframe.bl_rna.properties["handle_left_type"]).enum_items.items()
}
_CONSTANT = _INTERPOLATION['CONSTANT']
_LINEAR = _INTERPOLATION['LINEAR']
_BEZIER = _INTERPOLATION['BEZIER']

# Keys closer than this (in frames) to an integer frame count as on that frame.
_FRAME_TOLERANCE = 1e-4


@dataclass(frozen=True)
class ChannelKeys:
    """Key frames of one bone channel (rotation or location), over all its array indices."""

    frames: np.ndarray
    """``(keys,)`` scene frames of the keys, sorted, the union over the array indices."""
    interpolation: np.ndarray
    """``(keys,)`` ``Keyframe.interpolation`` enum values of those keys."""
    dense: bool
    """True when there is a key on every frame of the read range."""


@dataclass
class BoneKeys:
    """Key frames of the source action per bone channel, so that writing keeps sparse keys sparse."""

    frame_start: int
    """Scene frame of the motion's frame 0."""
    frame_end: int
    """Scene frame of the motion's last frame."""
    rotation_modes: dict[str, str] = field(default_factory=dict)
    """Bone name to the pose bone's ``rotation_mode`` when read."""
    rotation: dict[str, ChannelKeys] = field(default_factory=dict)
    """Bone name to the keys of its rotation channel in that mode. Bones without keys are absent."""
    location: dict[str, ChannelKeys] = field(default_factory=dict)
    """Bone name to the keys of its location channel. Bones without keys are absent."""

    def retimed(self, frame_map: Callable[[np.ndarray], np.ndarray], frame_start: int, frame_end: int) -> BoneKeys:
        """Return a copy for a retimed motion: sparse keys move to ``frame_map(frames)``, dense ones stay dense.

        ``frame_map`` maps an array of source scene frames to new scene frames and must be
        increasing. Keys that land on the same frame merge into one.
        """
        def remap(channels: dict[str, ChannelKeys]) -> dict[str, ChannelKeys]:
            result = {}
            for bone, keys in channels.items():
                if keys.dense:
                    frames = np.arange(frame_start, frame_end + 1, dtype=np.float64)
                    interpolation = np.full(len(frames), _most_common(keys.interpolation))
                    result[bone] = ChannelKeys(frames, interpolation, True)
                    continue
                frames = np.asarray(frame_map(keys.frames), dtype=np.float64)
                if frames.shape != keys.frames.shape or np.any(np.diff(frames) < 0):
                    raise ValueError(f"frame_map must return increasing frames of the same shape for bone {bone!r}")
                frames, first = np.unique(np.round(frames / _FRAME_TOLERANCE) * _FRAME_TOLERANCE, return_index=True)
                result[bone] = ChannelKeys(frames, keys.interpolation[first], False)
            return result

        return BoneKeys(
            frame_start=int(frame_start),
            frame_end=int(frame_end),
            rotation_modes=dict(self.rotation_modes),
            rotation=remap(self.rotation),
            location=remap(self.location),
        )


@dataclass
class _Layout:
    """Rest data of an armature's main bone hierarchy, in armature space."""

    obj: Object
    names: tuple[str, ...]
    parents: np.ndarray
    """``(joints,)`` parent index, -1 for the root."""
    rest_rotations: np.ndarray
    """``(joints, 4)`` rest rotation relative to the parent (the root's is in armature space)."""
    offsets: np.ndarray
    """``(joints, 3)`` head relative to the parent's head in the parent's rest frame (the root's is its head)."""
    connected: np.ndarray
    """``(joints,)`` bool: the bone is connected to its parent, so Blender ignores its location."""
    object_translation: np.ndarray
    object_rotation: np.ndarray
    object_scale: float


def _parse_bone_path(data_path: str) -> tuple[str, str] | None:
    match = _BONE_PATH.match(data_path)
    if match is None:
        return None
    name = re.sub(r"\\(.)", r"\1", match.group(1))
    return name, match.group(2)


def _bone_path(bone_name: str, prop: str) -> str:
    return f'pose.bones["{bpy.utils.escape_identifier(bone_name)}"].{prop}'


def _most_common(values: np.ndarray) -> int:
    if len(values) == 0:
        return _LINEAR
    uniques, counts = np.unique(values, return_counts=True)
    return int(uniques[np.argmax(counts)])


# Guards


def require_armature(obj: Object | None) -> Object:
    """Return ``obj`` if it is an armature object, or raise :class:`ArmatureError`."""
    if obj is None:
        raise ArmatureError("No active object. Select an armature and try again")
    if obj.type != 'ARMATURE':
        raise ArmatureError(f"Object {obj.name!r} is a {obj.type.lower()}, not an armature. Select an armature")
    if len(obj.data.bones) == 0:
        raise ArmatureError(f"Armature {obj.name!r} has no bones")
    return obj


def require_action(obj: Object) -> Action:
    """Return the action that ``obj`` plays, or raise :class:`ArmatureError`."""
    animation_data = obj.animation_data
    if animation_data is None or animation_data.action is None:
        raise ArmatureError(
            f"Armature {obj.name!r} has no action. Import or key an animation, "
            "or assign an action in the Action Editor"
        )
    return animation_data.action


def _bone_fcurves(obj: Object, action: Action) -> list[tuple[str, str, FCurve]]:
    """Return ``(bone, property, fcurve)`` for the action's F-curves on bones of ``obj``."""
    slot = action_compat.find_slot(action, obj)
    bones = obj.data.bones
    result = []
    unknown = set()
    for fcurve in action_compat.action_fcurves(action, slot):
        parsed = _parse_bone_path(fcurve.data_path)
        if parsed is None:
            continue
        bone_name, prop = parsed
        if bones.get(bone_name) is None:
            unknown.add(bone_name)
            continue
        result.append((bone_name, prop, fcurve))
    if unknown:
        log.warning(
            "action %r keys bones that armature %r lacks, so they are ignored: %s",
            action.name, obj.name, ", ".join(sorted(unknown)),
        )
    return result


def require_bone_channels(obj: Object, action: Action) -> list[FCurve]:
    """Return the F-curves of ``action`` that animate bones of ``obj``, or raise if there are none."""
    fcurves = [fcurve for _bone, _prop, fcurve in _bone_fcurves(obj, action)]
    if not fcurves:
        slot = action_compat.find_slot(action, obj)
        where = f" in slot {slot.identifier!r}" if slot is not None else ""
        raise ArmatureError(
            f"Action {action.name!r}{where} has no keys on the bones of armature {obj.name!r}. "
            "Key the bones in Pose Mode, or assign the action made for this armature"
        )
    return fcurves


def check_action_editable(obj: Object, action: Action) -> None:
    """Raise :class:`ArmatureError` if ``obj`` cannot get a new action.

    That is the case when ``obj`` or ``action`` is linked from a library (read-only), or
    when ``obj`` is in NLA tweak mode.
    """
    for block, kind in ((obj, "Object"), (action, "Action")):
        if block.library is not None:
            raise ArmatureError(
                f"{kind} {block.name!r} is linked from library {block.library.filepath!r} and is read-only. "
                "Make it local (Object > Relations > Make Local) or add a library override first"
            )
    if obj.animation_data is not None and obj.animation_data.use_tweak_mode:
        raise ArmatureError(
            f"Armature {obj.name!r} is in NLA tweak mode, so its action cannot be replaced. "
            "Exit tweak mode in the NLA editor and try again"
        )


def check_constraints(obj: Object) -> None:
    """Raise :class:`ArmatureError` listing bones whose pose comes from constraints or drivers.

    Editing the keys of such bones would not change what they do. Muted constraints and
    constraints with zero influence are ignored.
    """
    problems = []
    for pose_bone in obj.pose.bones:
        active = [c.name for c in pose_bone.constraints if not c.mute and c.influence > 0.0]
        if active:
            problems.append(f"{pose_bone.name!r} (constraints {', '.join(repr(name) for name in active)})")
    animation_data = obj.animation_data
    if animation_data is not None:
        driven: dict[str, list[str]] = {}
        for fcurve in animation_data.drivers:
            parsed = _parse_bone_path(fcurve.data_path)
            if parsed is not None and not fcurve.mute:
                driven.setdefault(parsed[0], []).append(f"{parsed[1]}[{fcurve.array_index}]")
        for bone_name, channels in driven.items():
            problems.append(f"{bone_name!r} (drivers on {', '.join(channels)})")
    if problems:
        raise ArmatureError(
            f"Armature {obj.name!r} has bones posed by constraints or drivers, so editing their keys "
            f"would not change the motion: {'; '.join(problems)}. Bake the action first "
            "(Pose > Animation > Bake Action with Visual Keying and Clear Constraints)"
        )


def check_finite_keys(action: Action, fcurves: Iterable[FCurve]) -> None:
    """Raise :class:`ArmatureError` naming the first F-curve and frame with a NaN or infinite key."""
    for fcurve in fcurves:
        keys = _read_keys(fcurve)
        bad = ~np.isfinite(keys.co).all(axis=1)
        if np.any(bad):
            index = int(np.flatnonzero(bad)[0])
            frame = keys.co[index, 0]
            where = f"frame {frame:g}" if np.isfinite(frame) else f"key {index}"
            raise ArmatureError(
                f"F-curve {fcurve.data_path}[{fcurve.array_index}] of action {action.name!r} has a "
                f"NaN or infinite value at {where}. Delete or re-key that keyframe in the Graph Editor"
            )


def validate_armature_action(obj: Object | None) -> Action:
    """Run every guard that editing ``obj``'s action needs and return the action."""
    obj = require_armature(obj)
    action = require_action(obj)
    check_action_editable(obj, action)
    fcurves = require_bone_channels(obj, action)
    check_constraints(obj)
    check_finite_keys(action, fcurves)
    _check_bone_settings(obj, _armature_layout(obj).names)
    return action


def _check_bone_settings(obj: Object, names: Iterable[str]) -> None:
    unsupported = []
    for name in names:
        bone = obj.data.bones[name]
        if not bone.use_inherit_rotation:
            unsupported.append(f"{name!r} (Inherit Rotation off)")
        if not bone.use_local_location:
            unsupported.append(f"{name!r} (Local Location off)")
    if unsupported:
        raise ArmatureError(
            f"Armature {obj.name!r} has bones whose pose does not follow the parent chain: "
            f"{', '.join(unsupported)}. Turn these options on in Bone Properties > Relations"
        )


# Skeleton


def _armature_layout(obj: Object) -> _Layout:
    bones = obj.data.bones
    roots = [bone for bone in bones if bone.parent is None]

    def subtree(bone) -> list:
        ordered = [bone]
        for child in bone.children:
            ordered.extend(subtree(child))
        return ordered

    hierarchies = [subtree(root) for root in roots]
    main = max(hierarchies, key=len)
    if len(hierarchies) > 1:
        left_out = sorted(bone.name for hierarchy in hierarchies if hierarchy is not main for bone in hierarchy)
        log.info(
            "armature %r has %d root bones, so only the hierarchy of %r is read and %s are left out",
            obj.name, len(roots), main[0].name, ", ".join(left_out),
        )

    names = tuple(bone.name for bone in main)
    index = {name: i for i, name in enumerate(names)}
    matrices = np.array([np.array(bone.matrix_local, dtype=np.float64) for bone in main])
    rest_world = quaternion.from_matrix(matrices[:, :3, :3])
    heads = matrices[:, :3, 3]
    parents = np.array([-1 if bone.parent is None else index[bone.parent.name] for bone in main], dtype=np.int64)

    rest_rotations = rest_world.copy()
    offsets = heads.copy()
    child = parents >= 0
    parent_rest = rest_world[parents[child]]
    rest_rotations[child] = quaternion.multiply(quaternion.conjugate(parent_rest), rest_world[child])
    offsets[child] = quaternion.rotate(quaternion.conjugate(parent_rest), heads[child] - heads[parents[child]])

    translation, rotation, scale_vector = obj.matrix_world.decompose()
    scale = np.array(scale_vector, dtype=np.float64)
    if np.any(scale <= 0.0) or np.ptp(scale) > 1e-6 * np.max(np.abs(scale)):
        raise ArmatureError(
            f"Armature {obj.name!r} has object scale {tuple(round(float(s), 6) for s in scale)}, but only uniform "
            "positive scale is supported. Apply the scale (Object > Apply > Scale) or make it uniform"
        )
    return _Layout(
        obj=obj,
        names=names,
        parents=parents,
        rest_rotations=rest_rotations,
        offsets=offsets,
        connected=np.array([bone.use_connect and bone.parent is not None for bone in main]),
        object_translation=np.array(translation, dtype=np.float64),
        object_rotation=quaternion.normalize(np.array(rotation, dtype=np.float64)),
        object_scale=float(scale[0]),
    )


def _world_skeleton(layout: _Layout) -> Skeleton:
    rest_rotations = layout.rest_rotations.copy()
    rest_rotations[0] = quaternion.multiply(layout.object_rotation, rest_rotations[0])
    offsets = layout.offsets * layout.object_scale
    offsets[0] = layout.object_translation + quaternion.rotate(layout.object_rotation, offsets[0])
    return Skeleton(names=layout.names, parents=layout.parents, offsets=offsets, rest_rotations=rest_rotations)


def armature_skeleton(obj: Object) -> Skeleton:
    """Return the world-space rest :class:`Skeleton` of armature ``obj`` (see the module docstring)."""
    return _world_skeleton(_armature_layout(require_armature(obj)))


# F-curve evaluation


@dataclass
class _Keys:
    """Keyframe arrays of one F-curve, read with ``foreach_get``."""

    fcurve: FCurve
    co: np.ndarray
    """``(keys, 2)`` frame and value."""
    interpolation: np.ndarray
    """``(keys,)`` int enum values."""
    _handles: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def handle_left(self) -> np.ndarray:
        return self._read_handles()[0]

    @property
    def handle_right(self) -> np.ndarray:
        return self._read_handles()[1]

    def _read_handles(self) -> tuple[np.ndarray, np.ndarray]:
        # Handles are read on first use, because keys on every frame never need them.
        if self._handles is None:
            self._handles = (
                _foreach_get_pairs(self.fcurve.keyframe_points, "handle_left"),
                _foreach_get_pairs(self.fcurve.keyframe_points, "handle_right"),
            )
        return self._handles


def _foreach_get_pairs(points, prop: str) -> np.ndarray:
    flat = np.empty(len(points) * 2, dtype=np.float32)
    points.foreach_get(prop, flat)
    return flat.reshape(-1, 2).astype(np.float64)


def _read_keys(fcurve: FCurve) -> _Keys:
    points = fcurve.keyframe_points
    # A uint8 array matches the enum's storage, so foreach_get copies it in bulk (see _write_fcurve).
    interpolation = np.empty(len(points), dtype=np.uint8)
    points.foreach_get("interpolation", interpolation)
    return _Keys(fcurve, _foreach_get_pairs(points, "co"), interpolation.astype(np.int32))


def _first_root(candidates: list[tuple[np.ndarray, np.ndarray]], shape: tuple[int, ...]) -> np.ndarray:
    """Return, per element, the first candidate root that is valid and lies in [0, 1], or NaN if none does."""
    result = np.full(shape, np.nan)
    for root, valid in candidates:
        take = np.isnan(result) & valid & (root >= -1e-10) & (root <= 1.000001)
        result[take] = root[take]
    return result


def _bezier_parameter(x0, x1, x2, x3, frames) -> np.ndarray:
    """Return the Bezier parameter ``t`` at which the segment's time equals ``frames``, or NaN where none exists.

    The cubic is solved in closed form, and the first root in [0, 1] wins, in the order
    that Blender's ``solve_cubic`` (blenkernel ``fcurve.cc``) tries them, so segments
    whose handles make time run backwards pick the same root as Blender.
    """
    c0 = x0 - frames
    c1 = 3.0 * (x1 - x0)
    c2 = 3.0 * (x0 - 2.0 * x1 + x2)
    c3 = x3 - x0 + 3.0 * (x1 - x2)
    shape = frames.shape
    with np.errstate(all="ignore"):
        cubic = c3 != 0.0
        a = c2 / c3 / 3.0
        b = c1 / c3
        c = c0 / c3
        p = b / 3.0 - a * a
        q = (2.0 * a * a * a - a * b + c) / 2.0
        d = q * q + p * p * p
        one_real = cubic & (d > 0.0)
        sqrt_d = np.sqrt(np.maximum(d, 0.0))
        single = np.cbrt(-q + sqrt_d) + np.cbrt(-q - sqrt_d) - a
        double = cubic & (d == 0.0)
        t_double = np.cbrt(-q)
        three_real = cubic & (d < 0.0)
        phi = np.arccos(np.clip(-q / np.sqrt(np.maximum(-(p * p * p), 1e-300)), -1.0, 1.0))
        t_three = np.sqrt(np.maximum(-p, 0.0))
        cos_third = np.cos(phi / 3.0)
        sin_term = np.sqrt(np.maximum(3.0 - 3.0 * cos_third * cos_third, 0.0))

        quadratic = ~cubic & (c2 != 0.0)
        discriminant = c1 * c1 - 4.0 * c2 * c0
        sqrt_disc = np.sqrt(np.maximum(discriminant, 0.0))
        linear = ~cubic & ~quadratic & (c1 != 0.0)
        constant = ~cubic & ~quadratic & ~linear & (c0 == 0.0)

        candidates = [
            (single, one_real),
            (2.0 * t_double - a, double),
            (-t_double - a, double),
            (2.0 * t_three * cos_third - a, three_real),
            (-t_three * (cos_third + sin_term) - a, three_real),
            (-t_three * (cos_third - sin_term) - a, three_real),
            ((-c1 - sqrt_disc) / (2.0 * c2), quadratic & (discriminant > 0.0)),
            ((-c1 + sqrt_disc) / (2.0 * c2), quadratic & (discriminant > 0.0)),
            (-c1 / (2.0 * c2), quadratic & (discriminant == 0.0)),
            (-c0 / c1, linear),
            (np.zeros(shape), constant),
        ]
        return _first_root(candidates, shape)


def _evaluate_keys(keys: _Keys, extrapolation: str, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Evaluate keyframes at ``frames`` as Blender's F-curve evaluation does.

    Returns the values and a bool mask of the frames that fall in segments whose
    interpolation is not constant, linear or Bezier (easing types). Those values are
    placeholders that the caller replaces with ``FCurve.evaluate``.
    """
    x = keys.co[:, 0]
    y = keys.co[:, 1]
    count = len(x)
    values = np.empty(len(frames))
    unsupported = np.zeros(len(frames), dtype=bool)

    # Extrapolation before the first key and after the last, from the end key's interpolation.
    for side, mask in (("first", frames <= x[0]), ("last", frames >= x[-1])):
        if not np.any(mask):
            continue
        end = 0 if side == "first" else count - 1
        neighbour = 1 if side == "first" else count - 2
        slope = 0.0
        if extrapolation == 'LINEAR' and keys.interpolation[end] != _CONSTANT and count > 1:
            if keys.interpolation[end] == _LINEAR:
                dx = x[neighbour] - x[end]
                slope = (y[neighbour] - y[end]) / dx if dx != 0.0 else 0.0
            else:
                handle = keys.handle_left[end] if side == "first" else keys.handle_right[end]
                dx = x[end] - handle[0]
                slope = (y[end] - handle[1]) / dx if dx != 0.0 else 0.0
        elif extrapolation == 'LINEAR' and keys.interpolation[end] not in (_CONSTANT, _LINEAR) and count == 1:
            handle = keys.handle_left[0] if side == "first" else keys.handle_right[0]
            dx = x[0] - handle[0]
            slope = (y[0] - handle[1]) / dx if dx != 0.0 else 0.0
        values[mask] = y[end] + slope * (frames[mask] - x[end])

    inside = (frames > x[0]) & (frames < x[-1])
    if not np.any(inside):
        return values, unsupported
    t_frames = frames[inside]
    segment = np.clip(np.searchsorted(x, t_frames, side="right") - 1, 0, count - 2)
    start_x, end_x = x[segment], x[segment + 1]
    start_y, end_y = y[segment], y[segment + 1]
    kinds = keys.interpolation[segment]
    result = np.array(start_y)

    linear = kinds == _LINEAR
    if np.any(linear):
        span = end_x[linear] - start_x[linear]
        fraction = np.where(span > 0.0, (t_frames[linear] - start_x[linear]) / np.where(span > 0.0, span, 1.0), 0.0)
        result[linear] = start_y[linear] + (end_y[linear] - start_y[linear]) * fraction

    bezier = kinds == _BEZIER
    if np.any(bezier):
        result[bezier] = _evaluate_bezier(keys, segment[bezier], t_frames[bezier])

    # Easing types, and Bezier frames without a root, are left to FCurve.evaluate.
    unsupported[inside] = ~(linear | bezier | (kinds == _CONSTANT)) | np.isnan(result)
    values[inside] = result
    return values, unsupported


def _evaluate_bezier(keys: _Keys, segment: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """Evaluate Bezier segments as Blender does. NaN marks frames where no curve parameter was found."""
    v1 = keys.co[segment]
    v2 = keys.handle_right[segment].copy()
    v3 = keys.handle_left[segment + 1].copy()
    v4 = keys.co[segment + 1]

    # A handle longer in time than its segment is scaled down along its direction, so that
    # the curve cannot loop back in time (BKE_fcurve_correct_bezpart).
    length = v4[:, 0] - v1[:, 0]
    for handle, key in ((v2, v1), (v3, v4)):
        delta = key - handle
        handle_length = np.abs(delta[:, 0])
        too_long = handle_length > length
        factor = length[too_long] / handle_length[too_long]
        handle[too_long] = key[too_long] - factor[:, None] * delta[too_long]

    t = _bezier_parameter(v1[:, 0], v2[:, 0], v3[:, 0], v4[:, 0], frames)
    s = 1.0 - t
    values = s * s * s * v1[:, 1] + 3.0 * s * s * t * v2[:, 1] + 3.0 * s * t * t * v3[:, 1] + t * t * t * v4[:, 1]

    # Blender returns the key value for flat segments without solving.
    epsilon = np.finfo(np.float32).eps
    flat = (
        (np.abs(v1[:, 1] - v4[:, 1]) < epsilon)
        & (np.abs(v2[:, 1] - v3[:, 1]) < epsilon)
        & (np.abs(v3[:, 1] - v4[:, 1]) < epsilon)
    )
    return np.where(flat, v1[:, 1], values)


def _sample_fcurve(fcurve: FCurve, keys: _Keys, frames: np.ndarray, action: Action) -> np.ndarray:
    """Return the F-curve's values at integer ``frames``, read from the keys where possible."""
    has_modifiers = any(not modifier.mute for modifier in fcurve.modifiers)
    if len(keys.co) == 0 or has_modifiers:
        reason = "has modifiers" if has_modifiers else "has no keyframes (sampled points)"
        log.info(
            "F-curve %s[%d] of action %r %s, so it is evaluated frame by frame",
            fcurve.data_path, fcurve.array_index, action.name, reason,
        )
        return np.array([fcurve.evaluate(float(frame)) for frame in frames])

    key_frames = keys.co[:, 0]
    if len(key_frames) == len(frames) and np.all(np.abs(key_frames - frames) < _FRAME_TOLERANCE):
        return keys.co[:, 1].copy()

    values, unsupported = _evaluate_keys(keys, fcurve.extrapolation, frames)
    if np.any(unsupported):
        log.info(
            "F-curve %s[%d] of action %r uses easing interpolation on %d frames, which are evaluated frame by frame",
            fcurve.data_path, fcurve.array_index, action.name, int(np.count_nonzero(unsupported)),
        )
        values[unsupported] = [fcurve.evaluate(float(frame)) for frame in frames[unsupported]]
    return values


def _channel_keys(key_sets: list[_Keys], frames: np.ndarray) -> ChannelKeys:
    """Merge the keys of a channel's array indices into one sorted set of key frames."""
    all_frames = np.concatenate([keys.co[:, 0] for keys in key_sets])
    all_interpolation = np.concatenate([keys.interpolation for keys in key_sets])
    rounded = np.round(all_frames / _FRAME_TOLERANCE) * _FRAME_TOLERANCE
    unique_frames, first = np.unique(rounded, return_index=True)
    in_range = (unique_frames >= frames[0] - _FRAME_TOLERANCE) & (unique_frames <= frames[-1] + _FRAME_TOLERANCE)
    unique_frames = unique_frames[in_range]
    interpolation = all_interpolation[first][in_range].astype(np.int32)
    dense = len(unique_frames) == len(frames) and bool(np.all(np.abs(unique_frames - frames) < _FRAME_TOLERANCE))
    return ChannelKeys(frames=unique_frames, interpolation=interpolation, dense=dense)


# Reading


def _rotation_to_quaternion(mode: str, values: np.ndarray) -> np.ndarray:
    """Convert pose bone rotation channel values ``(frames, 3 or 4)`` in ``mode`` to quaternions."""
    if mode == 'QUATERNION':
        return quaternion.normalize(values)
    if mode == 'AXIS_ANGLE':
        return quaternion.normalize(quaternion.from_axis_angle(values[:, 1:], values[:, 0]))
    # Blender's mode names the axes in the order they apply, ours in matrix-product order.
    order = mode[::-1]
    angles = values[:, ["XYZ".index(axis) for axis in order]]
    return quaternion.from_euler(angles, order)


def _current_value(pose_bone, prop: str) -> np.ndarray:
    return np.array(getattr(pose_bone, prop), dtype=np.float64)


def _default_frame_range(obj: Object, action: Action, fcurve_keys: list[_Keys]) -> tuple[int, int]:
    starts = [keys.co[0, 0] for keys in fcurve_keys if len(keys.co)]
    ends = [keys.co[-1, 0] for keys in fcurve_keys if len(keys.co)]
    if not starts:
        start, end = action.frame_range[0], action.frame_range[1]
        return int(math.floor(start)), int(math.ceil(end))
    return int(math.floor(min(starts) + _FRAME_TOLERANCE)), int(math.ceil(max(ends) - _FRAME_TOLERANCE))


def _scene_frame_rate(obj: Object) -> float:
    scenes = obj.users_scene
    scene = scenes[0] if scenes else bpy.context.scene
    return scene.render.fps / scene.render.fps_base


def read_armature_motion(
    obj: Object,
    action: Action | None = None,
    frame_range: tuple[int, int] | None = None,
) -> tuple[Motion, BoneKeys]:
    """Read the bone animation of armature ``obj`` into a world-space :class:`Motion`.

    Parameters
    ----------
    obj
        The armature object. Its rest bones define the skeleton (see the module docstring).
    action
        The action to read. Defaults to the one ``obj`` plays. In Blender 4.4 and later
        the F-curves come from the action's slot for ``obj``.
    frame_range
        Inclusive ``(start, end)`` scene frames. Defaults to the range of the bone keys.

    Returns
    -------
    motion
        ``frames = end - start + 1`` frames at the scene's frame rate. Channels without
        F-curves hold the pose bone's current value.
    bone_keys
        The key frames of every keyed bone channel, for :func:`write_armature_motion`.
    """
    require_armature(obj)
    if action is None:
        action = require_action(obj)
    layout = _armature_layout(obj)
    _check_bone_settings(obj, layout.names)
    animation_data = obj.animation_data
    if animation_data is not None and animation_data.use_nla and any(
        len(track.strips) and not track.mute for track in animation_data.nla_tracks
    ):
        # NOTE: NLA strips add to the pose in Blender but are not part of the motion read here.
        log.warning("armature %r has NLA strips, but only action %r is read", obj.name, action.name)

    channels: dict[tuple[str, str], dict[int, tuple[FCurve, _Keys]]] = {}
    for bone_name, prop, fcurve in _bone_fcurves(obj, action):
        if fcurve.mute or bone_name not in layout.names:
            continue
        fcurve_keys = _read_keys(fcurve)
        if not np.all(np.isfinite(fcurve_keys.co)):
            check_finite_keys(action, [fcurve])
        channels.setdefault((bone_name, prop), {})[fcurve.array_index] = (fcurve, fcurve_keys)
    if not channels:
        require_bone_channels(obj, action)

    if frame_range is None:
        all_keys = [keys for group in channels.values() for _fcurve, keys in group.values()]
        start, end = _default_frame_range(obj, action, all_keys)
    else:
        start, end = (int(frame) for frame in frame_range)
        if end < start:
            raise ValueError(f"frame_range must have start <= end, got {frame_range}")
    frames = np.arange(start, end + 1, dtype=np.float64)
    frame_count = len(frames)
    joint_count = len(layout.names)

    bone_keys = BoneKeys(frame_start=start, frame_end=end)
    rotations = np.empty((frame_count, joint_count, 4))
    locations = np.zeros((frame_count, joint_count, 3))
    animated_location = np.zeros(joint_count, dtype=bool)
    scaled = []

    for joint, name in enumerate(layout.names):
        pose_bone = obj.pose.bones[name]
        mode = pose_bone.rotation_mode
        bone_keys.rotation_modes[name] = mode
        prop, size = ROTATION_CHANNELS[mode]
        values, keys = _sample_channel(obj, action, name, prop, size, channels, frames)
        rotations[:, joint] = _rotation_to_quaternion(mode, values)
        if keys is not None:
            bone_keys.rotation[name] = keys
        stale = [other for other in ("rotation_quaternion", "rotation_euler", "rotation_axis_angle")
                 if other != prop and (name, other) in channels]
        if stale:
            log.warning(
                "bone %r of armature %r is in rotation mode %s, so its keys on %s have no effect",
                name, obj.name, mode, ", ".join(stale),
            )

        if (name, "scale") in channels or np.any(np.abs(np.array(pose_bone.scale) - 1.0) > 1e-6):
            scaled.append(name)

        values, keys = _sample_channel(obj, action, name, "location", 3, channels, frames)
        if layout.connected[joint]:
            if keys is not None:
                log.warning("bone %r of armature %r is connected to its parent, so its location keys have no effect",
                            name, obj.name)
            continue
        locations[:, joint] = values
        if keys is not None:
            bone_keys.location[name] = keys
        animated_location[joint] = keys is not None or np.any(values != 0.0)

    if scaled:
        # NOTE: the Motion data model has no bone scale, so scaled bones move their children differently in Blender.
        log.warning("armature %r scales bones %s, but bone scale is not part of the motion and is ignored",
                    obj.name, ", ".join(scaled))

    motion = _motion_from_channels(layout, rotations, locations, animated_location, _scene_frame_rate(obj))
    return motion, bone_keys


def _sample_channel(obj, action, bone_name, prop, size, channels, frames) -> tuple[np.ndarray, ChannelKeys | None]:
    """Return ``(frames, size)`` values of one pose bone property and its keys (None if unkeyed)."""
    values = np.tile(_current_value(obj.pose.bones[bone_name], prop), (len(frames), 1))
    keyed = channels.get((bone_name, prop), {})
    key_sets = []
    for index, (fcurve, keys) in keyed.items():
        if index >= size:
            continue
        values[:, index] = _sample_fcurve(fcurve, keys, frames, action)
        if len(keys.co):
            key_sets.append(keys)
    return values, (_channel_keys(key_sets, frames) if key_sets else None)


def _motion_from_channels(
    layout: _Layout,
    rotations: np.ndarray,
    locations: np.ndarray,
    animated_location: np.ndarray,
    frame_rate: float,
) -> Motion:
    """Build the world-space motion from pose bone rotations and locations in each bone's rest frame."""
    skeleton = _world_skeleton(layout)
    scale = layout.object_scale

    root_armature = layout.offsets[0] + quaternion.rotate(layout.rest_rotations[0], locations[:, 0])
    root_positions = layout.object_translation + scale * quaternion.rotate(layout.object_rotation, root_armature)

    translations = None
    if np.any(animated_location[1:]):
        translations = np.broadcast_to(skeleton.offsets, locations.shape).copy()
        translations[:, 0] = 0.0
        moved = np.flatnonzero(animated_location)
        moved = moved[moved > 0]
        translations[:, moved] = scale * (
            layout.offsets[moved] + quaternion.rotate(layout.rest_rotations[moved], locations[:, moved])
        )
    return Motion(
        skeleton=skeleton,
        rotations=rotations,
        root_positions=root_positions,
        frame_rate=frame_rate,
        translations=translations,
    )


# Writing


def _motion_to_channels(layout: _Layout, motion: Motion) -> tuple[np.ndarray, np.ndarray]:
    """Invert :func:`_motion_from_channels`: return pose bone quaternions and locations ``(frames, joints, 3)``."""
    scale = layout.object_scale
    inverse_object = quaternion.conjugate(layout.object_rotation)
    root_positions = motion.root_positions
    if motion.translations is not None:
        root_positions = root_positions + motion.translations[:, 0]
    root_armature = quaternion.rotate(inverse_object, root_positions - layout.object_translation) / scale

    locations = np.zeros(motion.rotations.shape[:2] + (3,))
    root_rest_inverse = quaternion.conjugate(layout.rest_rotations[0])
    locations[:, 0] = quaternion.rotate(root_rest_inverse, root_armature - layout.offsets[0])
    if motion.translations is not None:
        local = motion.translations[:, 1:] / scale - layout.offsets[1:]
        locations[:, 1:] = quaternion.rotate(quaternion.conjugate(layout.rest_rotations[1:]), local)
    return motion.rotations, locations


def _check_motion_matches(layout: _Layout, motion: Motion) -> None:
    skeleton = motion.skeleton
    if tuple(skeleton.names) != layout.names:
        missing = sorted(set(layout.names) - set(skeleton.names))
        extra = sorted(set(skeleton.names) - set(layout.names))
        raise ArmatureError(
            f"Motion joints do not match the bones of armature {layout.obj.name!r} "
            f"(missing {missing or 'none'}, not in the armature {extra or 'none'}). "
            "Write only motions read from this armature with read_armature_motion"
        )
    expected = _world_skeleton(layout).rest_rotations
    angles = quaternion.angle_between(expected, skeleton.rest_rotations)
    if np.max(angles) > 1e-4:
        joint = int(np.argmax(angles))
        raise ArmatureError(
            f"Motion rest rotation of bone {layout.names[joint]!r} differs from armature {layout.obj.name!r} "
            f"by {math.degrees(float(angles[joint])):.3f} degrees. The armature's rest pose or object rotation "
            "changed after the motion was read, so read it again"
        )


def _sample_rows(values: np.ndarray, times: np.ndarray, rotation: bool) -> np.ndarray:
    """Sample per-frame rows ``values: (frames, n)`` at fractional frame indices ``times`` (clamped)."""
    times = np.clip(times, 0.0, len(values) - 1)
    lower = np.floor(times).astype(np.int64)
    weight = times - lower
    if not np.any(weight):
        # Keys on whole frames: the same values that interpolating with weight 0 returns, without the work.
        return quaternion.normalize(values[lower]) if rotation else values[lower]
    upper = np.minimum(lower + 1, len(values) - 1)
    if rotation:
        return quaternion.slerp(values[lower], values[upper], weight)
    return values[lower] * (1.0 - weight[:, None]) + values[upper] * weight[:, None]


def _continuous_euler(q: np.ndarray, mode: str, reference: np.ndarray | None) -> np.ndarray:
    """Convert quaternions to Blender Euler ``(keys, 3)`` in ``mode``, unwrapped over keys and near ``reference``."""
    order = mode[::-1]
    angles = quaternion.to_euler(q, order)
    euler = np.empty_like(angles)
    for n, axis in enumerate(order):
        euler[:, "XYZ".index(axis)] = angles[:, n]
    euler = np.unwrap(euler, axis=0)
    if reference is not None:
        turns = np.round((reference - euler[0]) / (2.0 * math.pi))
        euler += 2.0 * math.pi * turns
    return euler


def _rotation_values(q: np.ndarray, mode: str, reference: np.ndarray | None) -> np.ndarray:
    """Convert quaternions ``(keys, 4)`` to the values of the rotation channel of ``mode``."""
    if mode == 'QUATERNION':
        q = quaternion.make_continuous(q, axis=0)
        if reference is not None and np.dot(q[0], reference) < 0.0:
            q = -q
        return q
    if mode == 'AXIS_ANGLE':
        q = quaternion.make_continuous(q, axis=0)
        sin_half = np.linalg.norm(q[:, 1:], axis=-1)
        angle = 2.0 * np.arctan2(sin_half, q[:, 0])
        axis = np.where(
            sin_half[:, None] > 1e-12,
            q[:, 1:] / np.where(sin_half > 1e-12, sin_half, 1.0)[:, None],
            np.array([0.0, 1.0, 0.0]),
        )
        return np.concatenate((angle[:, None], axis), axis=1)
    return _continuous_euler(q, mode, reference)


def _write_fcurve(action: Action, slot, data_path: str, index: int, group: str, frames: np.ndarray,
                  values: np.ndarray, interpolation: np.ndarray,
                  extrapolation: Literal['CONSTANT', 'LINEAR']) -> FCurve:
    fcurve = action_compat.ensure_fcurve(action, slot, data_path, index, group)
    points = fcurve.keyframe_points
    points.add(len(frames))
    points.foreach_set("co", np.column_stack((frames, values)).astype(np.float32).ravel())
    # The enum is stored as an unsigned char, and only a uint8 array takes foreach_set's bulk
    # copy. Other dtypes convert key by key, about 25 times slower (Blender 4.2 to 5.0).
    points.foreach_set("interpolation", interpolation.astype(np.uint8))
    # New keys take their handle type from the preferences. Setting handle types is slow
    # (about 13 ms per 10,000 keys), so it is skipped when the default is already auto-clamped.
    if len(frames) and (points[0].handle_left_type != 'AUTO_CLAMPED' or points[0].handle_right_type != 'AUTO_CLAMPED'):
        handle_types = np.full(len(frames), _HANDLE_TYPE['AUTO_CLAMPED'], dtype=np.int32)
        points.foreach_set("handle_left_type", handle_types)
        points.foreach_set("handle_right_type", handle_types)
    fcurve.extrapolation = extrapolation
    fcurve.update()
    return fcurve


def write_armature_motion(
    obj: Object,
    motion: Motion,
    source_action: Action,
    name: str,
    key_frames: BoneKeys | None = None,
    source_frames: tuple[float, float] | None = None,
) -> Action:
    """Write ``motion`` to a new action named ``name``, assign it to ``obj`` and return it.

    The new action starts as a copy of ``source_action``, so channels that the motion
    does not cover (object keys, bone scale, custom properties, bones outside the main
    hierarchy) stay as they were. For every bone it replaces the rotation channel of the
    bone's current rotation mode, and the location channel of bones that had location
    keys, of the root bone, and of bones the motion moves from their rest offset.

    With ``key_frames`` (from :func:`read_armature_motion`, or its :meth:`BoneKeys.retimed`
    copy) a sparse channel gets keys only at its recorded frames and keeps each key's
    interpolation, and a dense channel gets a key on every frame. Without it every channel
    is dense with linear interpolation. Motion frame 0 lands on ``key_frames.frame_start``,
    or else on the first frame of ``source_action``. Key frames past the end of the motion
    take its last frame. The source action gets a fake user so that it survives saving
    without users.

    ``source_frames`` is the first and last frame of ``source_action`` that ``motion`` was
    made from. A timing edit moves the keys inside it to new frames, so only keys outside
    it count as dropped in the warning; without it, keys outside the written motion's
    frames count.
    """
    require_armature(obj)
    check_action_editable(obj, source_action)
    layout = _armature_layout(obj)
    _check_motion_matches(layout, motion)

    if key_frames is not None:
        frame_start = key_frames.frame_start
    else:
        frame_start = int(math.floor(source_action.frame_range[0]))
    frame_count = motion.frame_count
    dense_frames = frame_start + np.arange(frame_count, dtype=np.float64)
    rotations, locations = _motion_to_channels(layout, motion)

    source_slot = action_compat.find_slot(source_action, obj)
    action = source_action.copy()
    action.name = name
    action.use_fake_user = False
    slot = None
    if action_compat.HAS_LAYERED_ACTIONS:
        identifier = source_slot.identifier if source_slot is not None else None
        slot = next((candidate for candidate in action.slots if candidate.identifier == identifier), None)  # type: ignore[attr-defined]
        if slot is None:
            slot = action_compat.ensure_slot(action, obj)

    existing: dict[tuple[str, str], dict[int, FCurve]] = {}
    for fcurve in action_compat.action_fcurves(action, slot):
        parsed = _parse_bone_path(fcurve.data_path)
        if parsed is not None:
            existing.setdefault(parsed, {})[fcurve.array_index] = fcurve

    span = (float(dense_frames[0]), float(dense_frames[-1]))
    kept_span = span if source_frames is None else (min(span[0], source_frames[0]), max(span[1], source_frames[1]))
    written = 0
    dropped = 0
    for joint, bone_name in enumerate(layout.names):
        pose_bone = obj.pose.bones[bone_name]
        mode = pose_bone.rotation_mode
        prop, size = ROTATION_CHANNELS[mode]
        recorded = key_frames.rotation.get(bone_name) if key_frames is not None else None
        old = existing.get((bone_name, prop), {})
        current = _rotation_to_quaternion(mode, _current_value(pose_bone, prop)[None])[0]
        if old or recorded is not None or np.max(quaternion.angle_between(rotations[:, joint], current)) > 1e-6:
            frames, interpolation = _key_layout(recorded, dense_frames)
            q = _sample_rows(rotations[:, joint], frames - frame_start, rotation=True)
            reference = _reference_value(old, size, frames[0], mode)
            values = _rotation_values(q, mode, reference)
            dropped += _replace_channel(action, slot, bone_name, prop, values, frames, interpolation, old,
                                        kept_span)
            written += size

        if layout.connected[joint]:
            continue
        recorded = key_frames.location.get(bone_name) if key_frames is not None else None
        old = existing.get((bone_name, "location"), {})
        current = _current_value(pose_bone, "location")
        moved = np.max(np.abs(locations[:, joint] - current)) > 1e-6 * max(1.0, float(np.max(np.abs(layout.offsets))))
        if joint == 0 or old or recorded is not None or moved:
            frames, interpolation = _key_layout(recorded, dense_frames)
            values = _sample_rows(locations[:, joint], frames - frame_start, rotation=False)
            dropped += _replace_channel(action, slot, bone_name, "location", values, frames, interpolation, old,
                                        kept_span)
            written += 3

    if dropped:
        log.warning(
            "%d bone keys of action %r lie outside frames %g to %g of the motion and are not in action %r",
            dropped, source_action.name, kept_span[0], kept_span[1], action.name,
        )
    action_compat.assign_action(obj, action, slot)
    if not source_action.use_fake_user:
        source_action.use_fake_user = True
    log.info("wrote %d F-curves for %d frames of armature %r to action %r",
             written, frame_count, obj.name, action.name)
    return action


def _key_layout(recorded: ChannelKeys | None, dense_frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the frames and interpolation of the keys to write for one channel."""
    if recorded is None or recorded.dense:
        if recorded is not None and len(recorded.interpolation) == len(dense_frames):
            return dense_frames, recorded.interpolation
        fill = _most_common(recorded.interpolation) if recorded is not None else _LINEAR
        return dense_frames, np.full(len(dense_frames), fill, dtype=np.int32)
    return recorded.frames, recorded.interpolation


def _reference_value(old: dict[int, FCurve], size: int, frame: float, mode: str) -> np.ndarray | None:
    """Return the source channel's value at ``frame``, the winding that new Euler or quaternion keys follow."""
    if len(old) < size:
        return None
    return np.array([old[index].evaluate(frame) for index in range(size)])


def _replace_channel(action, slot, bone_name, prop, values, frames, interpolation, old, span) -> int:
    """Replace the F-curves ``old`` of one bone channel with keys at ``frames``.

    Returns the number of old keys outside ``span``, the motion's first and last scene
    frame, which the new F-curves do not keep.
    """
    extrapolation: Literal['CONSTANT', 'LINEAR'] = next(iter(old.values())).extrapolation if old else 'CONSTANT'
    dropped = 0
    for fcurve in old.values():
        points = fcurve.keyframe_points
        # Keyframe insertion and FCurve.update sort keys by frame, so if the first and last are in the span, all are.
        if len(points) and (points[0].co[0] < span[0] - _FRAME_TOLERANCE
                            or points[-1].co[0] > span[1] + _FRAME_TOLERANCE):
            key_frames = _foreach_get_pairs(points, "co")[:, 0]
            dropped += int(np.count_nonzero(
                (key_frames < span[0] - _FRAME_TOLERANCE) | (key_frames > span[1] + _FRAME_TOLERANCE)
            ))
        action_compat.remove_fcurve(action, slot, fcurve)
    data_path = _bone_path(bone_name, prop)
    for index in range(values.shape[1]):
        _write_fcurve(action, slot, data_path, index, bone_name, frames, values[:, index], interpolation, extrapolation)
    return dropped
