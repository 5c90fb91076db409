import json
import logging
from pathlib import Path

import numpy as np
import pytest

from synthesis.roles import (
    REQUIRED_ROLES,
    ROLES,
    BoneMap,
    MissingRolesError,
    body_height,
    detect_roles,
    load_bone_map,
    save_bone_map,
)
from synthesis.skeleton import MotionError, Skeleton

JointSpec = tuple[str, "str | None", tuple[float, float, float]]


def build(joints: list[JointSpec], end_sites: dict[str, tuple[float, float, float]] | None = None) -> Skeleton:
    """Build a skeleton from (name, parent name, offset) rows listed parents first."""
    names = [name for name, _, _ in joints]
    parents = [-1 if parent is None else names.index(parent) for _, parent, _ in joints]
    offsets = [offset for _, _, offset in joints]
    sites = {names.index(name): np.array(offset) for name, offset in (end_sites or {}).items()}
    return Skeleton(names, np.array(parents), np.array(offsets, dtype=float), end_sites=sites)


def mirrored(left_rows: list[JointSpec], rename) -> list[JointSpec]:
    """Return the right-side copy of left-side rows: names through ``rename`` and x negated."""
    rows = []
    for name, parent, (x, y, z) in left_rows:
        rows.append((rename(name), rename(parent) if parent is not None else None, (-x, y, z)))
    return rows


def renamed(skeleton: Skeleton, names: list[str]) -> Skeleton:
    return Skeleton(names, skeleton.parents, skeleton.offsets, end_sites=skeleton.end_sites)


def rows_of(skeleton: Skeleton) -> list[JointSpec]:
    """Return the (name, parent name, offset) rows that :func:`build` turns back into ``skeleton``."""
    return [
        (name, skeleton.names[parent] if parent >= 0 else None, tuple(offset))
        for name, parent, offset in zip(skeleton.names, skeleton.parents, skeleton.offsets)
    ]


# The first header of the Bandai Namco dataset (dataset-1_bow_active_001.bvh), centimetres.
# Its rest pose lies along X: legs and arms point along their parents' X axes.
BANDAI_ROWS: list[JointSpec] = [
    ("joint_Root", None, (0, 0, 0)),
    ("Hips", "joint_Root", (0.847027, 93.984, -452.225)),
    ("Spine", "Hips", (15.7357, 0, 0)),
    ("Chest", "Spine", (8.98455, -0.406207, 0)),
    ("Neck", "Chest", (16.3773, 0, 0)),
    ("Head", "Neck", (6.45672, 0, 0)),
    ("Shoulder_L", "Chest", (12.9942, -0.242716, 4.98039)),
    ("UpperArm_L", "Shoulder_L", (5.34809, 0, 0)),
    ("LowerArm_L", "UpperArm_L", (24.3286, 1.87007e-05, 0)),
    ("Hand_L", "LowerArm_L", (22.2916, 0, 0)),
    ("Shoulder_R", "Chest", (12.9945, -0.242716, -4.98039)),
    ("UpperArm_R", "Shoulder_R", (-5.34813, 0, 0)),
    ("LowerArm_R", "UpperArm_R", (-24.3289, 0.000322201, 0)),
    ("Hand_R", "LowerArm_R", (-22.2915, -0.000108084, 0)),
    ("UpperLeg_L", "Hips", (-2.19248, -6.46944, 0)),
    ("LowerLeg_L", "UpperLeg_L", (39.0811, 0, -1.23785e-05)),
    ("Foot_L", "LowerLeg_L", (40.9854, 0, -1.26872e-05)),
    ("Toes_L", "Foot_L", (11.7543, 0, 0)),
    ("UpperLeg_R", "Hips", (-2.19251, 6.46944, 0)),
    ("LowerLeg_R", "UpperLeg_R", (-39.0811, -0.00228153, -0.0401928)),
    ("Foot_R", "LowerLeg_R", (-40.9854, 0, 0)),
    ("Toes_R", "Foot_R", (-11.7543, 0, 0)),
]
BANDAI_END_SITES = {name: (0.0, 0.0, 0.0) for name in ("Head", "Hand_L", "Hand_R", "Toes_L", "Toes_R")}

BANDAI_EXPECTED = {
    "pelvis": "Hips",
    "spine": "Spine",
    "chest": "Chest",
    "neck": "Neck",
    "head": "Head",
    **{
        f"{side}_{part}": f"{word}_{side[0].upper()}"
        for side in ("left", "right")
        for part, word in (
            ("shoulder", "Shoulder"),
            ("upper_arm", "UpperArm"),
            ("forearm", "LowerArm"),
            ("hand", "Hand"),
            ("thigh", "UpperLeg"),
            ("shin", "LowerLeg"),
            ("foot", "Foot"),
            ("toe", "Toes"),
        )
    },
}


def bandai_skeleton() -> Skeleton:
    return build(BANDAI_ROWS, BANDAI_END_SITES)


