"""Bone roles: which joint of a skeleton is the pelvis, the left hand, the right shin, ...

Features and edits address body parts through roles, never through bone names, so one
code path serves the Bandai Namco, CMU, Mixamo, Rigify and Unreal skeletons.
:func:`detect_roles` finds the roles in three steps:

1. An explicit bone map (``{"left_hand": "hand.L"}``) fixes the roles it names.
2. Bone names: ``LeftForeArm``, ``forearm.L``, ``DEF-forearm.L``, ``lowerarm_l`` and
   ``LowerArm_L`` all name a left forearm (see :mod:`synthesis._role_names`). Where several
   bones fit a midline role, the hierarchy picks one. The pelvis is where legs and spine
   branch and the chest is where the arms branch. The spine is the first joint above the
   pelvis, and the neck is the first joint above the chest.
3. The joint tree's shape, for bones whose names match no table word (see
   :mod:`synthesis._role_hierarchy`).

:class:`BoneMap` records the joint of each role and which step found it, so the user
interface can show how sure the detection is.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ._role_hierarchy import ARM_PARTS, LEG_PARTS, JointTree, detect_by_hierarchy, head_chain
from ._role_names import CENTRE_PARTS, classify_bone_name, is_end_marker
from . import quaternion
from .skeleton import MotionError, Skeleton

__all__ = [
    "ROLES",
    "REQUIRED_ROLES",
    "DETECTION_METHODS",
    "BoneMap",
    "MissingRolesError",
    "detect_roles",
    "load_bone_map",
    "save_bone_map",
    "body_height",
]

logger = logging.getLogger(__name__)

SIDES = ("left", "right")

ROLES: tuple[str, ...] = (
    "pelvis",
    "spine",
    "chest",
    "neck",
    "head",
    *(f"{side}_{part}" for side in SIDES for part in ARM_PARTS + LEG_PARTS),
)
"""Every role, midline first, then the left and the right arm and leg from the body outwards."""

REQUIRED_ROLES: tuple[str, ...] = (
    "pelvis",
    "head",
    *(
        f"{side}_{part}"
        for side in SIDES
        for part in ("upper_arm", "forearm", "hand", "thigh", "shin", "foot")
    ),
)
"""Roles every skeleton must have; spine, chest, neck, shoulders and toes are optional."""

DETECTION_METHODS = ("explicit", "name", "hierarchy")
"""Sources of a role: the user's bone map, the bone's name, or the joint tree's shape."""

# The fix that every missing-role message ends with.
_MAPPING_HINT = 'map them in a bone map JSON ({{"{role}": "<bone name>"}}) or rename the bones'


class MissingRolesError(MotionError):
    """A skeleton lacks bones for required roles.

    The message lists every missing role, the bones that got no role (the likely
    candidates) and how to fix it.
    """

    def __init__(self, missing: tuple[str, ...], unassigned: tuple[str, ...], skeleton_label: str = "Skeleton") -> None:
        self.missing = tuple(missing)
        """Roles without a bone, in :data:`ROLES` order."""
        self.unassigned = tuple(unassigned)
        """Bone names that got no role."""
        bones = ", ".join(self.unassigned) if self.unassigned else "none"
        hint = _MAPPING_HINT.format(role=self.missing[0] if self.missing else "left_hand")
        super().__init__(
            f"{skeleton_label} has no bone for role{'s' if len(self.missing) != 1 else ''} "
            f"{', '.join(self.missing)}. Bones without a role: {bones}. To fix this, {hint}."
        )


