"""Access to action F-curves across the Action API changes of Blender 4.2 to 5.0.

Blender 4.2 stores an action's F-curves in ``Action.fcurves``. Blender 4.4 added layered
actions: an action has slots (one per animated data-block), layers and strips, and each
strip keeps a channelbag of F-curves per slot. Blender 4.4 and 4.5 keep ``Action.fcurves``
as a legacy view of the first slot only, and Blender 5.0 removes it. In 4.4 and later an
object plays the F-curves of the slot in ``animation_data.action_slot``, so assigning an
action also needs a slot.

Every function here detects the API by the properties that ``bpy.types.Action`` has, not
by version number, so a build with the layered API behaves as 4.4 and later do.
"""

from __future__ import annotations

import logging

import bpy
from bpy.types import Action, FCurve, Object

__all__ = [
    "HAS_LAYERED_ACTIONS",
    "action_fcurves",
    "find_slot",
    "ensure_slot",
    "new_action",
    "ensure_fcurve",
    "remove_fcurve",
    "assign_action",
]

log = logging.getLogger(__name__)

HAS_LAYERED_ACTIONS: bool = "layers" in bpy.types.Action.bl_rna.properties
"""True where actions have slots, layers and strips (Blender 4.4 and later)."""


def _channelbag(action: Action, slot, ensure: bool = False):
    """Return the channelbag of ``slot`` in the first strip that has one, or None.

    With ``ensure`` the first layer, its first strip and the channelbag are created when
    missing, as Blender's keyframe insertion does.
    """
    for layer in action.layers:  # type: ignore[attr-defined]
        for strip in layer.strips:
            channelbag = strip.channelbag(slot)  # type: ignore[attr-defined]
            if channelbag is not None:
                return channelbag
    if not ensure:
        return None
    layer = action.layers[0] if len(action.layers) else action.layers.new("Layer")  # type: ignore[attr-defined]
    strip = layer.strips[0] if len(layer.strips) else layer.strips.new(type='KEYFRAME')
    return strip.channelbag(slot, ensure=True)  # type: ignore[attr-defined]


def find_slot(action: Action, obj: Object | None = None):
    """Return the slot of ``action`` that animates ``obj``, or None.

    The slot is the object's assigned ``animation_data.action_slot`` when ``obj`` plays
    ``action``. Otherwise it is the slot whose identifier matches the object's last used
    slot or its name, or else the only slot for objects. Without ``obj`` it is the first slot,
    the one that ``Action.fcurves`` shows in Blender 4.4 and 4.5. It is always None in
    Blender 4.2, which has no slots.
    """
    if not HAS_LAYERED_ACTIONS or len(action.slots) == 0:  # type: ignore[attr-defined]
        return None
    if obj is None:
        return action.slots[0]  # type: ignore[attr-defined]

    animation_data = obj.animation_data
    if animation_data is not None:
        if animation_data.action == action and animation_data.action_slot is not None:  # type: ignore[attr-defined]
            return animation_data.action_slot  # type: ignore[attr-defined]
        last_identifier = animation_data.last_slot_identifier  # type: ignore[attr-defined]
        if last_identifier:
            for slot in action.slots:  # type: ignore[attr-defined]
                if slot.identifier == last_identifier:
                    return slot

    # A slot identifier is the two-letter ID code ("OB" for objects) followed by the slot name.
    own_identifier = "OB" + obj.name
    for slot in action.slots:  # type: ignore[attr-defined]
        if slot.identifier == own_identifier:
            return slot
    object_slots = [slot for slot in action.slots if slot.target_id_type in {'OBJECT', 'UNSPECIFIED'}]  # type: ignore[attr-defined]
    if len(object_slots) == 1:
        return object_slots[0]
    return None


def ensure_slot(action: Action, obj: Object):
    """Return the slot of ``action`` for ``obj``, creating one named after the object if none fits.

    Returns None in Blender 4.2, which has no slots.
    """
    if not HAS_LAYERED_ACTIONS:
        return None
    slot = find_slot(action, obj)
    if slot is None:
        slot = action.slots.new(obj.id_type, obj.name)  # type: ignore[attr-defined]
        log.debug("created slot %r in action %r", slot.identifier, action.name)
    return slot