def cmu_skeleton() -> Skeleton:
    """The 31-joint CMU skeleton of the cgspeed BVH conversion, Y up, facing +Z, left at +X."""
    left_leg = [
        ("LHipJoint", "Hips", (0, 0, 0)),
        ("LeftUpLeg", "LHipJoint", (1.36306, -1.79463, 0.83929)),
        ("LeftLeg", "LeftUpLeg", (2.44811, -6.72613, 0)),
        ("LeftFoot", "LeftLeg", (2.5622, -7.03959, 0)),
        ("LeftToeBase", "LeftFoot", (0.15764, -0.43311, 2.32255)),
    ]
    left_arm = [
        ("LeftShoulder", "Spine1", (0, 0, 0)),
        ("LeftArm", "LeftShoulder", (3.36241, 1.20089, -0.31121)),
        ("LeftForeArm", "LeftArm", (4.983, 0, 0)),
        ("LeftHand", "LeftForeArm", (3.48356, 0, 0)),
        ("LeftFingerBase", "LeftHand", (0, 0, 0)),
        ("LeftHandIndex1", "LeftFingerBase", (0.71526, 0, 0)),
        ("LThumb", "LeftHand", (0, 0, 0)),
    ]

    def to_right(name: str) -> str:
        if name in ("Hips", "Spine1"):
            return name
        return name.replace("Left", "Right").replace("LHip", "RHip").replace("LThumb", "RThumb")

    rows = [("Hips", None, (0, 0, 0))]
    rows += left_leg + mirrored(left_leg, to_right)
    rows += [
        ("LowerBack", "Hips", (0, 0, 0)),
        ("Spine", "LowerBack", (0.02827, 2.03559, -0.19338)),
        ("Spine1", "Spine", (0.05672, 2.04885, -0.04275)),
        ("Neck", "Spine1", (0, 0, 0)),
        ("Neck1", "Neck", (-0.05417, 1.74624, 0.17202)),
        ("Head", "Neck1", (0.10407, 1.76136, -0.12397)),
    ]
    rows += left_arm + mirrored(left_arm, to_right)
    end_sites = {
        "LeftToeBase": (0, 0, 1.18966),
        "RightToeBase": (0, 0, 1.18966),
        "Head": (0.0, 1.7, 0.0),
        "LeftHandIndex1": (0.57, 0, 0),
        "RightHandIndex1": (-0.57, 0, 0),
        "LThumb": (0.58, 0, 0.58),
        "RThumb": (-0.58, 0, 0.58),
    }
    return build(rows, end_sites)


CMU_EXPECTED = {
    "pelvis": "Hips",
    "spine": "LowerBack",
    "chest": "Spine1",
    "neck": "Neck",
    "head": "Head",
    **{
        f"{side}_{part}": f"{side.capitalize()}{word}"
        for side in ("left", "right")
        for part, word in (
            ("shoulder", "Shoulder"),
            ("upper_arm", "Arm"),
            ("forearm", "ForeArm"),
            ("hand", "Hand"),
            ("thigh", "UpLeg"),
            ("shin", "Leg"),
            ("foot", "Foot"),
            ("toe", "ToeBase"),
        )
    },
}


def mixamo_skeleton(prefix: str = "mixamorig:") -> Skeleton:
    """A Mixamo rig with index and thumb fingers and the ``_End`` leaf bones, Y up, facing +Z."""
    p = prefix
    left_arm = [
        (f"{p}LeftShoulder", f"{p}Spine2", (6, 9, 0)),
        (f"{p}LeftArm", f"{p}LeftShoulder", (12, 0, 0)),
        (f"{p}LeftForeArm", f"{p}LeftArm", (27, 0, 0)),
        (f"{p}LeftHand", f"{p}LeftForeArm", (26, 0, 0)),
        (f"{p}LeftHandIndex1", f"{p}LeftHand", (9, 0, 2)),
        (f"{p}LeftHandIndex2", f"{p}LeftHandIndex1", (3.5, 0, 0)),
        (f"{p}LeftHandIndex3", f"{p}LeftHandIndex2", (2.5, 0, 0)),
        (f"{p}LeftHandIndex4", f"{p}LeftHandIndex3", (2, 0, 0)),
        (f"{p}LeftHandThumb1", f"{p}LeftHand", (3, -1, 3)),
        (f"{p}LeftHandThumb2", f"{p}LeftHandThumb1", (3, 0, 1)),
        (f"{p}LeftHandThumb3", f"{p}LeftHandThumb2", (3, 0, 0)),
        (f"{p}LeftHandThumb4", f"{p}LeftHandThumb3", (2, 0, 0)),
    ]
    left_leg = [
        (f"{p}LeftUpLeg", f"{p}Hips", (9, -6, 0)),
        (f"{p}LeftLeg", f"{p}LeftUpLeg", (0, -42, 0)),
        (f"{p}LeftFoot", f"{p}LeftLeg", (0, -40, 0)),
        (f"{p}LeftToeBase", f"{p}LeftFoot", (0, -6, 12)),
        (f"{p}LeftToe_End", f"{p}LeftToeBase", (0, 0, 8)),
    ]

    def to_right(name: str) -> str:
        return name.replace("Left", "Right")

    rows = [
        (f"{p}Hips", None, (0, 100, 0)),
        (f"{p}Spine", f"{p}Hips", (0, 10, 0)),
        (f"{p}Spine1", f"{p}Spine", (0, 12, 0)),
        (f"{p}Spine2", f"{p}Spine1", (0, 13.5, 0)),
        (f"{p}Neck", f"{p}Spine2", (0, 15, 0)),
        (f"{p}Head", f"{p}Neck", (0, 10, 3)),
        (f"{p}HeadTop_End", f"{p}Head", (0, 18, 6)),
    ]
    rows += left_arm + mirrored(left_arm, to_right) + left_leg + mirrored(left_leg, to_right)
    return build(rows)


MIXAMO_EXPECTED = {
    "pelvis": "mixamorig:Hips",
    "spine": "mixamorig:Spine",
    "chest": "mixamorig:Spine2",
    "neck": "mixamorig:Neck",
    "head": "mixamorig:Head",
    **{
        f"{side}_{part}": f"mixamorig:{side.capitalize()}{word}"
        for side in ("left", "right")
        for part, word in (
            ("shoulder", "Shoulder"),
            ("upper_arm", "Arm"),
            ("forearm", "ForeArm"),
            ("hand", "Hand"),
            ("thigh", "UpLeg"),
            ("shin", "Leg"),
            ("foot", "Foot"),
            ("toe", "ToeBase"),
        )
    },
}


