"""Operators that apply an emotion to an armature's action, analyse it and undo the change.

Every operator leaves the blend-file data as it found it when it fails: Apply builds the
new action completely before it assigns it, and deletes it again if anything after its
creation raises. The source action is never written to.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import bpy
import numpy as np
from bpy.props import BoolProperty, EnumProperty, FloatProperty, StringProperty
from bpy.types import Action, Context, Object, Operator
from bpy_extras.io_utils import ExportHelper, ImportHelper

from ..models import pipeline
from ..models.emotions import AXES, EMOTIONS, nearest_emotion, validate_pad
from ..models.runtime import ModelError
from ..synthesis import roles
from ..synthesis.skeleton import Motion, MotionError, Skeleton
from . import action_compat, action_io
if TYPE_CHECKING:
    from bpy.stub_internal.rna_enums import OperatorReturnItems

from .properties import (
    OVERRIDE_SOURCES,
    PRESET_ITEMS,
    EmotionMotionSettings,
    bone_map_overrides,
    emotion_settings,
    pad_matches_preset,
    role_source,
    set_bone_map,
    settings_pad,
)

__all__ = [
    "EMOTION_MOTION_OT_set_emotion",
    "EMOTION_MOTION_OT_apply",
    "EMOTION_MOTION_OT_analyze",
    "EMOTION_MOTION_OT_revert",
    "EMOTION_MOTION_OT_detect_bones",
    "EMOTION_MOTION_OT_save_bone_map",
    "EMOTION_MOTION_OT_load_bone_map",
    "SOURCE_ACTION_KEY",
    "ApplyResult",
    "apply_to_armature",
    "analyze_armature",
    "keyframed_pad",
    "resolve_bone_map",
    "register",
    "unregister",
]

log = logging.getLogger(__name__)

SOURCE_ACTION_KEY = "emotion_motion_source"
"""Custom property on an action made by Apply: the name of the action it was made from."""

TOP_FEATURE_COUNT = 5
"""Number of driving features the analysis keeps for the panel."""

# Errors that mean the user's data or settings cannot be processed as they are. Anything
# else is an internal error, reported as such and logged with its traceback.
INPUT_ERRORS: tuple[type[Exception], ...] = (
    action_io.ArmatureError,
    roles.MissingRolesError,
    MotionError,
    ValueError,
)


def active_armature(context: Context) -> Object | None:
    """Return the active object when it is an armature, else None."""
    obj = context.active_object
    if obj is None or obj.type != 'ARMATURE':
        return None
    return obj


def assigned_action(obj: Object) -> Action | None:
    animation_data = obj.animation_data
    return None if animation_data is None else animation_data.action


def poll_armature_with_action(operator: type[Operator], context: Context) -> bool:
    """Poll shared by Apply and Analyze, with a poll message that names what is missing."""
    obj = active_armature(context)
    if obj is None:
        operator.poll_message_set("Select an armature object (the active object is not an armature)")
        return False
    if assigned_action(obj) is None:
        operator.poll_message_set(f"Armature {obj.name!r} has no action; assign or import an animation first")
        return False
    return True


def keyframed_pad(obj: Object, action: Action, frames: np.ndarray) -> np.ndarray | None:
    """Sample the object's keyed pleasure, arousal and dominance at ``frames``.

    Returns ``(frames, 3)`` when at least one of the three properties has an F-curve in
    ``action`` (for the object's slot), None when none has. An axis without an F-curve
    takes the slider's current value on every frame.

    NOTE: drivers and NLA strips on the three properties are not evaluated here.
    """
    settings = emotion_settings(obj)
    slot = action_compat.find_slot(action, obj)
    curves = {}
    for fcurve in action_compat.action_fcurves(action, slot):
        prefix, _, axis = fcurve.data_path.rpartition(".")
        if prefix == "emotion_motion" and axis in AXES and not fcurve.mute:
            curves[axis] = fcurve
    if not curves:
        return None
    values = np.empty((len(frames), 3))
    for column, axis in enumerate(AXES):
        axis_curve = curves.get(axis)
        if axis_curve is None:
            values[:, column] = getattr(settings, axis)
            continue
        values[:, column] = [axis_curve.evaluate(float(frame)) for frame in frames]
    return values


def resolve_bone_map(obj: Object, skeleton: Skeleton, settings: EmotionMotionSettings) -> roles.BoneMap:
    """Detect the bone roles of ``skeleton``, keeping the overrides made by hand or loaded in ``settings``.

    The panel's bone map is updated with what was found, also when roles are missing, so
    the Bone Map panel shows which ones to fill in.

    Raises
    ------
    roles.MissingRolesError
        When a required role has no bone.
    ValueError
        When an override names a bone that the armature does not have.
    """
    overrides = bone_map_overrides(settings)
    for role, bone in overrides.items():
        if bone is not None and bone not in skeleton.names:
            raise ValueError(
                f"Bone map of armature {obj.name!r} maps role {role!r} to bone {bone!r}, which the armature does "
                "not have; pick another bone in the Emotion > Bone Map panel"
            )
    bone_map = roles.detect_roles(skeleton, bone_map=overrides or None, required=())
    store_bone_map(settings, bone_map)
    missing = bone_map.missing()
    if missing:
        raise roles.MissingRolesError(missing, bone_map.unassigned_names(), skeleton_label=f"Armature {obj.name!r}")
    return bone_map


def store_bone_map(settings: EmotionMotionSettings, bone_map: roles.BoneMap) -> None:
    """Show ``bone_map`` in the Bone Map panel.

    Roles that came from the overrides keep the panel's label (``user`` or ``file``);
    the others show how detection found them (``name`` or ``hierarchy``).
    """
    previous = {item.role: role_source(item) for item in settings.bone_map}
    labels = {}
    for role in roles.ROLES:
        method = bone_map.detected_by.get(role)
        if method is None or method == "explicit":
            # Roles set, or kept empty, by an override keep the override's label.
            if previous.get(role) in OVERRIDE_SOURCES:
                labels[role] = previous[role]
            else:
                labels[role] = "user" if method else ""
        else:
            labels[role] = method
    set_bone_map(settings, bone_map.to_dict(), labels)


def missing_roles_message(obj: Object, error: roles.MissingRolesError) -> str:
    return (
        f"Armature {obj.name!r} has no bone for {', '.join(error.missing)}. Map them in the Emotion > Bone Map "
        "panel (or load a bone-map preset) and try again"
    )


def store_analysis(settings: EmotionMotionSettings, analysis: dict, action_name: str) -> None:
    """Copy an ``analyze_motion`` result (or the result part of an Apply report) into the panel."""
    pad = [float(value) for value in analysis["pad"]]
    settings.estimated_pleasure, settings.estimated_arousal, settings.estimated_dominance = pad
    settings.nearest_emotion = str(analysis.get("emotion") or nearest_emotion(np.clip(pad, -1.0, 1.0)))
    settings.analyzed_action = action_name
    settings.has_analysis = True
    settings.features.clear()
    for name, value, influence in driving_features(analysis)[:TOP_FEATURE_COUNT]:
        item = settings.features.add()
        item.name = name
        item.value = value
        item.influence = influence


def driving_features(analysis: dict) -> list[tuple[str, float, float]]:
    """Return ``(name, value, influence)`` per feature, the features that drive the estimate most first.

    The influence is the analysis's ``influence`` entry (feature name to number) when the
    pipeline provides one. Otherwise it is the feature's standardised value (``z_scores``),
    and without either it is the raw value.
    """
    features: dict[str, float] = {name: float(value) for name, value in analysis.get("features", {}).items()}
    weights = analysis.get("influence") or analysis.get("z_scores") or {}
    rows = []
    for name, value in features.items():
        influence = float(weights.get(name, value))
        if not math.isfinite(influence):
            influence = 0.0
        rows.append((name, value, influence))
    rows.sort(key=lambda row: abs(row[2]), reverse=True)
    return rows


def emotion_label(pad: np.ndarray, animated: bool) -> str:
    """Name the applied emotion for messages and the new action's name."""
    if animated:
        return "keyed"
    triple = (float(pad[0]), float(pad[1]), float(pad[2]))
    for name in EMOTIONS:
        if pad_matches_preset(triple, name):
            return name
    return f"{nearest_emotion(triple)}-like"


def format_pad(pad) -> str:
    return "(" + ", ".join(f"{float(value):+.2f}" for value in pad) + ")"


def copy_pad_curves(obj: Object, source: Action, target: Action) -> None:
    """Copy the keys of the object's PAD F-curves from ``source`` to ``target``.

    The new action replaces the source on the object, and without these curves the keyed
    emotion would disappear from the sliders.
    """
    source_slot = action_compat.find_slot(source, obj)
    target_slot = action_compat.find_slot(target, obj)
    for fcurve in action_compat.action_fcurves(source, source_slot):
        if not fcurve.data_path.startswith("emotion_motion."):
            continue
        copy = action_compat.ensure_fcurve(target, target_slot, fcurve.data_path, fcurve.array_index, "Emotion")
        copy.keyframe_points.clear()
        copy.keyframe_points.add(len(fcurve.keyframe_points))
        for key, source_key in zip(copy.keyframe_points, fcurve.keyframe_points):
            key.co = source_key.co
            key.interpolation = source_key.interpolation
            key.handle_left_type = source_key.handle_left_type
            key.handle_right_type = source_key.handle_right_type
            key.handle_left = source_key.handle_left
            key.handle_right = source_key.handle_right
        copy.update()


class ProgressReporter:
    """Forward pipeline progress (a fraction from 0 to 1) to the window manager's progress cursor."""

    def __init__(self, context: Context) -> None:
        self.window_manager = context.window_manager
        self.window_manager.progress_begin(0, 100)

    def __call__(self, fraction: float, message: str = "") -> None:
        self.window_manager.progress_update(int(round(100 * min(max(fraction, 0.0), 1.0))))
        if message:
            log.debug("progress %.0f%%: %s", 100 * fraction, message)

    def end(self) -> None:
        self.window_manager.progress_end()


@dataclass
class ApplyResult:
    """Result of :func:`apply_to_armature`."""

    action: Action
    """The new action, assigned to the armature."""
    source: Action
    """The action the edit started from."""
    label: str
    """Emotion name used in messages and in the action name."""
    report: dict
    """The pipeline's ``apply_emotion`` report."""
    summary: str
    """One-line result for the status bar."""
    warnings: list[str]
    """Reasons to doubt the result, such as an estimated PAD that did not get closer to the target."""


def source_action(obj: Object, from_source: bool) -> Action:
    """Return the action to edit: the assigned one, or with ``from_source`` the source of an Apply result."""
    action = assigned_action(obj)
    assert action is not None
    try:
        source_name = action[SOURCE_ACTION_KEY]
    except KeyError:
        source_name = None
    if from_source and source_name:
        source = bpy.data.actions.get(source_name)
        if source is not None and source != action:
            return source
        log.warning("Action %r names source action %r, which no longer exists; editing it as it is",
                    action.name, source_name)
    return action


def target_pad(obj: Object, action: Action, frames: np.ndarray, pad: tuple[float, float, float] | None,
               use_keyframed_pad: bool) -> tuple[np.ndarray, bool]:
    """Return the target PAD, ``(3,)`` or ``(frames, 3)``, and whether it follows keys.

    ``pad`` None means the armature's sliders. Keys on the sliders win when
    ``use_keyframed_pad`` is set. Raises ``ValueError`` naming the axis and frame of a
    value outside [-1, 1].
    """
    keyed = keyframed_pad(obj, action, frames) if use_keyframed_pad else None
    if keyed is None:
        values = settings_pad(emotion_settings(obj)) if pad is None else pad
        return np.array(validate_pad(values, name=f"Armature {obj.name!r} PAD")), False
    for frame, row in zip(frames, keyed):
        validate_pad(row, name=f"Keyed PAD of armature {obj.name!r} at frame {frame:g}")
    return keyed, True


def apply_to_armature(
    obj: Object,
    pad: tuple[float, float, float] | None = None,
    strength: float | None = None,
    use_keyframed_pad: bool = True,
    progress: Callable[[float, str], None] | None = None,
    model_directory: str | None = None,
) -> ApplyResult:
    """Apply an emotion to the action of armature ``obj`` and assign the result as a new action.

    The options (hand-placed keys, planted feet, start from source) and the bone-map
    overrides come from ``obj.emotion_motion``; ``pad`` and ``strength`` None take the
    panel's values. ``model_directory`` None uses the bundled models. The new action is named ``<source>_<emotion>`` and the source keeps a
    fake user. On failure nothing changes: the exception propagates and the assigned
    action stays as it was.
    """
    settings = emotion_settings(obj)

    def report_progress(fraction: float, message: str = "") -> None:
        if progress is not None:
            progress(fraction, message)

    def pipeline_progress(fraction: float, message: str = "") -> None:
        report_progress(0.05 + 0.85 * fraction, message)

    strength = settings.strength if strength is None else float(strength)
    if not (math.isfinite(strength) and 0.0 <= strength <= 1.0):
        raise ValueError(f"strength {strength:g} is outside [0, 1]")

    assigned = action_io.validate_armature_action(obj)
    source = source_action(obj, settings.from_source)
    if source != assigned:
        action_io.check_action_editable(obj, source)
        action_io.check_finite_keys(source, action_io.require_bone_channels(obj, source))

    motion, bone_keys = action_io.read_armature_motion(obj, source)
    report_progress(0.05, "read action")
    frames = np.arange(bone_keys.frame_start, bone_keys.frame_end + 1, dtype=np.float64)
    pad_values, animated = target_pad(obj, assigned, frames, pad, use_keyframed_pad)
    bone_map = resolve_bone_map(obj, motion.skeleton, settings)

    options = {
        "keep_planted_feet": settings.keep_planted_feet,
        "progress": pipeline_progress,
        "model_directory": model_directory,
    }
    result, report = pipeline.apply_emotion(motion, bone_map, pad_values, strength=strength, options=options)
    report_progress(0.9, "write action")

    label = emotion_label(pad_values, animated)
    key_frames = retimed_keys(bone_keys, motion, result, report) if settings.keep_hand_keys else None
    source_frames = (float(bone_keys.frame_start), float(bone_keys.frame_end))
    new_action = write_result_action(obj, source, assigned, result, f"{source.name}_{label}", key_frames,
                                     source_frames)
    follow_frame_range(obj, assigned, new_action)
    extend_frame_range(obj, new_action)
    settings.source_action = source
    summary = summarize(label, strength, report)
    warnings = [str(text) for text in report.get("warnings", [])]
    settings.last_report = " ".join([summary, *(f"WARNING: {text}." for text in warnings)])
    store_analysis(settings, result_analysis(report), new_action.name)
    report_progress(1.0, "done")
    return ApplyResult(action=new_action, source=source, label=label, report=report, summary=summary,
                       warnings=warnings)


def analyze_armature(obj: Object, model_directory: str | None = None) -> dict:
    """Estimate the PAD of the action that armature ``obj`` plays; store and return the analysis.

    ``model_directory`` None uses the bundled models.
    """
    settings = emotion_settings(obj)
    action = action_io.validate_armature_action(obj)
    motion, _bone_keys = action_io.read_armature_motion(obj, action)
    bone_map = resolve_bone_map(obj, motion.skeleton, settings)
    analysis = pipeline.analyze_motion(motion, bone_map, options={"model_directory": model_directory})
    store_analysis(settings, analysis, action.name)
    return analysis


def write_result_action(obj: Object, source: Action, assigned: Action, result: Motion, name: str,
                        key_frames: action_io.BoneKeys | None,
                        source_frames: tuple[float, float] | None = None) -> Action:
    """Write ``result`` into a new action and assign it; on any failure restore the old state.

    ``source_frames`` is the first and last frame of ``source`` that the motion was read from.
    """
    known_actions = set(bpy.data.actions)
    had_fake_user = source.use_fake_user
    try:
        new_action = action_io.write_armature_motion(obj, result, source, name, key_frames=key_frames,
                                                     source_frames=source_frames)
        new_action[SOURCE_ACTION_KEY] = source.name
        if source != assigned:
            # The keyed emotion lives in the assigned action; the copy of the source has older keys.
            copy_pad_curves(obj, assigned, new_action)
    except BaseException:
        if assigned_action(obj) != assigned:
            action_compat.assign_action(obj, assigned)
        for action in set(bpy.data.actions) - known_actions:
            bpy.data.actions.remove(action)
        source.use_fake_user = had_fake_user
        raise
    return new_action


class PADOperatorMixin:
    """Redo-panel properties shared by Apply: the target emotion and strength."""

    pleasure: FloatProperty(name="Pleasure", min=-1.0, max=1.0, options={'SKIP_SAVE'},
                            description="Pleasure of the target emotion; unset takes the armature's slider")
    arousal: FloatProperty(name="Arousal", min=-1.0, max=1.0, options={'SKIP_SAVE'},
                           description="Arousal of the target emotion; unset takes the armature's slider")
    dominance: FloatProperty(name="Dominance", min=-1.0, max=1.0, options={'SKIP_SAVE'},
                             description="Dominance of the target emotion; unset takes the armature's slider")
    strength: FloatProperty(name="Strength", min=0.0, max=1.0, subtype='FACTOR', options={'SKIP_SAVE'},
                            description="How far to move toward the target features; unset takes the panel's value")


class EMOTION_MOTION_OT_apply(PADOperatorMixin, Operator):
    """Edit the active armature's animation so it shows the chosen emotion, as a new action"""

    bl_idname = "emotion_motion.apply"
    bl_label = "Apply Emotion"
    bl_options = {'REGISTER', 'UNDO'}

    use_keyframed_pad: BoolProperty(
        name="Use Keyed Emotion",
        description="When pleasure, arousal or dominance are keyed on the armature, follow the keys over the clip "
        "instead of the constant values above",
        default=True,
        options={'SKIP_SAVE'},
    )

    @classmethod
    def poll(cls, context: Context) -> bool:
        return poll_armature_with_action(cls, context)

    def draw(self, context: Context) -> None:
        layout = self.layout
        layout.use_property_split = True
        obj = active_armature(context)
        action = assigned_action(obj) if obj is not None else None
        keyed = obj is not None and action is not None and keyframed_pad(obj, action, np.zeros(1)) is not None
        if keyed:
            layout.prop(self, "use_keyframed_pad")
        column = layout.column()
        column.active = not (keyed and self.use_keyframed_pad)
        for axis in AXES:
            column.prop(self, axis)
        layout.prop(self, "strength")

    def _fill_from_settings(self, settings: EmotionMotionSettings) -> None:
        # Values passed to the operator (or changed in the redo panel) win over the panel's.
        for name in (*AXES, "strength"):
            if not self.properties.is_property_set(name):
                setattr(self, name, getattr(settings, name))

    def execute(self, context: Context) -> set[OperatorReturnItems]:
        obj = active_armature(context)
        assert obj is not None
        settings = emotion_settings(obj)
        self._fill_from_settings(settings)
        progress = ProgressReporter(context)
        try:
            result = apply_to_armature(
                obj,
                pad=(self.pleasure, self.arousal, self.dominance),
                strength=self.strength,
                use_keyframed_pad=self.use_keyframed_pad,
                progress=progress,
            )
            self.report({'INFO'}, result.summary)
            for warning in result.warnings:
                self.report({'WARNING'}, f"Apply Emotion on {obj.name!r}: {warning}")
            return {'FINISHED'}
        except roles.MissingRolesError as error:
            self.report({'ERROR'}, missing_roles_message(obj, error))
        except INPUT_ERRORS as error:
            self.report({'ERROR'}, f"Apply Emotion on {obj.name!r}: {error}")
        except ModelError as error:
            log.error("Apply Emotion could not load the emotion models: %s", error)
            self.report({'ERROR'}, f"Apply Emotion: the bundled emotion models could not be loaded. {error}")
        except Exception as error:  # noqa: BLE001 - the UI must not lose an unexpected failure
            log.exception("Apply Emotion failed on armature %r", obj.name)
            self.report({'ERROR'}, f"Apply Emotion on {obj.name!r} failed with an internal error: {error!r}; "
                                   "the system console has the traceback")
        finally:
            progress.end()
        return {'CANCELLED'}

def follow_frame_range(obj: Object, old: Action, new: Action) -> None:
    """Set the scene's frame range to ``new``'s when it was exactly ``old``'s.

    A timing edit makes the clip shorter or longer. A scene range that the user set to
    something else is left alone.
    """
    old_range = (int(round(old.frame_range[0])), int(round(old.frame_range[1])))
    new_range = (int(round(new.frame_range[0])), int(round(new.frame_range[1])))
    for scene in obj.users_scene:
        if (scene.frame_start, scene.frame_end) == old_range:
            scene.frame_start, scene.frame_end = new_range


def extend_frame_range(obj: Object, action: Action) -> None:
    """Extend the end of each scene's frame range to the last frame of ``action`` when the action is longer.

    The first extension stores the scene's range on the armature, so Revert restores it.
    """
    settings = emotion_settings(obj)
    action_end = int(math.ceil(action.frame_range[1] - 1e-6))
    for scene in obj.users_scene:
        if scene.frame_end >= action_end:
            continue
        if not settings.scene_range_extended:
            settings.scene_frame_range = (scene.frame_start, scene.frame_end)
            settings.scene_range_extended = True
        scene.frame_end = action_end


def restore_frame_range(obj: Object) -> None:
    """Restore the scene frame range stored by :func:`extend_frame_range`, if any."""
    settings = emotion_settings(obj)
    if not settings.scene_range_extended:
        return
    start, end = settings.scene_frame_range
    for scene in obj.users_scene:
        scene.frame_start, scene.frame_end = start, end
    settings.scene_range_extended = False


def retimed_keys(bone_keys: action_io.BoneKeys, source: Motion, result: Motion, report: dict) -> action_io.BoneKeys:
    """Return where to put the edited motion's keys so the source's key layout survives a change of timing.

    The pipeline reports a time warp as ``time_map``: for each result frame, the source
    frame (fractional) it shows. Sparse keys move to the result frame that shows their
    source frame. Without a time map the result is taken to share the source's timing.
    """
    if result.frame_count == source.frame_count and "time_map" not in report:
        return bone_keys
    start = bone_keys.frame_start
    time_map = np.asarray(report.get("time_map", np.linspace(0.0, source.frame_count - 1, result.frame_count)),
                          dtype=np.float64)
    if time_map.shape != (result.frame_count,) or np.any(np.diff(time_map) < 0):
        log.warning("ignoring an invalid time map of shape %s from the pipeline", time_map.shape)
        time_map = np.linspace(0.0, source.frame_count - 1, result.frame_count)

    def to_result_frames(frames: np.ndarray) -> np.ndarray:
        return start + np.interp(frames - start, time_map, np.arange(result.frame_count, dtype=np.float64))

    return bone_keys.retimed(to_result_frames, start, start + result.frame_count - 1)


def result_analysis(report: dict) -> dict:
    """Build an analysis dict of the edited motion from an ``apply_emotion`` report."""
    achieved = {name: values["achieved"] for name, values in report.get("features", {}).items()
                if isinstance(values, dict) and "achieved" in values}
    pad = report["result_pad_estimate"]
    return {"pad": pad, "emotion": report.get("result_emotion") or nearest_emotion(np.clip(pad, -1.0, 1.0)),
            "features": achieved, "influence": report.get("influence")}


def summarize(label: str, strength: float, report: dict) -> str:
    """Return the one-line result of an Apply for the status bar and the panel.

    It leads with how the analysis model reads the result (its nearest emotion and the
    PAD distance to the target), because a lower feature error alone does not mean the
    result shows the emotion.
    """
    nearest = report.get("result_emotion") or nearest_emotion(np.clip(report["result_pad_estimate"], -1.0, 1.0))
    return (
        f"Applied '{label}' at strength {round(float(strength), 3)}: result looks '{nearest}', PAD error "
        f"{report['pad_error_before']:.2f} -> {report['pad_error_after']:.2f} (estimated PAD "
        f"{format_pad(report['source_pad_estimate'])} -> {format_pad(report['result_pad_estimate'])}), "
        f"feature error {report['feature_error_before']:.2f} -> {report['feature_error_after']:.2f}"
    )


class EMOTION_MOTION_OT_analyze(Operator):
    """Estimate the emotion (pleasure, arousal, dominance) that the active armature's action shows"""

    bl_idname = "emotion_motion.analyze"
    bl_label = "Analyze Emotion"
    bl_options = {'REGISTER'}

    @classmethod
    def poll(cls, context: Context) -> bool:
        return poll_armature_with_action(cls, context)

    def execute(self, context: Context) -> set[OperatorReturnItems]:
        obj = active_armature(context)
        assert obj is not None
        settings = emotion_settings(obj)
        progress = ProgressReporter(context)
        try:
            progress(0.1, "read action")
            analysis = analyze_armature(obj)
        except roles.MissingRolesError as error:
            self.report({'ERROR'}, missing_roles_message(obj, error))
            return {'CANCELLED'}
        except INPUT_ERRORS as error:
            self.report({'ERROR'}, f"Analyze Emotion on {obj.name!r}: {error}")
            return {'CANCELLED'}
        except ModelError as error:
            log.error("Analyze Emotion could not load the emotion models: %s", error)
            self.report({'ERROR'}, f"Analyze Emotion: the bundled emotion models could not be loaded. {error}")
            return {'CANCELLED'}
        except Exception as error:  # noqa: BLE001 - the UI must not lose an unexpected failure
            log.exception("Analyze Emotion failed on armature %r", obj.name)
            self.report({'ERROR'}, f"Analyze Emotion on {obj.name!r} failed with an internal error: {error!r}; "
                                   "the system console has the traceback")
            return {'CANCELLED'}
        finally:
            progress.end()
        self.report({'INFO'}, f"Action {settings.analyzed_action!r} looks '{settings.nearest_emotion}': estimated PAD "
                              f"{format_pad(analysis['pad'])}")
        return {'FINISHED'}


class EMOTION_MOTION_OT_set_emotion(Operator):
    """Set the armature's pleasure, arousal and dominance to a named emotion"""

    bl_idname = "emotion_motion.set_emotion"
    bl_label = "Set Emotion"
    bl_options = {'REGISTER', 'UNDO'}

    emotion: EnumProperty(name="Emotion", items=PRESET_ITEMS, description="Named emotion to set")

    @classmethod
    def poll(cls, context: Context) -> bool:
        if active_armature(context) is None:
            cls.poll_message_set("Select an armature object (the active object is not an armature)")
            return False
        return True

    def execute(self, context: Context) -> set[OperatorReturnItems]:
        obj = active_armature(context)
        assert obj is not None
        settings = emotion_settings(obj)
        for axis, value in zip(AXES, EMOTIONS[self.emotion].pad):
            setattr(settings, axis, value)
        action = assigned_action(obj)
        if action is not None and keyframed_pad(obj, action, np.zeros(1)) is not None:
            self.report({'WARNING'}, f"Pleasure, arousal or dominance of {obj.name!r} are keyed, so the keys decide "
                                     f"the emotion; key the new values to keep {self.emotion!r}")
        return {'FINISHED'}


class EMOTION_MOTION_OT_revert(Operator):
    """Assign the action that was playing before the last Apply Emotion again"""

    bl_idname = "emotion_motion.revert"
    bl_label = "Revert"
    bl_options = {'REGISTER', 'UNDO'}

    @classmethod
    def poll(cls, context: Context) -> bool:
        obj = active_armature(context)
        if obj is None:
            cls.poll_message_set("Select an armature object (the active object is not an armature)")
            return False
        if emotion_settings(obj).source_action is None:
            cls.poll_message_set(f"Armature {obj.name!r} has no source action to revert to; Apply an emotion first")
            return False
        return True

    def execute(self, context: Context) -> set[OperatorReturnItems]:
        obj = active_armature(context)
        assert obj is not None
        settings = emotion_settings(obj)
        source = settings.source_action
        edited = assigned_action(obj)
        try:
            action_compat.assign_action(obj, source)
            if edited is not None:
                follow_frame_range(obj, edited, source)
            restore_frame_range(obj)
        except RuntimeError as error:
            self.report({'ERROR'}, f"Revert on {obj.name!r}: {error}")
            return {'CANCELLED'}
        settings.source_action = None
        settings.last_report = ""
        settings.has_analysis = False
        edited_name = edited.name if edited is not None else "no action"
        self.report({'INFO'}, f"Reverted {obj.name!r} to action {source.name!r} (was {edited_name!r})")
        return {'FINISHED'}


class EMOTION_MOTION_OT_detect_bones(Operator):
    """Find the bone of each body role (pelvis, spine, arms, legs) by name and hierarchy"""

    bl_idname = "emotion_motion.detect_bones"
    bl_label = "Detect Bones"
    bl_options = {'REGISTER', 'UNDO'}

    keep_overrides: BoolProperty(
        name="Keep Manual Choices",
        description="Keep the roles that were mapped by hand or loaded from a preset",
        default=True,
    )

    @classmethod
    def poll(cls, context: Context) -> bool:
        if active_armature(context) is None:
            cls.poll_message_set("Select an armature object (the active object is not an armature)")
            return False
        return True

    def execute(self, context: Context) -> set[OperatorReturnItems]:
        obj = active_armature(context)
        assert obj is not None
        settings = emotion_settings(obj)
        skeleton = action_io.armature_skeleton(obj)
        if not self.keep_overrides:
            for item in settings.bone_map:
                item.detected_by = ""
                item.written_bone = item.bone
        try:
            bone_map = resolve_bone_map(obj, skeleton, settings)
        except roles.MissingRolesError as error:
            self.report({'WARNING'}, missing_roles_message(obj, error))
            return {'FINISHED'}
        except (ValueError, MotionError) as error:
            self.report({'ERROR'}, f"Detect Bones on {obj.name!r}: {error}")
            return {'CANCELLED'}
        self.report({'INFO'}, f"Armature {obj.name!r}: mapped {len(bone_map.joints)} of {len(roles.ROLES)} roles")
        return {'FINISHED'}


class EMOTION_MOTION_OT_save_bone_map(Operator, ExportHelper):  # type: ignore[misc]
    """Save the armature's bone map as a JSON preset of role to bone name"""

    bl_idname = "emotion_motion.save_bone_map"
    bl_label = "Save Bone Map"
    bl_options = {'REGISTER'}

    filename_ext = ".json"
    filter_glob: StringProperty(default="*.json", options={'HIDDEN'})
    filepath: StringProperty(name="File Path", subtype='FILE_PATH')

    @classmethod
    def poll(cls, context: Context) -> bool:
        obj = active_armature(context)
        if obj is None:
            cls.poll_message_set("Select an armature object (the active object is not an armature)")
            return False
        if not any(item.bone for item in emotion_settings(obj).bone_map):
            cls.poll_message_set(f"Armature {obj.name!r} has an empty bone map; click Detect first")
            return False
        return True

    def execute(self, context: Context) -> set[OperatorReturnItems]:
        obj = active_armature(context)
        assert obj is not None
        mapping = {item.role: item.bone for item in emotion_settings(obj).bone_map if item.bone}
        try:
            roles.save_bone_map(mapping, self.filepath)
        except (OSError, ValueError) as error:
            self.report({'ERROR'}, f"Could not save the bone map of {obj.name!r} to {self.filepath}: {error}")
            return {'CANCELLED'}
        self.report({'INFO'}, f"Saved {len(mapping)} roles of {obj.name!r} to {self.filepath}")
        return {'FINISHED'}


class EMOTION_MOTION_OT_load_bone_map(Operator, ImportHelper):  # type: ignore[misc]
    """Load a JSON bone-map preset; its roles override detection, the other roles are detected"""

    bl_idname = "emotion_motion.load_bone_map"
    bl_label = "Load Bone Map"
    bl_options = {'REGISTER', 'UNDO'}

    filename_ext = ".json"
    filter_glob: StringProperty(default="*.json", options={'HIDDEN'})
    filepath: StringProperty(name="File Path", subtype='FILE_PATH')

    @classmethod
    def poll(cls, context: Context) -> bool:
        if active_armature(context) is None:
            cls.poll_message_set("Select an armature object (the active object is not an armature)")
            return False
        return True

    def execute(self, context: Context) -> set[OperatorReturnItems]:
        obj = active_armature(context)
        assert obj is not None
        settings = emotion_settings(obj)
        try:
            loaded = roles.load_bone_map(self.filepath)
        except (OSError, ValueError) as error:
            self.report({'ERROR'}, f"Could not load bone map {self.filepath}: {error}")
            return {'CANCELLED'}
        bone_names = {bone.name for bone in obj.data.bones}
        unknown = sorted(f"{role} -> {bone!r}" for role, bone in loaded.items() if bone and bone not in bone_names)
        if unknown:
            self.report({'ERROR'}, f"Bone map {self.filepath} names bones that armature {obj.name!r} does not have: "
                                   f"{', '.join(unknown)}; edit the file or pick the bones in the Bone Map panel")
            return {'CANCELLED'}

        mapping = {role: bone for role, bone in loaded.items() if bone}
        set_bone_map(settings, mapping, {role: "file" for role in loaded})
        try:
            resolve_bone_map(obj, action_io.armature_skeleton(obj), settings)
        except roles.MissingRolesError as error:
            self.report({'WARNING'}, missing_roles_message(obj, error))
            return {'FINISHED'}
        except (ValueError, MotionError) as error:
            self.report({'ERROR'}, f"Load Bone Map on {obj.name!r}: {error}")
            return {'CANCELLED'}
        self.report({'INFO'}, f"Loaded {len(loaded)} roles for {obj.name!r} from {self.filepath}")
        return {'FINISHED'}


CLASSES: tuple[type, ...] = (
    EMOTION_MOTION_OT_set_emotion,
    EMOTION_MOTION_OT_apply,
    EMOTION_MOTION_OT_analyze,
    EMOTION_MOTION_OT_revert,
    EMOTION_MOTION_OT_detect_bones,
    EMOTION_MOTION_OT_save_bone_map,
    EMOTION_MOTION_OT_load_bone_map,
)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)


def unregister() -> None:
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)

