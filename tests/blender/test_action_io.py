"""Reading and writing armature actions against Blender's own pose evaluation.

Positions from our forward kinematics must match ``obj.matrix_world @ pose_bone.head``
after ``scene.frame_set`` to 1e-4 body heights, for BVH clips imported with Blender's BVH
importer in every rotation mode, for a scaled and rotated armature object, and after a
write-read round trip. The clips come from the shared Bandai Namco datasets; those tests
skip when the datasets are missing.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import sys
from pathlib import Path

import bpy
import mathutils
import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "emotion_motion"


def _import_extension_package() -> None:
    """Import the repository root as package ``emotion_motion``, as Blender imports the extension.

    The operators use relative imports into ``synthesis``, which only resolve when the
    repository root is a package.
    """
    if PACKAGE in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(
        PACKAGE, REPO_ROOT / "__init__.py", submodule_search_locations=[str(REPO_ROOT)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = module
    spec.loader.exec_module(module)


_import_extension_package()
action_io = importlib.import_module(f"{PACKAGE}.operators.action_io")
action_compat = importlib.import_module(f"{PACKAGE}.operators.action_compat")
quaternion = importlib.import_module(f"{PACKAGE}.synthesis.quaternion")

CLIPS = ("bandai-namco-1/data/dataset-1_bow_active_001.bvh", "bandai-namco-1/data/dataset-1_walk_sad_001.bvh")
EULER_MODES = ('XYZ', 'XZY', 'YXZ', 'YZX', 'ZXY', 'ZYX')
TOLERANCE = 1e-4
"""Maximum position error, in body heights."""


# Helpers


def blender_positions(obj: bpy.types.Object, names, frames) -> np.ndarray:
    """Return ``(frames, joints, 3)`` world bone heads as Blender evaluates them."""
    scene = bpy.context.scene
    result = np.empty((len(frames), len(names), 3))
    for row, frame in enumerate(frames):
        scene.frame_set(int(frame))
        for column, name in enumerate(names):
            result[row, column] = obj.matrix_world @ obj.pose.bones[name].head
    return result


def body_height(positions: np.ndarray) -> float:
    """Return the largest extent of the first frame's joints, a stand-in for the body height."""
    return float(np.max(np.ptp(positions[0], axis=0)))


def assert_matches_blender(obj, motion, bone_keys, frame_indices) -> None:
    frame_indices = [index for index in frame_indices if index < motion.frame_count]
    ours = motion.positions()[frame_indices]
    theirs = blender_positions(obj, motion.skeleton.names, [bone_keys.frame_start + index for index in frame_indices])
    height = body_height(theirs)
    error = np.abs(ours - theirs).max() / height
    assert error < TOLERANCE, f"max position error {error:.2e} body heights over frames {frame_indices}"


def key_snapshot(action, obj) -> dict:
    """Return every F-curve's keyframe arrays of ``action``, keyed by (data path, index)."""
    snapshot = {}
    slot = action_compat.find_slot(action, obj)
    for fcurve in action_compat.action_fcurves(action, slot):
        points = fcurve.keyframe_points
        arrays = []
        for prop in ("co", "handle_left", "handle_right"):
            flat = np.empty(2 * len(points), dtype=np.float32)
            points.foreach_get(prop, flat)
            arrays.append(flat)
        interpolation = np.empty(len(points), dtype=np.int32)
        points.foreach_get("interpolation", interpolation)
        arrays.append(interpolation)
        snapshot[(fcurve.data_path, fcurve.array_index)] = arrays
    return snapshot


def bone_fcurves(action, obj, bone_name: str) -> dict:
    slot = action_compat.find_slot(action, obj)
    prefix = f'pose.bones["{bone_name}"].'
    return {
        (fcurve.data_path[len(prefix):], fcurve.array_index): fcurve
        for fcurve in action_compat.action_fcurves(action, slot)
        if fcurve.data_path.startswith(prefix)
    }


def set_keys(fcurve, frames, values, interpolation='BEZIER') -> None:
    points = fcurve.keyframe_points
    points.add(len(frames))
    points.foreach_set("co", np.column_stack((frames, values)).astype(np.float32).ravel())
    for point in points:
        point.interpolation = interpolation
    fcurve.update()


