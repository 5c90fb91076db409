"""Quaternion and rotation helpers, vectorised over any leading shape.

Quaternions are ``(..., 4)`` float arrays in ``(w, x, y, z)`` order, the order Blender's
``mathutils.Quaternion`` and pose-bone ``rotation_quaternion`` use. Rotations are active
and act on column vectors: ``rotate(q, v) == to_matrix(q) @ v``. Angles are in radians.

Euler orders name the axes in the order the matrices multiply, as BVH channel lists do:
order ``"ZXY"`` means ``R = Rz @ Rx @ Ry``. Blender's Euler mode names the order in which
the rotations are applied, which is the reverse: Blender's ``'YXZ'`` is ``"ZXY"`` here.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "EULER_ORDERS",
    "identity",
    "normalize",
    "multiply",
    "conjugate",
    "rotate",
    "to_matrix",
    "from_matrix",
    "from_axis_angle",
    "to_axis_angle",
    "from_euler",
    "to_euler",
    "slerp",
    "make_continuous",
    "log",
    "exp",
    "angle_between",
]

EULER_ORDERS = ("XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX")
_AXIS_INDEX = {"X": 0, "Y": 1, "Z": 2}


def identity(shape: tuple[int, ...] = ()) -> np.ndarray:
    """Return identity quaternions of the given leading shape."""
    quaternions = np.zeros(shape + (4,))
    quaternions[..., 0] = 1.0
    return quaternions


def normalize(q: np.ndarray) -> np.ndarray:
    """Scale quaternions to unit length; a zero quaternion becomes the identity."""
    q = np.asarray(q, dtype=np.float64)
    norm = np.linalg.norm(q, axis=-1, keepdims=True)
    safe = np.where(norm > 1e-12, norm, 1.0)
    result = q / safe
    zero = norm[..., 0] <= 1e-12
    if np.any(zero):
        result[zero] = (1.0, 0.0, 0.0, 0.0)
    return result


def multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product ``a * b``: the rotation ``b`` followed by ``a``."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    aw, ax, ay, az = a[..., 0], a[..., 1], a[..., 2], a[..., 3]
    bw, bx, by, bz = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    # Writing each component into its slot skips the moveaxis and stack copies.
    result = np.empty(np.broadcast_shapes(a.shape, b.shape))
    result[..., 0] = aw * bw - ax * bx - ay * by - az * bz
    result[..., 1] = aw * bx + ax * bw + ay * bz - az * by
    result[..., 2] = aw * by - ax * bz + ay * bw + az * bx
    result[..., 3] = aw * bz + ax * by - ay * bx + az * bw
    return result


def conjugate(q: np.ndarray) -> np.ndarray:
    """Return the conjugate, which is the inverse of a unit quaternion."""
    result = np.array(q, dtype=np.float64, copy=True)
    result[..., 1:] *= -1.0
    return result


def rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors ``v: (..., 3)`` by unit quaternions ``q: (..., 4)``."""
    q = np.asarray(q, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    vx, vy, vz = v[..., 0], v[..., 1], v[..., 2]
    # v + w t + axis x t with t = 2 (axis x v), written out with numpy.cross's order of
    # products and sums, so the result is bit-identical to the np.cross form at half the cost.
    tx = 2.0 * (y * vz - z * vy)
    ty = 2.0 * (z * vx - x * vz)
    tz = 2.0 * (x * vy - y * vx)
    result = np.empty(np.broadcast_shapes(q.shape[:-1], v.shape[:-1]) + (3,))
    result[..., 0] = vx + w * tx + (y * tz - z * ty)
    result[..., 1] = vy + w * ty + (z * tx - x * tz)
    result[..., 2] = vz + w * tz + (x * ty - y * tx)
    return result


def to_matrix(q: np.ndarray) -> np.ndarray:
    """Convert unit quaternions ``(..., 4)`` to rotation matrices ``(..., 3, 3)``."""
    w, x, y, z = np.moveaxis(np.asarray(q, dtype=np.float64), -1, 0)
    xx, yy, zz = x * x, y * y, z * z
    xy, xz, yz = x * y, x * z, y * z
    wx, wy, wz = w * x, w * y, w * z
    matrix = np.empty(w.shape + (3, 3))
    matrix[..., 0, 0] = 1.0 - 2.0 * (yy + zz)
    matrix[..., 0, 1] = 2.0 * (xy - wz)
    matrix[..., 0, 2] = 2.0 * (xz + wy)
    matrix[..., 1, 0] = 2.0 * (xy + wz)
    matrix[..., 1, 1] = 1.0 - 2.0 * (xx + zz)
    matrix[..., 1, 2] = 2.0 * (yz - wx)
    matrix[..., 2, 0] = 2.0 * (xz - wy)
    matrix[..., 2, 1] = 2.0 * (yz + wx)
    matrix[..., 2, 2] = 1.0 - 2.0 * (xx + yy)
    return matrix


def from_matrix(matrix: np.ndarray) -> np.ndarray:
    """Convert rotation matrices ``(..., 3, 3)`` to unit quaternions with ``w >= 0``.

    Uses the branch on the largest diagonal term (Shepperd's method), which stays
    accurate near 180-degree rotations.
    """
    m = np.asarray(matrix, dtype=np.float64)
    shape = m.shape[:-2]
    m = m.reshape(-1, 3, 3)
    trace = m[:, 0, 0] + m[:, 1, 1] + m[:, 2, 2]
    candidates = np.stack((trace, m[:, 0, 0], m[:, 1, 1], m[:, 2, 2]), axis=-1)
    choice = np.argmax(candidates, axis=-1)
    q = np.empty((m.shape[0], 4))

    rows = choice == 0
    s = np.sqrt(np.maximum(trace[rows] + 1.0, 0.0)) * 2.0
    q[rows, 0] = 0.25 * s
    q[rows, 1] = (m[rows, 2, 1] - m[rows, 1, 2]) / s
    q[rows, 2] = (m[rows, 0, 2] - m[rows, 2, 0]) / s
    q[rows, 3] = (m[rows, 1, 0] - m[rows, 0, 1]) / s

    rows = choice == 1
    s = np.sqrt(np.maximum(1.0 + m[rows, 0, 0] - m[rows, 1, 1] - m[rows, 2, 2], 0.0)) * 2.0
    q[rows, 0] = (m[rows, 2, 1] - m[rows, 1, 2]) / s
    q[rows, 1] = 0.25 * s
    q[rows, 2] = (m[rows, 0, 1] + m[rows, 1, 0]) / s
    q[rows, 3] = (m[rows, 0, 2] + m[rows, 2, 0]) / s

    rows = choice == 2
    s = np.sqrt(np.maximum(1.0 + m[rows, 1, 1] - m[rows, 0, 0] - m[rows, 2, 2], 0.0)) * 2.0
    q[rows, 0] = (m[rows, 0, 2] - m[rows, 2, 0]) / s
    q[rows, 1] = (m[rows, 0, 1] + m[rows, 1, 0]) / s
    q[rows, 2] = 0.25 * s
    q[rows, 3] = (m[rows, 1, 2] + m[rows, 2, 1]) / s

    rows = choice == 3
    s = np.sqrt(np.maximum(1.0 + m[rows, 2, 2] - m[rows, 0, 0] - m[rows, 1, 1], 0.0)) * 2.0
    q[rows, 0] = (m[rows, 1, 0] - m[rows, 0, 1]) / s
    q[rows, 1] = (m[rows, 0, 2] + m[rows, 2, 0]) / s
    q[rows, 2] = (m[rows, 1, 2] + m[rows, 2, 1]) / s
    q[rows, 3] = 0.25 * s

    q = normalize(q)
    q[q[:, 0] < 0] *= -1.0
    return q.reshape(shape + (4,))


def from_axis_angle(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Build quaternions from axes ``(..., 3)`` (normalised here) and angles ``(...)``."""
    axis = np.asarray(axis, dtype=np.float64)
    angle = np.asarray(angle, dtype=np.float64)
    norm = np.linalg.norm(axis, axis=-1, keepdims=True)
    unit = axis / np.where(norm > 1e-12, norm, 1.0)
    half = 0.5 * angle[..., None]
    return np.concatenate((np.cos(half), np.sin(half) * unit), axis=-1)


def to_axis_angle(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split unit quaternions into unit axes ``(..., 3)`` and angles in ``[0, pi]``."""
    q = normalize(q)
    q = np.where(q[..., :1] < 0, -q, q)
    sin_half = np.linalg.norm(q[..., 1:], axis=-1)
    angle = 2.0 * np.arctan2(sin_half, q[..., 0])
    axis = np.where(
        sin_half[..., None] > 1e-12,
        q[..., 1:] / np.where(sin_half > 1e-12, sin_half, 1.0)[..., None],
        np.array([1.0, 0.0, 0.0]),
    )
    return axis, angle


def _validate_order(order: str) -> tuple[int, int, int]:
    order = order.upper()
    if order not in EULER_ORDERS:
        raise ValueError(f"Invalid Euler order {order!r}; expected one of {', '.join(EULER_ORDERS)}")
    return _AXIS_INDEX[order[0]], _AXIS_INDEX[order[1]], _AXIS_INDEX[order[2]]


def from_euler(angles: np.ndarray, order: str) -> np.ndarray:
    """Convert Euler angles ``(..., 3)`` in radians to quaternions.

    ``angles[..., n]`` is the angle about the axis ``order[n]``, and the rotation is the
    matrix product in that order (see the module docstring).
    """
    axes = _validate_order(order)
    angles = np.asarray(angles, dtype=np.float64)
    result = identity(angles.shape[:-1])
    for n, axis_index in enumerate(axes):
        axis = np.zeros(3)
        axis[axis_index] = 1.0
        result = multiply(result, from_axis_angle(axis, angles[..., n]))
    return result


def to_euler(q: np.ndarray, order: str) -> np.ndarray:
    """Convert unit quaternions to Euler angles ``(..., 3)`` in radians for ``order``.

    The middle angle lies in ``[-pi/2, pi/2]``. At gimbal lock the third angle is set to
    zero and the first one takes the whole rotation about the shared axis.
    """
    i, j, k = _validate_order(order)
    # An even permutation of (X, Y, Z) keeps the signs of the XYZ formulas.
    sign = 1.0 if (i, j, k) in ((0, 1, 2), (1, 2, 0), (2, 0, 1)) else -1.0
    m = to_matrix(q)
    middle = np.arcsin(np.clip(sign * m[..., i, k], -1.0, 1.0))
    first = np.arctan2(-sign * m[..., j, k], m[..., k, k])
    third = np.arctan2(-sign * m[..., i, j], m[..., i, i])

    locked = np.abs(sign * m[..., i, k]) > 1.0 - 1e-9
    if np.any(locked):
        # With the middle angle at +-90 degrees, the first and third axes coincide.
        first_locked = np.arctan2(sign * m[..., k, j], m[..., j, j])
        first = np.where(locked, first_locked, first)
        third = np.where(locked, 0.0, third)
    return np.stack((first, middle, third), axis=-1)


def slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Interpolate from ``a`` to ``b`` along the shorter arc; ``t`` broadcasts over ``(...)``."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)[..., None]
    dot = np.sum(a * b, axis=-1, keepdims=True)
    b = np.where(dot < 0.0, -b, b)
    dot = np.abs(dot)
    close = dot > 0.9995
    theta = np.arccos(np.clip(dot, -1.0, 1.0))
    sin_theta = np.sin(theta)
    safe_sin = np.where(close, 1.0, sin_theta)
    weight_a = np.where(close, 1.0 - t, np.sin((1.0 - t) * theta) / safe_sin)
    weight_b = np.where(close, t, np.sin(t * theta) / safe_sin)
    return normalize(weight_a * a + weight_b * b)


def make_continuous(q: np.ndarray, axis: int = 0) -> np.ndarray:
    """Flip signs along ``axis`` (the frame axis) so that neighbouring quaternions agree.

    ``q`` and ``-q`` are the same rotation, but interpolating keys between them turns the
    long way round; this removes such flips without changing any rotation.
    """
    q = np.moveaxis(np.array(q, dtype=np.float64, copy=True), axis, 0)
    if q.shape[0] > 1:
        dots = np.sum(q[1:] * q[:-1], axis=-1)
        flips = np.cumsum(dots < 0.0, axis=0) % 2 == 1
        q[1:][flips] *= -1.0
    return np.moveaxis(q, 0, axis)


def log(q: np.ndarray) -> np.ndarray:
    """Return rotation vectors ``(..., 3)``: axis times angle in radians, angle in ``[0, pi]``."""
    axis, angle = to_axis_angle(q)
    return axis * angle[..., None]


def exp(rotation_vector: np.ndarray) -> np.ndarray:
    """Convert rotation vectors ``(..., 3)`` (axis times angle in radians) to quaternions."""
    rotation_vector = np.asarray(rotation_vector, dtype=np.float64)
    angle = np.linalg.norm(rotation_vector, axis=-1)
    return from_axis_angle(rotation_vector, angle)


def angle_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return the rotation angle in radians from ``a`` to ``b``, in ``[0, pi]``."""
    dot = np.abs(np.sum(normalize(a) * normalize(b), axis=-1))
    return 2.0 * np.arccos(np.clip(dot, 0.0, 1.0))
