"""The Emotion Motion operators in real Blender, on a Bandai Namco walk imported with Blender's BVH importer.

Behaviour tests (what Apply writes, what every failure leaves untouched, keyed PAD, bone
maps, the panels) swap the emotion pipeline for a small deterministic stand-in, so they
check the operators alone. The preset tests at the end run the real pipeline and models.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import sys
import types
from pathlib import Path

import bpy
import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CLIP = "dataset-1_walk_normal_001.bvh"
CLIP_FRAMES = 60
PRESETS = ("happy", "sad", "angry")


# Fixtures


@pytest.fixture(scope="module")
def package() -> types.ModuleType:
    """The repository loaded as package ``emotion_motion``, with its Blender classes registered."""
    module = sys.modules.get("emotion_motion")
    if module is None:
        spec = importlib.util.spec_from_file_location(
            "emotion_motion", REPO_ROOT / "__init__.py", submodule_search_locations=[str(REPO_ROOT)]
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["emotion_motion"] = module
        spec.loader.exec_module(module)
    module.register()
    yield module
    module.unregister()


@pytest.fixture(scope="module")
def emotion_ops(package: types.ModuleType) -> types.ModuleType:
    return importlib.import_module("emotion_motion.operators.emotion_ops")


@pytest.fixture(scope="module")
def short_clip(bandai1_dir: Path, tmp_path_factory: pytest.TempPathFactory, package: types.ModuleType) -> Path:
    """The first 60 frames of a neutral Bandai Namco walk, written as BVH."""
    bvh = importlib.import_module("emotion_motion.synthesis.bvh")
    motion = bvh.read_bvh(bandai1_dir / "data" / CLIP)
    translations = None if motion.translations is None else motion.translations[:CLIP_FRAMES]
    trimmed = motion.copy(
        rotations=motion.rotations[:CLIP_FRAMES],
        root_positions=motion.root_positions[:CLIP_FRAMES],
        translations=translations,
    )
    path = tmp_path_factory.mktemp("clips") / "walk_normal.bvh"
    bvh.write_bvh(trimmed, path)
    return path


@pytest.fixture
def rig(short_clip: Path, package: types.ModuleType) -> bpy.types.Object:
    """The short walk imported with Blender's BVH importer into an empty file, active and selected."""
    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.ops.import_anim.bvh(filepath=str(short_clip), update_scene_fps=True, update_scene_duration=True)
    obj = bpy.context.view_layer.objects.active
    assert obj is not None and obj.type == 'ARMATURE'
    return obj


class FakePipeline:
    """Stand-in for ``models.pipeline``: turns every joint 10% toward its rest pose and records the call."""

    def __init__(self) -> None:
        self.calls: list[dict] = []
        self.analyze_options: list = []

    def apply_emotion(self, motion, bone_map, pad, strength=1.0, options=None):
        quaternion = importlib.import_module("emotion_motion.synthesis.quaternion")
        self.calls.append({"motion": motion, "pad": np.array(pad), "strength": strength, "options": options})
        result = motion.copy()
        rest = quaternion.identity(result.rotations.shape[:-1])
        result.rotations = quaternion.slerp(result.rotations, rest, 0.1 * strength)
        report = {
            "target_pad": np.asarray(pad).tolist(),
            "source_pad_estimate": [0.0, 0.0, 0.0],
            "result_pad_estimate": [0.2, 0.1, 0.1],
            "feature_error_before": 0.84,
            "feature_error_after": 0.31,
            "pad_error_before": 0.9,
            "pad_error_after": 0.5,
            "result_emotion": "calm",
            "features": {"tempo": {"source": 1.0, "target": 1.4, "achieved": 1.3}},
            "warnings": [],
        }
        return result, report

    def analyze_motion(self, motion, bone_map, options=None):
        self.analyze_options.append(options)
        return {"pad": [0.1, -0.2, 0.3], "emotion": "calm", "features": {"tempo": 1.0, "extent": -2.0}}


@pytest.fixture
def fake_pipeline(emotion_ops: types.ModuleType, monkeypatch: pytest.MonkeyPatch) -> FakePipeline:
    fake = FakePipeline()
    monkeypatch.setattr(emotion_ops, "pipeline", fake)
    return fake


# Helpers