def rigify_skeleton() -> Skeleton:
    """Rigify deform bones with twist segments, plus control, ORG- and MCH- bones; Z up, facing -Y, metres."""
    left_arm = [
        ("DEF-shoulder.L", "DEF-spine.003", (0.02, -0.02, 0.1)),
        ("DEF-upper_arm.L", "DEF-shoulder.L", (0.17, 0.03, 0)),
        ("DEF-upper_arm.L.001", "DEF-upper_arm.L", (0.13, 0, 0)),
        ("DEF-forearm.L", "DEF-upper_arm.L.001", (0.13, 0, 0)),
        ("DEF-forearm.L.001", "DEF-forearm.L", (0.12, 0, 0)),
        ("DEF-hand.L", "DEF-forearm.L.001", (0.12, 0, 0)),
        ("DEF-f_index.01.L", "DEF-hand.L", (0.09, -0.02, 0)),
        ("DEF-f_index.02.L", "DEF-f_index.01.L", (0.04, 0, 0)),
        ("DEF-thumb.01.L", "DEF-hand.L", (0.02, -0.03, 0)),
        ("DEF-thumb.02.L", "DEF-thumb.01.L", (0.03, -0.01, 0)),
        ("DEF-breast.L", "DEF-spine.003", (0.1, -0.1, 0)),
    ]
    left_leg = [
        ("DEF-pelvis.L", "DEF-spine", (0.05, -0.05, 0)),
        ("DEF-thigh.L", "DEF-spine", (0.1, 0, 0)),
        ("DEF-thigh.L.001", "DEF-thigh.L", (0, 0, -0.22)),
        ("DEF-shin.L", "DEF-thigh.L.001", (0, 0, -0.22)),
        ("DEF-shin.L.001", "DEF-shin.L", (0, 0, -0.2)),
        ("DEF-foot.L", "DEF-shin.L.001", (0, 0, -0.2)),
        ("DEF-toe.L", "DEF-foot.L", (0, -0.12, -0.06)),
    ]
    controls = [
        ("torso", "root", (0, 0, 1.0)),
        ("hips", "torso", (0, 0, 0)),
        ("chest", "torso", (0, 0, 0.3)),
        ("head", "chest", (0, 0, 0.3)),
        ("hand_ik.L", "root", (0.6, 0, 1.4)),
        ("ORG-hand.L", "root", (0.6, 0, 1.4)),
        ("MCH-forearm_ik.L", "root", (0.4, 0, 1.4)),
    ]

    def to_right(name: str) -> str:
        return name.replace(".L", ".R") if name.startswith("DEF-") and name.count(".L") else name

    rows = [
        ("root", None, (0, 0, 0)),
        ("DEF-spine", "root", (0, 0, 1.0)),
        ("DEF-spine.001", "DEF-spine", (0, 0, 0.12)),
        ("DEF-spine.002", "DEF-spine.001", (0, 0, 0.12)),
        ("DEF-spine.003", "DEF-spine.002", (0, 0, 0.13)),
        ("DEF-spine.004", "DEF-spine.003", (0, 0, 0.15)),
        ("DEF-spine.005", "DEF-spine.004", (0, 0, 0.05)),
        ("DEF-spine.006", "DEF-spine.005", (0, -0.01, 0.05)),
    ]
    rows += left_arm + mirrored(left_arm, to_right) + left_leg + mirrored(left_leg, to_right) + controls
    return build(rows, {"DEF-spine.006": (0, 0, 0.2)})


RIGIFY_EXPECTED = {
    "pelvis": "DEF-spine",
    "spine": "DEF-spine.001",
    "chest": "DEF-spine.003",
    "neck": "DEF-spine.004",
    "head": "DEF-spine.006",
    **{
        f"{side}_{part}": f"DEF-{word}.{side[0].upper()}"
        for side in ("left", "right")
        for part, word in (
            ("shoulder", "shoulder"),
            ("upper_arm", "upper_arm"),
            ("forearm", "forearm"),
            ("hand", "hand"),
            ("thigh", "thigh"),
            ("shin", "shin"),
            ("foot", "foot"),
            ("toe", "toe"),
        )
    },
}


def unreal_skeleton() -> Skeleton:
    """The Unreal Engine 5 mannequin layout with twist and IK bones; Z up, facing -Y, centimetres."""
    left_arm = [
        ("clavicle_l", "spine_05", (4, 0, 8)),
        ("upperarm_l", "clavicle_l", (15, 0, 0)),
        ("upperarm_twist_01_l", "upperarm_l", (15, 0, 0)),
        ("lowerarm_l", "upperarm_l", (30, 0, 0)),
        ("lowerarm_twist_01_l", "lowerarm_l", (13, 0, 0)),
        ("hand_l", "lowerarm_l", (26, 0, 0)),
        ("index_01_l", "hand_l", (10, -2, 0)),
        ("index_02_l", "index_01_l", (4, 0, 0)),
        ("index_03_l", "index_02_l", (3, 0, 0)),
        ("thumb_01_l", "hand_l", (3, -3, 0)),
        ("thumb_02_l", "thumb_01_l", (4, -1, 0)),
        ("thumb_03_l", "thumb_02_l", (3, 0, 0)),
    ]
    left_leg = [
        ("thigh_l", "pelvis", (9, 0, -3)),
        ("thigh_twist_01_l", "thigh_l", (0, 0, -20)),
        ("calf_l", "thigh_l", (0, 0, -43)),
        ("calf_twist_01_l", "calf_l", (0, 0, -20)),
        ("foot_l", "calf_l", (0, 0, -42)),
        ("ball_l", "foot_l", (0, -13, -6)),
    ]

    def to_right(name: str) -> str:
        return name[:-2] + "_r" if name.endswith("_l") else name

    rows = [
        ("root", None, (0, 0, 0)),
        ("pelvis", "root", (0, 0, 97)),
        ("spine_01", "pelvis", (0, 0, 8)),
        ("spine_02", "spine_01", (0, 0, 8)),
        ("spine_03", "spine_02", (0, 0, 8)),
        ("spine_04", "spine_03", (0, 0, 8)),
        ("spine_05", "spine_04", (0, 0, 8)),
        ("neck_01", "spine_05", (0, 0, 12)),
        ("neck_02", "neck_01", (0, 0, 5)),
        ("head", "neck_02", (0, 0, 5)),
    ]
    rows += left_arm + mirrored(left_arm, to_right) + left_leg + mirrored(left_leg, to_right)
    rows += [
        ("ik_foot_root", "root", (0, 0, 0)),
        ("ik_foot_l", "ik_foot_root", (10, 0, 8)),
        ("ik_foot_r", "ik_foot_root", (-10, 0, 8)),
        ("ik_hand_root", "root", (0, 0, 0)),
        ("ik_hand_gun", "ik_hand_root", (-60, 0, 140)),
        ("ik_hand_l", "ik_hand_gun", (120, 0, 0)),
        ("ik_hand_r", "ik_hand_gun", (0, 0, 0)),
    ]
    return build(rows)


