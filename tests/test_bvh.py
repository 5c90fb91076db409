from pathlib import Path

import numpy as np
import pytest

from synthesis import quaternion
from synthesis.bvh import BVHError, read_bvh, read_bvh_text, write_bvh, write_bvh_text
from synthesis.skeleton import Motion, MotionError, Skeleton

# A CMU-style hierarchy: 3 rotation channels on most joints, XYZ on some joints and ZYX on
# others, a root with position channels, End Sites, 120 fps.
CMU_STYLE = """HIERARCHY
ROOT Hips
{
  OFFSET 0.0 0.0 0.0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation
  JOINT LeftUpLeg
  {
    OFFSET 3.5 -1.0 0.5
    CHANNELS 3 Xrotation Yrotation Zrotation
    JOINT LeftLeg
    {
      OFFSET 0.0 -17.0 0.2
      CHANNELS 3 Zrotation Yrotation Xrotation
      End Site
      {
        OFFSET 0.0 -16.5 1.5
      }
    }
  }
  JOINT Spine
  {
    OFFSET 0.0 5.0 -0.5
    CHANNELS 3 Zrotation Yrotation Xrotation
    JOINT Neck
    {
      OFFSET 0.2 18.0 0.0
      CHANNELS 3 Xrotation Yrotation Zrotation
      JOINT Head
      {
        OFFSET 0.0 4.0 1.0
        CHANNELS 3 Zrotation Yrotation Xrotation
        End Site
        {
          OFFSET 0.0 6.0 0.0
        }
      }
    }
  }
  JOINT RightUpLeg
  {
    OFFSET -3.5 -1.0 0.5
    CHANNELS 3 Xrotation Yrotation Zrotation
    End Site
    {
      OFFSET 0.0 -33.0 0.0
    }
  }
}
MOTION
Frames: 3
Frame Time: 0.00833333
1.0 35.0 -2.0 10.0 20.0 30.0 -15.0 5.0 25.0 40.0 -35.0 12.0 3.0 4.0 5.0 -20.0 60.0 70.0 170.0 -80.0 45.0 1.0 2.0 3.0
1.5 35.2 -1.0 -30.0 85.0 120.0 0.0 0.0 0.0 0.0 0.0 0.0 -90.0 45.0 180.0 0.0 0.0 0.0 0.0 0.0 0.0 -10.0 -20.0 -30.0
2.0 35.4 0.0 179.0 -89.0 -179.0 33.0 -44.0 55.0 1.0 2.0 3.0 4.0 5.0 6.0 7.0 8.0 9.0 10.0 11.0 12.0 13.0 14.0 15.0
"""

CMU_NAMES = ("Hips", "LeftUpLeg", "LeftLeg", "Spine", "Neck", "Head", "RightUpLeg")
CMU_PARENTS = (-1, 0, 1, 0, 3, 4, 0)
CMU_OFFSETS = np.array(
    [[0, 0, 0], [3.5, -1, 0.5], [0, -17, 0.2], [0, 5, -0.5], [0.2, 18, 0], [0, 4, 1], [-3.5, -1, 0.5]], dtype=float
)
# Rotation channel order of each joint, and the first rotation column in a frame line.
CMU_ORDERS = ("ZYX", "XYZ", "ZYX", "ZYX", "XYZ", "ZYX", "XYZ")
CMU_COLUMNS = (3, 6, 9, 12, 15, 18, 21)


