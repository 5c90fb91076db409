"""Per-armature settings of Emotion Motion, stored on the object as ``Object.emotion_motion``.

The settings live on the armature object, not on the scene, so every character keeps its
own emotion, bone map and analysis. Pleasure, arousal and dominance are animatable: keyed
over time they give an emotion that changes during the clip, which the Apply operator
samples frame by frame.
"""

from __future__ import annotations

import bpy
from bpy.props import (
    BoolProperty,
    CollectionProperty,
    EnumProperty,
    FloatProperty,
    IntVectorProperty,
    PointerProperty,
    StringProperty,
)
from bpy.types import Action, Object, PropertyGroup

from ..models.emotions import EMOTIONS
from ..synthesis.roles import ROLES

__all__ = [
    "EmotionMotionBoneRole",
    "EmotionMotionFeature",
    "EmotionMotionSettings",
    "emotion_settings",
    "PRESET_ITEMS",
    "bone_map_overrides",
    "is_override",
    "matching_preset",
    "pad_matches_preset",
    "role_source",
    "set_bone_map",
    "settings_pad",
    "register",
    "unregister",
]

# Bone-map sources that override detection: a bone picked by hand, or one loaded from a preset file.
OVERRIDE_SOURCES = ("user", "file")

_PRESET_TOLERANCE = 1e-4

# NOTE: no property here has an update, get, set or items callback. With any Python
# callback on a registered property, the bpy module of Blender 4.2 crashes at interpreter
# exit and that of Blender 4.5 hangs there (seen with bpy 4.2.23 and 4.5.15 from PyPI);
# 5.0.1 exits cleanly. Choosing a preset is therefore an operator (emotion_motion.set_emotion).
PRESET_ITEMS = [
    (name, name.replace("-", " ").title(), f"PAD {emotion.pad[0]:+.2f} {emotion.pad[1]:+.2f} {emotion.pad[2]:+.2f}: "
     f"{emotion.source}", index)
    for index, (name, emotion) in enumerate(EMOTIONS.items())
]

ROLE_ITEMS = [(role, role.replace("_", " ").title(), f"Bone that plays the {role} role", index)
              for index, role in enumerate(ROLES)]


def pad_matches_preset(pad: tuple[float, float, float], preset: str) -> bool:
    """Return whether ``pad`` equals the PAD of the named emotion ``preset``."""
    emotion = EMOTIONS.get(preset)
    if emotion is None:
        return False
    return all(abs(value - target) <= _PRESET_TOLERANCE for value, target in zip(pad, emotion.pad))


class EmotionMotionFeature(PropertyGroup):
    """One LMA feature of the last analysis; ``name`` is the feature name."""

    value: FloatProperty(name="Value", description="Feature value of the analysed action", options=set())
    influence: FloatProperty(
        name="Influence",
        description="How far this feature moved the PAD estimate away from neutral (larger drives more)",
        options=set(),
    )


class EmotionMotionBoneRole(PropertyGroup):
    """One bone-map entry: the armature bone that plays a body role."""

    role: EnumProperty(name="Role", items=ROLE_ITEMS, options=set())
    bone: StringProperty(
        name="Bone",
        description="Armature bone that plays this role; empty when none was found",
        options=set(),
    )
    detected_by: StringProperty(
        name="Detected By",
        description="How the add-on chose the bone: by name, by the hierarchy, by hand (user) or from a preset file",
        options=set(),
    )
    written_bone: StringProperty(
        name="Written Bone",
        description="Bone the add-on last wrote here; a different bone means the user picked one by hand",
        options={'HIDDEN'},
    )