UNREAL_EXPECTED = {
    "pelvis": "pelvis",
    "spine": "spine_01",
    "chest": "spine_05",
    "neck": "neck_01",
    "head": "head",
    **{
        f"{side}_{part}": f"{word}_{side[0]}"
        for side in ("left", "right")
        for part, word in (
            ("shoulder", "clavicle"),
            ("upper_arm", "upperarm"),
            ("forearm", "lowerarm"),
            ("hand", "hand"),
            ("thigh", "thigh"),
            ("shin", "calf"),
            ("foot", "foot"),
            ("toe", "ball"),
        )
    },
}

CONVENTIONS = {
    "bandai": (bandai_skeleton, BANDAI_EXPECTED),
    "cmu": (cmu_skeleton, CMU_EXPECTED),
    "mixamo": (mixamo_skeleton, MIXAMO_EXPECTED),
    "rigify": (rigify_skeleton, RIGIFY_EXPECTED),
    "unreal": (unreal_skeleton, UNREAL_EXPECTED),
}


@pytest.mark.parametrize("convention", sorted(CONVENTIONS))
def test_detect_roles_by_name(convention):
    make_skeleton, expected = CONVENTIONS[convention]
    bone_map = detect_roles(make_skeleton())
    assert bone_map.to_dict() == expected
    assert set(bone_map.detected_by.values()) == {"name"}


def test_roles_order_and_required():
    assert ROLES[:5] == ("pelvis", "spine", "chest", "neck", "head")
    assert ROLES[5:9] == ("left_shoulder", "left_upper_arm", "left_forearm", "left_hand")
    assert ROLES[13:17] == ("right_shoulder", "right_upper_arm", "right_forearm", "right_hand")
    assert ROLES[-1] == "right_toe"
    assert len(ROLES) == 21
    assert set(REQUIRED_ROLES) <= set(ROLES)
    assert "left_toe" not in REQUIRED_ROLES
    assert "spine" not in REQUIRED_ROLES
    assert "left_foot" in REQUIRED_ROLES


def test_bandai_root_is_not_pelvis():
    bone_map = detect_roles(bandai_skeleton())
    assert bone_map.name("pelvis") == "Hips"
    assert bone_map.role_of(0) is None


def test_mixamo_any_namespace():
    bone_map = detect_roles(mixamo_skeleton(prefix="Armature|mixamorig7:"))
    assert bone_map.name("left_forearm") == "Armature|mixamorig7:LeftForeArm"
    assert bone_map.name("chest") == "Armature|mixamorig7:Spine2"


def test_rigify_ignores_control_bones():
    skeleton = rigify_skeleton()
    bone_map = detect_roles(skeleton)
    assigned = {skeleton.names[joint] for joint in bone_map.joints.values()}
    assert not assigned & {"torso", "hips", "chest", "head", "hand_ik.L", "ORG-hand.L", "MCH-forearm_ik.L", "root"}
    assert bone_map.name("left_upper_arm") == "DEF-upper_arm.L"


def test_unreal_ignores_twist_and_ik():
    bone_map = detect_roles(unreal_skeleton())
    names = set(bone_map.to_dict().values())
    assert not any("twist" in name or name.startswith("ik_") for name in names)


@pytest.mark.parametrize("case", ["upper", "lower"])
def test_names_case_insensitive(case):
    skeleton = bandai_skeleton()
    changed = [getattr(name, case)() for name in skeleton.names]
    bone_map = detect_roles(renamed(skeleton, changed))
    expected = {role: getattr(name, case)() for role, name in BANDAI_EXPECTED.items()}
    assert bone_map.to_dict() == expected


def test_cmu_names_lower_case_without_separators():
    skeleton = cmu_skeleton()
    bone_map = detect_roles(renamed(skeleton, [name.lower() for name in skeleton.names]))
    assert bone_map.to_dict() == {role: name.lower() for role, name in CMU_EXPECTED.items()}


MIRROR_STYLES = {
    "dot": lambda word, side: f"{word}.{side[0].upper()}",
    "underscore upper": lambda word, side: f"{word}_{side[0].upper()}",
    "underscore lower": lambda word, side: f"{word}_{side[0]}",
    "Left prefix": lambda word, side: f"{side.capitalize()}{word[0].upper()}{word[1:]}",
    "L_ prefix": lambda word, side: f"{side[0].upper()}_{word}",
    "left_ prefix": lambda word, side: f"{side}_{word}",
    "Left suffix": lambda word, side: f"{word}_{side.capitalize()}",
}


def generic_skeleton(style, words=None) -> Skeleton:
    """Upright Y-up humanoid facing +Z whose side bones are named by ``style(word, side)``."""
    words = words or {
        "shoulder": "shoulder",
        "upper_arm": "upperarm",
        "forearm": "forearm",
        "hand": "hand",
        "thigh": "thigh",
        "shin": "shin",
        "foot": "foot",
        "toe": "toe",
    }
    rows: list[JointSpec] = [
        ("hips", None, (0, 95, 0)),
        ("spine", "hips", (0, 12, 0)),
        ("chest", "spine", (0, 15, 0)),
        ("neck", "chest", (0, 20, 0)),
        ("head", "neck", (0, 10, 0)),
    ]
    for side, sign in (("left", 1.0), ("right", -1.0)):
        name = {part: style(word, side) for part, word in words.items()}
        rows += [
            (name["shoulder"], "chest", (sign * 4, 16, 0)),
            (name["upper_arm"], name["shoulder"], (sign * 14, 0, 0)),
            (name["forearm"], name["upper_arm"], (sign * 28, 0, 0)),
            (name["hand"], name["forearm"], (sign * 25, 0, 0)),
            (name["thigh"], "hips", (sign * 9, -4, 0)),
            (name["shin"], name["thigh"], (0, -43, 0)),
            (name["foot"], name["shin"], (0, -42, 0)),
            (name["toe"], name["foot"], (0, -6, 13)),
        ]
    return build(rows)


