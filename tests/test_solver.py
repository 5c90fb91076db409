"""Tests of the edit solver on real Bandai Namco walks: distance reduction, strength, bounds, constraints."""

from __future__ import annotations

import numpy as np
import pytest

from synthesis import quaternion
from synthesis.bvh import read_bvh
from synthesis.edits import (
    LOOP_ANGLE_TOLERANCE,
    NEUTRAL_PARAMETERS,
    PARAMETER_BOUNDS,
    PARAMETER_NAMES,
    apply_edit,
    apply_edit_to_keys,
)
from synthesis.features import FEATURE_NAMES, clip_features
from synthesis.roles import detect_roles
from synthesis.skeleton import Motion
from synthesis.solver import (
    apply_edit_curve,
    constraint_report,
    default_feature_scale,
    join_excerpts,
    key_weights,
    proxy_excerpts,
    solve_edit,
    solve_edit_curve,
)


def _clip(bandai1_dir, content: str, style: str) -> Motion:
    return read_bvh(bandai1_dir / "data" / f"dataset-1_{content}_{style}_001.bvh")


@pytest.fixture(scope="module")
def walk(bandai1_dir):
    motion = _clip(bandai1_dir, "walk", "normal")
    return motion, detect_roles(motion.skeleton)


@pytest.fixture(scope="module")
def sad_target(bandai1_dir, walk):
    sad = _clip(bandai1_dir, "walk", "sad")
    return clip_features(sad, detect_roles(sad.skeleton))


@pytest.fixture(scope="module")
def sad_solve(walk, sad_target):
    motion, bone_map = walk
    return solve_edit(motion, bone_map, sad_target)


def _bounds_ok(parameters) -> list[str]:
    outside = []
    for name in PARAMETER_NAMES:
        low, high = PARAMETER_BOUNDS[name]
        if not low <= getattr(parameters, name) <= high:
            outside.append(name)
    return outside


def _palindrome(motion: Motion) -> Motion:
    """Return the motion played forwards then backwards: its first and last poses are equal, so it loops."""
    frames = np.concatenate([np.arange(motion.frame_count), np.arange(motion.frame_count - 2, -1, -1)])
    return motion.sample(frames.astype(np.float64))


def test_sad_walk_distance_halved(sad_solve):
    assert sad_solve.distance_before > 0.5
    assert sad_solve.relative_error_reduction >= 0.5
    assert sad_solve.distance_after < sad_solve.distance_before


def test_sad_walk_report_consistent(sad_solve, walk):
    motion, bone_map = walk
    assert np.allclose(sad_solve.achieved_features, clip_features(sad_solve.motion, bone_map))
    assert [row["name"] for row in sad_solve.features] == list(FEATURE_NAMES)
    assert sad_solve.evaluations <= 200
    # The walk is short, so the solver edits the whole motion and its prediction is the measurement.
    assert sad_solve.proxy_excerpts == 0
    assert sad_solve.proxy_error == pytest.approx(0.0, abs=1e-12)


def test_sad_walk_moves_sad_features(sad_solve):
    rows = {row["name"]: row for row in sad_solve.features}
    # The sad walk bows the head and is slower than the normal walk.
    for name in ("head_flexion", "root_speed", "effector_energy_mean"):
        assert abs(rows[name]["error_after"]) < abs(rows[name]["error_before"]), name


def test_strength_zero_returns_source(walk, sad_target):
    motion, bone_map = walk
    result = solve_edit(motion, bone_map, sad_target, strength=0.0)
    assert result.parameters == NEUTRAL_PARAMETERS
    assert result.evaluations == 0
    assert np.array_equal(result.motion.rotations, motion.rotations)
    assert np.array_equal(result.motion.root_positions, motion.root_positions)
    assert result.motion is not motion


def test_strength_scales_target(walk, sad_target, sad_solve):
    motion, bone_map = walk
    half = solve_edit(motion, bone_map, sad_target, strength=0.5)
    expected = sad_solve.source_features + 0.5 * (sad_target - sad_solve.source_features)
    assert np.allclose(half.target_features, expected)
    assert half.distance_before == pytest.approx(0.5 * sad_solve.distance_before, rel=0.05)
    assert half.relative_error_reduction >= 0.5


def test_solve_deterministic(walk, sad_target, sad_solve):
    motion, bone_map = walk
    again = solve_edit(motion, bone_map, sad_target)
    assert again.parameters == sad_solve.parameters
    assert again.evaluations == sad_solve.evaluations
    assert np.array_equal(again.motion.rotations, sad_solve.motion.rotations)