@dataclass(frozen=True)
class BoneMap:
    """Joint index of each role found in one skeleton."""

    skeleton_names: tuple[str, ...]
    """Joint names of the skeleton the indices refer to."""
    joints: dict[str, int]
    """Role to joint index, in :data:`ROLES` order; roles without a bone are absent."""
    detected_by: dict[str, str] = field(default_factory=dict)
    """Role to ``"explicit"``, ``"name"`` or ``"hierarchy"``; roles left out default to ``"explicit"``."""

    def __post_init__(self) -> None:
        names = tuple(str(name) for name in self.skeleton_names)
        unknown = [role for role in self.joints if role not in ROLES]
        if unknown:
            raise ValueError(f"BoneMap has unknown roles {', '.join(map(repr, unknown))}; valid roles are {', '.join(ROLES)}")
        joints = {role: int(self.joints[role]) for role in ROLES if role in self.joints}
        for role, joint in joints.items():
            if not 0 <= joint < len(names):
                raise ValueError(f"BoneMap role {role!r} has joint index {joint}, outside 0..{len(names) - 1}")
        shared = _shared_joints(joints)
        if shared:
            raise ValueError(f"BoneMap assigns one bone to several roles: {shared}; give each role its own bone")
        detected_by = {role: str(self.detected_by.get(role, "explicit")) for role in joints}
        bad_methods = {role: method for role, method in detected_by.items() if method not in DETECTION_METHODS}
        if bad_methods:
            raise ValueError(f"BoneMap detected_by values must be one of {DETECTION_METHODS}, got {bad_methods}")
        object.__setattr__(self, "skeleton_names", names)
        object.__setattr__(self, "joints", joints)
        object.__setattr__(self, "detected_by", detected_by)

    def index(self, role: str) -> int:
        """Return the joint index of ``role``.

        Raises
        ------
        MissingRolesError
            When the skeleton has no bone for the role.
        ValueError
            When ``role`` is not one of :data:`ROLES`.
        """
        joint = self.get(role)
        if joint is None:
            raise MissingRolesError((role,), self.unassigned_names())
        return joint

    def get(self, role: str) -> int | None:
        """Return the joint index of ``role``, or ``None`` when no bone has it."""
        _check_role(role)
        return self.joints.get(role)

    def name(self, role: str) -> str:
        """Return the bone name of ``role``; raises like :meth:`index`."""
        return self.skeleton_names[self.index(role)]

    def to_dict(self) -> dict[str, str]:
        """Return ``{role: bone name}`` in :data:`ROLES` order, ready for :func:`save_bone_map`."""
        return {role: self.skeleton_names[joint] for role, joint in self.joints.items()}

    def role_of(self, joint_index: int) -> str | None:
        """Return the role of joint ``joint_index``, or ``None`` when it has none."""
        for role, joint in self.joints.items():
            if joint == joint_index:
                return role
        return None

    def missing(self, required: tuple[str, ...] = REQUIRED_ROLES) -> tuple[str, ...]:
        """Return the roles of ``required`` without a bone, in :data:`ROLES` order."""
        for role in required:
            _check_role(role)
        return tuple(role for role in ROLES if role in required and role not in self.joints)

    def unassigned_names(self) -> tuple[str, ...]:
        """Return the names of the bones that have no role, in skeleton order."""
        used = set(self.joints.values())
        return tuple(name for joint, name in enumerate(self.skeleton_names) if joint not in used)