@pytest.mark.parametrize("style", sorted(MIRROR_STYLES))
def test_mirrored_naming_variants(style):
    skeleton = generic_skeleton(MIRROR_STYLES[style])
    bone_map = detect_roles(skeleton)
    assert bone_map.missing(ROLES) == ()
    for side in ("left", "right"):
        for part in ("upper_arm", "hand", "thigh", "toe"):
            position = skeleton.rest_positions()[bone_map.index(f"{side}_{part}")]
            assert (position[0] > 0) == (side == "left"), f"{side}_{part} is {bone_map.name(f'{side}_{part}')}"
    assert set(bone_map.detected_by.values()) == {"name"}


@pytest.mark.parametrize(
    "words",
    [
        {"shoulder": "clavicle", "upper_arm": "arm", "forearm": "elbow", "hand": "wrist",
         "thigh": "upleg", "shin": "knee", "foot": "ankle", "toe": "ball"},
        {"shoulder": "collar", "upper_arm": "upper_arm", "forearm": "lowerarm", "hand": "hand",
         "thigh": "upperleg", "shin": "lowerleg", "foot": "foot", "toe": "toes"},
        {"shoulder": "shoulder", "upper_arm": "upperarm", "forearm": "forearm", "hand": "hand",
         "thigh": "thigh", "shin": "calf", "foot": "foot", "toe": "toe"},
    ],
)
def test_generic_limb_words(words):
    skeleton = generic_skeleton(MIRROR_STYLES["dot"], words)
    bone_map = detect_roles(skeleton)
    for part, word in words.items():
        assert bone_map.name(f"left_{part}") == f"{word}.L"
        assert bone_map.name(f"right_{part}") == f"{word}.R"


def numbered(skeleton: Skeleton, keep=lambda name: False) -> Skeleton:
    """Rename every joint to ``bone_NN`` in skeleton order, except names ``keep`` accepts."""
    return renamed(skeleton, [name if keep(name) else f"bone_{index:02d}" for index, name in enumerate(skeleton.names)])


def expected_indices(skeleton: Skeleton, expected: dict[str, str]) -> dict[str, int]:
    return {role: skeleton.names.index(name) for role, name in expected.items()}


def test_hierarchy_recovers_bandai_roles(caplog):
    skeleton = bandai_skeleton()
    with caplog.at_level(logging.WARNING, logger="synthesis._role_hierarchy"):
        bone_map = detect_roles(numbered(skeleton))
    assert bone_map.joints == expected_indices(skeleton, BANDAI_EXPECTED)
    assert set(bone_map.detected_by.values()) == {"hierarchy"}
    # The Bandai rest pose is a straight line, so only name order decides the sides,
    # and one warning is logged for the legs and one for the arms.
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "by name order" in warnings[0]


def test_hierarchy_degenerate_pose_follows_name_order():
    skeleton = bandai_skeleton()
    # Name the right chains so that they sort first: the degenerate rest pose cannot
    # tell, so the right limbs come back as left, as documented.
    names = [f"bone_{index:02d}" for index in range(skeleton.joint_count)]
    for index, name in enumerate(skeleton.names):
        if name.endswith("_R"):
            names[index] = f"a_{index:02d}"
    bone_map = detect_roles(renamed(skeleton, names))
    assert bone_map.index("left_hand") == skeleton.names.index("Hand_R")
    assert bone_map.index("right_thigh") == skeleton.names.index("UpperLeg_L")


def test_hierarchy_recovers_cmu_roles_from_pose(caplog):
    skeleton = cmu_skeleton()
    # Right bones sort first by name, so only the rest pose can get the sides right.
    names = [f"{'a' if name.startswith(('Right', 'R')) else 'b'}{index:02d}" for index, name in enumerate(skeleton.names)]
    with caplog.at_level(logging.WARNING):
        bone_map = detect_roles(renamed(skeleton, names))
    assert bone_map.joints == expected_indices(skeleton, CMU_EXPECTED)
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]


def test_hierarchy_recovers_mixamo_roles():
    skeleton = mixamo_skeleton()
    bone_map = detect_roles(numbered(skeleton, keep=lambda name: name.endswith("_End")))
    assert bone_map.joints == expected_indices(skeleton, MIXAMO_EXPECTED)


def test_hierarchy_recovers_unreal_roles():
    skeleton = unreal_skeleton()
    bone_map = detect_roles(numbered(skeleton))
    assert bone_map.joints == expected_indices(skeleton, UNREAL_EXPECTED)


def test_hierarchy_sides_follow_named_bones():
    skeleton = bandai_skeleton()
    # Only the hands keep their names, with the right one sorting first; the named
    # hands decide the arms' sides although the rest pose cannot.
    names = [f"bone_{index:02d}" for index in range(skeleton.joint_count)]
    names[skeleton.names.index("Hand_L")] = "hand.L"
    names[skeleton.names.index("Hand_R")] = "hand.R"
    names[skeleton.names.index("Shoulder_R")] = "a_shoulder"
    bone_map = detect_roles(renamed(skeleton, names))
    assert bone_map.name("left_hand") == "hand.L"
    assert bone_map.detected_by["left_hand"] == "name"
    assert bone_map.index("left_upper_arm") == skeleton.names.index("UpperArm_L")
    assert bone_map.detected_by["left_upper_arm"] == "hierarchy"


