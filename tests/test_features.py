"""Tests of the LMA feature extractor: invariances, scaling laws, rig independence."""

from __future__ import annotations

import numpy as np
import pytest

from synthesis import quaternion
from synthesis.bvh import read_bvh
from synthesis.features import (
    COMPONENTS,
    FEATURE_EXTRACTOR_VERSION,
    FEATURE_NAMES,
    FEATURES,
    FeatureSettings,
    clip_features,
    window_features,
    window_times,
)
from synthesis.roles import BoneMap, MissingRolesError, detect_roles
from synthesis.skeleton import Motion, Skeleton

KINEMATIC = [name for name, info in FEATURES.items() if info.speed_exponent > 0]


@pytest.fixture(scope="module")
def walk(bandai1_dir) -> Motion:
    return read_bvh(bandai1_dir / "data" / "dataset-1_walk_happy_001.bvh")


@pytest.fixture(scope="module")
def sad_walk(bandai1_dir) -> Motion:
    return read_bvh(bandai1_dir / "data" / "dataset-1_walk_sad_001.bvh")


def relative_error(values: np.ndarray, reference: np.ndarray, floor: float = 1e-9) -> np.ndarray:
    return np.abs(values - reference) / np.maximum(np.abs(reference), floor)


def assert_features_close(values: np.ndarray, reference: np.ndarray, tolerance: float, floor: float = 1e-9) -> None:
    errors = relative_error(values, reference, floor)
    bad = {name: (float(v), float(r)) for name, v, r, e in zip(FEATURE_NAMES, values, reference, errors) if e > tolerance}
    assert not bad, f"features off by more than {tolerance:.0%} (value, reference): {bad}"


def rotate_motion(motion: Motion, rotation: np.ndarray, shift: np.ndarray) -> Motion:
    """Rotate the whole motion by quaternion ``rotation`` about the origin, then shift it."""
    rotations = motion.rotations.copy()
    rotations[:, 0] = quaternion.multiply(rotation, rotations[:, 0])
    translations = None
    if motion.translations is not None:
        translations = motion.translations.copy()
        translations[:, 0] = quaternion.rotate(rotation, translations[:, 0])
    root = quaternion.rotate(rotation, motion.root_positions) + shift
    return Motion(motion.skeleton, rotations, root, motion.frame_rate, translations)


def test_feature_table_complete():
    assert FEATURE_EXTRACTOR_VERSION.count(".") == 2
    assert FEATURE_NAMES == tuple(FEATURES)
    assert 20 <= len(FEATURE_NAMES) <= 27
    for name, info in FEATURES.items():
        assert info.name == name
        assert info.component in COMPONENTS, name
        assert info.unit, name
        assert info.formula and "\n" not in info.formula, name


def test_shapes_and_window_times(walk):
    bone_map = detect_roles(walk.skeleton)
    windows = window_features(walk, bone_map)
    times = window_times(walk)
    assert windows.shape == (len(times), len(FEATURE_NAMES))
    assert clip_features(walk, bone_map).shape == (len(FEATURE_NAMES),)
    assert np.all(np.isfinite(windows))
    settings = FeatureSettings()
    assert times[0] == pytest.approx(settings.window_seconds / 2)
    assert np.allclose(np.diff(times)[:-1], settings.hop_seconds)
    assert times[-1] == pytest.approx(walk.duration - settings.window_seconds / 2)


def test_short_clip_is_one_window(walk):
    bone_map = detect_roles(walk.skeleton)
    short = walk.copy(rotations=walk.rotations[:40], root_positions=walk.root_positions[:40],
                      translations=walk.translations[:40])
    windows = window_features(short, bone_map)
    assert windows.shape == (1, len(FEATURE_NAMES))
    assert window_times(short) == pytest.approx([short.duration / 2])
    assert np.allclose(clip_features(short, bone_map), windows[0])


def test_body_size_invariance(walk):
    bone_map = detect_roles(walk.skeleton)
    reference = clip_features(walk, bone_map)
    skeleton = walk.skeleton.with_offsets(walk.skeleton.offsets * 2.0)
    scaled = Motion(skeleton, walk.rotations, walk.root_positions * 2.0, walk.frame_rate, walk.translations * 2.0)
    values = clip_features(scaled, detect_roles(skeleton))
    assert_features_close(values, reference, 1e-6, floor=1e-12)


