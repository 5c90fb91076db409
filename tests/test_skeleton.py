import numpy as np
import pytest

from synthesis import quaternion
from synthesis.skeleton import Motion, MotionError, Skeleton, forward_kinematics


def chain_skeleton() -> Skeleton:
    return Skeleton(
        names=("root", "a", "b"),
        parents=np.array([-1, 0, 1]),
        offsets=np.array([[0, 0, 0], [0, 1.0, 0], [0, 2.0, 0]]),
    )


def test_forward_kinematics_rotates_children():
    skeleton = chain_skeleton()
    rotations = quaternion.identity((1, 3))
    rotations[0, 1] = quaternion.from_axis_angle(np.array([0, 0, 1.0]), np.array(np.pi / 2))
    positions = forward_kinematics(skeleton, rotations, np.array([[1.0, 0, 0]]))
    assert np.allclose(positions[0, 0], [1, 0, 0])
    assert np.allclose(positions[0, 1], [1, 1, 0])
    assert np.allclose(positions[0, 2], [-1, 1, 0])


def test_rest_rotations_apply_before_pose():
    rest = quaternion.identity((3,))
    rest[1] = quaternion.from_axis_angle(np.array([0, 0, 1.0]), np.array(np.pi / 2))
    skeleton = Skeleton(names=("root", "a", "b"), parents=[-1, 0, 1], offsets=chain_skeleton().offsets, rest_rotations=rest)
    positions = skeleton.rest_positions()
    assert np.allclose(positions[2], [-2, 1, 0])


def test_translations_replace_offsets():
    skeleton = chain_skeleton()
    translations = np.broadcast_to(skeleton.offsets, (2, 3, 3)).copy()
    translations[1, 2] = [0, 5.0, 0]
    motion = Motion(skeleton, quaternion.identity((2, 3)), np.zeros((2, 3)), 30.0, translations)
    positions = motion.positions()
    assert np.allclose(positions[0, 2], [0, 3, 0])
    assert np.allclose(positions[1, 2], [0, 6, 0])


def test_skeleton_rejects_bad_parent_order():
    with pytest.raises(MotionError, match="parents must come before children"):
        Skeleton(names=("a", "b", "c"), parents=[-1, 2, 0], offsets=np.zeros((3, 3)))


def test_skeleton_rejects_duplicate_names():
    with pytest.raises(MotionError, match="duplicate joint names: a"):
        Skeleton(names=("a", "a"), parents=[-1, 0], offsets=np.zeros((2, 3)))


def test_motion_rejects_nan_naming_joint_and_frame():
    rotations = quaternion.identity((4, 3))
    rotations[2, 1, 0] = np.nan
    with pytest.raises(MotionError, match="joint 'a'.*frame 2"):
        Motion(chain_skeleton(), rotations, np.zeros((4, 3)), 30.0)


def test_motion_rejects_bad_frame_rate():
    with pytest.raises(MotionError, match="frame rate"):
        Motion(chain_skeleton(), quaternion.identity((4, 3)), np.zeros((4, 3)), 0.0)


def test_chain_length():
    skeleton = chain_skeleton()
    assert skeleton.chain_length(0, 2) == pytest.approx(3.0)
    with pytest.raises(MotionError, match="not below"):
        skeleton.chain_length(2, 1)


def test_resample_keeps_endpoints_and_interpolates():
    skeleton = chain_skeleton()
    angles = np.linspace(0.0, 1.0, 11)
    rotations = quaternion.identity((11, 3))
    rotations[:, 1] = quaternion.from_axis_angle(np.array([1.0, 0, 0]), angles)
    root = np.stack([angles, np.zeros(11), np.zeros(11)], axis=-1)
    motion = Motion(skeleton, rotations, root, 10.0)

    faster = motion.resample(frame_rate=40.0)
    assert faster.frame_count == 41
    assert faster.duration == pytest.approx(motion.duration)
    assert np.allclose(quaternion.angle_between(faster.rotations[-1, 1], rotations[-1, 1]), 0.0)
    expected_middle = quaternion.from_axis_angle(np.array([1.0, 0, 0]), np.array(0.5125))
    assert quaternion.angle_between(faster.rotations[1 + 19, 1], expected_middle) < 1e-9 + abs(0.5125 - 0.5)
    assert np.allclose(faster.root_positions[:, 0], np.linspace(0, 1, 41))


def test_resample_by_frame_count():
    motion = Motion(chain_skeleton(), quaternion.identity((11, 3)), np.zeros((11, 3)), 10.0)
    shorter = motion.resample(frame_count=6)
    assert shorter.frame_count == 6
    assert shorter.frame_rate == pytest.approx(5.0)
