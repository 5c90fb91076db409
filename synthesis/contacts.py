"""Foot contacts: detection, a foot-skating measure and foot locking with two-bone IK.

Every threshold is in body heights (the unit :func:`synthesis.roles.body_height` returns)
and seconds, so the same defaults work for centimetre BVH files at 120 fps and metre
Blender armatures at 24 fps. The vertical axis is the world axis nearest to the mean
pelvis-to-head direction, which is +Y for BVH files and +Z for Blender scenes.

A foot is "in contact" while its foot joint (the ankle) is near its lowest height in the
clip and moves slowly horizontally. Toe-only contact (the heel off the floor before
push-off) is not reported, because locking pins the ankle.
"""

from __future__ import annotations

import logging

import numpy as np

from . import quaternion
from .roles import MissingRolesError, body_height
from .skeleton import Motion, forward_kinematics

__all__ = [
    "SIDES",
    "vertical_axis",
    "reference_height",
    "detect_foot_contacts",
    "contact_intervals",
    "foot_skating",
    "lock_feet",
]

logger = logging.getLogger(__name__)

SIDES = ("left", "right")
"""Column order of every ``(frames, 2)`` contact array."""

_UPPER_BODY_ROLES = ("head", "neck", "chest", "spine")


def vertical_axis(motion: Motion, bone_map, positions: np.ndarray | None = None) -> np.ndarray:
    """Return the world up axis ``(3,)`` as a unit vector.

    The mean pelvis-to-head direction over the clip is snapped to the nearest world axis
    (``+Y`` for BVH, ``+Z`` for Blender) when it lies within 45 degrees of one, and is
    used as it is otherwise. Without a pelvis or any spine, neck or head role, ``+Y`` is
    returned and a warning is logged.

    Parameters
    ----------
    motion : Motion
    bone_map : BoneMap
        Needs ``pelvis`` and one of ``head``, ``neck``, ``chest``, ``spine``.
    positions : (frames, joints, 3) array, optional
        World joint positions of ``motion``, to avoid running forward kinematics again.
    """
    lower = bone_map.get("pelvis")
    upper = next((bone_map.get(role) for role in _UPPER_BODY_ROLES if bone_map.get(role) is not None), None)
    if lower is None or upper is None:
        logger.warning("The bone map has no pelvis or upper-body role to find the up axis, so +Y is used")
        return np.array([0.0, 1.0, 0.0])
    if positions is None:
        positions = motion.positions()
    direction = np.mean(positions[:, upper] - positions[:, lower], axis=0)
    norm = np.linalg.norm(direction)
    if norm < 1e-9:
        logger.warning("Pelvis and upper body coincide in the mean pose, so +Y is used as the up axis")
        return np.array([0.0, 1.0, 0.0])
    direction = direction / norm
    axis = int(np.argmax(np.abs(direction)))
    if abs(direction[axis]) >= np.cos(np.pi / 4):
        snapped = np.zeros(3)
        snapped[axis] = np.sign(direction[axis])
        return snapped
    return direction


def reference_height(motion: Motion, bone_map) -> float:
    """Return the length that makes distances unit-free, in the skeleton's unit.

    This is :func:`synthesis.roles.body_height` when the bone map has its roles (pelvis,
    head, thighs, feet). Otherwise it is the largest extent of the rest pose along any
    axis, which is the standing height for an upright or lying rest pose.
    """
    try:
        return float(body_height(motion.skeleton, bone_map))
    except MissingRolesError as error:
        extent = float(np.ptp(motion.skeleton.rest_positions(), axis=0).max())
        logger.info("Body height needs roles the bone map lacks (%s); using the rest pose extent %.4g", error, extent)
        return extent if extent > 0 else 1.0


def _foot_joints(bone_map) -> list[int | None]:
    return [bone_map.get(f"{side}_foot") for side in SIDES]


def _horizontal_speed(positions: np.ndarray, frame_rate: float, up: np.ndarray) -> np.ndarray:
    """Return ``(frames, ...)`` horizontal speeds of ``positions: (frames, ..., 3)`` in units/s."""
    if positions.shape[0] < 2:
        return np.zeros(positions.shape[:-1])
    velocity = np.gradient(positions, axis=0) * frame_rate
    velocity = velocity - np.sum(velocity * up, axis=-1, keepdims=True) * up
    return np.linalg.norm(velocity, axis=-1)