def test_frame_rate_invariance(walk):
    bone_map = detect_roles(walk.skeleton)
    reference = clip_features(walk, bone_map)
    values = clip_features(walk.resample(frame_rate=120.0), bone_map)
    assert_features_close(values, reference, 0.02)
    assert np.allclose(window_times(walk.resample(frame_rate=120.0)), window_times(walk), atol=1e-4)


@pytest.mark.parametrize("clip", ["walk", "sad_walk"])
def test_double_speed_scaling(clip, request):
    motion = request.getfixturevalue(clip)
    bone_map = detect_roles(motion.skeleton)
    reference = clip_features(motion, bone_map)
    fast = clip_features(motion.copy(frame_rate=motion.frame_rate * 2.0), bone_map)
    expected = reference * 2.0 ** np.array([FEATURES[name].speed_exponent for name in FEATURE_NAMES])
    # Near-zero angles (spine flexion of an upright walk) get an absolute floor of 0.01.
    assert_features_close(fast, expected, 0.05, floor=0.01)
    assert fast[FEATURE_NAMES.index("root_speed")] / reference[FEATURE_NAMES.index("root_speed")] == pytest.approx(2.0, rel=0.05)
    jerk = FEATURE_NAMES.index("effector_jerk_mean")
    assert fast[jerk] / reference[jerk] == pytest.approx(8.0, rel=0.05)


def mirror_motion(motion: Motion) -> Motion:
    """Reflect a motion through the plane x = 0 (offsets, translations, root and rotations)."""
    reflect = np.array([-1.0, 1.0, 1.0])
    skeleton = Skeleton(
        motion.skeleton.names, motion.skeleton.parents, motion.skeleton.offsets * reflect,
        end_sites={joint: offset * reflect for joint, offset in motion.skeleton.end_sites.items()},
    )
    # A reflection M turns rotation R into M R M: the axis (x, y, z) becomes (x, -y, -z).
    rotations = motion.rotations * np.array([1.0, 1.0, -1.0, -1.0])
    translations = None if motion.translations is None else motion.translations * reflect
    return Motion(skeleton, rotations, motion.root_positions * reflect, motion.frame_rate, translations)


def swap_sides(bone_map: BoneMap) -> BoneMap:
    joints = {}
    for role, joint in bone_map.joints.items():
        if role.startswith("left_"):
            role = "right_" + role[len("left_"):]
        elif role.startswith("right_"):
            role = "left_" + role[len("right_"):]
        joints[role] = joint
    return BoneMap(bone_map.skeleton_names, joints)


def test_mirror_leaves_symmetric_features(walk):
    # Every feature sums or averages both sides, so a mirrored motion with the left and
    # right roles swapped (the mirror image of the same actor) must measure the same.
    bone_map = detect_roles(walk.skeleton)
    reference = clip_features(walk, bone_map)
    mirrored = mirror_motion(walk)
    values = clip_features(mirrored, swap_sides(detect_roles(mirrored.skeleton)))
    assert_features_close(values, reference, 1e-6, floor=1e-9)


def test_still_pose_has_no_motion(walk):
    bone_map = detect_roles(walk.skeleton)
    frames = 90
    still = Motion(
        walk.skeleton,
        np.repeat(walk.rotations[30:31], frames, axis=0),
        np.repeat(walk.root_positions[30:31], frames, axis=0),
        walk.frame_rate,
        np.repeat(walk.translations[30:31], frames, axis=0),
    )
    values = dict(zip(FEATURE_NAMES, clip_features(still, bone_map)))
    for name in [*KINEMATIC, "hand_directness", "head_directness", "jerk_ratio"]:
        assert abs(values[name]) < 1e-9, name
    single = still.copy(rotations=still.rotations[:1], root_positions=still.root_positions[:1],
                        translations=still.translations[:1])
    pose = dict(zip(FEATURE_NAMES, clip_features(single, bone_map)))
    for name in FEATURE_NAMES:
        if FEATURES[name].component in ("Body", "Shape"):
            assert values[name] == pytest.approx(pose[name], rel=1e-9, abs=1e-12), name