def action_keys(emotion_ops: types.ModuleType, obj: bpy.types.Object, action: bpy.types.Action) -> dict:
    """Return every key of ``action`` for ``obj``: (data path, index) to an array of (frame, value, handles)."""
    compat = importlib.import_module("emotion_motion.operators.action_compat")
    slot = compat.find_slot(action, obj)
    keys = {}
    for fcurve in compat.action_fcurves(action, slot):
        values = [(*key.co, *key.handle_left, *key.handle_right) for key in fcurve.keyframe_points]
        keys[(fcurve.data_path, fcurve.array_index)] = np.array(values)
    return keys


def assert_same_keys(before: dict, after: dict) -> None:
    assert before.keys() == after.keys()
    for channel, values in before.items():
        np.testing.assert_array_equal(after[channel], values, err_msg=f"keys of {channel} changed")


def pad_distance(a, b) -> float:
    return math.dist([float(value) for value in a], [float(value) for value in b])


def apply_fails(match: str, **properties) -> None:
    """Run Apply and expect it to report an error matching ``match``."""
    with pytest.raises(RuntimeError, match=match):
        bpy.ops.emotion_motion.apply(**properties)


def snapshot(emotion_ops: types.ModuleType, obj: bpy.types.Object) -> tuple:
    action = obj.animation_data.action
    return action, action_keys(emotion_ops, obj, action), {a.name for a in bpy.data.actions}


def assert_untouched(emotion_ops: types.ModuleType, obj: bpy.types.Object, before: tuple) -> None:
    action, keys, names = before
    assert obj.animation_data.action == action
    assert {a.name for a in bpy.data.actions} == names
    assert_same_keys(keys, action_keys(emotion_ops, obj, action))


# Apply, Analyze, Revert and undo with the stand-in pipeline


def test_apply_writes_new_action(rig, emotion_ops, fake_pipeline) -> None:
    source = rig.animation_data.action
    source_keys = action_keys(emotion_ops, rig, source)
    bpy.ops.emotion_motion.set_emotion(emotion='sad')

    assert bpy.ops.emotion_motion.apply() == {'FINISHED'}

    new_action = rig.animation_data.action
    assert new_action != source
    assert new_action.name == f"{source.name}_sad"
    assert new_action[emotion_ops.SOURCE_ACTION_KEY] == source.name
    assert source.use_fake_user
    assert rig.emotion_motion.source_action == source
    assert_same_keys(source_keys, action_keys(emotion_ops, rig, source))
    assert action_keys(emotion_ops, rig, new_action).keys() >= {
        key for key in source_keys if key[0].endswith("rotation_euler")
    }
    assert "feature error 0.84 -> 0.31" in rig.emotion_motion.last_report
    assert "result looks 'calm', PAD error 0.90 -> 0.50" in rig.emotion_motion.last_report
    np.testing.assert_allclose(fake_pipeline.calls[0]["pad"], [-0.63, -0.27, -0.33], atol=1e-6)
    assert fake_pipeline.calls[0]["motion"].frame_count == CLIP_FRAMES


def test_apply_redo_properties_win(rig, emotion_ops, fake_pipeline) -> None:
    bpy.ops.emotion_motion.set_emotion(emotion='sad')
    assert bpy.ops.emotion_motion.apply(pleasure=0.5, arousal=0.25, dominance=-0.5, strength=0.5) == {'FINISHED'}
    call = fake_pipeline.calls[-1]
    np.testing.assert_allclose(call["pad"], [0.5, 0.25, -0.5])
    assert call["strength"] == pytest.approx(0.5)


def test_apply_twice_starts_from_source(rig, emotion_ops, fake_pipeline) -> None:
    source = rig.animation_data.action
    bpy.ops.emotion_motion.set_emotion(emotion='happy')
    bpy.ops.emotion_motion.apply()
    bpy.ops.emotion_motion.set_emotion(emotion='angry')
    bpy.ops.emotion_motion.apply()
    assert rig.animation_data.action.name == f"{source.name}_angry"
    assert rig.emotion_motion.source_action == source


def test_revert_assigns_source(rig, emotion_ops, fake_pipeline) -> None:
    source = rig.animation_data.action
    source_keys = action_keys(emotion_ops, rig, source)
    bpy.ops.emotion_motion.apply()
    assert bpy.ops.emotion_motion.revert() == {'FINISHED'}
    assert rig.animation_data.action == source
    assert rig.emotion_motion.source_action is None
    assert_same_keys(source_keys, action_keys(emotion_ops, rig, source))
    assert not bpy.ops.emotion_motion.revert.poll()