def test_hierarchy_fills_unnamed_upper_arm():
    # Biovision naming: LeftCollar, LeftShoulder (the upper arm), LeftElbow, LeftWrist.
    skeleton = generic_skeleton(
        MIRROR_STYLES["Left prefix"],
        {"shoulder": "collar", "upper_arm": "shoulder", "forearm": "elbow", "hand": "wrist",
         "thigh": "hip", "shin": "knee", "foot": "ankle", "toe": "toe"},
    )
    bone_map = detect_roles(skeleton)
    assert bone_map.name("left_shoulder") == "LeftCollar"
    assert bone_map.name("left_upper_arm") == "LeftShoulder"
    assert bone_map.detected_by["left_upper_arm"] == "hierarchy"
    assert bone_map.name("right_forearm") == "RightElbow"
    assert bone_map.name("left_thigh") == "LeftHip"


def test_explicit_map_overrides():
    skeleton = cmu_skeleton()
    bone_map = detect_roles(skeleton, {"spine": "Spine", "left_hand": "LeftFingerBase", "left_toe": None})
    assert bone_map.name("spine") == "Spine"
    assert bone_map.detected_by["spine"] == "explicit"
    assert bone_map.name("left_hand") == "LeftFingerBase"
    assert bone_map.get("left_toe") is None
    assert bone_map.name("right_toe") == "RightToeBase"
    assert bone_map.detected_by["right_hand"] == "name"


def test_explicit_map_rejects_unknown_role():
    with pytest.raises(ValueError, match="unknown role 'left_wrist'.*valid roles are pelvis"):
        detect_roles(cmu_skeleton(), {"left_wrist": "LeftHand"})


def test_explicit_map_rejects_unknown_bone():
    with pytest.raises(ValueError) as error:
        detect_roles(cmu_skeleton(), {"left_hand": "lefthand", "head": "Skull"})
    message = str(error.value)
    assert "'lefthand'" in message
    assert "did you mean 'LeftHand'" in message
    assert "'Skull'" in message
    assert "The bones are Hips, LHipJoint" in message


def test_explicit_map_rejects_shared_bone():
    with pytest.raises(ValueError, match="several roles"):
        detect_roles(cmu_skeleton(), {"spine": "Spine", "chest": "Spine"})


def test_explicit_map_completes_unnamed_skeleton():
    skeleton = numbered(bandai_skeleton())
    original = bandai_skeleton()
    explicit = {
        role: skeleton.names[original.names.index(name)]
        for role, name in BANDAI_EXPECTED.items()
        if role.startswith("left_")
    }
    bone_map = detect_roles(skeleton, explicit)
    assert bone_map.joints == expected_indices(original, BANDAI_EXPECTED)
    assert bone_map.detected_by["left_hand"] == "explicit"
    assert bone_map.detected_by["right_hand"] == "hierarchy"


def test_bone_map_object_reused():
    skeleton = unreal_skeleton()
    first = detect_roles(skeleton)
    second = detect_roles(skeleton, first)
    assert second.joints == first.joints
    assert second.detected_by == first.detected_by


def test_missing_roles_error_message():
    rows = [row for row in BANDAI_ROWS if "Arm" not in row[0] and "Hand" not in row[0]]
    skeleton = build(rows)
    with pytest.raises(MissingRolesError) as error:
        detect_roles(skeleton)
    message = str(error.value)
    for role in ("left_upper_arm", "left_forearm", "left_hand", "right_upper_arm", "right_forearm", "right_hand"):
        assert role in message
    assert "joint_Root" in message
    assert "bone map JSON" in message
    assert '{"left_upper_arm": "<bone name>"}' in message
    assert error.value.missing == (
        "left_upper_arm", "left_forearm", "left_hand", "right_upper_arm", "right_forearm", "right_hand"
    )
    assert "joint_Root" in error.value.unassigned
    assert isinstance(error.value, MotionError)


def test_missing_roles_allowed_when_not_required():
    rows = [row for row in BANDAI_ROWS if "Arm" not in row[0] and "Hand" not in row[0]]
    bone_map = detect_roles(build(rows), required=())
    assert bone_map.name("left_thigh") == "UpperLeg_L"
    assert bone_map.get("left_hand") is None
    assert "left_hand" in bone_map.missing()


def test_bone_map_accessors():
    skeleton = bandai_skeleton()
    bone_map = detect_roles(skeleton)
    assert bone_map.index("head") == skeleton.names.index("Head")
    assert bone_map.get("head") == skeleton.names.index("Head")
    assert bone_map.name("right_toe") == "Toes_R"
    assert bone_map.role_of(skeleton.names.index("LowerArm_R")) == "right_forearm"
    assert bone_map.missing() == ()
    assert list(bone_map.to_dict()) == list(ROLES)
    assert bone_map.unassigned_names() == ("joint_Root",)


def test_bone_map_absent_role_raises():
    bone_map = BoneMap(("a", "b"), {"pelvis": 0})
    with pytest.raises(MissingRolesError, match="no bone for role head"):
        bone_map.index("head")
    assert bone_map.get("head") is None
    with pytest.raises(ValueError, match="Unknown role 'skull'"):
        bone_map.get("skull")
    assert bone_map.detected_by == {"pelvis": "explicit"}


def test_bone_map_validates_fields():
    with pytest.raises(ValueError, match="outside 0..1"):
        BoneMap(("a", "b"), {"pelvis": 2})
    with pytest.raises(ValueError, match="several roles"):
        BoneMap(("a", "b"), {"pelvis": 0, "head": 0})
    with pytest.raises(ValueError, match="detected_by"):
        BoneMap(("a", "b"), {"pelvis": 0}, {"pelvis": "guess"})


def test_bone_map_json_round_trip(tmp_path: Path):
    skeleton = mixamo_skeleton()
    detected = detect_roles(skeleton)
    path = tmp_path / "bones.json"
    save_bone_map(detected, path)
    loaded = load_bone_map(path)
    assert loaded == detected.to_dict()
    assert json.loads(path.read_text()) == detected.to_dict()
    again = detect_roles(skeleton, loaded)
    assert again.joints == detected.joints
    assert set(again.detected_by.values()) == {"explicit"}


