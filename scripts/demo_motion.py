"""Generate the demo clip: a procedural walk cycle on a 24-joint humanoid skeleton.

The demo (``make demo``) and the tests need a humanoid walk that ships with the project
and carries no third-party data. This module builds one from a handful of periodic
joint-angle curves shaped like normal human gait. Hip flexion follows the gait phase, and
the knee bends once at loading and once in swing. The ankle pushes off before toe-off,
the arms swing against the legs and the pelvis bobs twice per cycle.

Conventions match common motion-capture BVH files: Y is up, the character faces +Z,
lengths are in centimetres and joint names follow the Mixamo/CMU style
(``Hips``, ``LeftUpLeg``, ``LeftForeArm``), so bone-role detection sees a familiar rig.

Run it directly to write the clip::

    python scripts/demo_motion.py out/demo_walk.bvh --seconds 4 --frame-rate 30
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from synthesis import quaternion  # noqa: E402
from synthesis.skeleton import Motion, Skeleton  # noqa: E402

__all__ = ["demo_skeleton", "demo_walk", "JOINTS"]

# Each joint as (name, parent, rest offset from the parent in centimetres). The arms rest
# in a T-pose along +X (left) and -X (right), the legs hang along -Y and the feet point along +Z.
JOINTS: tuple[tuple[str, str | None, tuple[float, float, float]], ...] = (
    ("Hips", None, (0.0, 95.0, 0.0)),
    ("Spine", "Hips", (0.0, 10.0, 0.0)),
    ("Spine1", "Spine", (0.0, 12.0, 0.0)),
    ("Spine2", "Spine1", (0.0, 12.0, 0.0)),
    ("Neck", "Spine2", (0.0, 18.0, 0.0)),
    ("Head", "Neck", (0.0, 10.0, 0.0)),
    ("LeftShoulder", "Spine2", (3.0, 14.0, 0.0)),
    ("LeftArm", "LeftShoulder", (14.0, 0.0, 0.0)),
    ("LeftForeArm", "LeftArm", (28.0, 0.0, 0.0)),
    ("LeftHand", "LeftForeArm", (25.0, 0.0, 0.0)),
    ("LeftHandIndex1", "LeftHand", (8.0, 0.0, 0.0)),
    ("RightShoulder", "Spine2", (-3.0, 14.0, 0.0)),
    ("RightArm", "RightShoulder", (-14.0, 0.0, 0.0)),
    ("RightForeArm", "RightArm", (-28.0, 0.0, 0.0)),
    ("RightHand", "RightForeArm", (-25.0, 0.0, 0.0)),
    ("RightHandIndex1", "RightHand", (-8.0, 0.0, 0.0)),
    ("LeftUpLeg", "Hips", (9.0, -3.0, 0.0)),
    ("LeftLeg", "LeftUpLeg", (0.0, -42.0, 0.0)),
    ("LeftFoot", "LeftLeg", (0.0, -42.0, 0.0)),
    ("LeftToeBase", "LeftFoot", (0.0, -7.0, 13.0)),
    ("RightUpLeg", "Hips", (-9.0, -3.0, 0.0)),
    ("RightLeg", "RightUpLeg", (0.0, -42.0, 0.0)),
    ("RightFoot", "RightLeg", (0.0, -42.0, 0.0)),
    ("RightToeBase", "RightFoot", (0.0, -7.0, 13.0)),
)

_END_SITES = {
    "Head": (0.0, 15.0, 0.0),
    "LeftHandIndex1": (4.0, 0.0, 0.0),
    "RightHandIndex1": (-4.0, 0.0, 0.0),
    "LeftToeBase": (0.0, 0.0, 5.0),
    "RightToeBase": (0.0, 0.0, 5.0),
}

_X = np.array([1.0, 0.0, 0.0])
_Y = np.array([0.0, 1.0, 0.0])
_Z = np.array([0.0, 0.0, 1.0])


def demo_skeleton() -> Skeleton:
    """Build the 24-joint demo skeleton (centimetres, Y up, facing +Z)."""
    names = tuple(name for name, _, _ in JOINTS)
    parents = [-1 if parent is None else names.index(parent) for _, parent, _ in JOINTS]
    offsets = np.array([offset for _, _, offset in JOINTS], dtype=np.float64)
    end_sites = {names.index(name): np.array(offset) for name, offset in _END_SITES.items()}
    return Skeleton(names=names, parents=np.array(parents), offsets=offsets, end_sites=end_sites)


def _bump(phase: np.ndarray, centre: float, width: float) -> np.ndarray:
    """Return a periodic Gaussian bump over the gait cycle, 1 at ``centre`` (cycle fractions)."""
    distance = (phase - centre + 0.5) % 1.0 - 0.5
    return np.exp(-0.5 * (distance / width) ** 2)


def _rotation(axis: np.ndarray, degrees: np.ndarray) -> np.ndarray:
    return quaternion.from_axis_angle(np.broadcast_to(axis, degrees.shape + (3,)), np.radians(degrees))


def demo_walk(
    seconds: float = 4.0,
    frame_rate: float = 30.0,
    cycle_seconds: float = 1.1,
    stride_cm: float = 140.0,
) -> Motion:
    """Generate a straight walk along +Z.

    Parameters
    ----------
    seconds
        Clip length in seconds; the clip has ``round(seconds * frame_rate)`` frames.
    frame_rate
        Frames per second.
    cycle_seconds
        Duration of one gait cycle (two steps) in seconds.
    stride_cm
        Distance covered by one gait cycle in centimetres.
    """
    if seconds <= 0 or frame_rate <= 0 or cycle_seconds <= 0 or stride_cm < 0:
        raise ValueError(
            f"Invalid demo walk: expected positive seconds, frame_rate and cycle_seconds and a non-negative stride, "
            f"got seconds={seconds}, frame_rate={frame_rate}, cycle_seconds={cycle_seconds}, stride_cm={stride_cm}"
        )
    skeleton = demo_skeleton()
    frame_count = max(2, int(round(seconds * frame_rate)))
    time = np.arange(frame_count) / frame_rate
    phase = (time / cycle_seconds) % 1.0
    angle = 2.0 * np.pi * phase
    rotations = quaternion.identity((frame_count, skeleton.joint_count))

    def set_joint(name: str, value: np.ndarray) -> None:
        rotations[:, skeleton.index(name)] = value

    # Pelvis: lowest at double support (phase 0 and 0.5), shifted over the stance leg,
    # turned and dropped toward the swing side.
    root_positions = np.stack(
        (
            2.0 * np.sin(angle),
            93.5 - 1.5 * np.cos(2.0 * angle),
            stride_cm * time / cycle_seconds,
        ),
        axis=-1,
    )
    pelvis_yaw = 5.0 * np.cos(angle)
    pelvis_roll = 3.0 * np.sin(angle)
    set_joint("Hips", quaternion.multiply(_rotation(_Y, pelvis_yaw), _rotation(_Z, pelvis_roll)))

    # The trunk turns against the pelvis so the shoulders counter-rotate, and the head
    # takes out what is left so the gaze stays forward.
    set_joint("Spine", _rotation(_Y, -0.5 * pelvis_yaw))
    set_joint("Spine1", quaternion.multiply(_rotation(_Y, -0.5 * pelvis_yaw), _rotation(_X, np.full_like(time, 3.0))))
    set_joint("Spine2", _rotation(_Y, -0.6 * pelvis_yaw))
    set_joint("Neck", _rotation(_X, 2.0 + 1.0 * np.cos(2.0 * angle)))
    set_joint("Head", quaternion.multiply(_rotation(_Y, 0.6 * pelvis_yaw), _rotation(_Z, -pelvis_roll)))

    for side, sign, offset in (("Left", 1.0, 0.0), ("Right", -1.0, 0.5)):
        leg_phase = (phase + offset) % 1.0
        leg_angle = 2.0 * np.pi * leg_phase
        # Rotations about +X move a hanging limb backward, so flexion is a negative angle.
        hip_flexion = 8.0 + 22.0 * np.cos(leg_angle)
        knee_flexion = 5.0 + 15.0 * _bump(leg_phase, 0.12, 0.07) + 58.0 * _bump(leg_phase, 0.72, 0.1)
        ankle = 8.0 * _bump(leg_phase, 0.4, 0.12) - 18.0 * _bump(leg_phase, 0.62, 0.06)
        toe = -20.0 * _bump(leg_phase, 0.58, 0.05)
        set_joint(f"{side}UpLeg", _rotation(_X, -hip_flexion))
        set_joint(f"{side}Leg", _rotation(_X, knee_flexion))
        set_joint(f"{side}Foot", _rotation(_X, -ankle))
        set_joint(f"{side}ToeBase", _rotation(_X, toe))

        # Each arm swings with the opposite leg: back while its own leg is forward.
        arm_swing = 16.0 * np.cos(leg_angle)
        arm_down = _rotation(_Z, np.full_like(time, -75.0 * sign))
        set_joint(f"{side}Shoulder", _rotation(_Z, np.full_like(time, -5.0 * sign)))
        set_joint(f"{side}Arm", quaternion.multiply(_rotation(_X, arm_swing), arm_down))
        elbow_flexion = 18.0 + 10.0 * np.cos(leg_angle + np.pi)
        set_joint(f"{side}ForeArm", _rotation(_Y, -sign * elbow_flexion))
        set_joint(f"{side}Hand", _rotation(_Z, np.full_like(time, -8.0 * sign)))
        set_joint(f"{side}HandIndex1", _rotation(_Z, np.full_like(time, -15.0 * sign)))

    return Motion(skeleton=skeleton, rotations=rotations, root_positions=root_positions, frame_rate=frame_rate)


def main(argv: list[str] | None = None) -> int:
    from synthesis.bvh import write_bvh

    parser = argparse.ArgumentParser(description="Write the procedural demo walk as a BVH file.")
    parser.add_argument("output", help="path of the .bvh file to write")
    parser.add_argument("--seconds", type=float, default=4.0, help="clip length in seconds (default 4)")
    parser.add_argument("--frame-rate", type=float, default=30.0, help="frames per second (default 30)")
    args = parser.parse_args(argv)
    motion = demo_walk(seconds=args.seconds, frame_rate=args.frame_rate)
    directory = os.path.dirname(os.path.abspath(args.output))
    os.makedirs(directory, exist_ok=True)
    write_bvh(motion, args.output)
    print(f"Wrote {motion.frame_count} frames at {motion.frame_rate:g} fps to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