def detect_roles(
    skeleton: Skeleton,
    bone_map: Mapping[str, str | None] | BoneMap | None = None,
    required: tuple[str, ...] = REQUIRED_ROLES,
) -> BoneMap:
    """Find the joint of every role in ``skeleton``.

    Parameters
    ----------
    skeleton : Skeleton
        The skeleton to read; only names, parents, offsets and end sites are used.
    bone_map : dict of str to str, BoneMap or None
        Roles the user fixed, as ``{role: bone name}``. A ``None`` value keeps the role
        empty so detection cannot fill it. A :class:`BoneMap` is matched to this
        skeleton by bone name and keeps its ``detected_by`` labels.
    required : tuple of str
        Roles that must be found; pass ``()`` to get whatever was found.

    Returns
    -------
    BoneMap
        The found roles and how each was found.

    Raises
    ------
    ValueError
        When ``bone_map`` names an unknown role, a bone that is not in the skeleton, or
        one bone for two roles. The message lists the valid roles or bone names.
    MissingRolesError
        When a role of ``required`` has no bone after all three steps.
    """
    for role in required:
        _check_role(role)
    roles, labels, blocked = _explicit_roles(skeleton, bone_map)

    deform = _rigify_deform_skeleton(skeleton)
    if deform is not None and all(joint in deform[1] for joint in roles.values()):
        # A generated Rigify rig: detect on its deform bones alone, then map back.
        deform_skeleton, members = deform
        position = {joint: index for index, joint in enumerate(members)}
        found, labels = _detect(deform_skeleton, {role: position[joint] for role, joint in roles.items()}, labels, blocked)
        roles = {role: members[joint] for role, joint in found.items()}
    else:
        roles, labels = _detect(skeleton, roles, labels, blocked)

    result = BoneMap(skeleton.names, roles, labels)
    logger.debug("Bone roles: %s", {role: (result.skeleton_names[j], labels[role]) for role, j in result.joints.items()})
    missing = result.missing(required)
    if missing:
        raise MissingRolesError(missing, result.unassigned_names())
    return result


def _detect(
    skeleton: Skeleton, roles: dict[str, int], labels: dict[str, str], blocked: set[str]
) -> tuple[dict[str, int], dict[str, str]]:
    """Add the roles that names and then the tree's shape find to the explicit ``roles``."""
    roles = dict(roles)
    labels = dict(labels)
    tree = JointTree(skeleton)
    for role, joint in _detect_by_name(skeleton, tree, roles, blocked).items():
        roles[role] = joint
        labels[role] = "name" if _name_fits(skeleton.names[joint], role) else "hierarchy"

    if any(role not in roles and role not in blocked for role in ROLES):
        excluded = frozenset(
            joint for joint, name in enumerate(skeleton.names) if is_end_marker(name) and joint not in roles.values()
        )
        found = detect_by_hierarchy(skeleton, excluded, known=dict(roles), rest_pose=tree.rest_pose)
        used = set(roles.values())
        for role in ROLES:
            proposed = found.get(role)
            if role in roles or role in blocked or proposed is None or proposed in used:
                continue
            if not _fits_limb_chain(tree, roles, role, proposed):
                logger.debug(
                    "Hierarchy proposed %r for %s, which breaks the limb chain order", skeleton.names[proposed], role
                )
                continue
            roles[role] = proposed
            labels[role] = "hierarchy"
            used.add(proposed)
    return roles, labels