def _close_and_open(mask: np.ndarray, width: int) -> np.ndarray:
    """Fill gaps shorter than ``width`` frames in a boolean ``(frames,)`` mask, then drop shorter runs."""
    if width < 1 or mask.size == 0:
        return mask
    result = mask.copy()
    for target in (False, True):
        starts, ends = _runs(result == target)
        for start, end in zip(starts, ends):
            touches_edge = start == 0 or end == result.size
            # Gaps at the clip's ends are kept, because no contact on the far side marks them as noise.
            if end - start < width and not (target is False and touches_edge):
                result[start:end] = not target
    return result


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return start and end (exclusive) indices of the runs of True in ``mask: (frames,)``."""
    padded = np.concatenate(([False], mask, [False]))
    changes = np.flatnonzero(padded[1:] != padded[:-1])
    return changes[0::2], changes[1::2]


def contact_intervals(contacts: np.ndarray) -> list[list[tuple[int, int]]]:
    """Return per side the ``(first, last)`` frame pairs (inclusive) of each contact run.

    ``contacts: (frames, 2)`` bool as :func:`detect_foot_contacts` returns.
    """
    intervals = []
    for column in range(contacts.shape[1]):
        starts, ends = _runs(contacts[:, column])
        intervals.append([(int(start), int(end) - 1) for start, end in zip(starts, ends)])
    return intervals


def detect_foot_contacts(
    motion: Motion,
    bone_map,
    height_tolerance: float = 0.04,
    speed_threshold: float = 0.25,
    min_duration: float = 0.07,
    positions: np.ndarray | None = None,
) -> np.ndarray:
    """Find the frames on which each foot is planted.

    A foot is planted while its foot joint is less than ``height_tolerance`` above the
    lower of the two foot joints' 5th-percentile heights and moves horizontally slower
    than ``speed_threshold``. Contact runs and gaps shorter than ``min_duration`` are
    removed, so a single noisy frame neither breaks a step nor makes one.

    Parameters
    ----------
    motion : Motion
    bone_map : BoneMap
        Needs ``left_foot`` and ``right_foot``; a side without its foot role has no contacts.
    height_tolerance : float
        Body heights above the planted foot-joint height.
    speed_threshold : float
        Body heights per second.
    min_duration : float
        Seconds.
    positions : (frames, joints, 3) array, optional
        World joint positions of ``motion``, to avoid running forward kinematics again.

    Returns
    -------
    (frames, 2) bool array
        Columns in :data:`SIDES` order (left, right).
    """
    for name, value in (("height_tolerance", height_tolerance), ("speed_threshold", speed_threshold),
                        ("min_duration", min_duration)):
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"detect_foot_contacts: {name} must be a non-negative number, got {value}")
    frames = motion.frame_count
    contacts = np.zeros((frames, 2), dtype=bool)
    feet = _foot_joints(bone_map)
    present = [joint for joint in feet if joint is not None]
    if not present:
        logger.info("No foot roles in the bone map; no foot contacts")
        return contacts
    if positions is None:
        positions = motion.positions()
    up = vertical_axis(motion, bone_map, positions)
    height = reference_height(motion, bone_map)
    heights = {joint: positions[:, joint] @ up for joint in present}
    floor = min(float(np.percentile(values, 5)) for values in heights.values())
    width = int(round(min_duration * motion.frame_rate))
    for column, joint in enumerate(feet):
        if joint is None:
            continue
        low = heights[joint] - floor < height_tolerance * height
        slow = _horizontal_speed(positions[:, joint], motion.frame_rate, up) < speed_threshold * height
        contacts[:, column] = _close_and_open(low & slow, width)
    return contacts


def foot_skating(motion: Motion, bone_map, contacts: np.ndarray, positions: np.ndarray | None = None) -> float:
    """Return the mean horizontal foot-joint speed over contact frames, in body heights per second.

    ``contacts: (frames, 2)`` bool in :data:`SIDES` order. Returns 0 when no frame is in
    contact. Lower is better: a perfectly planted foot does not move.
    """
    contacts = np.asarray(contacts, dtype=bool)
    if contacts.shape != (motion.frame_count, 2):
        raise ValueError(
            f"foot_skating: contacts must have shape ({motion.frame_count}, 2) to match the motion, got {contacts.shape}"
        )
    if positions is None:
        positions = motion.positions()
    up = vertical_axis(motion, bone_map, positions)
    height = reference_height(motion, bone_map)
    speeds = []
    for column, joint in enumerate(_foot_joints(bone_map)):
        if joint is None or not contacts[:, column].any():
            continue
        speed = _horizontal_speed(positions[:, joint], motion.frame_rate, up)
        speeds.append(speed[contacts[:, column]])
    if not speeds:
        return 0.0
    return float(np.mean(np.concatenate(speeds)) / height)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _lock_targets(
    foot_positions: np.ndarray, intervals: list[tuple[int, int]], blend_frames: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return per-frame pin positions ``(frames, 3)`` and weights ``(frames,)`` for one foot.

    Each contact interval pins the foot to its mean position over the middle half of the interval, with
    weight 1 inside and a smoothstep ramp over ``blend_frames`` on either side. Where
    ramps of neighbouring intervals overlap, the interval with the larger weight wins.
    """
    frames = foot_positions.shape[0]
    weights = np.zeros(frames)
    targets = foot_positions.copy()
    if not intervals:
        return targets, weights
    # Each pin is the mean over the middle half of its interval, which leaves out the
    # frames at either end where the foot still lands or already lifts.
    bounds = np.array(intervals)
    length = bounds[:, 1] - bounds[:, 0] + 1
    middle_first = bounds[:, 0] + length // 4
    middle_stop = bounds[:, 1] + 1 - length // 4
    cumulative = np.concatenate((np.zeros((1, 3)), np.cumsum(foot_positions, axis=0)))
    pins = (cumulative[middle_stop] - cumulative[middle_first]) / (middle_stop - middle_first)[:, None]
    for (first, last), pin in zip(intervals, pins):
        start, stop = max(0, first - blend_frames), min(frames, last + blend_frames + 1)
        index = np.arange(start, stop)
        distance = np.maximum(first - index, index - last).astype(np.float64)
        if blend_frames > 0:
            weight = _smoothstep(1.0 - distance / (blend_frames + 1))
        else:
            weight = (distance <= 0).astype(np.float64)
        weight[distance <= 0] = 1.0
        better = weight > weights[start:stop]
        weights[start:stop][better] = weight[better]
        targets[start:stop][better] = pin
    return targets, weights