def axis_matrix(axis: str, degrees: float) -> np.ndarray:
    angle = np.radians(degrees)
    c, s = np.cos(angle), np.sin(angle)
    if axis == "X":
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    if axis == "Y":
        return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def hand_positions(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Compute CMU_STYLE's world positions and local rotation matrices with plain matrix products."""
    frames = np.array([line.split() for line in text.strip().splitlines()[-3:]], dtype=float)
    positions = np.zeros((len(frames), len(CMU_NAMES), 3))
    local = np.zeros((len(frames), len(CMU_NAMES), 3, 3))
    for frame, values in enumerate(frames):
        world = []
        for joint, parent in enumerate(CMU_PARENTS):
            angles = values[CMU_COLUMNS[joint] : CMU_COLUMNS[joint] + 3]
            matrix = np.eye(3)
            for axis, angle in zip(CMU_ORDERS[joint], angles):
                matrix = matrix @ axis_matrix(axis, angle)
            local[frame, joint] = matrix
            if parent < 0:
                positions[frame, joint] = values[:3]
                world.append(matrix)
            else:
                positions[frame, joint] = positions[frame, parent] + world[parent] @ CMU_OFFSETS[joint]
                world.append(world[parent] @ matrix)
    return positions, local


def test_cmu_style_hierarchy():
    motion = read_bvh_text(CMU_STYLE)
    assert motion.skeleton.names == CMU_NAMES
    assert tuple(motion.skeleton.parents) == CMU_PARENTS
    assert np.allclose(motion.skeleton.offsets, CMU_OFFSETS)
    assert motion.frame_count == 3
    assert motion.frame_rate == 120.0
    assert motion.translations is None


def test_cmu_style_positions_match_matrices():
    motion = read_bvh_text(CMU_STYLE)
    expected_positions, expected_rotations = hand_positions(CMU_STYLE)
    assert np.allclose(quaternion.to_matrix(motion.rotations), expected_rotations, atol=1e-12)
    assert np.allclose(motion.positions(), expected_positions, atol=1e-9)


def test_cmu_style_end_sites():
    motion = read_bvh_text(CMU_STYLE)
    assert sorted(motion.skeleton.end_sites) == [2, 5, 6]
    assert np.allclose(motion.skeleton.end_sites[2], [0, -16.5, 1.5])
    assert np.allclose(motion.skeleton.end_sites[5], [0, 6, 0])
    assert np.allclose(motion.skeleton.end_sites[6], [0, -33, 0])


def test_crlf_and_tabs_parse_identically():
    variant = CMU_STYLE.replace("  ", "\t").replace(" ", "\t").replace("\n", "\r\n")
    assert "\t" in variant
    plain = read_bvh_text(CMU_STYLE)
    crlf = read_bvh_text(variant)
    assert crlf.skeleton.names == plain.skeleton.names
    assert np.array_equal(crlf.skeleton.offsets, plain.skeleton.offsets)
    assert np.array_equal(crlf.rotations, plain.rotations)
    assert np.array_equal(crlf.root_positions, plain.root_positions)
    assert crlf.frame_rate == plain.frame_rate


def test_old_mac_line_ends_parse():
    motion = read_bvh_text(CMU_STYLE.replace("\n", "\r"))
    assert np.array_equal(motion.rotations, read_bvh_text(CMU_STYLE).rotations)


def test_byte_order_mark_is_skipped(tmp_path):
    path = tmp_path / "bom.bvh"
    path.write_bytes(CMU_STYLE.encode("utf-8-sig"))
    assert read_bvh(path).skeleton.names == CMU_NAMES


def test_lowercase_keywords_and_blank_lines():
    text = CMU_STYLE.replace("HIERARCHY", "hierarchy").replace("Frames:", "\nFRAMES:").replace("\n1.5", "\n\n1.5")
    motion = read_bvh_text(text)
    assert np.array_equal(motion.rotations, read_bvh_text(CMU_STYLE).rotations)


def test_round_trip_keeps_positions_and_end_sites(tmp_path):
    motion = read_bvh_text(CMU_STYLE)
    path = tmp_path / "cmu.bvh"
    write_bvh(motion, path)
    again = read_bvh(path)
    assert again.skeleton.names == motion.skeleton.names
    assert again.frame_rate == 120.0
    assert np.allclose(again.positions(), motion.positions(), atol=1e-5)
    assert sorted(again.skeleton.end_sites) == sorted(motion.skeleton.end_sites)
    for joint, offset in motion.skeleton.end_sites.items():
        assert np.allclose(again.skeleton.end_sites[joint], offset, atol=1e-9)


@pytest.mark.parametrize("order", quaternion.EULER_ORDERS)
def test_round_trip_in_every_rotation_order(order):
    motion = read_bvh_text(CMU_STYLE)
    text = write_bvh_text(motion, rotation_order=order)
    channels = " ".join(f"{axis}rotation" for axis in order)
    assert f"CHANNELS 3 {channels}" in text
    assert f"CHANNELS 6 Xposition Yposition Zposition {channels}" in text
    again = read_bvh_text(text)
    assert np.allclose(again.positions(), motion.positions(), atol=1e-5)


def test_writer_uses_three_channels_without_translations():
    text = write_bvh_text(read_bvh_text(CMU_STYLE))
    assert text.count("CHANNELS 6") == 1
    assert text.count("CHANNELS 3") == len(CMU_NAMES) - 1


def test_writer_rejects_bad_arguments():
    motion = read_bvh_text(CMU_STYLE)
    with pytest.raises(ValueError, match="rotation_order"):
        write_bvh_text(motion, rotation_order="XYX")
    with pytest.raises(ValueError, match="precision"):
        write_bvh_text(motion, precision=0)


NON_ROOT_POSITIONS = """HIERARCHY
ROOT Root
{
  OFFSET 1.0 2.0 3.0
  CHANNELS 3 Yrotation Xrotation Zrotation
  JOINT Hips
  {
    OFFSET 0.0 90.0 -400.0
    CHANNELS 6 Zrotation Xposition Yposition Zposition Xrotation Yrotation
    JOINT Spine
    {
      OFFSET 0.0 10.0 0.0
      CHANNELS 1 Yposition
      End Site
      {
        OFFSET 0.0 5.0 0.0
      }
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.0333333
90 0 0 0 5.0 91.0 -7.0 0 0 12.0
0 0 0 90 6.0 92.0 -8.0 0 0 13.0
"""


def test_position_channels_replace_offsets():
    motion = read_bvh_text(NON_ROOT_POSITIONS)
    assert motion.frame_rate == 30.0
    assert np.allclose(motion.root_positions, [[1, 2, 3], [1, 2, 3]])
    assert motion.translations is not None
    assert np.allclose(motion.translations[:, 0], 0.0)
    assert np.allclose(motion.translations[:, 1], [[5, 91, -7], [6, 92, -8]])
    # Only Yposition is given, so x and z read as 0, as in Blender's importer.
    assert np.allclose(motion.translations[:, 2], [[0, 12, 0], [0, 13, 0]])


def test_position_channels_positions():
    motion = read_bvh_text(NON_ROOT_POSITIONS)
    positions = motion.positions()
    root_rotation = axis_matrix("Y", 90.0)
    assert np.allclose(positions[0, 0], [1, 2, 3])
    assert np.allclose(positions[0, 1], np.array([1, 2, 3]) + root_rotation @ [5, 91, -7])
    assert np.allclose(positions[0, 2], positions[0, 1] + root_rotation @ [0, 12, 0])
    hips_rotation = axis_matrix("Z", 90.0)
    assert np.allclose(positions[1, 1], [7, 94, -5])
    assert np.allclose(positions[1, 2], positions[1, 1] + hips_rotation @ [0, 13, 0])


def test_position_channels_round_trip():
    motion = read_bvh_text(NON_ROOT_POSITIONS)
    text = write_bvh_text(motion)
    assert text.count("CHANNELS 6") == 3
    again = read_bvh_text(text)
    assert np.allclose(again.positions(), motion.positions(), atol=1e-5)
    assert np.allclose(again.translations, motion.translations, atol=1e-6)


def test_euler_angles_written_continuously():
    # A turn about X through 90 degrees: order ZXY has X in the middle, where a plain
    # conversion would jump from (0, 89, 0) to (180, 89, 180).
    skeleton = Skeleton(names=("root", "child"), parents=[-1, 0], offsets=[[0, 0, 0], [0, 10, 0]])
    frames = 73
    angles = np.linspace(0.0, 2.0 * np.pi, frames)
    rotations = quaternion.identity((frames, 2))
    rotations[:, 0] = quaternion.from_axis_angle(np.array([1.0, 0.0, 0.0]), angles)
    rotations[:, 1] = quaternion.from_axis_angle(np.array([0.2, 1.0, 0.1]), 2.0 * angles)
    motion = Motion(skeleton, rotations, np.zeros((frames, 3)), 30.0)
    text = write_bvh_text(motion, rotation_order="ZXY")
    values = np.array([line.split() for line in text.splitlines()[-frames:]], dtype=float)
    steps = np.abs(np.diff(values, axis=0))
    assert steps.max() < 30.0
    again = read_bvh_text(text)
    assert np.allclose(again.positions(), motion.positions(), atol=1e-5)


def test_rest_rotations_folded_on_write():
    rest = quaternion.identity((3,))
    rest[1] = quaternion.from_axis_angle(np.array([0, 0, 1.0]), np.array(np.pi / 2))
    skeleton = Skeleton(
        names=("root", "upper arm", "hand"),
        parents=[-1, 0, 1],
        offsets=[[0, 0, 0], [0, 1, 0], [0, 2, 0]],
        rest_rotations=rest,
    )
    rotations = quaternion.identity((2, 3))
    rotations[1, 2] = quaternion.from_axis_angle(np.array([1.0, 0, 0]), np.array(0.5))
    motion = Motion(skeleton, rotations, np.array([[0, 0, 0], [1, 0, 0]], dtype=float), 24.0)
    again = read_bvh_text(write_bvh_text(motion))
    assert again.skeleton.names == ("root", "upper_arm", "hand")
    assert again.frame_rate == 24.0
    assert np.allclose(again.positions(), motion.positions(), atol=1e-5)


def test_writer_nests_joints_listed_out_of_depth_order():
    skeleton = Skeleton(
        names=("root", "left", "right", "left_tip"),
        parents=[-1, 0, 0, 1],
        offsets=[[0, 0, 0], [1, 0, 0], [-1, 0, 0], [0, 1, 0]],
    )
    rotations = quaternion.from_euler(np.random.default_rng(3).uniform(-1, 1, (4, 4, 3)), "XYZ")
    motion = Motion(skeleton, rotations, np.zeros((4, 3)), 30.0)
    again = read_bvh_text(write_bvh_text(motion))
    assert again.skeleton.names == ("root", "left", "left_tip", "right")
    original = motion.positions()[:, [0, 1, 3, 2]]
    assert np.allclose(again.positions(), original, atol=1e-5)


COMPACT_LAYOUT = """HIERARCHY
ROOT Hips {
  OFFSET 0 0 0
  CHANNELS 3 Xposition Yposition Zposition
  JOINT Left Arm {
    OFFSET 1 0 0
    CHANNELS 0
    JOINT Hand {
      OFFSET 2 0 0
      CHANNELS 2 Zrotation Xrotation
      End Site { OFFSET 0 1 0 }
    }
  }
}
MOTION
Frames: 1
Frame Time: 0.04
5 6 7 90 0
"""


def test_compact_layout_and_partial_channels():
    motion = read_bvh_text(COMPACT_LAYOUT)
    assert motion.skeleton.names == ("Hips", "Left_Arm", "Hand")
    assert motion.frame_rate == 25.0
    assert np.allclose(motion.skeleton.end_sites[2], [0, 1, 0])
    assert np.allclose(motion.root_positions, [[5, 6, 7]])
    assert np.allclose(motion.rotations[0, :2], quaternion.identity((2,)))
    assert np.allclose(quaternion.to_matrix(motion.rotations[0, 2]), axis_matrix("Z", 90.0))
    assert np.allclose(motion.positions()[0], [[5, 6, 7], [6, 6, 7], [8, 6, 7]])


def test_compact_layout_round_trip():
    motion = read_bvh_text(COMPACT_LAYOUT)
    text = write_bvh_text(motion, rotation_order="XYZ")
    again = read_bvh_text(text)
    assert again.skeleton.names == motion.skeleton.names
    assert np.allclose(again.positions(), motion.positions(), atol=1e-5)
    assert np.allclose(again.skeleton.end_sites[2], [0, 1, 0])


def test_writer_rejects_colliding_names():
    skeleton = Skeleton(names=("root", "left arm", "left_arm"), parents=[-1, 0, 0], offsets=np.ones((3, 3)))
    motion = Motion(skeleton, quaternion.identity((1, 3)), np.zeros((1, 3)), 30.0)
    with pytest.raises(BVHError, match="collide"):
        write_bvh_text(motion)


def test_read_bvh_reports_path(tmp_path):
    path = tmp_path / "broken.bvh"
    path.write_text(CMU_STYLE.replace("Frames: 3", "Frames: 4"))
    with pytest.raises(BVHError) as error:
        read_bvh(path)
    assert str(error.value).startswith(f"{path}:")
    assert isinstance(error.value, MotionError)


def line_of(fragment: str, text: str = CMU_STYLE) -> int:
    """Return the 1-based number of the first line of ``text`` that contains ``fragment``."""
    for number, line in enumerate(text.split("\n"), start=1):
        if fragment in line:
            return number
    raise AssertionError(f"{fragment!r} is not in the text")


LEFT_UP_LEG_CHANNELS = "CHANNELS 3 Xrotation Yrotation Zrotation"
FIRST_FRAME = "1.0 35.0 -2.0 10.0"
SECOND_FRAME = "1.5 35.2 -1.0 -30.0"
THIRD_FRAME = "2.0 35.4 0.0 179.0"
FIRST_FRAME_LINE = CMU_STYLE.split("\n")[line_of(FIRST_FRAME) - 1]
SECOND_FRAME_LINE = CMU_STYLE.split("\n")[line_of(SECOND_FRAME) - 1]
LAST_CLOSE = "}\nMOTION"

# (name, broken text, 1-based line the message names, words the message contains)
BROKEN_FILES = [
    (
        "truncated",
        CMU_STYLE.replace("Frames: 3", "Frames: 5"),
        line_of(THIRD_FRAME) + 1,
        ["3 of 5 frames", "truncated"],
    ),
    (
        "too few values",
        CMU_STYLE.replace(SECOND_FRAME_LINE, "1.5 35.2 -1.0"),
        line_of(SECOND_FRAME),
        ["frame 2 has 3 values, expected 24"],
    ),
    (
        "too many values",
        CMU_STYLE.replace(FIRST_FRAME_LINE, FIRST_FRAME_LINE + " 7.0"),
        line_of(FIRST_FRAME),
        ["frame 1 has 25 values, expected 24"],
    ),
    (
        "non-numeric",
        CMU_STYLE.replace(SECOND_FRAME, "1.5 35.2 -1.0 abc"),
        line_of(SECOND_FRAME),
        ["non-numeric value 'abc'", "column 4", "'Hips' channel Zrotation"],
    ),
    ("nan", CMU_STYLE.replace(THIRD_FRAME, "2.0 35.4 0.0 nan"), line_of(THIRD_FRAME), ["'nan'", "column 4", "NaN"]),
    (
        "infinity",
        CMU_STYLE.replace(FIRST_FRAME + " 20.0 30.0 -15.0 5.0", FIRST_FRAME + " 20.0 30.0 -15.0 inf"),
        line_of(FIRST_FRAME),
        ["'inf'", "column 8", "'LeftUpLeg' channel Yrotation"],
    ),
    ("zero frames", CMU_STYLE.replace("Frames: 3", "Frames: 0"), line_of("Frames:"), ["Frames: 0", "at least one"]),
    ("bad frame count", CMU_STYLE.replace("Frames: 3", "Frames: x"), line_of("Frames:"), ["whole number", "'x'"]),
    ("bad frame time", CMU_STYLE.replace("Frame Time: 0.00833333", "Frame Time: 0"), line_of("Frame Time"), ["positive"]),
    (
        "missing frame time",
        CMU_STYLE.replace("Frame Time: 0.00833333\n", ""),
        line_of("Frame Time"),
        ["expected 'Frame Time: seconds'"],
    ),
    (
        "unknown channel",
        CMU_STYLE.replace(LEFT_UP_LEG_CHANNELS, "CHANNELS 3 Xrotation Yrot Zrotation", 1),
        line_of(LEFT_UP_LEG_CHANNELS),
        ["unknown channel 'Yrot'", "'LeftUpLeg'", "Xposition"],
    ),
    (
        "short channel list",
        CMU_STYLE.replace(LEFT_UP_LEG_CHANNELS, "CHANNELS 4 Xrotation Yrotation Zrotation", 1),
        line_of(LEFT_UP_LEG_CHANNELS),
        ["declares 4 channels but lists 3"],
    ),
    (
        "repeated channel",
        CMU_STYLE.replace(LEFT_UP_LEG_CHANNELS, "CHANNELS 3 Xrotation Xrotation Zrotation", 1),
        line_of(LEFT_UP_LEG_CHANNELS),
        ["Xrotation twice"],
    ),
    (
        "unknown keyword",
        CMU_STYLE.replace("OFFSET 0.0 -17.0 0.2", "OFSET 0.0 -17.0 0.2"),
        line_of("OFFSET 0.0 -17.0 0.2"),
        ["unknown keyword 'OFSET'", "'LeftLeg'"],
    ),
    (
        "missing closing brace",
        CMU_STYLE.replace(LAST_CLOSE, "MOTION"),
        line_of("MOTION") - 1,
        ["unbalanced braces", "inside joint 'Hips'"],
    ),
    (
        "extra closing brace",
        CMU_STYLE.replace("  }\n  JOINT Spine", "  }\n  }\n  JOINT Spine"),
        line_of("JOINT Spine") + 1,
        ["unbalanced braces", "remove the extra '}'"],
    ),
    ("missing hierarchy", CMU_STYLE.replace("HIERARCHY\n", ""), 1, ["missing HIERARCHY", "'ROOT'"]),
    ("missing motion", CMU_STYLE[: CMU_STYLE.index("MOTION")], line_of("MOTION"), ["missing MOTION"]),
    (
        "duplicate joint",
        CMU_STYLE.replace("JOINT RightUpLeg", "JOINT LeftLeg"),
        line_of("JOINT RightUpLeg"),
        ["duplicate joint name 'LeftLeg'", f"line {line_of('JOINT LeftLeg')}"],
    ),
    (
        "missing offset",
        CMU_STYLE.replace("      OFFSET 0.0 -17.0 0.2\n", ""),
        line_of("JOINT LeftLeg"),
        ["'LeftLeg' has no OFFSET"],
    ),
    (
        "missing channels",
        CMU_STYLE.replace("    " + LEFT_UP_LEG_CHANNELS + "\n", "", 1),
        line_of("JOINT LeftUpLeg"),
        ["'LeftUpLeg' has no CHANNELS"],
    ),
    (
        "bad offset",
        CMU_STYLE.replace("OFFSET 0.0 -17.0 0.2", "OFFSET 0.0 x 0.2"),
        line_of("OFFSET 0.0 -17.0 0.2"),
        ["must be a number", "'x'"],
    ),
    ("empty file", "", 1, ["missing HIERARCHY", "empty file"]),
    ("second root", CMU_STYLE.replace("MOTION", "ROOT Other\n{\n}\nMOTION"), line_of("MOTION"), ["second ROOT"]),
]


@pytest.mark.parametrize("name, text, line, fragments", BROKEN_FILES, ids=[case[0] for case in BROKEN_FILES])
def test_broken_file_raises(name, text, line, fragments):
    with pytest.raises(BVHError) as error:
        read_bvh_text(text, source="broken.bvh")
    message = str(error.value)
    assert message.startswith(f"broken.bvh:{line}: "), message
    for fragment in fragments:
        assert fragment in message, message


def test_extra_frame_lines_are_ignored(caplog):
    text = CMU_STYLE.replace("Frames: 3", "Frames: 2")
    with caplog.at_level("WARNING", logger="synthesis.bvh"):
        motion = read_bvh_text(text)
    assert motion.frame_count == 2
    assert "ignored" in caplog.text


def assert_round_trip(paths: list[Path]) -> None:
    """Check that read -> write -> read moves no joint by 1e-4 body heights on any frame.

    The body height is the largest extent of frame 0's bounding box.
    """
    assert paths, "no BVH files found"
    for path in paths:
        motion = read_bvh(path)
        again = read_bvh_text(write_bvh_text(motion), source=f"{path} (written again)")
        assert again.skeleton.names == motion.skeleton.names, path
        assert again.frame_count == motion.frame_count, path
        positions = motion.positions()
        height = np.ptp(positions[0], axis=0).max()
        error = np.abs(again.positions() - positions).max() / height
        assert error < 1e-4, f"{path}: round trip moves a joint by {error:.2e} body heights"


def test_bandai1_round_trip(bandai1_dir):
    assert_round_trip(sorted((bandai1_dir / "data").glob("*.bvh")))


def test_bandai2_round_trip_sample(bandai2_dir):
    # Every 10th clip keeps the suite quick; scripts/check_bvh_round_trip.py checks all of them.
    assert_round_trip(sorted((bandai2_dir / "data").glob("*.bvh"))[::10])