def test_bone_map_json_keeps_null(tmp_path: Path):
    path = tmp_path / "bones.json"
    save_bone_map({"left_toe": None, "head": "Head"}, path)
    assert load_bone_map(path) == {"head": "Head", "left_toe": None}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{not json", "not valid JSON"),
        ('["pelvis"]', "must be a JSON object"),
        ('{"left_wrist": "hand.L"}', "unknown role 'left_wrist'"),
        ('{"left_hand": 3}', "role 'left_hand' must map to a bone name or null, got 3"),
        ('{"left_hand": ""}', "role 'left_hand' must map to a bone name"),
    ],
)
def test_load_bone_map_errors(tmp_path: Path, text, expected):
    path = tmp_path / "broken.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=expected) as error:
        load_bone_map(path)
    assert str(path) in str(error.value)


def test_save_bone_map_rejects_unknown_role(tmp_path: Path):
    with pytest.raises(ValueError, match="unknown role 'hips'"):
        save_bone_map({"hips": "Hips"}, tmp_path / "bones.json")


def test_body_height_bandai():
    skeleton = bandai_skeleton()
    height = body_height(skeleton, detect_roles(skeleton))
    torso = 15.7357 + np.hypot(8.98455, 0.406207) + 16.3773 + 6.45672
    left_leg = 39.0811 + 40.9854
    right_leg = np.linalg.norm([-39.0811, -0.00228153, -0.0401928]) + 40.9854
    assert height == pytest.approx(torso + 0.5 * (left_leg + right_leg), rel=1e-6)


def test_body_height_adds_head_end_site():
    skeleton = cmu_skeleton()
    bone_map = detect_roles(skeleton)
    without_site = Skeleton(skeleton.names, skeleton.parents, skeleton.offsets)
    assert body_height(skeleton, bone_map) == pytest.approx(body_height(without_site, bone_map) + 1.7)


def insert_joint(rows: list[JointSpec], child: str, new_name: str, fraction: float) -> list[JointSpec]:
    """Insert ``new_name`` between ``child`` and its parent, splitting the bone at ``fraction``."""
    result = []
    for name, parent, offset in rows:
        if name == child:
            result.append((new_name, parent, tuple(fraction * value for value in offset)))
            result.append((name, new_name, tuple((1.0 - fraction) * value for value in offset)))
        else:
            result.append((name, parent, offset))
    return result


def test_body_height_ignores_inserted_joints():
    skeleton = generic_skeleton(MIRROR_STYLES["Left prefix"])
    extended = insert_joint(rows_of(skeleton), "chest", "spine1", 0.4)
    extended = insert_joint(extended, "head", "neck1", 0.5)
    extended = insert_joint(extended, "LeftThigh", "LHipJoint", 0.5)
    extended = insert_joint(extended, "RightThigh", "RHipJoint", 0.5)
    longer = build(extended)
    assert longer.joint_count == skeleton.joint_count + 4
    base_height = body_height(skeleton, detect_roles(skeleton))
    assert body_height(longer, detect_roles(longer)) == pytest.approx(base_height, rel=1e-12)
    assert detect_roles(longer).name("chest") == "chest"


def test_body_height_detects_when_given_dict():
    skeleton = bandai_skeleton()
    assert body_height(skeleton) == pytest.approx(body_height(skeleton, detect_roles(skeleton)))
    changed = body_height(skeleton, {"head": "Neck"})
    assert changed == pytest.approx(body_height(skeleton) - 6.45672, rel=1e-6)


def test_body_height_rejects_other_skeleton():
    with pytest.raises(ValueError, match="different skeleton"):
        body_height(cmu_skeleton(), detect_roles(bandai_skeleton()))


def test_real_bandai_file_detects_all_roles(bandai1_dir: Path):
    from synthesis.bvh import read_bvh

    path = sorted((bandai1_dir / "data").glob("*.bvh"))[0]
    skeleton = read_bvh(path).skeleton
    bone_map = detect_roles(skeleton)
    assert bone_map.to_dict() == BANDAI_EXPECTED
    assert body_height(skeleton, bone_map) == pytest.approx(body_height(bandai_skeleton()), rel=1e-4)


def test_hierarchy_recovers_rigify_segments():
    # Rigify splits upper arm, forearm, thigh and shin into two equal collinear halves;
    # the shape search merges them back and maps the first half.
    skeleton = rigify_skeleton()
    bone_map = detect_roles(numbered(skeleton))
    assert bone_map.joints == expected_indices(skeleton, RIGIFY_EXPECTED)


def test_hierarchy_keeps_equal_straight_bones():
    # Upper arm as long as the forearm and thigh as long as the shin, all in one line:
    # a single equal pair per limb is a real elbow or knee, not a segmented bone.
    skeleton = generic_skeleton(MIRROR_STYLES["dot"])
    offsets = skeleton.offsets.copy()
    for side, sign in (("L", 1.0), ("R", -1.0)):
        offsets[skeleton.names.index(f"hand.{side}")] = (sign * 28, 0, 0)
        offsets[skeleton.names.index(f"shin.{side}")] = (0, -42, 0)
    skeleton = Skeleton(skeleton.names, skeleton.parents, offsets)
    by_name = detect_roles(skeleton)
    by_shape = detect_roles(numbered(skeleton))
    assert by_shape.joints == by_name.joints
    assert by_name.name("left_forearm") == "forearm.L"


def split_pelvis_rows(style) -> list[JointSpec]:
    """A rig whose legs hang from a ``pelvis`` child of the root and whose spine hangs from the root."""
    rows = rows_of(generic_skeleton(style))
    result: list[JointSpec] = [("root_hips", None, (0, 95, 0)), ("pelvis_bone", "root_hips", (0, -2, 0))]
    for name, parent, offset in rows[1:]:
        if parent == "hips":
            parent = "pelvis_bone" if name != "spine" else "root_hips"
        result.append((name, parent, offset))
    return result