def _lengthen_results(fake_pipeline: FakePipeline, monkeypatch: pytest.MonkeyPatch, extra_frames: int) -> None:
    """Make the stand-in pipeline return results ``extra_frames`` longer than the source, with their time map."""
    real_apply = fake_pipeline.apply_emotion

    def slower(motion, *args, **kwargs):
        result, report = real_apply(motion, *args, **kwargs)
        frames = np.linspace(0.0, motion.frame_count - 1, motion.frame_count + extra_frames)
        report["time_map"] = frames.tolist()
        return result.sample(frames), report

    monkeypatch.setattr(fake_pipeline, "apply_emotion", slower)


def test_apply_scene_range_follows_clip(rig, emotion_ops, fake_pipeline, monkeypatch) -> None:
    scene = bpy.context.scene
    source = rig.animation_data.action
    scene.frame_start, scene.frame_end = (int(round(frame)) for frame in source.frame_range)
    _lengthen_results(fake_pipeline, monkeypatch, extra_frames=20)
    assert bpy.ops.emotion_motion.apply() == {'FINISHED'}
    assert scene.frame_end - scene.frame_start + 1 == CLIP_FRAMES + 20
    assert bpy.ops.emotion_motion.revert() == {'FINISHED'}
    assert scene.frame_end - scene.frame_start + 1 == CLIP_FRAMES


def test_apply_extends_short_scene_range(rig, emotion_ops, fake_pipeline, monkeypatch) -> None:
    scene = bpy.context.scene
    source = rig.animation_data.action
    start = int(round(source.frame_range[0]))
    # The scene ends later than the source but before the longer result.
    scene.frame_start, scene.frame_end = start, start + CLIP_FRAMES + 4
    _lengthen_results(fake_pipeline, monkeypatch, extra_frames=20)
    assert bpy.ops.emotion_motion.apply() == {'FINISHED'}
    assert scene.frame_start == start
    assert scene.frame_end == int(round(rig.animation_data.action.frame_range[1]))
    assert scene.frame_end == start + CLIP_FRAMES + 19
    assert bpy.ops.emotion_motion.revert() == {'FINISHED'}
    assert (scene.frame_start, scene.frame_end) == (start, start + CLIP_FRAMES + 4)


def test_apply_shorter_result_no_dropped_keys_warning(rig, emotion_ops, fake_pipeline, monkeypatch,
                                                      caplog) -> None:
    real_apply = fake_pipeline.apply_emotion

    def faster(motion, *args, **kwargs):
        result, report = real_apply(motion, *args, **kwargs)
        frames = np.linspace(0.0, motion.frame_count - 1, motion.frame_count - 20)
        report["time_map"] = frames.tolist()
        return result.sample(frames), report

    monkeypatch.setattr(fake_pipeline, "apply_emotion", faster)
    with caplog.at_level("WARNING", logger="emotion_motion.operators.action_io"):
        assert bpy.ops.emotion_motion.apply() == {'FINISHED'}
    assert rig.animation_data.action.frame_range[1] - rig.animation_data.action.frame_range[0] + 1 == CLIP_FRAMES - 20
    assert "lie outside frames" not in caplog.text


def test_apply_keeps_pipeline_warnings(rig, emotion_ops, fake_pipeline, monkeypatch) -> None:
    real_apply = fake_pipeline.apply_emotion
    warning = "the estimated PAD moved away from the target (0.62 -> 0.70)"

    def doubtful(motion, *args, **kwargs):
        result, report = real_apply(motion, *args, **kwargs)
        report["warnings"] = [warning]
        return result, report

    monkeypatch.setattr(fake_pipeline, "apply_emotion", doubtful)
    result = emotion_ops.apply_to_armature(rig, pad=(0.76, 0.48, 0.35))
    assert result.warnings == [warning]
    assert "result looks 'calm'" in result.summary
    assert f"WARNING: {warning}" in rig.emotion_motion.last_report


def test_undo_restores_source(rig, emotion_ops, fake_pipeline) -> None:
    rig_name = rig.name
    source_name = rig.animation_data.action.name
    actions_before = {action.name for action in bpy.data.actions}
    bpy.ops.ed.undo_push(message="before Apply Emotion")
    assert bpy.ops.emotion_motion.apply() == {'FINISHED'}
    # The user interface pushes an undo step after an operator with UNDO; a script must push it.
    bpy.ops.ed.undo_push(message="Apply Emotion")
    assert bpy.data.objects[rig_name].animation_data.action.name == f"{source_name}_normal"

    assert bpy.ops.ed.undo() == {'FINISHED'}

    # Undo reloads the data-blocks, so the objects are looked up again by name.
    assert bpy.data.objects[rig_name].animation_data.action.name == source_name
    assert {action.name for action in bpy.data.actions} == actions_before