def test_parameters_inside_bounds(bandai1_dir, walk, sad_solve):
    motion, bone_map = walk
    assert _bounds_ok(sad_solve.parameters) == []
    # An angry target far outside what the edits reach pushes parameters onto their bounds.
    angry = _clip(bandai1_dir, "run", "angry")
    far = 3.0 * clip_features(angry, detect_roles(angry.skeleton))
    result = solve_edit(motion, bone_map, far, max_evaluations=20)
    assert _bounds_ok(result.parameters) == []
    assert result.evaluations <= 20


def test_still_pose_skips_timing(walk, sad_target):
    motion, bone_map = walk
    still = motion.sample(np.zeros(45))
    result = solve_edit(still, bone_map, sad_target)
    assert any(message.startswith("time_scale, time_warp, smoothness, accent") for message in result.skipped)
    assert result.parameters.time_scale == 1.0
    assert result.parameters.smoothness == 0.0
    # Posture edits still act on a still pose.
    assert result.distance_after <= result.distance_before


def test_two_frames_returned_unchanged(walk, sad_target):
    motion, bone_map = walk
    short = motion.sample(np.array([0.0, 1.0]))
    result = solve_edit(short, bone_map, sad_target)
    assert result.evaluations == 0
    assert any("2 frame(s)" in message for message in result.skipped)
    assert np.array_equal(result.motion.rotations, short.rotations)


def test_missing_shoulders_listed(walk, sad_target):
    motion, _ = walk
    bone_map = detect_roles(motion.skeleton, {"left_shoulder": None, "right_shoulder": None})
    result = solve_edit(motion, bone_map, sad_target, max_evaluations=14)
    assert any(message.startswith("shoulder_raise") for message in result.skipped)
    assert result.parameters.shoulder_raise == 0.0


def test_invalid_inputs_rejected(walk, sad_target):
    motion, bone_map = walk
    with pytest.raises(ValueError, match="strength"):
        solve_edit(motion, bone_map, sad_target, strength=1.5)
    with pytest.raises(ValueError, match="target_features must have shape"):
        solve_edit(motion, bone_map, sad_target[:5])
    bad = sad_target.copy()
    bad[3] = np.nan
    with pytest.raises(ValueError, match="foot_distance"):
        solve_edit(motion, bone_map, bad)
    with pytest.raises(ValueError, match="feature_scale"):
        solve_edit(motion, bone_map, sad_target, feature_scale=np.zeros(len(FEATURE_NAMES)))
    with pytest.raises(ValueError, match="max_evaluations"):
        solve_edit(motion, bone_map, sad_target, max_evaluations=0)


def test_foot_skating_within_ten_percent(walk, sad_solve):
    motion, bone_map = walk
    report = constraint_report(motion, sad_solve.motion, bone_map, sad_solve.edit.contacts)
    assert report["foot_skating_result"] <= 1.1 * report["foot_skating_source"]


def test_no_quaternion_flips(walk, sad_solve):
    motion, bone_map = walk
    report = constraint_report(motion, sad_solve.motion, bone_map, sad_solve.edit.contacts)
    dots = np.sum(sad_solve.motion.rotations[1:] * sad_solve.motion.rotations[:-1], axis=-1)
    assert np.all(dots > 0.0)
    # The slower sad timing lowers the largest per-frame rotation; a flip would make it near pi.
    assert report["max_rotation_step_result"] <= report["max_rotation_step_source"] + 0.05


def test_long_loop_preserved_with_proxy(walk, sad_target):
    motion, bone_map = walk
    looped = _palindrome(_palindrome(motion))
    assert looped.duration > 20.0
    result = solve_edit(looped, bone_map, sad_target)
    assert result.proxy_excerpts == 2
    assert result.relative_error_reduction >= 0.5
    # The proxy's prediction of the full-resolution features stays within a quarter of a spread on average.
    assert result.proxy_error < 0.25
    report = constraint_report(looped, result.motion, bone_map, result.edit.contacts)
    assert report["loops_source"]
    assert report["loop_gap_result"] < LOOP_ANGLE_TOLERANCE
    assert report["foot_skating_result"] <= 1.1 * report["foot_skating_source"]


def test_proxy_excerpts_cover_clip(walk):
    motion, _ = walk
    assert proxy_excerpts(motion) == [(0, motion.frame_count)]
    long = _palindrome(_palindrome(motion))
    ranges = proxy_excerpts(long, proxy_seconds=6.0)
    assert len(ranges) == 2
    assert all(stop - start == 91 for start, stop in ranges)
    assert ranges[0][0] < long.frame_count / 2 < ranges[1][1]
    joined = join_excerpts(long, ranges)
    # The two 91-frame excerpts overlap by the 0.25 s cross-fade (8 frames at 30 fps).
    assert joined.frame_count == 2 * 91 - 8
    steps = quaternion.angle_between(joined.rotations[1:], joined.rotations[:-1])
    source_steps = quaternion.angle_between(long.rotations[1:], long.rotations[:-1])
    assert steps.max() <= source_steps.max() + 0.2