def _rigify_deform_skeleton(skeleton: Skeleton) -> tuple[Skeleton, list[int]] | None:
    """Return the deform bones of a generated Rigify rig as a skeleton of their own, with their joint indices.

    A generated rig parents many ``DEF-`` bones to ``ORG-`` or control bones
    (``DEF-thigh.L`` to ``ORG-spine``), so the deform bones do not form one tree. Each
    deform bone is hung under its nearest ``DEF-`` ancestor, or under the ``DEF-`` twin of
    its nearest ``ORG-`` ancestor, and the rig's root joins the pieces. An ``ORG-`` bone
    whose ``DEF-`` twin is not in the skeleton replaces the twin and takes its name in
    the returned skeleton (Blender 4.5 leaves the ``DEF-spine`` chain outside the
    hierarchy under ``MCH-torso.parent``). Offsets are the world rest-position
    differences, with identity rest rotations. Returns ``None`` for skeletons that are
    all deform bones or have none.
    """
    names = skeleton.names
    upper_names = [name.upper() for name in names]
    if not any(name.startswith("DEF-") for name in upper_names) or all(name.startswith("DEF-") for name in upper_names):
        return None
    by_name = {name: joint for joint, name in enumerate(upper_names)}

    def deform_twin(joint: int) -> int | None:
        if upper_names[joint].startswith("DEF-"):
            return joint
        if upper_names[joint].startswith("ORG-"):
            return by_name.get("DEF-" + upper_names[joint][4:], joint)
        return None

    deform = sorted({twin for twin in map(deform_twin, range(len(names))) if twin is not None})

    new_parent: dict[int, int] = {}
    for joint in deform:
        if joint == 0:
            continue
        new_parent[joint] = 0
        ancestor = int(skeleton.parents[joint])
        while ancestor > 0:
            twin = deform_twin(ancestor)
            if twin is not None and twin != joint:
                new_parent[joint] = twin
                break
            ancestor = int(skeleton.parents[ancestor])

    # Stand-ins hang from their controls, so the ORG- spine bones all reach the root. Rigify
    # numbers a chain X, X.001, X.002, ..., which gives their order back.
    virtual_names = {("DEF-" + upper_names[joint][4:]): joint for joint in deform}
    for joint in deform:
        match = re.fullmatch(r"(.*)\.(\d{3})", "DEF-" + upper_names[joint][4:])
        if joint == 0 or new_parent.get(joint) != 0 or match is None:
            continue
        number = int(match.group(2))
        previous = match.group(1) if number == 1 else f"{match.group(1)}.{number - 1:03d}"
        if previous in virtual_names:
            new_parent[joint] = virtual_names[previous]

    # Order parents before children; a joint never reached sits in a parent cycle.
    children: dict[int, list[int]] = {}
    for joint, parent in new_parent.items():
        children.setdefault(parent, []).append(joint)
    members = [0]
    for joint in members:
        members.extend(children.get(joint, []))
    if len(members) != len(new_parent) + 1:
        logger.debug("Deform bones of %d-bone rig form a parent cycle; detecting on the whole rig", len(names))
        return None

    position = {joint: index for index, joint in enumerate(members)}
    parents = np.array([-1] + [position[new_parent[joint]] for joint in members[1:]])
    world_positions, world_rotations = JointTree(skeleton).rest_pose
    offsets = world_positions[members].copy()
    offsets[1:] -= world_positions[[new_parent[joint] for joint in members[1:]]]
    end_sites = {
        position[joint]: quaternion.rotate(world_rotations[joint], site)
        for joint, site in skeleton.end_sites.items()
        if joint in position
    }
    deform_names = [
        "DEF-" + names[joint][4:] if upper_names[joint].startswith("ORG-") else names[joint] for joint in members
    ]
    deform_names[0] = names[members[0]]
    return Skeleton(tuple(deform_names), parents, offsets, end_sites=end_sites), members