def test_analyze_stores_results(rig, emotion_ops, fake_pipeline) -> None:
    assert bpy.ops.emotion_motion.analyze() == {'FINISHED'}
    settings = rig.emotion_motion
    assert settings.has_analysis
    assert settings.nearest_emotion == "calm"
    assert settings.analyzed_action == rig.animation_data.action.name
    assert (settings.estimated_pleasure, settings.estimated_arousal) == pytest.approx((0.1, -0.2))
    assert [feature.name for feature in settings.features] == ["extent", "tempo"]
    assert fake_pipeline.analyze_options == [{"model_directory": None}]


def test_apply_keyed_pad_per_frame(rig, emotion_ops, fake_pipeline) -> None:
    settings = rig.emotion_motion
    start = int(rig.animation_data.action.frame_range[0])
    settings.pleasure = -0.5
    settings.keyframe_insert("pleasure", frame=start)
    settings.pleasure = 0.5
    settings.keyframe_insert("pleasure", frame=start + CLIP_FRAMES - 1)
    settings.arousal = 0.25

    assert bpy.ops.emotion_motion.apply() == {'FINISHED'}

    pad = fake_pipeline.calls[-1]["pad"]
    assert pad.shape == (CLIP_FRAMES, 3)
    assert pad[0, 0] == pytest.approx(-0.5)
    assert pad[-1, 0] == pytest.approx(0.5)
    np.testing.assert_allclose(pad[:, 1], 0.25)
    assert rig.animation_data.action.name.endswith("_keyed")
    # The new action keeps the emotion keys, so the sliders go on following them.
    new_keys = action_keys(emotion_ops, rig, rig.animation_data.action)
    assert ("emotion_motion.pleasure", 0) in new_keys


def test_preset_sets_sliders(rig, package) -> None:
    emotions = importlib.import_module("emotion_motion.models.emotions")
    properties = importlib.import_module("emotion_motion.operators.properties")
    settings = rig.emotion_motion
    for name in PRESETS:
        assert bpy.ops.emotion_motion.set_emotion(emotion=name) == {'FINISHED'}
        assert properties.settings_pad(settings) == pytest.approx(emotions.EMOTIONS[name].pad, abs=1e-6)
        assert properties.matching_preset(settings) == name
    settings.pleasure = 0.123
    assert properties.matching_preset(settings) == ""


# Every failure reports an error and changes nothing


def test_apply_without_action_fails_poll(rig, package) -> None:
    rig.animation_data.action = None
    assert not bpy.ops.emotion_motion.apply.poll()
    with pytest.raises(RuntimeError, match="poll"):
        bpy.ops.emotion_motion.apply()


def test_apply_missing_roles_reports(rig, emotion_ops, fake_pipeline) -> None:
    before = snapshot(emotion_ops, rig)
    bpy.ops.emotion_motion.detect_bones()
    item = next(item for item in rig.emotion_motion.bone_map if item.role == "left_hand")
    item.bone = ""
    properties = importlib.import_module("emotion_motion.operators.properties")
    assert properties.role_source(item) == "user"
    assert properties.bone_map_overrides(rig.emotion_motion) == {"left_hand": None}

    apply_fails(r"no bone for left_hand.*Bone Map panel")

    assert_untouched(emotion_ops, rig, before)
    assert not fake_pipeline.calls


def test_analyze_missing_roles_reports(rig, emotion_ops, fake_pipeline) -> None:
    bpy.ops.emotion_motion.detect_bones()
    item = next(item for item in rig.emotion_motion.bone_map if item.role == "right_foot")
    item.bone = ""
    with pytest.raises(RuntimeError, match=r"no bone for right_foot"):
        bpy.ops.emotion_motion.analyze()
    assert not rig.emotion_motion.has_analysis


def test_apply_constraint_reports(rig, emotion_ops, fake_pipeline) -> None:
    rig.pose.bones["Spine"].constraints.new('COPY_ROTATION')
    before = snapshot(emotion_ops, rig)
    apply_fails(r"constraints or drivers.*'Spine'")
    assert_untouched(emotion_ops, rig, before)