def test_legs_and_spine_on_sibling_joints():
    skeleton = build(split_pelvis_rows(MIRROR_STYLES["dot"]))
    by_name = detect_roles(skeleton)
    assert by_name.name("pelvis") == "root_hips"
    assert by_name.name("spine") == "spine"
    assert by_name.name("left_thigh") == "thigh.L"
    by_shape = detect_roles(numbered(skeleton))
    assert by_shape.joints == by_name.joints


def test_cmu_bvh_text_round_trip():
    from synthesis import quaternion
    from synthesis.bvh import read_bvh_text, write_bvh_text
    from synthesis.skeleton import Motion

    skeleton = cmu_skeleton()
    motion = Motion(skeleton, quaternion.identity((2, skeleton.joint_count)), np.zeros((2, 3)), 120.0)
    loaded = read_bvh_text(write_bvh_text(motion, rotation_order="ZYX"), source="cmu.bvh").skeleton
    bone_map = detect_roles(loaded)
    assert bone_map.to_dict() == CMU_EXPECTED
    assert body_height(loaded, bone_map) == pytest.approx(body_height(skeleton), rel=1e-5)


def build_from_world(rows: list[tuple[str, "str | None", tuple[float, float, float]]]) -> Skeleton:
    """Build a skeleton from (name, parent name, world rest position) rows."""
    world = {name: np.array(position, dtype=float) for name, _, position in rows}
    return build([(name, parent, tuple(world[name] - (world[parent] if parent else 0.0))) for name, parent, _ in rows])


def generated_rigify_rows() -> list[tuple[str, "str | None", tuple[float, float, float]]]:
    """The parenting of a rig generated by Rigify in Blender 4.5, cut down to one finger-less body.

    The DEF- spine chain is missing (Blender leaves it under a second root), every ORG-
    spine bone hangs from its own control, DEF-thigh hangs from ORG-spine and
    DEF-shoulder and DEF-upper_arm from ORG-shoulder. Z up, facing -Y, metres.
    """
    spine_heights = (1.0, 1.12, 1.24, 1.37, 1.52, 1.57, 1.62)
    rows = [("MCH-torso.parent", None, (0, 0, 0)), ("torso", "MCH-torso.parent", (0, 0, 1.1))]
    for number, height in enumerate(spine_heights):
        suffix = "" if number == 0 else f".{number:03d}"
        rows.append((f"tweak_spine{suffix}", "torso", (0, 0, height)))
        rows.append((f"ORG-spine{suffix}", f"tweak_spine{suffix}", (0, 0, height)))
    rows.append(("hips", "torso", (0, 0, 1.0)))
    rows.append(("chest", "torso", (0, 0, 1.3)))
    for side, sign in (("L", 1.0), ("R", -1.0)):
        rows += [
            (f"ORG-shoulder.{side}", "ORG-spine.003", (sign * 0.02, -0.02, 1.47)),
            (f"DEF-shoulder.{side}", f"ORG-shoulder.{side}", (sign * 0.02, -0.02, 1.47)),
            (f"DEF-upper_arm.{side}", f"ORG-shoulder.{side}", (sign * 0.19, 0.01, 1.47)),
            (f"DEF-upper_arm.{side}.001", f"DEF-upper_arm.{side}", (sign * 0.32, 0.01, 1.47)),
            (f"DEF-forearm.{side}", f"DEF-upper_arm.{side}.001", (sign * 0.45, 0.01, 1.47)),
            (f"DEF-forearm.{side}.001", f"DEF-forearm.{side}", (sign * 0.57, 0.01, 1.47)),
            (f"DEF-hand.{side}", f"DEF-forearm.{side}.001", (sign * 0.69, 0.01, 1.47)),
            (f"hand_ik.{side}", "MCH-torso.parent", (sign * 0.69, 0.01, 1.47)),
            (f"DEF-thigh.{side}", "ORG-spine", (sign * 0.1, 0, 1.0)),
            (f"DEF-thigh.{side}.001", f"DEF-thigh.{side}", (sign * 0.1, 0, 0.78)),
            (f"DEF-shin.{side}", f"DEF-thigh.{side}.001", (sign * 0.1, -0.01, 0.56)),
            (f"DEF-shin.{side}.001", f"DEF-shin.{side}", (sign * 0.1, -0.01, 0.36)),
            (f"DEF-foot.{side}", f"DEF-shin.{side}.001", (sign * 0.1, 0, 0.16)),
            (f"DEF-toe.{side}", f"DEF-foot.{side}", (sign * 0.1, -0.12, 0.02)),
            (f"foot_ik.{side}", "MCH-torso.parent", (sign * 0.1, 0, 0.16)),
        ]
    return rows


def test_generated_rigify_rig():
    skeleton = build_from_world(generated_rigify_rows())
    bone_map = detect_roles(skeleton)
    assert bone_map.name("pelvis") == "ORG-spine"
    assert bone_map.name("spine") == "ORG-spine.001"
    assert bone_map.name("chest") == "ORG-spine.003"
    assert bone_map.name("neck") == "ORG-spine.004"
    assert bone_map.name("head") == "ORG-spine.006"
    for side in ("left", "right"):
        letter = side[0].upper()
        assert bone_map.name(f"{side}_shoulder") == f"DEF-shoulder.{letter}"
        assert bone_map.name(f"{side}_upper_arm") == f"DEF-upper_arm.{letter}"
        assert bone_map.name(f"{side}_forearm") == f"DEF-forearm.{letter}"
        assert bone_map.name(f"{side}_hand") == f"DEF-hand.{letter}"
        assert bone_map.name(f"{side}_thigh") == f"DEF-thigh.{letter}"
        assert bone_map.name(f"{side}_toe") == f"DEF-toe.{letter}"
    assert set(bone_map.detected_by.values()) == {"name"}
    # The ORG- spine chain is broken, so it is measured straight from 1.0 m to 1.62 m.
    # The legs follow their DEF- bones from 1.0 m down to the ankle at 0.16 m.
    torso = 1.62 - 1.0
    leg = 0.22 + np.hypot(0.01, 0.22) + 0.2 + np.hypot(0.01, 0.2)
    assert body_height(skeleton, bone_map) == pytest.approx(torso + leg, rel=1e-9)