def load_bone_map(path: str | os.PathLike[str]) -> dict[str, str | None]:
    """Read a bone map JSON file: an object of role to bone name (or ``null`` to keep a role empty).

    Raises
    ------
    ValueError
        When the file is not valid JSON or not an object, names an unknown role, or maps
        a role to something other than a bone name. The message names the file and the entry.
    OSError
        When the file cannot be read.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"Bone map {path} is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        ) from None
    if not isinstance(data, dict):
        raise ValueError(
            f'Bone map {path} must be a JSON object of role to bone name, such as {{"left_hand": "hand.L"}}; '
            f"got a JSON {type(data).__name__}"
        )
    return _validate_entries(data, f"Bone map {path}")


def save_bone_map(bone_map: Mapping[str, str | None] | BoneMap, path: str | os.PathLike[str]) -> None:
    """Write ``bone_map`` as a JSON object of role to bone name, in :data:`ROLES` order."""
    entries = bone_map.to_dict() if isinstance(bone_map, BoneMap) else dict(bone_map)
    entries = _validate_entries(entries, f"Bone map for {path}")
    ordered = {role: entries[role] for role in ROLES if role in entries}
    Path(path).write_text(json.dumps(ordered, indent=2) + "\n", encoding="utf-8")


def body_height(skeleton: Skeleton, bone_map: BoneMap | Mapping[str, str | None] | None = None) -> float:
    """Measure the body's height along its rest bone chains, in the skeleton's length unit.

    The height is the chain length from pelvis to head, plus the mean of the left and
    right thigh-to-foot chain lengths, plus the length of the head's end site when the
    skeleton has one. Chain lengths add bone lengths, so joints inserted along a chain
    (CMU ``Spine1`` or ``Neck1``) change nothing, and it does not depend on the rest
    pose being upright. It is a scale for unit-free features, not the stature: the
    pelvis-to-thigh offsets and the foot height are left out.

    Parameters
    ----------
    skeleton : Skeleton
        The skeleton to measure.
    bone_map : BoneMap, dict or None
        Its roles; anything else than a :class:`BoneMap` goes through :func:`detect_roles`.

    Raises
    ------
    MissingRolesError
        When pelvis, head, thighs or feet have no bone.
    MotionError
        When the measured height is not positive.
    """
    if not isinstance(bone_map, BoneMap):
        bone_map = detect_roles(skeleton, bone_map)
    elif bone_map.skeleton_names != skeleton.names:
        raise ValueError(
            "The bone map was detected on a different skeleton (its bone names differ); call detect_roles on this skeleton"
        )
    tree = JointTree(skeleton)
    torso = _chain_length(tree, bone_map, ("pelvis", "spine", "chest", "neck", "head"))
    legs = [_chain_length(tree, bone_map, (f"{side}_thigh", f"{side}_shin", f"{side}_foot")) for side in SIDES]
    head = bone_map.index("head")
    head_top = float(np.linalg.norm(skeleton.end_sites[head])) if head in skeleton.end_sites else 0.0
    height = torso + float(np.mean(legs)) + head_top
    if not height > 0.0:
        raise MotionError(
            f"Body height of the skeleton is {height}: the bones from {bone_map.name('pelvis')!r} to "
            f"{bone_map.name('head')!r} and the legs have zero rest length; check the skeleton's offsets"
        )
    return height


def _chain_length(tree: JointTree, bone_map: BoneMap, chain_roles: tuple[str, ...]) -> float:
    """Sum the rest lengths between consecutive mapped roles of ``chain_roles``.

    Between a joint and its descendant the bone lengths along the hierarchy are added.
    Where a rig breaks the chain (a generated Rigify rig hangs each ``ORG-spine`` bone
    from its own control), the straight rest distance between the two joints is used.
    """
    joints = [bone_map.index(role) for role in chain_roles[:1]]
    joints += [joint for joint in map(bone_map.get, chain_roles[1:-1]) if joint is not None]
    joints.append(bone_map.index(chain_roles[-1]))
    total = 0.0
    for upper, lower in zip(joints[:-1], joints[1:]):
        if tree.is_ancestor(upper, lower):
            total += tree.skeleton.chain_length(upper, lower)
        else:
            total += float(np.linalg.norm(tree.positions[lower] - tree.positions[upper]))
    return total


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}; valid roles are {', '.join(ROLES)}")


def _shared_joints(joints: Mapping[str, int]) -> str:
    """Describe joints that carry more than one role, or return an empty string."""
    by_joint: dict[int, list[str]] = {}
    for role, joint in joints.items():
        by_joint.setdefault(joint, []).append(role)
    return "; ".join(f"joint {joint} has {', '.join(roles)}" for joint, roles in by_joint.items() if len(roles) > 1)


def _validate_entries(entries: Mapping[Any, Any], source: str) -> dict[str, str | None]:
    """Check that every key is a role and every value a bone name or ``None``."""
    result: dict[str, str | None] = {}
    for key, value in entries.items():
        if key not in ROLES:
            close = difflib.get_close_matches(str(key), ROLES, n=1)
            suggestion = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"{source}: unknown role {key!r}{suggestion}; valid roles are {', '.join(ROLES)}")
        if value is not None and not (isinstance(value, str) and value):
            raise ValueError(f"{source}: role {key!r} must map to a bone name or null, got {value!r}")
        result[str(key)] = value  # type: ignore[assignment]
    return result


def _explicit_roles(
    skeleton: Skeleton, bone_map: Mapping[str, str | None] | BoneMap | None
) -> tuple[dict[str, int], dict[str, str], set[str]]:
    """Resolve the user's bone map to joint indices, labels and roles kept empty."""
    if bone_map is None:
        return {}, {}, set()
    labels_in: dict[str, str] = {}
    if isinstance(bone_map, BoneMap):
        labels_in = dict(bone_map.detected_by)
        entries: dict[str, str | None] = dict(bone_map.to_dict())
    else:
        entries = _validate_entries(bone_map, "Bone map")

    roles: dict[str, int] = {}
    labels: dict[str, str] = {}
    blocked: set[str] = set()
    problems = []
    for role, bone in entries.items():
        if bone is None:
            blocked.add(role)
            continue
        if bone not in skeleton.names:
            close = difflib.get_close_matches(bone, skeleton.names, n=1)
            suggestion = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"role {role!r} names bone {bone!r}, which is not in the skeleton{suggestion}")
            continue
        roles[role] = skeleton.names.index(bone)
        labels[role] = labels_in.get(role, "explicit")
    if problems:
        raise ValueError(f"Bone map does not fit the skeleton: {'; '.join(problems)}. The bones are {', '.join(skeleton.names)}")
    shared = _shared_joints(roles)
    if shared:
        raise ValueError(f"Bone map gives one bone several roles ({shared}); give each role its own bone")
    return roles, labels, blocked


