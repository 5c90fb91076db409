"""Find bone roles from the shape of the joint tree when the names do not help.

Used by :func:`synthesis.roles.detect_roles` for skeletons whose bones are named
``bone_001`` and so on. The search reads only topology and rest bone lengths, because
some rest poses are not upright: every offset of the Bandai Namco BVH skeleton lies along
its parents' X axes, so that skeleton's rest pose is a straight line.

1. A limb pair is two children of one joint whose longest chains have the same number of
   joints (at least three) and nearly the same bone lengths. Pairs shorter than 0.4 of
   the longest pair are fingers or face bones and are dropped.
2. The legs' branch joint is the pelvis. The arms' branch joint is a descendant of it
   with a third child chain (the neck and head) and becomes the chest.
3. Along each limb chain, the two consecutive bones with the largest summed length are
   the thigh and shin, or the upper arm and forearm.
4. Left and right come from the rest pose: with ``up`` from pelvis to head and
   ``forward`` from the feet to the toes, the left side lies along ``up x forward``. When
   the rest pose cannot tell (no toes, or toes along ``up``), the chain whose first bone
   name sorts first is taken as the left one, and a warning is logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from . import quaternion
from ._role_names import natural_sort_key
from .skeleton import Skeleton, forward_kinematics

__all__ = ["ARM_PARTS", "LEG_PARTS", "JointTree", "LimbPair", "detect_by_hierarchy", "find_limb_pairs", "head_chain"]

logger = logging.getLogger(__name__)

# Largest summed bone-length difference, relative to the longer chain, between two chains
# that still count as a left/right pair.
PAIR_TOLERANCE = 0.15
# Limb pairs shorter than this fraction of the longest pair are fingers, eyes or similar.
LIMB_FRACTION = 0.4
# Factor for an upper-arm candidate whose third joint ends the chain or branches into
# fingers, as a hand does. It breaks near-ties between a long clavicle and the forearm.
HAND_BRANCH_BONUS = 1.15
# A foot-to-toe vector must keep this fraction of its length after removing its
# component along ``up`` to give a forward direction.
MIN_FORWARD_FRACTION = 0.3
# Left and right chains must differ by this fraction of the leg length along the
# lateral axis for the rest pose to decide which is which.
MIN_LATERAL_FRACTION = 0.02
# Two consecutive bones are halves of one segmented bone (Rigify's ``upper_arm.L`` and
# ``upper_arm.L.001``) when their lengths differ by less than this fraction and their
# directions by less than SEGMENT_MAX_ANGLE radians.
SEGMENT_LENGTH_TOLERANCE = 0.01
SEGMENT_MAX_ANGLE = np.radians(2.0)

LEG_PARTS = ("thigh", "shin", "foot", "toe")
ARM_PARTS = ("shoulder", "upper_arm", "forearm", "hand")


class JointTree:
    """Children, depths and longest chains of a skeleton, leaving out excluded joints."""

    def __init__(self, skeleton: Skeleton, excluded: frozenset[int] = frozenset()) -> None:
        self.skeleton = skeleton
        count = skeleton.joint_count
        self.parents = skeleton.parents
        self.lengths = skeleton.bone_lengths()
        self.children: list[list[int]] = [[] for _ in range(count)]
        for joint in range(1, count):
            if joint not in excluded and int(self.parents[joint]) not in excluded:
                self.children[int(self.parents[joint])].append(joint)
        self.depth = np.zeros(count, dtype=np.int64)
        for joint in range(1, count):
            self.depth[joint] = self.depth[self.parents[joint]] + 1

        # Parents come before children, so one reverse pass fills every subtree value.
        self.downstream = np.zeros(count)
        self.subtree_size = np.ones(count, dtype=np.int64)
        for joint in range(count - 1, -1, -1):
            kids = self.children[joint]
            if kids:
                self.downstream[joint] = max(self.lengths[kid] + self.downstream[kid] for kid in kids)
                self.subtree_size[joint] += sum(int(self.subtree_size[kid]) for kid in kids)
            elif joint in skeleton.end_sites:
                self.downstream[joint] = float(np.linalg.norm(skeleton.end_sites[joint]))

    @cached_property
    def rest_pose(self) -> tuple[np.ndarray, np.ndarray]:
        """World rest positions ``(joints, 3)`` and rotations ``(joints, 4)``, computed on first use."""
        positions, rotations = forward_kinematics(
            self.skeleton, quaternion.identity((1, self.skeleton.joint_count)), np.zeros((1, 3)), return_rotations=True
        )
        return positions[0], rotations[0]

    @property
    def positions(self) -> np.ndarray:
        """World rest positions ``(joints, 3)``."""
        return self.rest_pose[0]

    def longest_chain(self, joint: int) -> list[int]:
        """Return ``joint`` and the joints below it along the longest rest-length path."""
        chain = [joint]
        while self.children[chain[-1]]:
            kids = self.children[chain[-1]]
            chain.append(max(kids, key=lambda kid: (self.lengths[kid] + self.downstream[kid], -kid)))
        return chain

    def is_ancestor(self, ancestor: int, joint: int) -> bool:
        """Return True when ``ancestor`` is ``joint`` itself or above it."""
        while joint >= 0:
            if joint == ancestor:
                return True
            joint = int(self.parents[joint])
        return False

    def common_ancestor(self, joints: list[int]) -> int:
        """Return the deepest joint that is an ancestor of (or equal to) every joint given."""
        result = joints[0]
        for joint in joints[1:]:
            while not self.is_ancestor(result, joint):
                result = int(self.parents[result])
        return result

    def path(self, ancestor: int, joint: int) -> list[int]:
        """Return the joints from ``ancestor`` down to ``joint``, both included."""
        path = [joint]
        while path[-1] != ancestor:
            path.append(int(self.parents[path[-1]]))
        return path[::-1]


@dataclass(frozen=True)
class LimbPair:
    """Two mirrored child chains of one joint."""

    branch: int
    """The joint both chains hang from."""
    first: list[int]
    """Longest chain below the first child, in joint order."""
    second: list[int]
    """Longest chain below the second child."""
    length: float
    """Mean rest length of the two chains, including the bones from ``branch``."""
    mismatch: float
    """Summed bone-length difference relative to the longer chain."""


def find_limb_pairs(tree: JointTree) -> list[LimbPair]:
    """Return the most symmetric long child pair of each joint, longest limbs kept only."""
    best: dict[int, LimbPair] = {}
    for joint in range(tree.skeleton.joint_count):
        kids = tree.children[joint]
        for a_index, first in enumerate(kids):
            for second in kids[a_index + 1:]:
                pair = _limb_pair(tree, joint, first, second)
                if pair is not None and (joint not in best or pair.mismatch < best[joint].mismatch):
                    best[joint] = pair
    if not best:
        return []
    longest = max(pair.length for pair in best.values())
    return [pair for pair in best.values() if pair.length >= LIMB_FRACTION * longest]


def _limb_pair(tree: JointTree, branch: int, first: int, second: int) -> LimbPair | None:
    first_chain = tree.longest_chain(first)
    second_chain = tree.longest_chain(second)
    if len(first_chain) != len(second_chain) or len(first_chain) < 3:
        return None
    first_bones = np.array([tree.lengths[joint] for joint in first_chain] + [tree.downstream[first_chain[-1]]])
    second_bones = np.array([tree.lengths[joint] for joint in second_chain] + [tree.downstream[second_chain[-1]]])
    longer = max(first_bones.sum(), second_bones.sum())
    if longer <= 0.0:
        return None
    mismatch = float(np.abs(first_bones - second_bones).sum() / longer)
    sizes = sorted((int(tree.subtree_size[first]), int(tree.subtree_size[second])))
    if mismatch > PAIR_TOLERANCE or sizes[0] < 0.5 * sizes[1]:
        return None
    length = float(0.5 * (first_bones.sum() + second_bones.sum()))
    return LimbPair(branch, first_chain, second_chain, length, mismatch)


def detect_by_hierarchy(
    skeleton: Skeleton,
    excluded: frozenset[int],
    known: dict[str, int],
    rest_pose: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, int]:
    """Assign roles from the joint tree's shape.

    Parameters
    ----------
    skeleton : Skeleton
        The skeleton to read.
    excluded : frozenset of int
        Joints to leave out of every chain (end markers such as ``HeadTop_End``).
    known : dict of str to int
        Roles already assigned by name or by the user. They decide left and right when
        one of them lies in a limb chain, before the rest pose is asked.
    rest_pose : tuple of ndarray, optional
        :attr:`JointTree.rest_pose` of the same skeleton, to save computing it again.

    Returns
    -------
    dict of str to int
        Role to joint index for every role the shape settles; empty when the tree has no
        legs and arms to find.
    """
    tree = JointTree(skeleton, excluded)
    if rest_pose is not None:
        tree.__dict__["rest_pose"] = rest_pose
    layout = _find_body_layout(tree)
    if layout is None:
        logger.debug("No leg and arm pairs found in the joint tree of %d joints", skeleton.joint_count)
        return {}
    pelvis, legs, arms = layout
    chest = arms.branch

    roles: dict[str, int] = {"pelvis": pelvis}
    if chest != pelvis:
        roles["chest"] = chest
        between = tree.path(pelvis, chest)
        if len(between) >= 3:
            roles["spine"] = between[1]
    head_chain = _head_chain(tree, arms)
    if head_chain:
        roles["head"] = head_chain[-1]
        if len(head_chain) >= 2:
            roles["neck"] = head_chain[0]

    leg_roles = [_split_leg(tree, chain) for chain in (legs.first, legs.second)]
    arm_roles = [_split_arm(tree, chain) for chain in (arms.first, arms.second)]
    first_is_left = _first_chain_is_left(skeleton, tree, roles, leg_roles, arm_roles, known)
    for index, parts in enumerate(leg_roles + arm_roles):
        pair_index = index % 2
        is_left = first_is_left[0 if index < 2 else 1] == (pair_index == 0)
        side = "left" if is_left else "right"
        for part, joint in parts.items():
            roles[f"{side}_{part}"] = joint
    return roles


def _find_body_layout(tree: JointTree) -> tuple[int, LimbPair, LimbPair] | None:
    """Return ``(pelvis, legs, arms)`` or ``None`` when no such pair of limb pairs exists."""
    pairs = sorted(find_limb_pairs(tree), key=lambda pair: (int(tree.depth[pair.branch]), pair.branch))
    # Usual case: the arms branch off a joint below the pelvis, outside the leg chains.
    for legs in pairs:
        for arms in pairs:
            if arms.branch == legs.branch or not tree.is_ancestor(legs.branch, arms.branch):
                continue
            if tree.is_ancestor(legs.first[0], arms.branch) or tree.is_ancestor(legs.second[0], arms.branch):
                continue
            if _head_chain(tree, arms):
                return legs.branch, legs, arms
    # Legs and arms hang from sibling joints: the pelvis is their common ancestor, and the
    # arms' branch is the one that also carries the head chain.
    for index, first_pair in enumerate(pairs):
        for second_pair in pairs[index + 1:]:
            if tree.is_ancestor(first_pair.branch, second_pair.branch) or tree.is_ancestor(
                second_pair.branch, first_pair.branch
            ):
                continue
            first_has_head = bool(_head_chain(tree, first_pair))
            second_has_head = bool(_head_chain(tree, second_pair))
            if first_has_head != second_has_head:
                legs, arms = (second_pair, first_pair) if first_has_head else (first_pair, second_pair)
            elif first_pair.length >= second_pair.length:
                legs, arms = first_pair, second_pair
            else:
                legs, arms = second_pair, first_pair
            return tree.common_ancestor([legs.branch, arms.branch]), legs, arms
    return None


def _head_chain(tree: JointTree, arms: LimbPair) -> list[int]:
    return head_chain(tree, arms.branch, [arms.first[0], arms.second[0]])


def head_chain(tree: JointTree, branch: int, limb_roots: list[int]) -> list[int]:
    """Return the chain from ``branch`` to the head, without ``branch`` itself.

    The chain starts at the longest child of ``branch`` that is not one of ``limb_roots``
    and follows single-child joints down to a leaf or a fork (a head with jaw and eye
    bones). It is empty when ``branch`` has no other child.
    """
    # NOTE: a head-top leaf whose name has no end/nub/tip word (Mixamo's HeadTop_End
    # renamed to bone_NN) ends the chain, so it is taken as the head.
    others = [kid for kid in tree.children[branch] if kid not in limb_roots]
    if not others:
        return []
    chain = [max(others, key=lambda kid: (tree.lengths[kid] + tree.downstream[kid], -kid))]
    while len(tree.children[chain[-1]]) == 1:
        chain.append(tree.children[chain[-1]][0])
    return chain


def _bone_lengths_along(tree: JointTree, chain: list[int]) -> np.ndarray:
    """Return the rest length from ``chain[k]`` to ``chain[k + 1]`` for each ``k``, summed over merged joints."""
    return np.array([tree.skeleton.chain_length(upper, lower) for upper, lower in zip(chain[:-1], chain[1:])])


def _merge_segmented_bones(tree: JointTree, chain: list[int]) -> list[int]:
    """Drop the middle joints of segmented limb bones from ``chain``.

    Rigify splits the upper arm and forearm (thigh and shin) into two equal, collinear
    halves. A chain is merged only where two such split bones follow each other, because
    one equal collinear pair also occurs in a straight rest pose whose upper arm and
    forearm happen to have the same length.
    """
    bones = _bone_lengths_along(tree, chain)

    def is_split(index: int) -> bool:
        first, second = bones[index], bones[index + 1]
        if min(first, second) <= 0.0 or abs(first - second) > SEGMENT_LENGTH_TOLERANCE * max(first, second):
            return False
        before = tree.positions[chain[index + 1]] - tree.positions[chain[index]]
        after = tree.positions[chain[index + 2]] - tree.positions[chain[index + 1]]
        cosine = np.dot(before, after) / (np.linalg.norm(before) * np.linalg.norm(after))
        return bool(np.arccos(np.clip(cosine, -1.0, 1.0)) < SEGMENT_MAX_ANGLE)

    for start in range(len(bones) - 3):
        if is_split(start) and is_split(start + 2):
            return chain[: start + 1] + [chain[start + 2]] + chain[start + 4 :]
    return chain


def _split_leg(tree: JointTree, chain: list[int]) -> dict[str, int]:
    """Name the joints of one leg chain: the longest pair of consecutive bones is thigh and shin."""
    chain = _merge_segmented_bones(tree, chain)
    bones = _bone_lengths_along(tree, chain)
    sums = bones[:-1] + bones[1:]
    start = int(np.argmax(sums))
    parts = {"thigh": chain[start], "shin": chain[start + 1], "foot": chain[start + 2]}
    if start + 3 < len(chain):
        parts["toe"] = chain[start + 3]
    return parts


def _split_arm(tree: JointTree, chain: list[int]) -> dict[str, int]:
    """Name the joints of one arm chain: upper arm and forearm are the longest consecutive pair.

    A candidate whose hand joint ends the chain or forks into fingers scores higher by
    :data:`HAND_BRANCH_BONUS`: the CMU clavicle is about as long as the forearm.
    """
    chain = _merge_segmented_bones(tree, chain)
    bones = _bone_lengths_along(tree, chain)
    scores = bones[:-1] + bones[1:]
    for start in range(len(scores)):
        if len(tree.children[chain[start + 2]]) != 1:
            scores[start] *= HAND_BRANCH_BONUS
    start = int(np.argmax(scores))
    parts = {"upper_arm": chain[start], "forearm": chain[start + 1], "hand": chain[start + 2]}
    if start >= 1:
        parts["shoulder"] = chain[start - 1]
    return parts


def _first_chain_is_left(
    skeleton: Skeleton,
    tree: JointTree,
    roles: dict[str, int],
    leg_roles: list[dict[str, int]],
    arm_roles: list[dict[str, int]],
    known: dict[str, int],
) -> tuple[bool, bool]:
    """Decide, for the legs and then the arms, whether the first chain of the pair is the left one."""
    legs_vote = _vote_from_known(tree, leg_roles, known)
    arms_vote = _vote_from_known(tree, arm_roles, known)
    geometry = _geometry_sides(tree, roles, leg_roles, arm_roles)

    decisions = []
    for label, vote, chains, from_geometry in (
        ("legs", legs_vote, leg_roles, geometry[0] if geometry else None),
        ("arms", arms_vote, arm_roles, geometry[1] if geometry else None),
    ):
        if vote is not None:
            decisions.append(vote)
            continue
        if from_geometry is not None:
            decisions.append(from_geometry)
            continue
        top = "thigh" if label == "legs" else "upper_arm"
        first_name = skeleton.names[chains[0][top]]
        second_name = skeleton.names[chains[1][top]]
        first_is_left = natural_sort_key(first_name) <= natural_sort_key(second_name)
        left_name, right_name = (first_name, second_name) if first_is_left else (second_name, first_name)
        logger.warning(
            "The rest pose does not show which %s are left and right (no forward direction from "
            "the toes); took %r as left and %r as right by name order. Map left_/right_ roles in "
            "a bone map JSON if this is wrong.",
            label,
            left_name,
            right_name,
        )
        decisions.append(first_is_left)
    return decisions[0], decisions[1]


def _vote_from_known(tree: JointTree, chains: list[dict[str, int]], known: dict[str, int]) -> bool | None:
    """Return whether known side roles put the first chain on the left, or ``None`` without evidence."""
    score = 0
    for index, parts in enumerate(chains):
        members = set(parts.values())
        for role, joint in known.items():
            if role.startswith("left_"):
                side = "left"
            elif role.startswith("right_"):
                side = "right"
            else:
                continue
            inside = joint in members or any(tree.is_ancestor(member, joint) for member in members)
            if inside:
                puts_first_left = (side == "left") == (index == 0)
                score += 1 if puts_first_left else -1
    if score == 0:
        return None
    return score > 0


def _geometry_sides(
    tree: JointTree,
    roles: dict[str, int],
    leg_roles: list[dict[str, int]],
    arm_roles: list[dict[str, int]],
) -> tuple[bool | None, bool | None] | None:
    """Read left and right from the rest pose, or return ``None`` when it cannot tell."""
    if "head" not in roles:
        return None
    skeleton = tree.skeleton
    positions, rotations = tree.rest_pose
    up = positions[roles["head"]] - positions[roles["pelvis"]]
    if np.linalg.norm(up) <= 1e-9:
        return None
    up = up / np.linalg.norm(up)

    forwards = []
    for parts in leg_roles:
        foot = parts["foot"]
        if "toe" in parts:
            direction = positions[parts["toe"]] - positions[foot]
        elif foot in skeleton.end_sites:
            direction = quaternion.rotate(rotations[foot], skeleton.end_sites[foot])
        else:
            return None
        across = direction - np.dot(direction, up) * up
        if np.linalg.norm(direction) <= 1e-9 or np.linalg.norm(across) < MIN_FORWARD_FRACTION * np.linalg.norm(direction):
            return None
        forwards.append(across / np.linalg.norm(across))
    if np.dot(forwards[0], forwards[1]) <= 0.0:
        return None
    forward = forwards[0] + forwards[1]
    lateral = np.cross(up, forward / np.linalg.norm(forward))

    leg_length = float(np.linalg.norm(positions[leg_roles[0]["foot"]] - positions[leg_roles[0]["thigh"]]))
    results: list[bool | None] = []
    for chains in (leg_roles, arm_roles):
        centres = [positions[list(parts.values())].mean(axis=0) for parts in chains]
        offset = float(np.dot(centres[0] - centres[1], lateral))
        results.append(None if abs(offset) < MIN_LATERAL_FRACTION * leg_length else offset > 0.0)
    return results[0], results[1]