def test_default_scale_positive(sad_solve, sad_target):
    scale = default_feature_scale(sad_solve.source_features, sad_target)
    assert np.all(scale > 0)
    assert np.allclose(scale, sad_solve.feature_scale)
    assert np.all(scale >= 0.25 * np.abs(sad_target) - 1e-12)


def test_sparse_keys_keep_count(walk, sad_solve):
    motion, bone_map = walk
    key_times = np.arange(0, motion.frame_count, 10) / motion.frame_rate
    keys = apply_edit_to_keys(motion, bone_map, sad_solve.parameters, key_times)
    assert len(keys.times) == len(key_times)
    assert np.all(np.diff(keys.times) > 0)
    # Slower playback stretches the key times.
    assert keys.times[-1] == pytest.approx(key_times[-1] / sad_solve.parameters.time_scale, rel=0.02)


def test_key_weights_smooth():
    times = np.linspace(-1.0, 5.0, 601)
    weights = key_weights(times, np.array([0.0, 2.0, 4.0]))
    assert np.allclose(weights.sum(axis=1), 1.0)
    assert np.all((weights > 0).sum(axis=1) <= 2)
    # Continuous with a bounded slope: smoothstep's largest slope is 1.5 per key interval (2 s).
    assert np.max(np.abs(np.diff(weights, axis=0))) <= 1.5 / 2.0 * 0.01 + 1e-9
    at_keys = weights[np.searchsorted(times, [0.0, 2.0, 4.0])]
    assert np.allclose(at_keys, np.eye(3), atol=1e-9)


def test_curve_blend_has_no_jumps(bandai1_dir, walk):
    motion, bone_map = walk
    targets = []
    for style in ("angry", "sad"):
        clip = _clip(bandai1_dir, "walk", style)
        targets.append(clip_features(clip, detect_roles(clip.skeleton)))
    result = solve_edit_curve(motion, bone_map, np.stack(targets), np.array([1.5, 5.0]), max_evaluations=30)
    edited = result.motion
    assert np.all(np.diff(result.edit.output_times) > 0)
    assert result.parameters[0].time_scale > result.parameters[1].time_scale
    assert result.distance_after < result.distance_before

    steps = quaternion.angle_between(edited.rotations[1:], edited.rotations[:-1]).max(axis=1)
    source_steps = quaternion.angle_between(motion.rotations[1:], motion.rotations[:-1]).max(axis=1)
    fastest = max(parameters.time_scale for parameters in result.parameters)
    assert steps.max() <= 1.25 * fastest * source_steps.max()
    # The blend adds no jumps: the pelvis path is no rougher than under each key's edit applied alone.
    pelvis = bone_map.index("pelvis")
    alone = [apply_edit(motion, bone_map, parameters) for parameters in result.parameters]
    assert _largest_acceleration(edited, pelvis) <= 1.25 * max(_largest_acceleration(item, pelvis) for item in alone)


def _largest_acceleration(motion: Motion, joint: int) -> float:
    """Return the largest second difference of a joint's world position over frames (skeleton units per frame^2)."""
    path = motion.positions()[:, joint]
    return float(np.linalg.norm(path[2:] - 2.0 * path[1:-1] + path[:-2], axis=-1).max())


def test_curve_single_key_matches_constant(walk, sad_solve):
    motion, bone_map = walk
    curve = apply_edit_curve(motion, bone_map, np.array([1.0]), [sad_solve.parameters], keep_planted_feet=True)
    assert curve.motion.frame_count == sad_solve.motion.frame_count
    assert np.allclose(clip_features(curve.motion, bone_map), sad_solve.achieved_features, atol=0.15 * sad_solve.feature_scale)


def test_proxy_result_never_worse(bandai1_dir):
    # A one-off action played back and forth to 32 s: the proxy's two 3 s excerpts see little of it.
    slash = _palindrome(read_bvh(bandai1_dir / "data" / "dataset-1_slash_normal_002.bvh"))
    bone_map = detect_roles(slash.skeleton)
    kick = _clip(bandai1_dir, "kick", "normal")
    target = clip_features(kick, detect_roles(kick.skeleton))
    result = solve_edit(slash, bone_map, target, max_evaluations=30)
    assert result.proxy_excerpts == 2
    assert result.distance_after <= result.distance_before
    assert np.allclose(result.achieved_features, clip_features(result.motion, bone_map))