def _name_fits(name: str, role: str) -> bool:
    """Return True when the bone's name alone says the role's body part (any midline word for a midline role)."""
    bone = classify_bone_name(name)
    if role in CENTRE_PARTS:
        return bone.part in CENTRE_PARTS
    side, part = role.split("_", 1)
    return bone.side == side and bone.part == part


def _detect_by_name(skeleton: Skeleton, tree: JointTree, fixed: dict[str, int], blocked: set[str]) -> dict[str, int]:
    """Assign limb roles from bone names, then midline roles from names and the limbs' branch joints.

    Returns only the roles it adds; ``fixed`` stays as it is.
    """
    bones = [classify_bone_name(name) for name in skeleton.names]
    # A Rigify rig keeps deform bones under DEF-; its ORG-, MCH- and control bones
    # (``hand_ik.L``, ``torso``, ``chest``) would otherwise match the same words.
    deform_only = any(name.upper().startswith("DEF-") for name in skeleton.names)
    roles = dict(fixed)
    used = set(fixed.values())

    def candidates(part: str, side: str | None) -> list[int]:
        return [
            joint
            for joint, bone in enumerate(bones)
            if bone.part == part
            and bone.side == side
            and joint not in used
            and not (deform_only and not skeleton.names[joint].upper().startswith("DEF-"))
        ]

    def shallowest(joints: list[int]) -> int:
        return min(joints, key=lambda joint: (int(tree.depth[joint]), bones[joint].number, joint))

    def assign(role: str, joint: int | None) -> None:
        if joint is not None and role not in roles and role not in blocked and joint not in used:
            roles[role] = joint
            used.add(joint)

    for side in ("left", "right"):
        for parts in (ARM_PARTS, LEG_PARTS):
            previous: int | None = None
            for part in parts:
                role = f"{side}_{part}"
                if role in roles:
                    previous = roles[role]
                    continue
                found = candidates(part, side)
                if not found or role in blocked:
                    continue
                below = [joint for joint in found if previous is not None and tree.is_ancestor(previous, joint)]
                assign(role, shallowest(below or found))
                previous = roles[role]

    leg_branch = _branch_of(tree, roles, LEG_PARTS)
    arm_branch = _branch_of(tree, roles, ARM_PARTS)

    if leg_branch is not None and arm_branch is not None:
        assign("pelvis", tree.common_ancestor([leg_branch, arm_branch]))
    elif leg_branch is not None:
        assign("pelvis", leg_branch)
    elif candidates("pelvis", None):
        assign("pelvis", shallowest(candidates("pelvis", None)))
    pelvis = roles.get("pelvis")

    def below_pelvis(joints: list[int]) -> list[int]:
        return [joint for joint in joints if pelvis is None or (joint != pelvis and tree.is_ancestor(pelvis, joint))]

    if arm_branch is not None and pelvis is not None and arm_branch != pelvis and tree.is_ancestor(pelvis, arm_branch):
        assign("chest", arm_branch)
    elif below_pelvis(candidates("chest", None)):
        assign("chest", max(below_pelvis(candidates("chest", None)), key=lambda joint: (int(tree.depth[joint]), -joint)))
    chest = roles.get("chest")

    named_heads = [joint for joint in below_pelvis(candidates("head", None)) if chest is None or tree.is_ancestor(chest, joint)]
    if named_heads:
        assign("head", shallowest(named_heads))
    elif chest is not None and arm_branch == chest:
        arm_roots = [kid for kid in tree.children[chest] if _contains_role(tree, kid, roles, ARM_PARTS)]
        chain = head_chain(tree, chest, arm_roots)
        # Rigify names the head DEF-spine.006 and hangs the face below it, so the deepest
        # midline-named joint of the chain is the head when there is one.
        named = [joint for joint in chain if bones[joint].part in CENTRE_PARTS]
        if named:
            assign("head", named[-1])
        elif chain:
            assign("head", chain[-1])
    head = roles.get("head")

    if head is not None:
        top = chest if chest is not None else pelvis
        if top is not None and tree.is_ancestor(top, head):
            between = tree.path(top, head)[1:-1]
            named_necks = [joint for joint in between if bones[joint].part == "neck" and joint not in used]
            if named_necks:
                assign("neck", named_necks[0])
            elif chest is not None and between:
                assign("neck", between[0])
        else:
            named_necks = [joint for joint in below_pelvis(candidates("neck", None)) if tree.is_ancestor(joint, head)]
            if named_necks:
                assign("neck", shallowest(named_necks))

    if pelvis is not None and chest is not None:
        between = tree.path(pelvis, chest)[1:-1]
        if between:
            assign("spine", between[0])
    elif below_pelvis(candidates("spine", None)):
        assign("spine", shallowest(below_pelvis(candidates("spine", None))))

    return {role: joint for role, joint in roles.items() if role not in fixed}


