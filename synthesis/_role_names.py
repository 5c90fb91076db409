"""Classify bone names into body parts and sides for :mod:`synthesis.roles`.

A bone name is split into lower-case words: camel case, ``_``, ``.``, ``-``, spaces and
digits all separate words, and a namespace such as ``mixamorig:`` is dropped. A
``left``/``right``/``l``/``r`` word gives the side. The remaining words, joined, are looked
up in a table of the words that Bandai Namco, CMU, Mixamo, Rigify, Unreal, Daz and 3ds Max
Biped rigs use. ``LeftForeArm``, ``forearm.L``, ``DEF-forearm.L``, ``lowerarm_l`` and
``LowerArm_L`` all become ``BoneName(part="forearm", side="left")``.

Names that contain a helper word (``twist``, ``ik``, ``end``, ``pole``, ...) or carry a
Rigify ``ORG-``/``MCH-`` prefix get no part, so helper bones never take a role.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["BoneName", "CENTRE_PARTS", "LIMB_PARTS", "classify_bone_name", "is_end_marker", "natural_sort_key"]

CENTRE_PARTS = ("pelvis", "spine", "chest", "neck", "head")
"""Parts on the body's midline; their bones carry no side."""

LIMB_PARTS = ("shoulder", "upper_arm", "forearm", "hand", "thigh", "shin", "foot", "toe")
"""Parts that come in a left and a right version."""

# Joined words (side and digits removed) for each midline part.
_CENTRE_WORDS = {
    "pelvis": ("hips", "hip", "pelvis"),
    "spine": ("spine", "lowerback", "upperback", "back", "torso", "abdomen", "abdomenlower", "abdomenupper", "waist"),
    "chest": ("chest", "upperchest", "chestlower", "chestupper", "thorax", "ribcage"),
    "neck": ("neck", "necklower", "neckupper"),
    "head": ("head",),
}

# Joined words for each limb part; a bone needs a side word as well to get one of these.
_LIMB_WORDS = {
    "shoulder": ("shoulder", "clavicle", "collar", "collarbone", "clav"),
    "upper_arm": ("upperarm", "arm", "uparm", "humerus", "shldrbend", "shldr"),
    "forearm": ("forearm", "lowerarm", "elbow", "loarm", "forearmbend"),
    "hand": ("hand", "wrist"),
    "thigh": ("thigh", "upleg", "upperleg", "hip", "femur", "thighbend"),
    "shin": ("shin", "calf", "leg", "lowerleg", "knee", "loleg"),
    "foot": ("foot", "ankle"),
    "toe": ("toe", "toes", "toebase", "ball"),
}

# A bone whose name contains one of these words is a helper, not a body part.
_HELPER_WORDS = frozenset(
    {
        "twist", "ik", "fk", "pole", "target", "ctrl", "control", "mch", "org", "tweak", "roll",
        "end", "nub", "tip", "helper", "socket", "prop", "weapon", "corrective", "jiggle",
    }
)

# Leading words that some exporters put in front of every bone name.
_PREFIX_WORDS = frozenset({"def", "bip", "bip01"})

_LEFT_WORDS = frozenset({"l", "left", "lft"})
_RIGHT_WORDS = frozenset({"r", "right", "rgt"})

# Upper-case runs that end before a capitalised word ("LHip" -> "L", "Hip"), capitalised or
# lower-case words, and digit runs.
_WORD_PATTERN = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")

_CENTRE_LOOKUP = {word: part for part, words in _CENTRE_WORDS.items() for word in words}
_LIMB_LOOKUP = {word: part for part, words in _LIMB_WORDS.items() for word in words}


@dataclass(frozen=True)
class BoneName:
    """Body part and side read from one bone name."""

    part: str | None
    """One of :data:`CENTRE_PARTS` or :data:`LIMB_PARTS`, or ``None`` for an unknown or helper bone."""
    side: str | None
    """``"left"``, ``"right"`` or ``None``."""
    number: int
    """The last number in the name (``Spine2`` is 2, ``DEF-upper_arm.L.001`` is 1), 0 without one."""
    helper: bool
    """True for twist, IK, end and control bones, which never take a role."""


def name_words(name: str) -> list[str]:
    """Split a bone name into lower-case words after dropping any ``namespace:`` or ``path|`` prefix."""
    base = re.split(r"[:|]", name)[-1]
    return [word.lower() for word in _WORD_PATTERN.findall(base)]


def classify_bone_name(name: str) -> BoneName:
    """Classify one bone name.

    Parameters
    ----------
    name : str
        The bone name as the skeleton stores it, in any letter case.

    Returns
    -------
    BoneName
        The part and side; ``part`` is ``None`` when no table word matches exactly.
    """
    words = name_words(name)
    if not words:
        return BoneName(None, None, 0, False)
    if any(word in _HELPER_WORDS for word in words):
        return BoneName(None, _side_of(words)[0], 0, True)
    while words and words[0] in _PREFIX_WORDS:
        # "Bip01 L Thigh": the number belongs to the prefix, not to the bone.
        words = words[2:] if len(words) > 1 and words[1].isdigit() else words[1:]

    side, words = _side_of(words)
    numbers = [int(word) for word in words if word.isdigit()]
    core = "".join(word for word in words if not word.isdigit())
    number = numbers[-1] if numbers else 0

    if side == "ambiguous":
        return BoneName(None, None, number, False)
    if side is None:
        return BoneName(_CENTRE_LOOKUP.get(core), None, number, False)
    return BoneName(_LIMB_LOOKUP.get(core), side, number, False)


def is_end_marker(name: str) -> bool:
    """Return True for leaf bones that only mark where a chain ends (``HeadTop_End``, ``Toe_Nub``)."""
    return any(word in ("end", "nub", "tip") for word in name_words(name))


def natural_sort_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Key that sorts ``bone_9`` before ``bone_10``."""
    return tuple((0, int(part)) if part.isdigit() else (1, part.lower()) for part in re.split(r"(\d+)", name) if part)


def _side_of(words: list[str]) -> tuple[str | None, list[str]]:
    """Find the side word and return it with the remaining words.

    A word counts as a side when it is ``l``/``r``/``left``/``right`` on its own, or when
    a longer word starts with ``left`` or ``right`` (all-lower-case names such as
    ``leftupleg`` keep no word boundary). Both sides in one name return ``"ambiguous"``.
    """
    sides: set[str] = set()
    remaining: list[str] = []
    for word in words:
        if word in _LEFT_WORDS:
            sides.add("left")
        elif word in _RIGHT_WORDS:
            sides.add("right")
        elif word.startswith("left") and len(word) > 4:
            sides.add("left")
            remaining.append(word[4:])
        elif word.startswith("right") and len(word) > 5:
            sides.add("right")
            remaining.append(word[5:])
        else:
            remaining.append(word)
    if len(sides) > 1:
        return "ambiguous", remaining
    return (sides.pop() if sides else None), remaining
