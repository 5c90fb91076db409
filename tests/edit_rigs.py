"""Synthetic humanoid rigs for the edit and contact tests.

One stepping-in-place animation is built on an upright, identity-rest rig, then carried
to other rig conventions with identical world motion:

- ``"bvh_y_up"``: Y up, facing +Z, identity rest rotations (CMU-style BVH).
- ``"blender_z_up"``: Z up, facing -Y, each bone's rest frame with local +Y along the bone
  (a Blender armature read through ``rest_rotations``).
- ``"bvh_lying"``: Y up, but the rest pose lies along +X and the root's rotation turns
  the body upright, as in the Bandai Namco files.
"""

from __future__ import annotations

import numpy as np

from synthesis import quaternion
from synthesis.roles import BoneMap
from synthesis.skeleton import Motion, Skeleton

# (name, parent name, offset in body axes (right, up, forward), metres)
_JOINTS = (
    ("Hips", None, (0.0, 0.95, 0.0)),
    ("Spine", "Hips", (0.0, 0.10, 0.0)),
    ("Spine1", "Spine", (0.0, 0.15, 0.0)),
    ("Neck", "Spine1", (0.0, 0.20, 0.0)),
    ("Head", "Neck", (0.0, 0.10, 0.02)),
    ("LeftShoulder", "Spine1", (-0.05, 0.15, 0.0)),
    ("LeftArm", "LeftShoulder", (-0.12, 0.0, 0.0)),
    ("LeftForeArm", "LeftArm", (0.0, -0.28, 0.0)),
    ("LeftHand", "LeftForeArm", (0.0, -0.25, 0.02)),
    ("RightShoulder", "Spine1", (0.05, 0.15, 0.0)),
    ("RightArm", "RightShoulder", (0.12, 0.0, 0.0)),
    ("RightForeArm", "RightArm", (0.0, -0.28, 0.0)),
    ("RightHand", "RightForeArm", (0.0, -0.25, 0.02)),
    ("LeftUpLeg", "Hips", (-0.10, -0.05, 0.0)),
    ("LeftLeg", "LeftUpLeg", (0.0, -0.42, 0.02)),
    ("LeftFoot", "LeftLeg", (0.0, -0.42, -0.02)),
    ("LeftToeBase", "LeftFoot", (0.0, -0.06, 0.14)),
    ("RightUpLeg", "Hips", (0.10, -0.05, 0.0)),
    ("RightLeg", "RightUpLeg", (0.0, -0.42, 0.02)),
    ("RightFoot", "RightLeg", (0.0, -0.42, -0.02)),
    ("RightToeBase", "RightFoot", (0.0, -0.06, 0.14)),
)

# World directions of the body axes (right, up, forward) per world convention.
_AXES = {
    "y_up": (np.array([-1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0])),
    "z_up": (np.array([-1.0, 0.0, 0.0]), np.array([0.0, 0.0, 1.0]), np.array([0.0, -1.0, 0.0])),
}

RIG_KINDS = ("bvh_y_up", "blender_z_up", "bvh_lying")