def convert_rotation_mode(obj, action, target_mode: str) -> None:
    """Rekey every bone's rotation in ``target_mode`` with mathutils, keeping the pose at each key."""
    slot = action_compat.find_slot(action, obj)
    for pose_bone in obj.pose.bones:
        source_mode = pose_bone.rotation_mode
        source_prop = {"QUATERNION": "rotation_quaternion", "AXIS_ANGLE": "rotation_axis_angle"}.get(
            source_mode, "rotation_euler"
        )
        curves = bone_fcurves(action, obj, pose_bone.name)
        source = [curves.get((source_prop, index)) for index in range(4 if source_prop != "rotation_euler" else 3)]
        if any(fcurve is None for fcurve in source):
            pose_bone.rotation_mode = target_mode
            continue
        frames = [point.co[0] for point in source[0].keyframe_points]
        target_prop = {"QUATERNION": "rotation_quaternion", "AXIS_ANGLE": "rotation_axis_angle"}.get(
            target_mode, "rotation_euler"
        )
        values = []
        previous = None
        for frame in frames:
            raw = [fcurve.evaluate(frame) for fcurve in source]
            if source_mode == "QUATERNION":
                rotation = mathutils.Quaternion(raw)
            else:
                rotation = mathutils.Euler(raw, source_mode).to_quaternion()
            if target_mode == "QUATERNION":
                values.append(tuple(rotation))
            elif target_mode == "AXIS_ANGLE":
                axis, angle = rotation.to_axis_angle()
                values.append((angle, *axis))
            else:
                euler = rotation.to_euler(target_mode, previous) if previous else rotation.to_euler(target_mode)
                previous = euler
                values.append(tuple(euler))
        for fcurve in source:
            action_compat.remove_fcurve(action, slot, fcurve)
        values = np.array(values)
        for index in range(values.shape[1]):
            fcurve = action_compat.ensure_fcurve(
                action, slot, f'pose.bones["{pose_bone.name}"].{target_prop}', index, pose_bone.name
            )
            set_keys(fcurve, frames, values[:, index], 'LINEAR')
        pose_bone.rotation_mode = target_mode


# Fixtures


@pytest.fixture
def clip_path(datasets_dir: Path, request) -> Path:
    path = datasets_dir / getattr(request, "param", CLIPS[0])
    if not path.is_file():
        pytest.skip(f"BVH clip {path} not found in the shared datasets")
    return path


def import_clip(path: Path, rotate_mode: str = 'NATIVE', global_scale: float = 1.0) -> bpy.types.Object:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    result = bpy.ops.import_anim.bvh(filepath=str(path), global_scale=global_scale, rotate_mode=rotate_mode)
    assert result == {'FINISHED'}, f"BVH import of {path} returned {result}"
    obj = bpy.context.view_layer.objects.active
    assert obj is not None and obj.type == 'ARMATURE'
    return obj


