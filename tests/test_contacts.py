import numpy as np
import pytest
from edit_rigs import RIG_KINDS, stepping_motion, without_roles, world_axes

from synthesis import quaternion
from synthesis.contacts import (
    contact_intervals,
    detect_foot_contacts,
    foot_skating,
    lock_feet,
    vertical_axis,
)
from synthesis.roles import detect_roles


@pytest.mark.parametrize("kind", RIG_KINDS)
def test_vertical_axis_per_rig(kind):
    motion = stepping_motion(kind)
    bone_map = detect_roles(motion.skeleton)
    _, up, _ = world_axes(kind)
    assert np.allclose(vertical_axis(motion, bone_map), up)


@pytest.mark.parametrize("kind", RIG_KINDS)
def test_contacts_follow_lifted_foot(kind):
    motion = stepping_motion(kind, frames=121, cycles=2.0)
    bone_map = detect_roles(motion.skeleton)
    contacts = detect_foot_contacts(motion, bone_map)
    phase = 2.0 * np.pi * 2.0 * np.arange(121) / 120
    left_lifted = np.sin(phase) > 0.8
    right_lifted = np.sin(phase + np.pi) > 0.8
    assert not contacts[left_lifted, 0].any()
    assert not contacts[right_lifted, 1].any()
    # Each foot is still for half of every cycle.
    assert contacts[np.sin(phase) < -0.1, 0].all()
    assert contacts[np.sin(phase + np.pi) < -0.1, 1].all()


def test_contacts_independent_of_frame_rate():
    motion = stepping_motion(frames=61, cycles=1.0)
    bone_map = detect_roles(motion.skeleton)
    contacts_30 = detect_foot_contacts(motion, bone_map)
    fast = motion.resample(frame_rate=120.0)
    contacts_120 = detect_foot_contacts(fast, bone_map)
    assert abs(contacts_30.mean() - contacts_120.mean()) < 0.05


def test_contact_intervals_inclusive():
    contacts = np.zeros((10, 2), dtype=bool)
    contacts[2:5, 0] = True
    contacts[7:, 0] = True
    contacts[:, 1] = True
    intervals = contact_intervals(contacts)
    assert intervals[0] == [(2, 4), (7, 9)]
    assert intervals[1] == [(0, 9)]


def test_foot_skating_zero_when_planted():
    motion = stepping_motion()
    bone_map = detect_roles(motion.skeleton)
    phase = 2.0 * np.pi * np.arange(motion.frame_count) / (motion.frame_count - 1)
    # A foot is exactly still while its lift term max(0, sin) is zero, one frame in from the switch.
    still = np.stack((np.sin(phase) < -0.2, np.sin(phase + np.pi) < -0.2), axis=1)
    assert foot_skating(motion, bone_map, still) < 1e-6
    detected = detect_foot_contacts(motion, bone_map)
    assert foot_skating(motion, bone_map, detected) < 0.25


def test_foot_skating_measures_sliding():
    motion = stepping_motion()
    bone_map = detect_roles(motion.skeleton)
    contacts = np.ones((motion.frame_count, 2), dtype=bool)
    sliding = motion.copy()
    _, _, forward = world_axes("bvh_y_up")
    # The whole body slides 0.5 m/s; the body height of this rig is about 1.4 m.
    sliding.root_positions += 0.5 * (np.arange(motion.frame_count) / motion.frame_rate)[:, None] * forward
    skating = foot_skating(sliding, bone_map, contacts)
    from synthesis.roles import body_height

    expected = 0.5 / body_height(motion.skeleton, bone_map)
    assert skating == pytest.approx(expected, rel=0.25)


def test_foot_skating_rejects_wrong_shape():
    motion = stepping_motion()
    bone_map = detect_roles(motion.skeleton)
    with pytest.raises(ValueError, match="contacts must have shape"):
        foot_skating(motion, bone_map, np.zeros((3, 2), dtype=bool))


@pytest.mark.parametrize("kind", RIG_KINDS)
def test_lock_feet_pins_sliding_foot(kind):
    motion = stepping_motion(kind, frames=61)
    bone_map = detect_roles(motion.skeleton)
    contacts = detect_foot_contacts(motion, bone_map)
    # Pull the left thigh forward and back so the planted left foot slides.
    thigh = bone_map.index("left_thigh")
    right, _, _ = world_axes(kind)
    wobble = 0.15 * np.sin(np.linspace(0.0, 4.0 * np.pi, motion.frame_count))
    sliding = motion.copy()
    world_wobble = quaternion.from_axis_angle(np.broadcast_to(right, (motion.frame_count, 3)), wobble)
    # Express the world-space wobble in the thigh's local frame (its parent is the pelvis, posed at identity here).
    from synthesis.skeleton import forward_kinematics

    _, world = forward_kinematics(motion.skeleton, motion.rotations, motion.root_positions, return_rotations=True)
    frame = quaternion.multiply(world[:, motion.skeleton.parents[thigh]], motion.skeleton.rest_rotations[thigh])
    local = quaternion.multiply(quaternion.multiply(quaternion.conjugate(frame), world_wobble), frame)
    sliding.rotations[:, thigh] = quaternion.multiply(local, motion.rotations[:, thigh])
    before = foot_skating(sliding, bone_map, contacts)
    locked = lock_feet(sliding, bone_map, contacts)
    after = foot_skating(locked, bone_map, contacts)
    assert before > 0.05
    assert after < 0.05 * before
    foot = bone_map.index("left_foot")
    _, world_locked = forward_kinematics(
        locked.skeleton, locked.rotations, locked.root_positions, return_rotations=True
    )
    _, world_sliding = forward_kinematics(
        sliding.skeleton, sliding.rotations, sliding.root_positions, return_rotations=True
    )
    # The foot keeps its world orientation; only the leg above it moves.
    assert np.max(quaternion.angle_between(world_locked[:, foot], world_sliding[:, foot])) < 1e-6


def test_lock_feet_keeps_knee_bending_forward():
    motion = stepping_motion(frames=61)
    bone_map = detect_roles(motion.skeleton)
    contacts = np.ones((motion.frame_count, 2), dtype=bool)
    lowered = motion.copy()
    _, up, forward = world_axes("bvh_y_up")
    # Lower the pelvis 10 cm: both planted legs must bend, knees forward.
    lowered.root_positions -= 0.10 * up
    pinned = motion.positions()
    locked = lock_feet(lowered, bone_map, np.ones((motion.frame_count, 2), dtype=bool), blend_seconds=0.0)
    positions = locked.positions()
    for side in ("left", "right"):
        foot, knee, hip = (bone_map.index(f"{side}_{role}") for role in ("foot", "shin", "thigh"))
        # Every contact frame pins the foot to its mean position, which the lowered pelvis still reaches.
        assert np.allclose(positions[:, foot], positions[:, foot].mean(axis=0), atol=1e-6)
        middle = 0.5 * (positions[:, hip] + positions[:, foot])
        assert np.all((positions[:, knee] - middle) @ forward > 0.0)
    assert pinned.shape == positions.shape


def test_lock_feet_skips_leg_without_shin():
    motion = stepping_motion()
    bone_map = without_roles(detect_roles(motion.skeleton), "left_shin")
    contacts = np.ones((motion.frame_count, 2), dtype=bool)
    skipped: list[str] = []
    locked = lock_feet(motion, bone_map, contacts, skipped=skipped)
    assert locked.frame_count == motion.frame_count
    assert any("left" in message for message in skipped)