def world_axes(kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the world (right, up, forward) unit vectors of a rig kind."""
    return _AXES["z_up" if kind == "blender_z_up" else "y_up"]


def _upright(axes, remove: tuple[str, ...] = ()) -> tuple[Skeleton, dict[str, int]]:
    right, up, forward = axes
    kept_rows = [row for row in _JOINTS if row[0] not in remove]
    names = [row[0] for row in kept_rows]
    parents, offsets = [], []
    for name, parent, (r, u, f) in kept_rows:
        # A removed joint's child hangs from the removed joint's parent, with summed offsets.
        offset = r * right + u * up + f * forward
        while parent is not None and parent not in names:
            row = next(item for item in _JOINTS if item[0] == parent)
            offset = offset + row[2][0] * right + row[2][1] * up + row[2][2] * forward
            parent = row[1]
        parents.append(-1 if parent is None else names.index(parent))
        offsets.append(offset)
    return Skeleton(tuple(names), np.array(parents), np.array(offsets)), {name: i for i, name in enumerate(names)}


def _axis_rotation(axis: np.ndarray, angles: np.ndarray) -> np.ndarray:
    return quaternion.from_axis_angle(np.broadcast_to(axis, angles.shape + (3,)), angles)


def stepping_motion(
    kind: str = "bvh_y_up",
    frames: int = 61,
    frame_rate: float = 30.0,
    cycles: float = 1.0,
    travel: float = 0.0,
    remove: tuple[str, ...] = (),
) -> Motion:
    """Return a stepping animation: alternate feet lift while arms swing and the spine sways.

    With ``travel = 0`` the pelvis stays put, so the standing foot is exactly still. Over
    a whole number of ``cycles`` the first and last frames match, so the clip loops.
    ``travel`` moves the pelvis forward by that many metres over the clip. ``remove``
    drops joints by name (their children re-attach to the removed joint's parent).
    """
    axes = world_axes(kind)
    right, up, forward = axes
    skeleton, index = _upright(axes, remove)
    phase = 2.0 * np.pi * cycles * np.arange(frames) / max(frames - 1, 1)
    rotations = quaternion.identity((frames, skeleton.joint_count))

    def set_rotation(name: str, axis: np.ndarray, angles: np.ndarray) -> None:
        if name in index:
            rotations[:, index[name]] = quaternion.multiply(_axis_rotation(axis, angles), rotations[:, index[name]])

    # Rotating about +right turns a downward bone toward forward: hip flexion lifts the
    # thigh forward, and knee flexion about -right swings the shin back.
    for side, shift in (("Left", 0.0), ("Right", np.pi)):
        lift = np.maximum(0.0, np.sin(phase + shift))
        set_rotation(f"{side}UpLeg", right, 0.6 * lift)
        set_rotation(f"{side}Leg", -right, 1.1 * lift)
        set_rotation(f"{side}Arm", right, 0.4 * np.sin(phase + shift + np.pi))
        set_rotation(f"{side}ForeArm", right, 0.3 + 0.2 * np.sin(phase + shift + np.pi))
    set_rotation("Spine", forward, 0.05 * np.sin(phase))
    set_rotation("Neck", -right, 0.05 * np.sin(2 * phase))
    root = np.zeros((frames, 3)) + travel * np.linspace(0.0, 1.0, frames)[:, None] * forward
    upright = Motion(skeleton, rotations, root, frame_rate)
    if kind == "bvh_y_up":
        return upright
    if kind == "blender_z_up":
        return _with_bone_frames(upright)
    if kind == "bvh_lying":
        return _lying(upright)
    raise ValueError(f"Unknown rig kind {kind!r}; expected one of {', '.join(RIG_KINDS)}")


def _with_bone_frames(motion: Motion) -> Motion:
    """Carry ``motion`` to rest bone frames with local +Y along each bone, keeping world motion.

    With world rest frames ``W``, ``rest[j] = W[parent]^-1 W[j]`` and
    ``local[j] = W[j]^-1 upright_local[j] W[j]`` give the same world rotations times ``W``.
    """
    skeleton = motion.skeleton
    rest_positions = skeleton.rest_positions()
    joints = skeleton.joint_count
    frames_world = np.empty((joints, 4))
    for joint in range(joints):
        children = skeleton.children(joint)
        if children:
            direction = rest_positions[children[0]] - rest_positions[joint]
        else:
            direction = rest_positions[joint] - rest_positions[skeleton.parents[joint]]
        y_axis = direction / np.linalg.norm(direction)
        helper = np.array([1.0, 0.0, 0.0]) if abs(y_axis[0]) < 0.9 else np.array([0.0, 0.0, 1.0])
        x_axis = np.cross(y_axis, helper)
        x_axis /= np.linalg.norm(x_axis)
        z_axis = np.cross(x_axis, y_axis)
        frames_world[joint] = quaternion.from_matrix(np.stack((x_axis, y_axis, z_axis), axis=1))
    parent_frames = np.array(
        [frames_world[p] if p >= 0 else quaternion.identity() for p in skeleton.parents]
    )
    rest = quaternion.multiply(quaternion.conjugate(parent_frames), frames_world)
    offsets = quaternion.rotate(quaternion.conjugate(parent_frames), skeleton.offsets)
    offsets[0] = skeleton.offsets[0]
    rotations = quaternion.multiply(
        quaternion.multiply(quaternion.conjugate(frames_world)[None], motion.rotations), frames_world[None]
    )
    framed = Skeleton(skeleton.names, skeleton.parents, offsets, rest_rotations=rest)
    return Motion(framed, rotations, motion.root_positions.copy(), motion.frame_rate)


def _lying(motion: Motion) -> Motion:
    """Carry ``motion`` to a rest pose lying along +X (identity rest rotations), keeping world motion.

    ``stand`` turns +X onto +Y. Offsets become ``stand^-1 offset``, the root's rotation is
    followed by ``stand``, and every other local rotation is conjugated by it.
    """
    stand = quaternion.from_axis_angle(np.array([0.0, 0.0, 1.0]), np.array(np.pi / 2))
    skeleton = motion.skeleton
    offsets = quaternion.rotate(quaternion.conjugate(stand), skeleton.offsets)
    offsets[0] = skeleton.offsets[0]
    rotations = quaternion.multiply(quaternion.multiply(quaternion.conjugate(stand), motion.rotations), stand)
    rotations[:, 0] = quaternion.multiply(motion.rotations[:, 0], stand)
    lying = Skeleton(skeleton.names, skeleton.parents, offsets)
    return Motion(lying, rotations, motion.root_positions.copy(), motion.frame_rate)


def without_roles(bone_map: BoneMap, *roles: str) -> BoneMap:
    """Return ``bone_map`` with ``roles`` removed, as for a rig that lacks those bones."""
    joints = {role: joint for role, joint in bone_map.joints.items() if role not in roles}
    return BoneMap(bone_map.skeleton_names, joints, {role: bone_map.detected_by[role] for role in joints})