class EmotionMotionSettings(PropertyGroup):
    """Emotion, options, bone map and last analysis of one armature."""

    pleasure: FloatProperty(
        name="Pleasure",
        description="Pleasure axis of the target emotion, from displeasure (-1) to pleasure (1). Key it to vary the "
        "emotion over the clip",
        min=-1.0,
        max=1.0,
        default=0.0,
    )
    arousal: FloatProperty(
        name="Arousal",
        description="Arousal axis of the target emotion, from calm (-1) to excited (1). Key it to vary the emotion "
        "over the clip",
        min=-1.0,
        max=1.0,
        default=0.0,
    )
    dominance: FloatProperty(
        name="Dominance",
        description="Dominance axis of the target emotion, from submissive (-1) to dominant (1). Key it to vary the "
        "emotion over the clip",
        min=-1.0,
        max=1.0,
        default=0.0,
    )
    strength: FloatProperty(
        name="Strength",
        description="How far to move the motion toward the target features: 0 keeps it, 1 goes all the way",
        min=0.0,
        max=1.0,
        default=1.0,
        subtype='FACTOR',
        options=set(),
    )
    keep_hand_keys: BoolProperty(
        name="Keep Hand-Placed Keys",
        description="Write keys only on the frames the source action has keys on. Off bakes a key on every frame",
        default=True,
        options=set(),
    )
    keep_planted_feet: BoolProperty(
        name="Keep Planted Feet",
        description="Hold feet in place while they touch the ground, so the edit does not make them slide",
        default=True,
        options=set(),
    )
    from_source: BoolProperty(
        name="Start From Source",
        description="When the assigned action was made by Apply, edit its source action again instead of "
        "stacking a second edit",
        default=True,
        options=set(),
    )

    source_action: PointerProperty(
        name="Source Action",
        description="Action that was assigned before the last Apply; Revert assigns it again",
        type=Action,
        options=set(),
    )
    last_report: StringProperty(name="Last Result", description="Summary of the last Apply", options=set())
    scene_frame_range: IntVectorProperty(
        name="Scene Frame Range",
        description="Start and end frame of the scene before Apply extended it to a longer result; Revert restores "
        "them",
        size=2,
        options={'HIDDEN'},
    )
    scene_range_extended: BoolProperty(
        name="Scene Range Extended",
        description="Apply extended the scene's frame range, which is stored in Scene Frame Range",
        options={'HIDDEN'},
    )

    has_analysis: BoolProperty(name="Has Analysis", options=set())
    analyzed_action: StringProperty(name="Analysed Action", description="Action the analysis was run on", options=set())
    estimated_pleasure: FloatProperty(name="Pleasure", description="Estimated pleasure of the action", options=set())
    estimated_arousal: FloatProperty(name="Arousal", description="Estimated arousal of the action", options=set())
    estimated_dominance: FloatProperty(name="Dominance", description="Estimated dominance of the action",
                                       options=set())
    nearest_emotion: StringProperty(name="Nearest Emotion", description="Named emotion nearest to the estimate",
                                    options=set())
    features: CollectionProperty(type=EmotionMotionFeature, name="Features",
                                 description="LMA features that drive the estimate most, largest first")

    bone_map: CollectionProperty(type=EmotionMotionBoneRole, name="Bone Map")


# Helpers on the property groups. They are module functions, not methods, because a
# registered PropertyGroup class with Python methods makes the bpy module of Blender 4.2
# crash at interpreter exit, even after unregister_class (seen with bpy 4.2.23).


def role_source(item: EmotionMotionBoneRole) -> str:
    """Return how the bone shown now was chosen: ``user`` once edited by hand, else ``item.detected_by``."""
    return "user" if item.bone != item.written_bone else item.detected_by


def is_override(item: EmotionMotionBoneRole) -> bool:
    """Return whether Apply and Detect keep this entry instead of detecting the role again."""
    return role_source(item) in OVERRIDE_SOURCES


def settings_pad(settings: EmotionMotionSettings) -> tuple[float, float, float]:
    """Return the pleasure, arousal and dominance shown on the sliders now."""
    return (settings.pleasure, settings.arousal, settings.dominance)


def matching_preset(settings: EmotionMotionSettings) -> str:
    """Return the named emotion whose PAD the sliders show, or an empty string for a custom PAD."""
    pad = settings_pad(settings)
    return next((name for name in EMOTIONS if pad_matches_preset(pad, name)), "")


def bone_map_overrides(settings: EmotionMotionSettings) -> dict[str, str | None]:
    """Return the roles mapped by hand or from a preset file, as ``{role: bone name}``.

    A role cleared by hand maps to None, which keeps detection from filling it.
    """
    return {item.role: (item.bone or None) for item in settings.bone_map if is_override(item)}


def set_bone_map(settings: EmotionMotionSettings, mapping: dict[str, str], detected_by: dict[str, str]) -> None:
    """Replace the bone map with one entry per role, in ``ROLES`` order.

    ``mapping`` is ``{role: bone name}`` and ``detected_by`` is ``{role: source}``. Roles
    missing from ``mapping`` get an empty bone, which the panel shows as unmapped.
    """
    settings.bone_map.clear()
    for role in ROLES:
        item = settings.bone_map.add()
        item.name = role
        item.role = role
        item.bone = mapping.get(role, "")
        item.written_bone = item.bone
        item.detected_by = detected_by.get(role, "")


def emotion_settings(obj: Object) -> EmotionMotionSettings:
    """Return the Emotion Motion settings of ``obj`` (``obj.emotion_motion``)."""
    # The attribute exists only once register() has run, so the type stubs do not know it.
    settings: EmotionMotionSettings = getattr(obj, SETTINGS_ATTRIBUTE)
    return settings


SETTINGS_ATTRIBUTE = "emotion_motion"
"""Name of the settings pointer on ``bpy.types.Object``."""

CLASSES = (EmotionMotionFeature, EmotionMotionBoneRole, EmotionMotionSettings)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    # The stubs declare the bpy.props functions as returning None.
    setattr(bpy.types.Object, SETTINGS_ATTRIBUTE, PointerProperty(type=EmotionMotionSettings))  # type: ignore[func-returns-value]


def unregister() -> None:
    delattr(bpy.types.Object, SETTINGS_ATTRIBUTE)
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