def test_apply_nan_key_reports(rig, emotion_ops, fake_pipeline) -> None:
    compat = importlib.import_module("emotion_motion.operators.action_compat")
    action = rig.animation_data.action
    fcurve = next(f for f in compat.action_fcurves(action, compat.find_slot(action, rig)) if "Spine" in f.data_path)
    fcurve.keyframe_points[5].co.y = float("nan")
    before = snapshot(emotion_ops, rig)
    apply_fails(r"NaN or infinite value")
    assert_untouched(emotion_ops, rig, before)


def test_apply_keyed_pad_out_of_range_reports(rig, emotion_ops, fake_pipeline) -> None:
    settings = rig.emotion_motion
    settings.keyframe_insert("dominance", frame=int(rig.animation_data.action.frame_range[0]))
    compat = importlib.import_module("emotion_motion.operators.action_compat")
    action = rig.animation_data.action
    fcurve = next(f for f in compat.action_fcurves(action, compat.find_slot(action, rig))
                  if f.data_path == "emotion_motion.dominance")
    fcurve.keyframe_points[0].co.y = 1.5
    before = snapshot(emotion_ops, rig)
    apply_fails(r"dominance is outside \[-1, 1\]|1.5 for dominance is outside")
    assert_untouched(emotion_ops, rig, before)


def test_apply_linked_action_reports(rig, emotion_ops, fake_pipeline, tmp_path: Path) -> None:
    library = tmp_path / "library.blend"
    source_name = rig.animation_data.action.name
    bpy.data.libraries.write(str(library), {rig.animation_data.action})
    with bpy.data.libraries.load(str(library), link=True) as (data_from, data_to):
        data_to.actions = [source_name]
    linked = data_to.actions[0]
    assert linked.library is not None
    compat = importlib.import_module("emotion_motion.operators.action_compat")
    compat.assign_action(rig, linked)
    before = snapshot(emotion_ops, rig)
    apply_fails(r"linked from library")
    assert_untouched(emotion_ops, rig, before)


def test_apply_model_failure_reports(rig, emotion_ops, fake_pipeline, monkeypatch) -> None:
    runtime = importlib.import_module("emotion_motion.models.runtime")

    def missing_model(*args, **kwargs):
        raise runtime.ModelError("Model file models/pad_to_features.onnx not found; reinstall the extension")

    monkeypatch.setattr(fake_pipeline, "apply_emotion", missing_model)
    before = snapshot(emotion_ops, rig)
    apply_fails(r"emotion models could not be loaded.*pad_to_features.onnx not found")
    assert_untouched(emotion_ops, rig, before)


def test_apply_write_failure_restores(rig, emotion_ops, fake_pipeline, monkeypatch) -> None:
    action_io = importlib.import_module("emotion_motion.operators.action_io")
    real_write = action_io.write_armature_motion

    def write_then_fail(*args, **kwargs):
        real_write(*args, **kwargs)
        raise RuntimeError("simulated failure after the new action was assigned")

    monkeypatch.setattr(action_io, "write_armature_motion", write_then_fail)
    before = snapshot(emotion_ops, rig)
    apply_fails(r"internal error")
    assert_untouched(emotion_ops, rig, before)
    assert rig.emotion_motion.source_action is None


# Bone map


def test_detect_bones_fills_map(rig, package) -> None:
    assert bpy.ops.emotion_motion.detect_bones() == {'FINISHED'}
    mapping = {item.role: item.bone for item in rig.emotion_motion.bone_map}
    assert mapping["pelvis"] == "Hips"
    assert mapping["left_hand"] == "Hand_L"
    assert mapping["right_shin"] == "LowerLeg_R"
    assert {item.detected_by for item in rig.emotion_motion.bone_map if item.bone} <= {"name", "hierarchy"}


def test_bone_map_save_load_round_trip(rig, package, tmp_path: Path) -> None:
    path = tmp_path / "walk_bones.json"
    bpy.ops.emotion_motion.detect_bones()
    assert bpy.ops.emotion_motion.save_bone_map(filepath=str(path)) == {'FINISHED'}
    saved = {item.role: item.bone for item in rig.emotion_motion.bone_map if item.bone}

    rig.emotion_motion.bone_map.clear()
    assert bpy.ops.emotion_motion.load_bone_map(filepath=str(path)) == {'FINISHED'}

    loaded = {item.role: item.bone for item in rig.emotion_motion.bone_map if item.bone}
    assert loaded == saved
    assert {item.detected_by for item in rig.emotion_motion.bone_map if item.bone} == {"file"}


