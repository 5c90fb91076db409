"""The procedural demo walk: a humanoid that role detection understands and that walks like one."""

from __future__ import annotations

import numpy as np
import pytest

from scripts.demo_motion import demo_skeleton, demo_walk
from synthesis.bvh import read_bvh, write_bvh
from synthesis.roles import REQUIRED_ROLES, ROLES, detect_roles


@pytest.fixture(scope="module")
def walk():
    return demo_walk(seconds=4.0, frame_rate=30.0)


def test_skeleton_size() -> None:
    skeleton = demo_skeleton()
    assert 23 <= skeleton.joint_count <= 25


def test_roles_detected_by_name() -> None:
    bone_map = detect_roles(demo_skeleton())
    assert bone_map.missing(REQUIRED_ROLES) == ()
    assert set(bone_map.joints) == set(ROLES)
    assert bone_map.name("left_forearm") == "LeftForeArm"
    assert bone_map.name("right_shin") == "RightLeg"
    assert set(bone_map.detected_by.values()) == {"name"}


def test_walk_length_and_speed(walk) -> None:
    assert walk.frame_count == 120
    assert walk.frame_rate == 30.0
    forward = walk.root_positions[-1, 2] - walk.root_positions[0, 2]
    speed = forward / walk.duration
    # 140 cm per 1.1 s gait cycle: an ordinary walking speed of about 1.3 m/s.
    assert speed == pytest.approx(127.3, rel=0.01)


def test_feet_alternate_stance(walk) -> None:
    names = walk.skeleton.names
    positions = walk.positions()
    left = positions[:, names.index("LeftFoot"), 1]
    right = positions[:, names.index("RightFoot"), 1]
    # Each ankle rests near its lowest height for part of the cycle and lifts in swing.
    assert left.min() < 10.0
    assert left.max() - left.min() > 10.0
    lifted_left = left > left.min() + 5.0
    lifted_right = right > right.min() + 5.0
    assert lifted_left.any()
    assert lifted_right.any()
    assert not np.any(lifted_left & lifted_right), "both feet are in the air at once, which is running"


def test_arms_swing_against_legs(walk) -> None:
    names = walk.skeleton.names
    positions = walk.positions()
    root_z = walk.root_positions[:, 2]
    left_hand = positions[:, names.index("LeftHand"), 2] - root_z
    left_foot = positions[:, names.index("LeftFoot"), 2] - root_z
    correlation = np.corrcoef(left_hand, left_foot)[0, 1]
    assert correlation < -0.5


def test_bvh_round_trip(walk, tmp_path) -> None:
    path = tmp_path / "demo_walk.bvh"
    write_bvh(walk, path)
    loaded = read_bvh(path)
    assert loaded.skeleton.names == walk.skeleton.names
    assert loaded.frame_count == walk.frame_count
    np.testing.assert_allclose(loaded.positions(), walk.positions(), atol=1e-3)


@pytest.mark.parametrize("arguments", [{"seconds": 0.0}, {"frame_rate": -1.0}, {"cycle_seconds": 0.0}])
def test_invalid_arguments_raise(arguments) -> None:
    with pytest.raises(ValueError, match="Invalid demo walk"):
        demo_walk(**arguments)
