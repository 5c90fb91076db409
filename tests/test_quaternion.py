import numpy as np
import pytest

from synthesis import quaternion


def random_quaternions(count: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return quaternion.normalize(rng.normal(size=(count, 4)))


def axis_matrix(axis: str, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    if axis == "X":
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    if axis == "Y":
        return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def test_matrix_round_trip():
    q = random_quaternions(500)
    back = quaternion.from_matrix(quaternion.to_matrix(q))
    assert np.allclose(quaternion.angle_between(q, back), 0.0, atol=1e-7)


def test_rotate_matches_matrix():
    q = random_quaternions(50)
    v = np.random.default_rng(1).normal(size=(50, 3))
    expected = np.einsum("nab,nb->na", quaternion.to_matrix(q), v)
    assert np.allclose(quaternion.rotate(q, v), expected)


def test_multiply_composes_matrices():
    a, b = random_quaternions(20, 2), random_quaternions(20, 3)
    expected = quaternion.to_matrix(a) @ quaternion.to_matrix(b)
    assert np.allclose(quaternion.to_matrix(quaternion.multiply(a, b)), expected)


@pytest.mark.parametrize("order", quaternion.EULER_ORDERS)
def test_euler_matches_matrix_product(order):
    angles = np.array([0.3, -0.7, 1.1])
    expected = axis_matrix(order[0], angles[0]) @ axis_matrix(order[1], angles[1]) @ axis_matrix(order[2], angles[2])
    assert np.allclose(quaternion.to_matrix(quaternion.from_euler(angles, order)), expected)


@pytest.mark.parametrize("order", quaternion.EULER_ORDERS)
def test_euler_round_trip(order):
    q = random_quaternions(400, 4)
    angles = quaternion.to_euler(q, order)
    back = quaternion.from_euler(angles, order)
    assert np.allclose(quaternion.angle_between(q, back), 0.0, atol=1e-6)
    assert np.all(np.abs(angles[:, 1]) <= np.pi / 2 + 1e-9)


@pytest.mark.parametrize("order", quaternion.EULER_ORDERS)
def test_euler_gimbal_lock(order):
    angles = np.array([0.4, np.pi / 2, 0.2])
    q = quaternion.from_euler(angles, order)
    back = quaternion.from_euler(quaternion.to_euler(q, order), order)
    assert quaternion.angle_between(q, back) < 1e-6


def test_invalid_euler_order():
    with pytest.raises(ValueError, match="Euler order"):
        quaternion.from_euler(np.zeros(3), "XXY")


def test_slerp_endpoints_and_midpoint():
    a = quaternion.identity()
    b = quaternion.from_axis_angle(np.array([0, 0, 1.0]), np.array(1.0))
    assert np.allclose(quaternion.slerp(a, b, 0.0), a)
    assert np.allclose(quaternion.slerp(a, b, 1.0), b)
    middle = quaternion.slerp(a, b, 0.5)
    assert np.isclose(quaternion.angle_between(a, middle), 0.5)


def test_slerp_takes_shorter_arc():
    a = quaternion.identity()
    b = -quaternion.from_axis_angle(np.array([1.0, 0, 0]), np.array(0.2))
    middle = quaternion.slerp(a, b, 0.5)
    assert np.isclose(quaternion.angle_between(a, middle), 0.1)


def test_make_continuous_removes_sign_flips():
    q = quaternion.from_axis_angle(np.array([0, 1.0, 0]), np.linspace(0, 1, 10))
    flipped = q.copy()
    flipped[3:7] *= -1
    fixed = quaternion.make_continuous(flipped)
    assert np.all(np.sum(fixed[1:] * fixed[:-1], axis=-1) > 0)
    assert np.allclose(quaternion.angle_between(fixed, q), 0.0, atol=1e-7)


def test_log_exp_round_trip():
    q = random_quaternions(100, 5)
    back = quaternion.exp(quaternion.log(q))
    assert np.allclose(quaternion.angle_between(q, back), 0.0, atol=1e-7)