def test_load_bone_map_unknown_bone(rig, package, tmp_path: Path) -> None:
    path = tmp_path / "other_rig.json"
    path.write_text('{"left_hand": "mixamorig:LeftHand"}', encoding="utf-8")
    with pytest.raises(RuntimeError, match=r"mixamorig:LeftHand"):
        bpy.ops.emotion_motion.load_bone_map(filepath=str(path))
    assert len(rig.emotion_motion.bone_map) == 0


# Panels


class RecordingLayout:
    """Stand-in for ``UILayout`` that checks every property and operator a panel draws."""

    def __init__(self) -> None:
        self.drawn: list[str] = []

    def __getattr__(self, name):
        # Attributes such as use_property_split, scale_y, alert, active and enabled.
        return None

    def __setattr__(self, name, value) -> None:
        object.__setattr__(self, name, value)

    def _child(self, *args, **kwargs) -> RecordingLayout:
        child = RecordingLayout()
        child.drawn = self.drawn
        return child

    row = column = box = split = grid_flow = _child

    def prop(self, data, name, **kwargs) -> None:
        assert name in data.bl_rna.properties, f"{data.bl_rna.identifier} has no property {name!r}"
        self.drawn.append(name)

    def prop_search(self, data, name, search_data, search_name, **kwargs) -> None:
        assert name in data.bl_rna.properties
        assert search_name in search_data.bl_rna.properties
        self.drawn.append(name)

    def operator(self, idname, **kwargs) -> None:
        category, name = idname.split(".")
        assert hasattr(getattr(bpy.ops, category), name), f"operator {idname} is not registered"
        self.drawn.append(idname)

    def operator_menu_enum(self, idname, property_name, **kwargs) -> None:
        self.operator(idname)
        category, name = idname.split(".")
        operator_type = getattr(getattr(bpy.ops, category), name).get_rna_type()
        assert property_name in operator_type.properties, f"operator {idname} has no property {property_name!r}"

    def label(self, **kwargs) -> None:
        self.drawn.append("label")


@pytest.mark.parametrize("panel_name", ["VIEW3D_PT_emotion_motion", "VIEW3D_PT_emotion_motion_bone_map"])
def test_panel_draws_known_properties(rig, emotion_ops, fake_pipeline, panel_name: str) -> None:
    panel_module = importlib.import_module("emotion_motion.operators.panel")
    panel = getattr(panel_module, panel_name)
    bpy.ops.emotion_motion.detect_bones()
    bpy.ops.emotion_motion.analyze()
    layout = RecordingLayout()
    fake_self = types.SimpleNamespace(layout=layout)
    panel.draw(fake_self, bpy.context)
    assert layout.drawn
    if panel_name == "VIEW3D_PT_emotion_motion":
        assert {"emotion_motion.apply", "emotion_motion.analyze", "emotion_motion.revert"} <= set(layout.drawn)
        assert {"pleasure", "arousal", "dominance", "strength", "emotion_motion.set_emotion"} <= set(layout.drawn)
    else:
        assert layout.drawn.count("bone") == len(rig.emotion_motion.bone_map)


# The real pipeline


@pytest.mark.parametrize("preset", PRESETS)
def test_preset_moves_estimate_toward_target(rig, emotion_ops, preset: str) -> None:
    emotions = importlib.import_module("emotion_motion.models.emotions")
    target = emotions.EMOTIONS[preset].pad
    source = rig.animation_data.action
    source_keys = action_keys(emotion_ops, rig, source)
    assert bpy.ops.emotion_motion.analyze() == {'FINISHED'}
    settings = rig.emotion_motion
    before = (settings.estimated_pleasure, settings.estimated_arousal, settings.estimated_dominance)

    bpy.ops.emotion_motion.set_emotion(emotion=preset)
    assert bpy.ops.emotion_motion.apply() == {'FINISHED'}
    assert rig.animation_data.action.name == f"{source.name}_{preset}"
    assert_same_keys(source_keys, action_keys(emotion_ops, rig, source))

    assert bpy.ops.emotion_motion.analyze() == {'FINISHED'}
    after = (settings.estimated_pleasure, settings.estimated_arousal, settings.estimated_dominance)
    assert pad_distance(after, target) < pad_distance(before, target), (
        f"{preset}: estimate {before} -> {after} did not move toward {target}"
    )
