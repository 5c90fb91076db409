"""Smoke test of the bpy module, and the Action API facts that version-dependent code relies on.

Blender 4.4 added layered actions (`Action.layers`, `Action.slots`, and F-curves stored
in a channelbag per slot) and kept `Action.fcurves` as a legacy view of the first slot.
Blender 5.0 removed that legacy view.
"""

from __future__ import annotations

import bpy
import pytest

SPINE_ROTATION_PATH = 'pose.bones["Spine"].rotation_quaternion'


def action_properties() -> set[str]:
    return set(bpy.types.Action.bl_rna.properties.keys())


def action_fcurves(action: bpy.types.Action, obj: bpy.types.Object) -> list[bpy.types.FCurve]:
    """Return the action's F-curves for `obj` with the API of the running Blender version."""
    if "slots" not in action_properties():
        return list(action.fcurves)

    from bpy_extras import anim_utils

    slot = obj.animation_data.action_slot
    channelbag = anim_utils.action_get_channelbag_for_slot(action, slot)
    assert channelbag is not None, f"action {action.name!r} has no channelbag for slot {slot.identifier!r}"
    return list(channelbag.fcurves)


@pytest.fixture
def rig() -> bpy.types.Object:
    """Armature object 'Rig' with bones 'Hips' and 'Spine', linked to an empty scene."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    armature = bpy.data.armatures.new("Rig")
    obj = bpy.data.objects.new("Rig", armature)
    bpy.context.scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj

    bpy.ops.object.mode_set(mode="EDIT")
    hips = armature.edit_bones.new("Hips")
    hips.head = (0.0, 0.0, 1.0)
    hips.tail = (0.0, 0.0, 1.2)
    spine = armature.edit_bones.new("Spine")
    spine.head = (0.0, 0.0, 1.2)
    spine.tail = (0.0, 0.0, 1.5)
    spine.parent = hips
    spine.use_connect = True
    bpy.ops.object.mode_set(mode="OBJECT")
    return obj


def test_bpy_version_supported() -> None:
    print(f"bpy {bpy.app.version_string}")
    assert bpy.app.background
    assert bpy.app.version >= (4, 2, 0)


def test_armature_bones_created(rig: bpy.types.Object) -> None:
    bone_names = [bone.name for bone in rig.data.bones]
    assert bone_names == ["Hips", "Spine"]
    assert rig.data.bones["Spine"].parent.name == "Hips"
    assert [pose_bone.name for pose_bone in rig.pose.bones] == ["Hips", "Spine"]


def test_keyframes_create_fcurves(rig: bpy.types.Object) -> None:
    pose_bone = rig.pose.bones["Spine"]
    pose_bone.rotation_mode = "QUATERNION"
    pose_bone.rotation_quaternion = (1.0, 0.0, 0.0, 0.0)
    assert pose_bone.keyframe_insert("rotation_quaternion", frame=1)
    pose_bone.rotation_quaternion = (0.0, 1.0, 0.0, 0.0)
    assert pose_bone.keyframe_insert("rotation_quaternion", frame=11)

    action = rig.animation_data.action
    assert action is not None
    fcurves = action_fcurves(action, rig)
    assert sorted((fcurve.data_path, fcurve.array_index) for fcurve in fcurves) == [
        (SPINE_ROTATION_PATH, index) for index in range(4)
    ]
    w_curve = next(fcurve for fcurve in fcurves if fcurve.array_index == 0)
    assert [tuple(point.co) for point in w_curve.keyframe_points] == [(1.0, 1.0), (11.0, 0.0)]
    assert 0.0 < w_curve.evaluate(6.0) < 1.0


def test_action_api_matches_version() -> None:
    properties = action_properties()
    layered = bpy.app.version >= (4, 4, 0)
    legacy_fcurves = bpy.app.version < (5, 0, 0)
    assert ("layers" in properties) == layered
    assert ("slots" in properties) == layered
    assert ("fcurves" in properties) == legacy_fcurves