def _branch_of(tree: JointTree, roles: Mapping[str, int], parts: tuple[str, ...]) -> int | None:
    """Return the joint where the left and right limb of ``parts`` meet, or ``None`` without both sides."""
    tops = []
    for side in SIDES:
        joint = next((roles[f"{side}_{part}"] for part in parts if f"{side}_{part}" in roles), None)
        if joint is None:
            return None
        tops.append(joint)
    return tree.common_ancestor(tops)


def _contains_role(tree: JointTree, joint: int, roles: Mapping[str, int], parts: tuple[str, ...]) -> bool:
    return any(
        tree.is_ancestor(joint, roles[f"{side}_{part}"])
        for side in SIDES
        for part in parts
        if f"{side}_{part}" in roles
    )


def _fits_limb_chain(tree: JointTree, roles: Mapping[str, int], role: str, joint: int) -> bool:
    """Return True unless ``joint`` would sit above a role that comes before it in its limb, or below one after it."""
    if role in CENTRE_PARTS:
        return True
    side, part = role.split("_", 1)
    parts = ARM_PARTS if part in ARM_PARTS else LEG_PARTS
    position = parts.index(part)
    for other_position, other_part in enumerate(parts):
        other = roles.get(f"{side}_{other_part}")
        if other is None or other_position == position:
            continue
        if other_position < position and not tree.is_ancestor(other, joint):
            return False
        if other_position > position and not tree.is_ancestor(joint, other):
            return False
    return True