def action_fcurves(action: Action, slot=None) -> list[FCurve]:
    """Return the F-curves of ``action`` that animate ``slot``.

    ``slot`` None means the first slot (see :func:`find_slot`). In Blender 4.2 the slot is
    ignored and all of the action's F-curves come back. An action without a channelbag for
    the slot returns an empty list.
    """
    if not HAS_LAYERED_ACTIONS:
        return list(action.fcurves)  # type: ignore[attr-defined]
    if slot is None:
        slot = find_slot(action)
        if slot is None:
            return []
    channelbag = _channelbag(action, slot)
    if channelbag is None:
        return []
    return list(channelbag.fcurves)


def new_action(name: str, id_root: str = 'OBJECT') -> Action:
    """Create an empty action named ``name`` for data-blocks of type ``id_root``.

    Blender 4.2 records ``id_root`` on the action. In the layered API the ID type belongs
    to each slot, which :func:`ensure_slot` or :func:`assign_action` creates.
    """
    action = bpy.data.actions.new(name)
    if not HAS_LAYERED_ACTIONS and "id_root" in action.bl_rna.properties:
        action.id_root = id_root  # type: ignore[assignment, attr-defined]
    return action


def ensure_fcurve(action: Action, slot, data_path: str, index: int, group_name: str = "") -> FCurve:
    """Return the F-curve ``data_path[index]`` of ``slot``, creating it (in group ``group_name``) if missing.

    In Blender 4.2 ``slot`` is ignored. In the layered API ``slot`` must be a slot of
    ``action``, and the first layer and strip and the slot's channelbag are created as needed.
    An existing F-curve keeps its group.
    """
    if not HAS_LAYERED_ACTIONS:
        fcurve = action.fcurves.find(data_path, index=index)  # type: ignore[attr-defined]
        if fcurve is None:
            fcurve = action.fcurves.new(data_path, index=index, action_group=group_name)  # type: ignore[attr-defined]
        return fcurve

    if slot is None:
        raise ValueError(f"Action {action.name!r} needs a slot to hold F-curve {data_path}[{index}]")
    channelbag = _channelbag(action, slot, ensure=True)
    fcurve = channelbag.fcurves.find(data_path, index=index)
    if fcurve is not None:
        return fcurve
    fcurve = channelbag.fcurves.new(data_path, index=index)
    if group_name:
        group = channelbag.groups.get(group_name)
        if group is None:
            group = channelbag.groups.new(group_name)
        fcurve.group = group
    return fcurve


def remove_fcurve(action: Action, slot, fcurve: FCurve) -> None:
    """Delete ``fcurve`` from ``action`` (from the channelbag of ``slot`` in the layered API)."""
    if not HAS_LAYERED_ACTIONS:
        action.fcurves.remove(fcurve)  # type: ignore[attr-defined]
        return
    for layer in action.layers:  # type: ignore[attr-defined]
        for strip in layer.strips:
            channelbag = strip.channelbag(slot)  # type: ignore[attr-defined]
            if channelbag is not None and channelbag.fcurves.find(fcurve.data_path, index=fcurve.array_index) == fcurve:
                channelbag.fcurves.remove(fcurve)
                return
    raise ValueError(
        f"F-curve {fcurve.data_path}[{fcurve.array_index}] is not in action {action.name!r} "
        f"for slot {getattr(slot, 'identifier', slot)!r}"
    )


def assign_action(obj: Object, action: Action, slot=None):
    """Make ``obj`` play ``action`` and return the slot it plays, or None in Blender 4.2.

    In the layered API Blender does not always pick a slot when an action is assigned,
    and without one the object plays nothing. This function sets
    ``animation_data.action_slot`` to ``slot``, or else to the slot that
    :func:`ensure_slot` finds or creates for the object.
    """
    animation_data = obj.animation_data or obj.animation_data_create()
    if animation_data.use_tweak_mode:
        raise RuntimeError(
            f"Object {obj.name!r} is in NLA tweak mode, so its action cannot change. "
            "Exit tweak mode in the NLA editor and try again"
        )
    animation_data.action = action
    if not HAS_LAYERED_ACTIONS:
        return None
    if slot is None:
        slot = ensure_slot(action, obj)
    if animation_data.action_slot != slot:  # type: ignore[attr-defined]
        animation_data.action_slot = slot  # type: ignore[attr-defined]
    return slot