def test_single_frame_motion(walk):
    bone_map = detect_roles(walk.skeleton)
    single = walk.copy(rotations=walk.rotations[:1], root_positions=walk.root_positions[:1],
                       translations=walk.translations[:1])
    values = clip_features(single, bone_map)
    assert np.all(np.isfinite(values))
    assert np.all(values[[FEATURE_NAMES.index(name) for name in KINEMATIC]] == 0.0)


def test_vertical_rotation_and_translation_invariance(walk):
    bone_map = detect_roles(walk.skeleton)
    reference = clip_features(walk, bone_map)
    turn = quaternion.from_axis_angle(np.array([0.0, 1.0, 0.0]), np.array(2.3))
    moved = rotate_motion(walk, turn, np.array([310.0, 12.0, -95.0]))
    assert_features_close(clip_features(moved, bone_map), reference, 1e-6, floor=1e-9)


def test_z_up_motion_inferred_and_explicit(walk):
    bone_map = detect_roles(walk.skeleton)
    reference = clip_features(walk, bone_map)
    # Y up to Z up, as Blender stores it.
    to_z_up = quaternion.from_axis_angle(np.array([1.0, 0.0, 0.0]), np.array(np.pi / 2))
    z_up = rotate_motion(walk, to_z_up, np.zeros(3))
    assert_features_close(clip_features(z_up, bone_map), reference, 1e-6, floor=1e-9)
    explicit = clip_features(z_up, bone_map, FeatureSettings(up_axis="z"))
    assert_features_close(explicit, reference, 1e-6, floor=1e-9)
    wrong = clip_features(z_up, bone_map, FeatureSettings(up_axis="y"))
    assert not np.allclose(wrong, reference, rtol=0.05)


def test_rest_orientation_does_not_matter(walk):
    # The Bandai rest pose lies along +X. Rebuild the same world motion on a rig whose
    # rest pose is upright: offsets rotated by R, local rotations conjugated by R.
    rest_turn = quaternion.from_axis_angle(np.array([0.0, 0.0, 1.0]), np.array(np.pi / 2))
    inverse = quaternion.conjugate(rest_turn)
    skeleton = walk.skeleton.with_offsets(quaternion.rotate(rest_turn, walk.skeleton.offsets))
    rotations = quaternion.multiply(quaternion.multiply(rest_turn, walk.rotations), inverse)
    rotations[:, 0] = quaternion.multiply(walk.rotations[:, 0], inverse)
    translations = quaternion.rotate(rest_turn, walk.translations)
    translations[:, 0] = walk.translations[:, 0]
    upright = Motion(skeleton, rotations, walk.root_positions, walk.frame_rate, translations)
    assert np.allclose(upright.positions(), walk.positions(), atol=1e-6)
    rest = skeleton.rest_positions()
    assert rest[skeleton.index("Head"), 1] > rest[skeleton.index("Hips"), 1] + 40.0
    bone_map = detect_roles(walk.skeleton)
    reference = clip_features(walk, bone_map)
    assert_features_close(clip_features(upright, detect_roles(skeleton)), reference, 1e-6, floor=1e-9)


def insert_joint(skeleton_parts: dict, motion_parts: dict, child: str, name: str) -> None:
    """Insert joint ``name`` above ``child``, splitting the child's offset in two halves."""
    names, parents, offsets = skeleton_parts["names"], skeleton_parts["parents"], skeleton_parts["offsets"]
    child_index = names.index(child)
    parent_name = parents[child_index]
    names.insert(child_index, name)
    parents.insert(child_index, parent_name)
    offsets.insert(child_index, offsets[child_index] * 0.5)
    offsets[child_index + 1] = offsets[child_index + 1] * 0.5
    parents[child_index + 1] = name
    rotations, translations = motion_parts["rotations"], motion_parts["translations"]
    half = translations[:, child_index] * 0.5
    motion_parts["rotations"] = np.insert(rotations, child_index, quaternion.identity((rotations.shape[0],)), axis=1)
    translations = np.insert(translations, child_index, half, axis=1)
    translations[:, child_index + 1] = half
    motion_parts["translations"] = translations