@pytest.fixture
def rig() -> bpy.types.Object:
    """Armature 'Rig': root 'Hips', connected 'Spine', unconnected 'Arm' with a roll, connected 'Hand'."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    armature = bpy.data.armatures.new("Rig")
    obj = bpy.data.objects.new("Rig", armature)
    bpy.context.scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode='EDIT')
    hips = armature.edit_bones.new("Hips")
    hips.head, hips.tail = (0.0, 0.1, 1.0), (0.0, 0.0, 1.2)
    spine = armature.edit_bones.new("Spine")
    spine.head, spine.tail = (0.0, 0.0, 1.2), (0.05, 0.0, 1.6)
    spine.parent, spine.use_connect = hips, True
    arm = armature.edit_bones.new("Arm")
    arm.head, arm.tail, arm.roll = (0.2, 0.0, 1.5), (0.5, 0.1, 1.4), 0.7
    arm.parent = spine
    hand = armature.edit_bones.new("Hand")
    hand.head, hand.tail, hand.roll = (0.5, 0.1, 1.4), (0.6, 0.1, 1.3), -0.4
    hand.parent, hand.use_connect = arm, True
    bpy.ops.object.mode_set(mode='OBJECT')
    return obj


@pytest.fixture
def keyed_rig(rig) -> bpy.types.Object:
    """'Rig' with a hand-keyed action: three Bezier keys per channel at frames 1, 10 and 25."""
    action = action_compat.new_action("Hand keyed")
    slot = action_compat.assign_action(rig, action)
    frames = [1.0, 10.0, 25.0]
    rig.pose.bones["Hips"].rotation_mode = 'QUATERNION'
    rig.pose.bones["Spine"].rotation_mode = 'XZY'
    rig.pose.bones["Arm"].rotation_mode = 'AXIS_ANGLE'
    rig.pose.bones["Hand"].rotation_mode = 'ZXY'
    hips_rotation = quaternion.from_euler(np.array([[0.0, 0.0, 0.0], [0.3, -0.2, 0.5], [-0.1, 0.4, 1.2]]), "XYZ")
    channels = {
        ("Hips", "rotation_quaternion"): hips_rotation,
        ("Hips", "location"): np.array([[0.0, 0.0, 0.0], [0.1, 0.3, -0.05], [0.2, 0.9, 0.0]]),
        ("Spine", "rotation_euler"): np.array([[0.0, 0.1, 0.0], [0.4, -0.3, 0.2], [0.1, 0.2, -0.6]]),
        ("Arm", "rotation_axis_angle"): np.array([[0.2, 0.0, 0.0, 1.0], [1.1, 0.3, 0.9, 0.1], [0.6, -0.5, 0.2, 0.8]]),
        ("Arm", "location"): np.array([[0.0, 0.0, 0.0], [0.02, 0.0, 0.01], [0.0, 0.05, 0.0]]),
        ("Hand", "rotation_euler"): np.array([[0.0, 0.0, 0.0], [0.5, 0.2, -0.3], [-0.2, 0.6, 0.1]]),
    }
    for (bone, prop), values in channels.items():
        for index in range(values.shape[1]):
            fcurve = action_compat.ensure_fcurve(action, slot, f'pose.bones["{bone}"].{prop}', index, bone)
            set_keys(fcurve, frames, values[:, index])
    return rig


# Reading


@pytest.mark.parametrize("clip_path", CLIPS, indirect=True)
@pytest.mark.parametrize("rotate_mode", ['NATIVE', 'QUATERNION'])
def test_read_bvh_import_matches_pose(clip_path, rotate_mode) -> None:
    obj = import_clip(clip_path, rotate_mode)
    motion, bone_keys = action_io.read_armature_motion(obj)
    assert motion.skeleton.names == tuple(bone.name for bone in obj.data.bones)
    assert motion.frame_rate == pytest.approx(bpy.context.scene.render.fps / bpy.context.scene.render.fps_base)
    assert all(keys.dense for keys in bone_keys.rotation.values())
    assert motion.frame_count == bone_keys.frame_end - bone_keys.frame_start + 1
    assert_matches_blender(obj, motion, bone_keys, [0, 7, motion.frame_count // 2, motion.frame_count - 1])


@pytest.mark.parametrize("mode", EULER_MODES + ('AXIS_ANGLE',))
def test_read_each_rotation_mode(clip_path, mode) -> None:
    obj = import_clip(clip_path, 'QUATERNION')
    convert_rotation_mode(obj, obj.animation_data.action, mode)
    motion, bone_keys = action_io.read_armature_motion(obj)
    assert set(bone_keys.rotation_modes.values()) == {mode}
    assert_matches_blender(obj, motion, bone_keys, [0, 11, motion.frame_count - 1])

    written = action_io.write_armature_motion(obj, motion, obj.animation_data.action, f"Written {mode}", bone_keys)
    prop = "rotation_axis_angle" if mode == 'AXIS_ANGLE' else "rotation_euler"
    assert (prop, 0) in bone_fcurves(written, obj, motion.skeleton.names[1])
    again, again_keys = action_io.read_armature_motion(obj)
    error = np.abs(again.positions() - motion.positions()).max() / body_height(motion.positions())
    assert error < TOLERANCE, f"round trip in mode {mode} moved joints by {error:.2e} body heights"


def test_read_scaled_rotated_object(clip_path) -> None:
    obj = import_clip(clip_path)
    obj.scale = (0.01, 0.01, 0.01)
    obj.rotation_euler = (0.3, -0.2, 1.1)
    obj.location = (1.0, -2.0, 0.5)
    bpy.context.view_layer.update()
    motion, bone_keys = action_io.read_armature_motion(obj)
    positions = motion.positions()
    assert 1.0 < body_height(positions) < 2.5, "a centimetre clip at object scale 0.01 should read in metres"
    assert_matches_blender(obj, motion, bone_keys, [0, 9, motion.frame_count - 1])


def test_read_sparse_bezier_matches_pose(keyed_rig) -> None:
    motion, bone_keys = action_io.read_armature_motion(keyed_rig)
    assert (bone_keys.frame_start, bone_keys.frame_end) == (1, 25)
    assert not bone_keys.rotation["Hips"].dense
    assert list(bone_keys.rotation["Spine"].frames) == [1.0, 10.0, 25.0]
    assert "Hand" not in bone_keys.location
    assert_matches_blender(keyed_rig, motion, bone_keys, list(range(motion.frame_count)))


def test_evaluation_matches_fcurve_evaluate(keyed_rig) -> None:
    action = keyed_rig.animation_data.action
    curves = bone_fcurves(action, keyed_rig, "Spine")
    points = curves[("rotation_euler", 0)].keyframe_points
    points[0].handle_right_type = 'FREE'
    points[0].handle_right = (9.0, 2.0)
    points[1].interpolation = 'LINEAR'
    curves[("rotation_euler", 1)].keyframe_points[1].interpolation = 'CONSTANT'
    curves[("rotation_euler", 2)].keyframe_points[0].interpolation = 'SINE'
    curves[("rotation_euler", 2)].extrapolation = 'LINEAR'
    curves[("rotation_euler", 1)].extrapolation = 'LINEAR'
    for fcurve in curves.values():
        fcurve.update()

    motion, _ = action_io.read_armature_motion(keyed_rig, frame_range=(-5, 32))
    frames = np.arange(-5, 33)
    expected = np.array([[curves[("rotation_euler", index)].evaluate(float(f)) for index in range(3)] for f in frames])
    rest = motion.skeleton.rest_rotations
    assert rest is not None
    expected_rotations = quaternion.from_euler(expected[:, [1, 2, 0]], "YZX")
    angles = quaternion.angle_between(motion.rotations[:, 1], expected_rotations)
    assert np.max(angles) < 1e-5, f"max rotation error {np.max(angles):.2e} rad at frame {frames[np.argmax(angles)]}"


def test_unkeyed_bones_hold_current_pose(keyed_rig) -> None:
    action = keyed_rig.animation_data.action
    slot = action_compat.find_slot(action, keyed_rig)
    for fcurve in list(bone_fcurves(action, keyed_rig, "Hand").values()):
        action_compat.remove_fcurve(action, slot, fcurve)
    keyed_rig.pose.bones["Hand"].rotation_euler = (0.3, -0.4, 0.2)
    motion, bone_keys = action_io.read_armature_motion(keyed_rig)
    expected = quaternion.from_euler(np.array([-0.4, 0.3, 0.2]), "YXZ")
    hand = motion.skeleton.index("Hand")
    assert "Hand" not in bone_keys.rotation
    assert np.max(quaternion.angle_between(motion.rotations[:, hand], expected)) < 1e-6
    assert_matches_blender(keyed_rig, motion, bone_keys, [0, 12, 24])


def test_connected_bone_location_ignored(keyed_rig) -> None:
    action = keyed_rig.animation_data.action
    slot = action_compat.find_slot(action, keyed_rig)
    for index in range(3):
        fcurve = action_compat.ensure_fcurve(action, slot, 'pose.bones["Spine"].location', index, "Spine")
        set_keys(fcurve, [1.0, 20.0], [0.0, 0.3])
    motion, bone_keys = action_io.read_armature_motion(keyed_rig)
    assert "Spine" not in bone_keys.location
    assert_matches_blender(keyed_rig, motion, bone_keys, [0, 10, 19])


# Writing


def test_write_round_trip_dense(clip_path) -> None:
    obj = import_clip(clip_path)
    source = obj.animation_data.action
    before = key_snapshot(source, obj)
    motion, bone_keys = action_io.read_armature_motion(obj)

    written = action_io.write_armature_motion(obj, motion, source, "Round trip", bone_keys)

    assert written != source
    assert written.name == "Round trip"
    assert obj.animation_data.action == written
    assert source.use_fake_user
    if action_compat.HAS_LAYERED_ACTIONS:
        assert obj.animation_data.action_slot is not None
        assert obj.animation_data.action_slot.identifier in {slot.identifier for slot in written.slots}
    after = key_snapshot(source, obj)
    assert before.keys() == after.keys()
    for channel, arrays in before.items():
        for old, new in zip(arrays, after[channel]):
            assert np.array_equal(old, new), f"source F-curve {channel} changed"

    again, again_keys = action_io.read_armature_motion(obj)
    height = body_height(motion.positions())
    error = np.abs(again.positions() - motion.positions()).max() / height
    assert error < TOLERANCE, f"round trip moved joints by {error:.2e} body heights"
    assert again.frame_count == motion.frame_count
    assert_matches_blender(obj, again, again_keys, [0, motion.frame_count - 1])


def test_write_scaled_object_round_trip(clip_path) -> None:
    obj = import_clip(clip_path)
    obj.scale = (0.01, 0.01, 0.01)
    obj.rotation_euler = (0.0, 0.0, 0.8)
    bpy.context.view_layer.update()
    motion, bone_keys = action_io.read_armature_motion(obj)
    edited = motion.copy()
    edited.root_positions = edited.root_positions + np.array([0.5, 0.0, 0.0])
    action_io.write_armature_motion(obj, edited, obj.animation_data.action, "Shifted", bone_keys)
    again, again_keys = action_io.read_armature_motion(obj)
    error = np.abs(again.positions() - edited.positions()).max() / body_height(edited.positions())
    assert error < TOLERANCE, f"scaled round trip moved joints by {error:.2e} body heights"
    assert_matches_blender(obj, again, again_keys, [0, 20])


def test_sparse_keys_stay_sparse(keyed_rig) -> None:
    source = keyed_rig.animation_data.action
    before = key_snapshot(source, keyed_rig)
    motion, bone_keys = action_io.read_armature_motion(keyed_rig)
    edited = motion.copy()
    arm = motion.skeleton.index("Arm")
    turn = quaternion.from_axis_angle(np.array([0.0, 0.0, 1.0]), np.array(0.4))
    edited.rotations[:, arm] = quaternion.multiply(edited.rotations[:, arm], turn)

    written = action_io.write_armature_motion(keyed_rig, edited, source, "Sparse edit", bone_keys)

    new = key_snapshot(written, keyed_rig)
    for (data_path, index), arrays in before.items():
        assert (data_path, index) in new, f"{data_path}[{index}] missing from the written action"
        old_frames = arrays[0][0::2]
        new_frames = new[(data_path, index)][0][0::2]
        assert np.array_equal(old_frames, new_frames), f"{data_path}[{index}] keys moved: {new_frames}"
        assert np.array_equal(arrays[3], new[(data_path, index)][3]), f"{data_path}[{index}] interpolation changed"
    assert key_snapshot(source, keyed_rig).keys() == before.keys()

    again, _ = action_io.read_armature_motion(keyed_rig)
    key_indices = [0, 9, 24]
    angles = quaternion.angle_between(again.rotations[key_indices], edited.rotations[key_indices])
    assert np.max(angles) < 1e-5, f"written keys differ from the motion by {np.max(angles):.2e} rad"
    changed = quaternion.angle_between(again.rotations[key_indices, arm], motion.rotations[key_indices, arm])
    assert changed == pytest.approx(0.4, abs=1e-5), "the edit of bone 'Arm' did not reach the written keys"


def test_write_keeps_other_channels(keyed_rig) -> None:
    bpy.ops.object.mode_set(mode='EDIT')
    prop_bone = keyed_rig.data.edit_bones.new("Prop")
    prop_bone.head, prop_bone.tail = (1.0, 0.0, 0.0), (1.0, 0.0, 0.3)
    bpy.ops.object.mode_set(mode='OBJECT')
    source = keyed_rig.animation_data.action
    slot = action_compat.find_slot(source, keyed_rig)
    extra = {
        ('pose.bones["Prop"].location', 2): [0.0, 1.0],
        ("location", 0): [0.0, 2.0],
        ('pose.bones["Arm"].scale', 1): [1.0, 1.0],
    }
    for (data_path, index), values in extra.items():
        set_keys(action_compat.ensure_fcurve(source, slot, data_path, index, "Extra"), [1.0, 25.0], values)

    motion, bone_keys = action_io.read_armature_motion(keyed_rig)
    assert motion.skeleton.names == ("Hips", "Spine", "Arm", "Hand")
    written = action_io.write_armature_motion(keyed_rig, motion, source, "Kept", bone_keys)

    new = key_snapshot(written, keyed_rig)
    old = key_snapshot(source, keyed_rig)
    for channel in extra:
        assert channel in new, f"{channel} was dropped from the written action"
        assert np.array_equal(new[channel][0], old[channel][0]), f"{channel} keys changed"
    groups = {
        fcurve.data_path: fcurve.group.name if fcurve.group else None
        for fcurve in action_compat.action_fcurves(written, action_compat.find_slot(written, keyed_rig))
    }
    for bone in motion.skeleton.names:
        for data_path, group in groups.items():
            if data_path.startswith(f'pose.bones["{bone}"].rotation'):
                assert group == bone, f"{data_path} is in group {group!r}, expected {bone!r}"


def test_write_escapes_bone_names(keyed_rig) -> None:
    keyed_rig.data.bones["Arm"].name = 'Arm "L" \\ 1'
    motion, bone_keys = action_io.read_armature_motion(keyed_rig)
    assert 'Arm "L" \\ 1' in bone_keys.rotation
    action_io.write_armature_motion(keyed_rig, motion, keyed_rig.animation_data.action, "Escaped", bone_keys)
    again, again_keys = action_io.read_armature_motion(keyed_rig)
    assert again_keys.rotation.keys() == bone_keys.rotation.keys()
    assert_matches_blender(keyed_rig, again, again_keys, [0, 12, 24])


def test_write_warns_dropped_keys(keyed_rig, caplog) -> None:
    motion, bone_keys = action_io.read_armature_motion(keyed_rig, frame_range=(1, 12))
    with caplog.at_level("WARNING", logger=action_io.log.name):
        written = action_io.write_armature_motion(
            keyed_rig, motion, keyed_rig.animation_data.action, "Cut", bone_keys
        )
    assert "bone keys of action 'Hand keyed' lie outside frames 1 to 12" in caplog.text
    curve = bone_fcurves(written, keyed_rig, "Hips")[("rotation_quaternion", 0)]
    assert [point.co[0] for point in curve.keyframe_points] == [1.0, 10.0]


def test_write_keeps_euler_winding(keyed_rig) -> None:
    curves = bone_fcurves(keyed_rig.animation_data.action, keyed_rig, "Spine")
    points = curves[("rotation_euler", 0)].keyframe_points
    for point in points:
        point.co = (point.co[0], point.co[1] + 4.0 * math.pi)
    curves[("rotation_euler", 0)].update()
    motion, bone_keys = action_io.read_armature_motion(keyed_rig)
    written = action_io.write_armature_motion(keyed_rig, motion, keyed_rig.animation_data.action, "Wound", bone_keys)
    new_curve = bone_fcurves(written, keyed_rig, "Spine")[("rotation_euler", 0)]
    old_values = [point.co[1] for point in points]
    new_values = [point.co[1] for point in new_curve.keyframe_points]
    assert new_values == pytest.approx(old_values, abs=1e-4)


def test_retimed_keys_move(keyed_rig) -> None:
    motion, bone_keys = action_io.read_armature_motion(keyed_rig)
    slower = motion.resample(frame_count=2 * motion.frame_count - 1)
    retimed = bone_keys.retimed(lambda frames: 1.0 + 2.0 * (frames - 1.0), 1, slower.frame_count)
    written = action_io.write_armature_motion(
        keyed_rig, slower, keyed_rig.animation_data.action, "Slower", retimed
    )
    curve = bone_fcurves(written, keyed_rig, "Hips")[("rotation_quaternion", 0)]
    assert [point.co[0] for point in curve.keyframe_points] == [1.0, 19.0, 49.0]


# Guards


def test_guard_rejects_non_armature() -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    mesh = bpy.data.objects.new("Cube", bpy.data.meshes.new("Cube"))
    with pytest.raises(action_io.ArmatureError, match="'Cube' is a mesh, not an armature"):
        action_io.validate_armature_action(mesh)
    with pytest.raises(action_io.ArmatureError, match="No active object"):
        action_io.validate_armature_action(None)


def test_guard_rejects_missing_action(rig) -> None:
    with pytest.raises(action_io.ArmatureError, match="'Rig' has no action"):
        action_io.validate_armature_action(rig)


def test_guard_rejects_action_without_bone_keys(rig) -> None:
    action = action_compat.new_action("Object only")
    slot = action_compat.assign_action(rig, action)
    set_keys(action_compat.ensure_fcurve(action, slot, "location", 0, "Object Transforms"), [1.0, 5.0], [0.0, 1.0])
    with pytest.raises(action_io.ArmatureError, match="'Object only'.* has no keys on the bones of armature 'Rig'"):
        action_io.validate_armature_action(rig)


def test_guard_lists_constrained_bones(keyed_rig) -> None:
    constraint = keyed_rig.pose.bones["Hand"].constraints.new('DAMPED_TRACK')
    constraint.name = "Look"
    muted = keyed_rig.pose.bones["Spine"].constraints.new('COPY_ROTATION')
    muted.mute = True
    with pytest.raises(action_io.ArmatureError, match="'Hand' \\(constraints 'Look'\\)") as error:
        action_io.validate_armature_action(keyed_rig)
    assert "Spine" not in str(error.value)


def test_guard_lists_driven_bones(keyed_rig) -> None:
    driver = keyed_rig.pose.bones["Arm"].driver_add("rotation_axis_angle", 0).driver
    driver.expression = "0.5"
    with pytest.raises(action_io.ArmatureError, match=r"'Arm' \(drivers on rotation_axis_angle\[0\]\)"):
        action_io.check_constraints(keyed_rig)


def test_guard_rejects_nan_key(keyed_rig) -> None:
    curve = bone_fcurves(keyed_rig.animation_data.action, keyed_rig, "Arm")[("location", 1)]
    curve.keyframe_points[1].co = (10.0, float("nan"))
    expected = r'pose.bones\["Arm"\].location\[1\] of action .* at frame 10'
    with pytest.raises(action_io.ArmatureError, match=expected):
        action_io.validate_armature_action(keyed_rig)
    with pytest.raises(action_io.ArmatureError, match=expected):
        action_io.read_armature_motion(keyed_rig)


def test_guard_rejects_linked_action(keyed_rig, tmp_path) -> None:
    library_path = tmp_path / "library.blend"
    action = keyed_rig.animation_data.action
    bpy.data.libraries.write(str(library_path), {action})
    with bpy.data.libraries.load(str(library_path), link=True) as (data_from, data_to):
        data_to.actions = [action.name]
    linked = data_to.actions[0]
    assert linked.library is not None
    with pytest.raises(action_io.ArmatureError, match="linked from library .* read-only"):
        action_io.check_action_editable(keyed_rig, linked)
    motion, bone_keys = action_io.read_armature_motion(keyed_rig)
    with pytest.raises(action_io.ArmatureError, match="read-only"):
        action_io.write_armature_motion(keyed_rig, motion, linked, "Edited", bone_keys)


def test_guard_rejects_non_uniform_scale(keyed_rig) -> None:
    keyed_rig.scale = (1.0, 2.0, 1.0)
    bpy.context.view_layer.update()
    with pytest.raises(action_io.ArmatureError, match="uniform"):
        action_io.read_armature_motion(keyed_rig)
