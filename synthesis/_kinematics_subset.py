"""Forward kinematics of a few joints: only they and their ancestors are computed.

Feature extraction needs the world positions of about 17 role joints, and never those of
fingers, toes or twist bones. :class:`JointSubsetKinematics` runs the forward kinematics
of ``synthesis.skeleton.forward_kinematics`` on the chosen joints and their ancestors only.
It takes one depth level of the joint tree per step instead of one joint, on arrays laid
out as ``(component, joint, frame)``, so every step is an elementwise operation on
contiguous rows. The products and sums are those of ``forward_kinematics`` in the same
order, so the positions are bit-identical. ``tests/test_features_speedpath.py`` checks
this on a BVH skeleton with and without rest rotations.
"""

from __future__ import annotations

import numpy as np

from .skeleton import Skeleton

__all__ = ["JointSubsetKinematics"]


class JointSubsetKinematics:
    """World positions of chosen joints of one skeleton, from local rotations.

    Parameters
    ----------
    skeleton : Skeleton
        The skeleton whose motions are evaluated; its arrays are read once here.
    joints : sequence of int
        Skeleton indices of the joints whose positions :meth:`positions` returns, in
        that order.
    """

    def __init__(self, skeleton: Skeleton, joints: list[int] | tuple[int, ...]) -> None:
        self.skeleton = skeleton
        self.joints = tuple(int(joint) for joint in joints)
        if not self.joints:
            raise ValueError("JointSubsetKinematics needs at least one joint index")
        for joint in self.joints:
            if not 0 <= joint < skeleton.joint_count:
                raise ValueError(
                    f"Joint index {joint} is outside 0..{skeleton.joint_count - 1}; pass indices of the skeleton's joints"
                )

        needed: set[int] = set()
        for joint in self.joints:
            while joint >= 0 and joint not in needed:
                needed.add(joint)
                joint = int(skeleton.parents[joint])
        depth: dict[int, int] = {}
        for joint in sorted(needed):
            parent = int(skeleton.parents[joint])
            depth[joint] = 0 if parent < 0 else depth[parent] + 1
        has_children = {int(skeleton.parents[joint]) for joint in needed}
        # Rows are sorted by depth, so each level of the tree is one contiguous slice of
        # rows and every parent's row is filled before its children's. Within a level,
        # joints with children come first because only they need world rotations.
        order = sorted(needed, key=lambda joint: (depth[joint], joint not in has_children, joint))
        self.computed = np.array(order, dtype=np.int64)
        """Skeleton indices of the joints computed: the chosen joints and their ancestors."""
        row_of = {joint: row for row, joint in enumerate(order)}
        self._levels: list[tuple[slice, slice, np.ndarray]] = []
        start = 1
        for level in range(1, max(depth.values()) + 1):
            joints_here = [joint for joint in order if depth[joint] == level]
            stop = start + len(joints_here)
            rotated = start + sum(1 for joint in joints_here if joint in has_children)
            parents = np.array([row_of[int(skeleton.parents[joint])] for joint in joints_here], dtype=np.int64)
            self._levels.append((slice(start, stop), slice(start, rotated), parents))
            start = stop
        self._output_rows = np.array([row_of[joint] for joint in self.joints], dtype=np.int64)

        rest = skeleton.rest_rotations[self.computed]
        self._rest_rotations = None if np.all(rest == (1.0, 0.0, 0.0, 0.0)) else rest.T[:, :, None].copy()
        self._offsets = skeleton.offsets[self.computed].T[:, :, None].copy()  # (3, rows, 1)

    def positions(
        self, rotations: np.ndarray, root_positions: np.ndarray, translations: np.ndarray | None = None
    ) -> np.ndarray:
        """Compute world positions ``(frames, len(joints), 3)`` of the chosen joints.

        Takes the arguments of ``synthesis.skeleton.forward_kinematics`` for the whole
        skeleton: ``rotations: (frames, skeleton joints, 4)``, ``root_positions: (frames, 3)``
        and optional ``translations: (frames, skeleton joints, 3)``.
        """
        rotations = np.asarray(rotations, dtype=np.float64)
        frames = rotations.shape[0]
        local = np.ascontiguousarray(rotations[:, self.computed].transpose(2, 1, 0))  # (4, rows, frames)
        if self._rest_rotations is not None:
            local = _multiply(self._rest_rotations, local)
        if translations is not None:
            offsets = np.ascontiguousarray(np.asarray(translations, dtype=np.float64)[:, self.computed].transpose(2, 1, 0))
        else:
            offsets = self._offsets

        world = np.empty_like(local)
        positions = np.empty((3, len(self.computed), frames))
        world[:, 0] = local[:, 0]
        positions[:, 0] = np.asarray(root_positions, dtype=np.float64).T
        if translations is not None:
            # As in forward_kinematics, a translated root adds its own offset.
            positions[:, 0] += offsets[:, 0]
        for rows, rotated, parents in self._levels:
            parent_rotations = world[:, parents]
            if rotated.stop > rotated.start:
                count = rotated.stop - rotated.start
                _multiply(parent_rotations[:, :count], local[:, rotated], out=world[:, rotated])
            level_positions = positions[:, rows]
            _rotate(parent_rotations, offsets[:, rows], out=level_positions)
            # The same sum as forward_kinematics' parent + rotated offset: IEEE addition commutes.
            level_positions += positions[:, parents]
        return positions[:, self._output_rows].transpose(2, 1, 0)


def _multiply(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Compute the Hamilton product ``a * b`` of quaternions stored as ``(4, ...)`` components.

    The products and sums are those of ``quaternion.multiply``, in its order.
    """
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    if out is None:
        out = np.empty(np.broadcast_shapes(a.shape, b.shape))
    out[0] = aw * bw - ax * bx - ay * by - az * bz
    out[1] = aw * bx + ax * bw + ay * bz - az * by
    out[2] = aw * by - ax * bz + ay * bw + az * bx
    out[3] = aw * bz + ax * by - ay * bx + az * bw
    return out


def _rotate(q: np.ndarray, v: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Rotate vectors ``v: (3, ...)`` by quaternions ``q: (4, ...)`` into ``out: (3, ...)``.

    The products and sums are those of ``quaternion.rotate``, in its order.
    """
    w, x, y, z = q
    vx, vy, vz = v
    # t = 2 (axis x v), then v + w t + axis x t, with numpy.cross's order of products.
    tx = 2.0 * (y * vz - z * vy)
    ty = 2.0 * (z * vx - x * vz)
    tz = 2.0 * (x * vy - y * vx)
    out[0] = vx + w * tx + (y * tz - z * ty)
    out[1] = vy + w * ty + (z * tx - x * tz)
    out[2] = vz + w * tz + (x * ty - y * tx)
    return out