def _path_to_ancestor(parents: np.ndarray, ancestor: int, joint: int) -> list[int] | None:
    """Return the joints strictly between ``ancestor`` and ``joint``, top down, or None if not below it."""
    path = []
    index = int(parents[joint])
    while index != ancestor:
        if index < 0:
            return None
        path.append(index)
        index = int(parents[index])
    return path[::-1]


def _angle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    cosine = np.sum(u * v, axis=-1) / np.maximum(np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1), 1e-12)
    return np.arccos(np.clip(cosine, -1.0, 1.0))


def _unit(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    norm = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norm, 1e-12), norm[..., 0]


def _signed_angle(u: np.ndarray, v: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Return the angle ``(frames,)`` from ``u`` to ``v`` about ``axis``, in radians, in ``(-pi, pi]``."""
    return np.arctan2(np.sum(axis * np.cross(u, v), axis=-1), np.sum(u * v, axis=-1))


def _knee_axes(hip, knee, ankle, shin_world: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Return ``(frames, 3)`` unit hinge axes of the knee in world space, one consistent sign for all frames.

    The hinge is normal to the hip-knee-ankle plane, oriented so that the usual knee bend
    is a positive rotation from the thigh's direction to the shin's. It is averaged in the
    shin's own frame, weighted by how bent the knee is, and carried back to world space by
    the shin's rotation. So a knee that is straight or bent backwards on some frames
    (where the plane is undefined or flipped) keeps the hinge of the other frames.
    """
    normals, strength = _unit(np.cross(knee - hip, ankle - knee))
    local = quaternion.rotate(quaternion.conjugate(shin_world), normals) * strength[:, None]
    hinge = local.sum(axis=0)
    if np.linalg.norm(hinge) > 1e-9 * max(float(strength.max()), 1e-12):
        hinge /= np.linalg.norm(hinge)
        return quaternion.rotate(shin_world, np.broadcast_to(hinge, normals.shape))
    # NOTE: a leg that is straight on every frame gives no hinge plane. The knee then
    # bends about the axis normal to the leg and the vertical, which may be sideways.
    fallback, _ = _unit(np.cross(ankle - hip, np.broadcast_to(up, normals.shape)))
    return fallback


def _solve_two_bone(hip, knee, ankle, target, axis):
    """Return world rotations ``(frames, 4)`` for the hip and knee that move the ankle to ``target``.

    Law of cosines: the knee bends about its hinge ``axis`` until the hip-ankle distance
    equals the hip-target distance (clamped to what the bone lengths reach, and never
    bending the knee backwards). The hip then turns the leg about the same hinge onto the
    target's direction within the leg's plane, and a last minimal swing removes what lies
    outside that plane.
    """
    upper_length = np.linalg.norm(knee - hip, axis=-1)
    lower_length = np.linalg.norm(ankle - knee, axis=-1)
    reach = np.clip(
        np.linalg.norm(target - hip, axis=-1),
        np.abs(upper_length - lower_length) + 1e-6 * (upper_length + lower_length),
        (upper_length + lower_length) * (1.0 - 1e-6),
    )
    denominator = np.maximum(2.0 * upper_length * lower_length, 1e-12)
    interior = np.arccos(np.clip((upper_length**2 + lower_length**2 - reach**2) / denominator, -1.0, 1.0))
    flexion_now = _signed_angle(knee - hip, ankle - knee, axis)
    knee_delta = quaternion.from_axis_angle(axis, (np.pi - interior) - flexion_now)
    bent_ankle = knee + quaternion.rotate(knee_delta, ankle - knee)

    def in_plane(vectors: np.ndarray) -> np.ndarray:
        return vectors - np.sum(vectors * axis, axis=-1, keepdims=True) * axis

    turn = _signed_angle(in_plane(bent_ankle - hip), in_plane(target - hip), axis)
    hip_delta = quaternion.from_axis_angle(axis, turn)
    turned_ankle = hip + quaternion.rotate(hip_delta, bent_ankle - hip)
    swing_axis = np.cross(turned_ankle - hip, target - hip)
    swing = quaternion.from_axis_angle(swing_axis, _angle(turned_ankle - hip, target - hip))
    return quaternion.multiply(swing, hip_delta), knee_delta


def lock_feet(
    motion: Motion,
    bone_map,
    contacts: np.ndarray,
    blend_seconds: float = 0.1,
    skipped: list[str] | None = None,
    positions: np.ndarray | None = None,
    world_rotations: np.ndarray | None = None,
    up: np.ndarray | None = None,
) -> Motion:
    """Pin each planted foot in place with analytic two-bone IK on the thigh and shin.

    During each contact interval the foot joint is moved to its mean position over the
    middle half of the interval. The thigh and shin rotate in the leg's existing plane (law of cosines), and
    the foot keeps its world orientation. The correction fades in and out over
    ``blend_seconds`` before and after each interval, so it adds no pops.

    Parameters
    ----------
    motion : Motion
    bone_map : BoneMap
        Needs ``{side}_thigh``, ``{side}_shin`` and ``{side}_foot`` for a side to be locked.
    contacts : (frames, 2) bool array
        In :data:`SIDES` order, as :func:`detect_foot_contacts` returns.
    blend_seconds : float
        Length of the fade on either side of a contact, in seconds.
    skipped : list of str, optional
        Receives a message for each side that could not be locked.
    positions, world_rotations : (frames, joints, 3) and (frames, joints, 4) arrays, optional
        World joint positions and rotations of ``motion``. Passing both saves a forward
        kinematics pass, and passing only one is the same as passing neither. Only the
        leg joints and their ancestors are read.
    up : (3,) array, optional
        World up axis; :func:`vertical_axis` of ``motion`` without it.

    Returns
    -------
    Motion
        A copy with new thigh, shin and foot rotations; ``motion`` is not changed.
    """
    contacts = np.asarray(contacts, dtype=bool)
    if contacts.shape != (motion.frame_count, 2):
        raise ValueError(
            f"lock_feet: contacts must have shape ({motion.frame_count}, 2) to match the motion, got {contacts.shape}"
        )
    if not (np.isfinite(blend_seconds) and blend_seconds >= 0):
        raise ValueError(f"lock_feet: blend_seconds must be a non-negative number of seconds, got {blend_seconds}")
    skipped = [] if skipped is None else skipped
    result = motion.copy()
    if not contacts.any():
        return result
    skeleton = motion.skeleton
    if positions is None or world_rotations is None:
        positions, world = forward_kinematics(
            skeleton, motion.rotations, motion.root_positions, motion.translations, return_rotations=True
        )
    else:
        world = world_rotations
    if up is None:
        up = vertical_axis(motion, bone_map, positions)
    blend_frames = int(round(blend_seconds * motion.frame_rate))
    rest = skeleton.rest_rotations
    parents = skeleton.parents
    changed: list[int] = []

    for column, side in enumerate(SIDES):
        if not contacts[:, column].any():
            continue
        thigh, shin, foot = (bone_map.get(f"{side}_{role}") for role in ("thigh", "shin", "foot"))
        if thigh is None or shin is None or foot is None:
            skipped.append(f"lock_feet: {side} leg needs thigh, shin and foot roles; that foot was not locked")
            continue
        between_thigh_shin = _path_to_ancestor(parents, thigh, shin)
        between_shin_foot = _path_to_ancestor(parents, shin, foot)
        if between_thigh_shin is None or between_shin_foot is None:
            skipped.append(
                f"lock_feet: {side} thigh, shin and foot are not one chain in the hierarchy; that foot was not locked"
            )
            continue
        intervals = contact_intervals(contacts[:, column : column + 1])[0]
        targets, weights = _lock_targets(positions[:, foot], intervals, blend_frames)
        frames = np.flatnonzero(weights > 0)
        hip, knee, ankle = positions[frames, thigh], positions[frames, shin], positions[frames, foot]
        target = ankle + weights[frames, None] * (targets[frames] - ankle)
        axis = _knee_axes(hip, knee, ankle, world[frames, shin], up)
        hip_delta, knee_delta = _solve_two_bone(hip, knee, ankle, target, axis)

        # Local rotation = (parent world * rest)^-1 * world; the thigh's parent is unchanged.
        thigh_parent = world[frames, parents[thigh]] if parents[thigh] >= 0 else quaternion.identity((frames.size,))
        new_thigh = quaternion.multiply(hip_delta, world[frames, thigh])
        result.rotations[frames, thigh] = _local_from_world(thigh_parent, rest[thigh], new_thigh)
        # Joints between thigh and shin only inherit the hip change; their local rotations stay.
        shin_parent = quaternion.multiply(hip_delta, world[frames, parents[shin]])
        new_shin = quaternion.multiply(quaternion.multiply(hip_delta, knee_delta), world[frames, shin])
        result.rotations[frames, shin] = _local_from_world(shin_parent, rest[shin], new_shin)
        leg_delta = quaternion.multiply(hip_delta, knee_delta)
        foot_parent = quaternion.multiply(leg_delta, world[frames, parents[foot]])
        result.rotations[frames, foot] = _local_from_world(foot_parent, rest[foot], world[frames, foot])
        changed += [thigh, shin, foot]
    if changed:
        result.rotations[:, changed] = quaternion.make_continuous(result.rotations[:, changed], axis=0)
    return result


def _local_from_world(parent_world: np.ndarray, rest: np.ndarray, world: np.ndarray) -> np.ndarray:
    """Return the local rotation that gives ``world`` under ``parent_world`` and ``rest``."""
    frame = quaternion.multiply(parent_world, np.broadcast_to(rest, parent_world.shape))
    return quaternion.normalize(quaternion.multiply(quaternion.conjugate(frame), world))