def cmu_like_rig(motion: Motion, shoulder_shift: float = 3.0) -> Motion:
    """Return ``motion`` on a rig with Spine1, Neck1, LHipJoint and RHipJoint inserted and
    both shoulder joints moved up by ``shoulder_shift`` in their parent's frame; every
    other joint keeps its world position."""
    skeleton = motion.skeleton
    skeleton_parts = {
        "names": list(skeleton.names),
        "parents": [skeleton.names[p] if p >= 0 else None for p in skeleton.parents],
        "offsets": [offset.copy() for offset in skeleton.offsets],
    }
    motion_parts = {"rotations": motion.rotations.copy(), "translations": motion.translations.copy()}

    names = skeleton_parts["names"]
    for side in ("L", "R"):
        shoulder, upper_arm = names.index(f"Shoulder_{side}"), names.index(f"UpperArm_{side}")
        shift = np.array([0.0, shoulder_shift, 0.0])
        skeleton_parts["offsets"][shoulder] = skeleton_parts["offsets"][shoulder] + shift
        skeleton_parts["offsets"][upper_arm] = skeleton_parts["offsets"][upper_arm] - shift
        motion_parts["translations"][:, shoulder] += shift
        # The upper arm sits at the old place: undo the shift in the rotated shoulder frame.
        local = quaternion.conjugate(motion_parts["rotations"][:, shoulder])
        motion_parts["translations"][:, upper_arm] -= quaternion.rotate(local, np.broadcast_to(shift, (len(local), 3)))

    for child, name in (("Chest", "Spine1"), ("Head", "Neck1"), ("UpperLeg_L", "LHipJoint"), ("UpperLeg_R", "RHipJoint")):
        insert_joint(skeleton_parts, motion_parts, child, name)
    parents = [-1 if parent is None else names.index(parent) for parent in skeleton_parts["parents"]]
    rig = Skeleton(names, parents, np.array(skeleton_parts["offsets"]))
    return Motion(rig, motion_parts["rotations"], motion.root_positions, motion.frame_rate, motion_parts["translations"])


@pytest.mark.parametrize("clip", ["walk", "sad_walk"])
def test_rig_with_extra_joints(clip, request):
    motion = request.getfixturevalue(clip)
    rig_motion = cmu_like_rig(motion)
    original, moved = motion.positions(), rig_motion.positions()
    for joint, name in enumerate(motion.skeleton.names):
        if name.startswith("Shoulder_"):
            assert not np.allclose(moved[:, rig_motion.skeleton.index(name)], original[:, joint], atol=1.0)
        else:
            assert np.allclose(moved[:, rig_motion.skeleton.index(name)], original[:, joint], atol=1e-6), name
    reference = clip_features(motion, detect_roles(motion.skeleton))
    bone_map = detect_roles(rig_motion.skeleton)
    assert_features_close(clip_features(rig_motion, bone_map), reference, 0.05, floor=0.01)


def test_styles_differ_in_expected_direction(walk, sad_walk):
    happy = dict(zip(FEATURE_NAMES, clip_features(walk, detect_roles(walk.skeleton))))
    sad = dict(zip(FEATURE_NAMES, clip_features(sad_walk, detect_roles(sad_walk.skeleton))))
    assert sad["root_speed"] < happy["root_speed"]
    assert sad["effector_energy_mean"] < happy["effector_energy_mean"]
    assert sad["head_flexion"] > happy["head_flexion"]
    assert sad["hand_distance"] < happy["hand_distance"]


def test_missing_role_raises(walk):
    bone_map = detect_roles(walk.skeleton, {"left_hand": None}, required=())
    with pytest.raises(MissingRolesError, match="left_hand"):
        clip_features(walk, bone_map)


@pytest.mark.parametrize(
    "changes",
    [{"window_seconds": 0.0}, {"hop_seconds": -1.0}, {"analysis_frame_rate": float("nan")}, {"up_axis": "w"}],
)
def test_invalid_settings_raise(changes):
    with pytest.raises(ValueError, match=next(iter(changes)) if "up_axis" not in changes else "up axis"):
        FeatureSettings(**changes)


def test_features_stay_in_declared_range(bandai1_dir):
    for path in sorted((bandai1_dir / "data").glob("dataset-1_*_001.bvh"))[::6]:
        motion = read_bvh(path)
        values = window_features(motion, detect_roles(motion.skeleton))
        for column, name in enumerate(FEATURE_NAMES):
            assert np.all(values[:, column] >= FEATURES[name].minimum), f"{name} below its minimum in {path.name}"
            assert np.all(values[:, column] <= FEATURES[name].maximum), f"{name} above its maximum in {path.name}"
