"""The Emotion tab of the 3D Viewport sidebar: emotion, options, actions, analysis and bone map."""

from __future__ import annotations

from typing import TYPE_CHECKING

import bpy
from bpy.types import Context, Panel, UILayout

from ..models.emotions import AXES
from ..synthesis.roles import REQUIRED_ROLES
from .emotion_ops import active_armature, assigned_action
from .properties import EmotionMotionSettings, emotion_settings, matching_preset, role_source

if TYPE_CHECKING:
    from bpy.stub_internal.rna_enums import IconItems

__all__ = ["VIEW3D_PT_emotion_motion", "VIEW3D_PT_emotion_motion_bone_map", "register", "unregister"]

# Icons of the bone-map sources: detected by name, by hierarchy, by hand, from a preset file.
DETECTED_BY_ICONS: dict[str, IconItems] = {"name": 'SORTALPHA', "hierarchy": 'OUTLINER', "user": 'GREASEPENCIL', "file": 'FILE'}


class EmotionPanelMixin:
    @classmethod
    def poll(cls, context: Context) -> bool:
        return active_armature(context) is not None


class VIEW3D_PT_emotion_motion(EmotionPanelMixin, Panel):
    """Emotion of the active armature's animation"""

    bl_idname = "VIEW3D_PT_emotion_motion"
    bl_label = "Emotion Motion"
    bl_space_type = 'VIEW_3D'
    bl_region_type = 'UI'
    bl_category = "Emotion"

    def draw(self, context: Context) -> None:
        obj = active_armature(context)
        assert obj is not None
        settings = emotion_settings(obj)
        layout = self.layout
        assert layout is not None
        layout.use_property_split = True
        layout.use_property_decorate = True

        preset = matching_preset(settings)
        label = preset.replace("-", " ").title() if preset else "Custom"
        layout.operator_menu_enum("emotion_motion.set_emotion", "emotion", text=label, icon='OUTLINER_OB_ARMATURE')
        column = layout.column(align=True)
        for axis in AXES:
            column.prop(settings, axis, slider=True)
        layout.prop(settings, "strength", slider=True)

        options = layout.column(heading="Keep")
        options.prop(settings, "keep_hand_keys", text="Hand-Placed Keys")
        options.prop(settings, "keep_planted_feet", text="Planted Feet")
        options.prop(settings, "from_source")

        action = assigned_action(obj)
        layout.use_property_split = False
        if action is None:
            layout.label(text="No action: import or key an animation", icon='ERROR')
        else:
            layout.label(text=action.name, icon='ACTION')
        row = layout.row(align=True)
        row.scale_y = 1.4
        row.operator("emotion_motion.apply", icon='PLAY')
        row = layout.row(align=True)
        row.operator("emotion_motion.analyze", icon='VIEWZOOM')
        row.operator("emotion_motion.revert", icon='LOOP_BACK')
        if settings.last_report:
            draw_wrapped(layout.box(), settings.last_report, icon='INFO')

        draw_analysis(layout, settings, action.name if action is not None else "")


def draw_analysis(layout: UILayout, settings: EmotionMotionSettings, action_name: str) -> None:
    """Draw the last analysis: estimated PAD, nearest emotion and the driving features."""
    if not settings.has_analysis:
        return
    box = layout.box()
    header = box.row()
    header.label(text="Analysis", icon='GRAPH')
    if settings.analyzed_action != action_name:
        header.label(text=f"of {settings.analyzed_action}", icon='ERROR')
    box.label(text=f"Looks {settings.nearest_emotion}")
    column = box.column(align=True)
    column.enabled = False
    for name in ("estimated_pleasure", "estimated_arousal", "estimated_dominance"):
        column.prop(settings, name, slider=True)
    if len(settings.features):
        box.label(text="Driving features")
        grid = box.grid_flow(row_major=True, columns=2, even_columns=False, align=True)
        for feature in settings.features:
            grid.label(text=feature.name)
            grid.label(text=f"{feature.value:.3g}")


def draw_wrapped(layout: UILayout, text: str, icon: IconItems = 'NONE', width: int = 48) -> None:
    """Draw ``text`` as several labels of at most ``width`` characters, breaking at spaces."""
    words = text.split()
    line = ""
    first = True
    column = layout.column(align=True)
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            column.label(text=line, icon=icon if first else 'BLANK1')
            first = False
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        column.label(text=line, icon=icon if first else 'BLANK1')


class VIEW3D_PT_emotion_motion_bone_map(EmotionPanelMixin, Panel):
    """Bone of the armature for each body role"""

    bl_idname = "VIEW3D_PT_emotion_motion_bone_map"
    bl_label = "Bone Map"
    bl_space_type = 'VIEW_3D'
    bl_region_type = 'UI'
    bl_category = "Emotion"
    bl_parent_id = "VIEW3D_PT_emotion_motion"
    bl_options = {'DEFAULT_CLOSED'}

    def draw(self, context: Context) -> None:
        obj = active_armature(context)
        assert obj is not None
        settings = emotion_settings(obj)
        layout = self.layout
        assert layout is not None

        row = layout.row(align=True)
        row.operator("emotion_motion.detect_bones", icon='VIEWZOOM', text="Detect")
        row.operator("emotion_motion.load_bone_map", icon='FILEBROWSER', text="Load")
        row.operator("emotion_motion.save_bone_map", icon='FILE_TICK', text="Save")

        if not len(settings.bone_map):
            layout.label(text="No bone map yet: click Detect", icon='INFO')
            return

        missing = [item.role for item in settings.bone_map if not item.bone and item.role in REQUIRED_ROLES]
        if missing:
            draw_wrapped(layout.box(), f"Required roles without a bone: {', '.join(missing)}", icon='ERROR')

        column = layout.column(align=True)
        for item in settings.bone_map:
            row = column.row(align=True)
            row.alert = not item.bone and item.role in REQUIRED_ROLES
            split = row.split(factor=0.4, align=True)
            split.label(text=item.role.replace("_", " "))
            sub = split.row(align=True)
            sub.prop_search(item, "bone", obj.data, "bones", text="")
            sub.label(text="", icon=DETECTED_BY_ICONS.get(role_source(item), 'BLANK1'))


CLASSES: tuple[type, ...] = (VIEW3D_PT_emotion_motion, VIEW3D_PT_emotion_motion_bone_map)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)


def unregister() -> None:
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
