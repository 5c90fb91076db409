import numpy as np
import pytest
from edit_rigs import RIG_KINDS, stepping_motion, without_roles, world_axes

from synthesis import quaternion
from synthesis.contacts import detect_foot_contacts, foot_skating
from synthesis.edits import (
    NEUTRAL_PARAMETERS,
    PARAMETER_BOUNDS,
    PARAMETER_NAMES,
    EditParameters,
    EditResult,
    apply_edit,
    apply_edit_to_keys,
    mean_rotation,
    time_map,
)
from synthesis.features import FEATURE_NAMES, FeatureExtractor
from synthesis.roles import detect_roles
from synthesis.skeleton import Motion, Skeleton


def body_speed(motion: Motion, bone_map) -> np.ndarray:
    """Return ``(frames,)`` summed speed of hands and feet relative to the pelvis, units/s."""
    positions = motion.positions()
    pelvis = bone_map.index("pelvis")
    joints = [bone_map.index(role) for role in ("left_hand", "right_hand", "left_foot", "right_foot")]
    relative = positions[:, joints] - positions[:, pelvis : pelvis + 1]
    return np.linalg.norm(np.gradient(relative, axis=0), axis=-1).sum(axis=-1) * motion.frame_rate


def angular_acceleration(motion: Motion) -> float:
    """Return the mean magnitude of the second difference of the rotations, radians per frame squared."""
    rotations = quaternion.make_continuous(motion.rotations, axis=0)
    return float(np.mean(np.linalg.norm(np.diff(rotations, n=2, axis=0), axis=-1)))


def test_parameters_neutral_is_identity_vector():
    vector = NEUTRAL_PARAMETERS.as_vector()
    assert vector.shape == (len(PARAMETER_NAMES),)
    assert EditParameters.from_vector(vector) == NEUTRAL_PARAMETERS
    assert set(PARAMETER_BOUNDS) == set(PARAMETER_NAMES)
    for name in PARAMETER_NAMES:
        low, high = PARAMETER_BOUNDS[name]
        assert low <= getattr(NEUTRAL_PARAMETERS, name) <= high


def test_parameters_vector_round_trip():
    parameters = EditParameters(time_scale=1.5, arm_extent=1.2, spine_flexion=0.3, accent=0.5)
    assert EditParameters.from_vector(parameters.as_vector()) == parameters


def test_parameters_from_vector_rejects_length():
    with pytest.raises(ValueError, match=f"needs {len(PARAMETER_NAMES)} values"):
        EditParameters.from_vector(np.zeros(3))


def test_parameters_scaled_interpolates():
    parameters = EditParameters(time_scale=2.0, arm_extent=1.5, spine_flexion=0.4)
    assert parameters.scaled(0.0) == NEUTRAL_PARAMETERS
    assert parameters.scaled(1.0) == parameters
    half = parameters.scaled(0.5)
    assert half.time_scale == pytest.approx(np.sqrt(2.0))
    assert half.arm_extent == pytest.approx(1.25)
    assert half.spine_flexion == pytest.approx(0.2)
    with pytest.raises(ValueError, match="strength"):
        parameters.scaled(1.5)


def test_parameters_validate_names_field():
    with pytest.raises(ValueError, match="EditParameters.time_scale = 5.0 is outside"):
        EditParameters(time_scale=5.0).validate()
    clipped = EditParameters(time_scale=5.0, smoothness=-1.0).clipped()
    assert clipped.time_scale == PARAMETER_BOUNDS["time_scale"][1]
    assert clipped.smoothness == 0.0


def test_apply_edit_rejects_out_of_bounds():
    motion = stepping_motion()
    with pytest.raises(ValueError, match="arm_extent"):
        apply_edit(motion, detect_roles(motion.skeleton), EditParameters(arm_extent=3.0))


def test_mean_rotation_of_symmetric_swing():
    axis = np.array([0.0, 0.0, 1.0])
    centre = quaternion.from_axis_angle(np.array([1.0, 0.0, 0.0]), np.array(0.7))
    swings = quaternion.from_axis_angle(np.broadcast_to(axis, (5, 3)), np.linspace(-0.5, 0.5, 5))
    rotations = quaternion.multiply(centre, swings)
    rotations[1] *= -1.0
    mean = mean_rotation(rotations)
    assert quaternion.angle_between(mean, centre) < 1e-9


@pytest.mark.parametrize("kind", RIG_KINDS)
def test_neutral_edit_is_identity(kind):
    motion = stepping_motion(kind)
    bone_map = detect_roles(motion.skeleton)
    edited = apply_edit(motion, bone_map, NEUTRAL_PARAMETERS, keep_planted_feet=False)
    assert edited.frame_count == motion.frame_count
    assert np.max(quaternion.angle_between(edited.rotations, motion.rotations)) < 1e-9
    assert np.allclose(edited.root_positions, motion.root_positions)
    # With foot locking only the legs change, and only toward less skating.
    result = apply_edit(motion, bone_map, NEUTRAL_PARAMETERS, return_report=True)
    legs = [
        joint
        for side in ("left", "right")
        for joint in range(bone_map.index(f"{side}_thigh"), bone_map.index(f"{side}_toe") + 1)
    ]
    upper_body = [joint for joint in range(motion.skeleton.joint_count) if joint not in legs]
    assert np.allclose(result.motion.positions()[:, upper_body], motion.positions()[:, upper_body])
    assert foot_skating(result.motion, bone_map, result.contacts) <= foot_skating(motion, bone_map, result.contacts)


@pytest.mark.parametrize("scale", [0.5, 0.8, 1.7, 2.0])
def test_time_scale_sets_frame_count(scale):
    motion = stepping_motion(frames=61)
    bone_map = detect_roles(motion.skeleton)
    edited = apply_edit(motion, bone_map, EditParameters(time_scale=scale), keep_planted_feet=False)
    assert edited.frame_count == round(motion.duration / scale * motion.frame_rate) + 1
    assert edited.frame_rate == motion.frame_rate
    assert np.max(quaternion.angle_between(edited.rotations[0], motion.rotations[0])) < 1e-9
    assert np.max(quaternion.angle_between(edited.rotations[-1], motion.rotations[-1])) < 1e-9


@pytest.mark.parametrize("warp", [-1.0, -0.5, 0.5, 1.0])
def test_time_map_monotone_with_fixed_ends(warp):
    motion = stepping_motion(frames=91, cycles=1.5)
    bone_map = detect_roles(motion.skeleton)
    timing = time_map(motion, EditParameters(time_scale=1.3, time_warp=warp), bone_map)
    assert np.all(np.diff(timing.output_times) > 0)
    assert timing.output_times[0] == 0.0
    assert timing.output_duration == pytest.approx((timing.output_frame_count - 1) / motion.frame_rate)
    frames = timing.source_frames()
    assert np.all(np.diff(frames) > 0)
    assert frames[0] == pytest.approx(0.0)
    assert frames[-1] == pytest.approx(motion.frame_count - 1)
    probe = np.linspace(0.0, motion.duration, 17)
    assert np.allclose(timing.to_source(timing.to_output(probe)), probe)


def test_time_warp_sharpens_and_evens_speed():
    motion = stepping_motion(frames=121, cycles=2.0)
    bone_map = detect_roles(motion.skeleton)

    def variation(parameters: EditParameters) -> float:
        edited = apply_edit(motion, bone_map, parameters, keep_planted_feet=False, keep_loop=False)
        speed = body_speed(edited, bone_map)[3:-3]
        return float(speed.std() / speed.mean())

    neutral = variation(NEUTRAL_PARAMETERS)
    assert variation(EditParameters(time_warp=1.0)) > 1.2 * neutral
    assert variation(EditParameters(time_warp=-1.0)) < 0.8 * neutral


def test_arm_extent_scales_swing_only_on_arms():
    motion = stepping_motion()
    bone_map = detect_roles(motion.skeleton)
    arm = bone_map.index("left_upper_arm")
    thigh = bone_map.index("left_thigh")

    def swing(edited: Motion, joint: int) -> float:
        rotations = edited.rotations[:, joint]
        return float(np.max(quaternion.angle_between(rotations, mean_rotation(rotations))))

    wide = apply_edit(motion, bone_map, EditParameters(arm_extent=1.5), keep_planted_feet=False)
    narrow = apply_edit(motion, bone_map, EditParameters(arm_extent=0.5), keep_planted_feet=False)
    assert swing(wide, arm) == pytest.approx(1.5 * swing(motion, arm), rel=0.02)
    assert swing(narrow, arm) == pytest.approx(0.5 * swing(motion, arm), rel=0.02)
    assert np.max(quaternion.angle_between(wide.rotations[:, thigh], motion.rotations[:, thigh])) < 1e-9


def _posture_change(kind: str, parameters: EditParameters):
    motion = stepping_motion(kind)
    bone_map = detect_roles(motion.skeleton)
    edited = apply_edit(motion, bone_map, parameters, keep_planted_feet=False)
    return motion.positions(), edited.positions(), bone_map


@pytest.mark.parametrize("kind", RIG_KINDS)
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_spine_flexion_bends_toward_facing(kind, sign):
    source, edited, bone_map = _posture_change(kind, EditParameters(spine_flexion=0.3 * sign))
    head = bone_map.index("head")
    foot, toe = bone_map.index("left_foot"), bone_map.index("left_toe")
    facing = source[:, toe] - source[:, foot]
    displacement = np.sum((edited[:, head] - source[:, head]) * facing, axis=-1)
    assert np.all(sign * displacement > 0.0)
    _, up, _ = world_axes(kind)
    # Bending either way lowers the head.
    assert np.all((edited[:, head] - source[:, head]) @ up < 0.0)
    # The legs do not move.
    assert np.allclose(edited[:, foot], source[:, foot])


@pytest.mark.parametrize("kind", RIG_KINDS)
def test_head_flexion_nods_forward(kind):
    source, edited, bone_map = _posture_change(kind, EditParameters(head_flexion=0.4))
    head, chest = bone_map.index("head"), bone_map.index("chest")
    _, _, forward = world_axes(kind)
    assert np.all((edited[:, head] - source[:, head]) @ forward > 0.0)
    assert np.allclose(edited[:, chest], source[:, chest])


@pytest.mark.parametrize("kind", RIG_KINDS)
def test_shoulder_raise_lifts_upper_arms(kind):
    _, up, _ = world_axes(kind)
    for sign in (1.0, -1.0):
        source, edited, bone_map = _posture_change(kind, EditParameters(shoulder_raise=0.15 * sign))
        for side in ("left", "right"):
            joint = bone_map.index(f"{side}_upper_arm")
            assert np.all(sign * (edited[:, joint] - source[:, joint]) @ up > 0.0)


@pytest.mark.parametrize("kind", RIG_KINDS)
def test_arm_openness_moves_hands_outward(kind):
    right, _, _ = world_axes(kind)
    for sign in (1.0, -1.0):
        source, edited, bone_map = _posture_change(kind, EditParameters(arm_openness=0.3 * sign))
        for side, outward in (("left", -right), ("right", right)):
            hand = bone_map.index(f"{side}_hand")
            assert np.all(sign * (edited[:, hand] - source[:, hand]) @ outward > 0.0)


def _elbow_bends(positions: np.ndarray, bone_map) -> np.ndarray:
    """Return ``(frames, 2)`` angles (radians) between upper arm and forearm, left and right."""
    bends = []
    for side in ("left", "right"):
        shoulder, elbow, wrist = (bone_map.index(f"{side}_{role}") for role in ("upper_arm", "forearm", "hand"))
        upper = positions[:, elbow] - positions[:, shoulder]
        lower = positions[:, wrist] - positions[:, elbow]
        cosine = np.sum(upper * lower, axis=-1) / (np.linalg.norm(upper, axis=-1) * np.linalg.norm(lower, axis=-1))
        bends.append(np.arccos(np.clip(cosine, -1.0, 1.0)))
    return np.stack(bends, axis=1)


@pytest.mark.parametrize("kind", RIG_KINDS)
def test_arm_raise_lifts_hands_forward(kind):
    _, up, forward = world_axes(kind)
    source, edited, bone_map = _posture_change(kind, EditParameters(arm_raise=0.4))
    for side in ("left", "right"):
        hand = bone_map.index(f"{side}_hand")
        # A hand swung back passes its lowest point as it turns forward, so only the mean rises.
        assert np.mean((edited[:, hand] - source[:, hand]) @ up) > 0.0
        assert np.all((edited[:, hand] - source[:, hand]) @ forward > 0.0)
    source, edited, bone_map = _posture_change(kind, EditParameters(arm_raise=-0.2))
    for side in ("left", "right"):
        hand = bone_map.index(f"{side}_hand")
        assert np.all((edited[:, hand] - source[:, hand]) @ forward < 0.0)


@pytest.mark.parametrize("kind", RIG_KINDS)
def test_elbow_extension_opens_and_closes(kind):
    source, edited, bone_map = _posture_change(kind, EditParameters(elbow_extension=0.5))
    before, after = _elbow_bends(source, bone_map), _elbow_bends(edited, bone_map)
    bent = before > 0.05
    assert bent.any()
    assert np.allclose(after[bent], 0.5 * before[bent], atol=1e-6)
    source, edited, bone_map = _posture_change(kind, EditParameters(elbow_extension=-0.5))
    after = _elbow_bends(edited, bone_map)
    assert np.allclose(after, before + 0.5 * (2.4 - before), atol=1e-6)
    # The upper arms do not move.
    for side in ("left", "right"):
        elbow = bone_map.index(f"{side}_forearm")
        assert np.allclose(edited[:, elbow], source[:, elbow])


@pytest.mark.parametrize("kind", RIG_KINDS)
def test_stance_width_moves_feet_apart(kind):
    right, up, _ = world_axes(kind)
    for sign in (1.0, -1.0):
        source, edited, bone_map = _posture_change(kind, EditParameters(stance_width=0.08 * sign))
        for side, outward in (("left", -right), ("right", right)):
            foot = bone_map.index(f"{side}_foot")
            assert np.all(sign * (edited[:, foot] - source[:, foot]) @ outward > 0.0)
            # The foot keeps its world orientation, so the toe moves with the ankle.
            toe = bone_map.index(f"{side}_toe")
            assert np.allclose(edited[:, toe] - edited[:, foot], source[:, toe] - source[:, foot], atol=1e-9)


def test_stance_width_keeps_feet_on_floor():
    motion = stepping_motion()
    bone_map = detect_roles(motion.skeleton)
    result = apply_edit(motion, bone_map, EditParameters(stance_width=0.15), return_report=True)
    # Abducting a 0.84 m leg by 0.15 rad lifts its foot by 9 mm unless the root follows.
    neutral = apply_edit(motion, bone_map, NEUTRAL_PARAMETERS).positions()
    edited = result.motion.positions()
    for column, side in enumerate(("left", "right")):
        foot = bone_map.index(f"{side}_foot")
        rows = result.contacts[:, column]
        assert abs(np.mean(edited[rows, foot, 1] - neutral[rows, foot, 1])) < 2e-3


def test_new_arm_and_leg_edits_skip_missing_roles():
    motion = stepping_motion()
    bone_map = without_roles(detect_roles(motion.skeleton), "left_forearm", "left_upper_arm", "left_thigh")
    parameters = EditParameters(arm_raise=0.2, elbow_extension=0.3, stance_width=0.1)
    result = apply_edit(motion, bone_map, parameters, keep_planted_feet=False, return_report=True)
    for name in ("arm_raise", "elbow_extension", "stance_width"):
        assert any(message.startswith(name) and "left" in message for message in result.skipped)
    assert np.all(np.isfinite(result.motion.positions()))
    right_hand = bone_map.index("right_hand")
    assert not np.allclose(result.motion.positions()[:, right_hand], motion.positions()[:, right_hand])


def test_posture_same_world_result_on_every_rig():
    parameters = EditParameters(spine_flexion=0.3, head_flexion=-0.2, shoulder_raise=0.1, arm_openness=0.2,
                                arm_extent=1.3, leg_extent=1.2, smoothness=0.4)
    results = {}
    for kind in RIG_KINDS:
        motion = stepping_motion(kind)
        edited = apply_edit(motion, detect_roles(motion.skeleton), parameters)
        results[kind] = edited.positions()
    assert np.allclose(results["bvh_y_up"], results["bvh_lying"], atol=1e-6)
    # Blender's Z-up world is the Y-up world turned +90 degrees about X.
    turn = quaternion.from_axis_angle(np.array([1.0, 0.0, 0.0]), np.array(np.pi / 2))
    assert np.allclose(quaternion.rotate(turn, results["bvh_y_up"]), results["blender_z_up"], atol=1e-6)


def test_smoothness_lowers_and_accent_raises_acceleration():
    motion = stepping_motion(frames=121, cycles=3.0)
    bone_map = detect_roles(motion.skeleton)
    source = angular_acceleration(motion)
    smooth = apply_edit(motion, bone_map, EditParameters(smoothness=1.0), keep_planted_feet=False)
    accented = apply_edit(motion, bone_map, EditParameters(accent=1.0), keep_planted_feet=False)
    assert angular_acceleration(smooth) < 0.8 * source
    assert angular_acceleration(accented) > 1.2 * source


def test_smoothness_independent_of_frame_rate():
    motion = stepping_motion(frames=61, cycles=2.0)
    bone_map = detect_roles(motion.skeleton)
    fast = motion.resample(frame_rate=120.0)
    parameters = EditParameters(smoothness=1.0)
    slow_result = apply_edit(motion, bone_map, parameters, keep_planted_feet=False, keep_loop=False)
    fast_result = apply_edit(fast, bone_map, parameters, keep_planted_feet=False, keep_loop=False)
    # Compare away from the ends, where padding differs with the frame count.
    common = fast_result.rotations[8:-8:4]
    assert np.max(quaternion.angle_between(common, slow_result.rotations[2:-2])) < 0.02


def test_leg_extent_scales_travel():
    motion = stepping_motion(frames=61, travel=0.6)
    bone_map = detect_roles(motion.skeleton)
    pelvis = bone_map.index("pelvis")

    def travel(edited: Motion) -> float:
        positions = edited.positions()
        return float(np.linalg.norm(positions[-1, pelvis] - positions[0, pelvis]))

    longer = apply_edit(motion, bone_map, EditParameters(leg_extent=1.4), keep_planted_feet=False)
    shorter = apply_edit(motion, bone_map, EditParameters(leg_extent=0.7), keep_planted_feet=False)
    arms = apply_edit(motion, bone_map, EditParameters(arm_extent=1.5), keep_planted_feet=False)
    assert travel(longer) > 1.2 * travel(motion)
    assert travel(shorter) < 0.85 * travel(motion)
    assert travel(arms) == pytest.approx(travel(motion))


def test_leg_extent_keeps_planted_feet_on_floor():
    motion = stepping_motion(frames=61)
    bone_map = detect_roles(motion.skeleton)
    contacts = detect_foot_contacts(motion, bone_map)
    _, up, _ = world_axes("bvh_y_up")
    edited = apply_edit(motion, bone_map, EditParameters(leg_extent=1.4), keep_planted_feet=False)
    for column, side in enumerate(("left", "right")):
        points = [bone_map.index(f"{side}_foot"), bone_map.index(f"{side}_toe")]
        rows = contacts[:, column]
        source_low = np.min(motion.positions()[rows][:, points] @ up, axis=-1)
        edited_low = np.min(edited.positions()[rows][:, points] @ up, axis=-1)
        assert np.max(np.abs(edited_low - source_low)) < 0.01


def test_loop_stays_loop():
    motion = stepping_motion(frames=61, cycles=1.0)
    bone_map = detect_roles(motion.skeleton)
    parameters = EditParameters(time_warp=0.7, leg_extent=1.3, arm_extent=1.4, smoothness=0.5, spine_flexion=0.3)
    edited = apply_edit(motion, bone_map, parameters)
    assert np.max(quaternion.angle_between(edited.rotations[0], edited.rotations[-1])) < 1e-6
    positions = edited.positions()
    assert np.allclose(positions[0], positions[-1], atol=1e-6)
    unclosed = apply_edit(motion, bone_map, parameters, keep_loop=False)
    assert np.max(quaternion.angle_between(unclosed.rotations[0], unclosed.rotations[-1])) > 1e-3


def test_open_clip_is_not_closed():
    motion = stepping_motion(frames=46, cycles=0.75)
    bone_map = detect_roles(motion.skeleton)
    edited = apply_edit(motion, bone_map, EditParameters(arm_extent=1.4))
    assert np.max(quaternion.angle_between(edited.rotations[0], edited.rotations[-1])) > 0.1


def test_output_rotations_sign_continuous():
    motion = stepping_motion(frames=61)
    bone_map = detect_roles(motion.skeleton)
    flipped = motion.copy()
    flipped.rotations[::3] *= -1.0
    parameters = EditParameters(time_scale=1.3, arm_extent=1.5, accent=0.8, spine_flexion=0.2)
    edited = apply_edit(flipped, bone_map, parameters)
    dots = np.sum(edited.rotations[1:] * edited.rotations[:-1], axis=-1)
    assert np.all(dots > 0.0)


def _still_motion(frames: int) -> Motion:
    source = stepping_motion(frames=3)
    rotations = np.broadcast_to(source.rotations[:1], (frames,) + source.rotations.shape[1:]).copy()
    return Motion(source.skeleton, rotations, np.zeros((frames, 3)), 30.0)


ALL_EDITS = EditParameters(
    time_scale=1.5, time_warp=0.5, arm_extent=1.3, leg_extent=1.2, spine_extent=1.2, head_extent=1.2,
    spine_flexion=0.2, head_flexion=0.1, shoulder_raise=0.1, arm_openness=0.2, smoothness=0.5, accent=0.5,
    arm_raise=0.2, elbow_extension=-0.3, stance_width=0.1,
)


@pytest.mark.parametrize("frames", [1, 2, 30])
def test_still_pose_edits_without_crash(frames):
    motion = _still_motion(frames)
    bone_map = detect_roles(motion.skeleton)
    result = apply_edit(motion, bone_map, ALL_EDITS, return_report=True)
    assert isinstance(result, EditResult)
    assert result.motion.frame_count == round(motion.duration / 1.5 * 30.0) + 1
    assert any(message.startswith("time_warp") for message in result.skipped)
    assert np.all(np.isfinite(result.motion.rotations))
    # Posture edits still apply to a still pose.
    head = bone_map.index("head")
    assert not np.allclose(result.motion.positions()[0, head], motion.positions()[0, head])


def test_two_frame_motion_edits():
    motion = stepping_motion(frames=2)
    bone_map = detect_roles(motion.skeleton)
    result = apply_edit(motion, bone_map, ALL_EDITS, return_report=True)
    assert result.motion.frame_count == 2
    assert np.all(np.isfinite(result.motion.positions()))


def test_missing_optional_roles_are_skipped():
    motion = stepping_motion(remove=("LeftToeBase", "RightToeBase", "Neck", "LeftShoulder", "RightShoulder"))
    bone_map = detect_roles(motion.skeleton)
    assert bone_map.get("neck") is None
    result = apply_edit(motion, bone_map, ALL_EDITS, return_report=True)
    assert result.motion.frame_count == round(motion.duration / 1.5 * 30.0) + 1
    assert any(message.startswith("shoulder_raise") for message in result.skipped)
    # Without a neck the head tilts at the head joint, which moves no joint position.
    assert not any(message.startswith("head_flexion") for message in result.skipped)
    assert np.all(np.isfinite(result.motion.positions()))


def test_missing_pair_skips_posture():
    motion = stepping_motion()
    bone_map = without_roles(
        detect_roles(motion.skeleton), "left_thigh", "left_upper_arm", "left_shoulder", "left_shin"
    )
    result = apply_edit(motion, bone_map, EditParameters(spine_flexion=0.3, arm_extent=1.2), return_report=True)
    assert any(message.startswith("spine_flexion") for message in result.skipped)
    assert not np.allclose(result.motion.rotations, motion.rotations)


def test_keys_move_through_time_map():
    motion = stepping_motion(frames=61)
    bone_map = detect_roles(motion.skeleton)
    key_times = np.array([0.0, 0.5, 1.0, 1.5, 2.0])
    parameters = EditParameters(time_scale=2.0, time_warp=0.5, arm_extent=1.3)
    keys = apply_edit_to_keys(motion, bone_map, parameters, key_times)
    timing = time_map(motion, parameters, bone_map)
    assert keys.times.shape == key_times.shape
    assert keys.rotations.shape == (5, motion.skeleton.joint_count, 4)
    assert np.allclose(keys.times, timing.to_output(key_times))
    assert keys.times[0] == 0.0
    assert keys.times[-1] == pytest.approx(1.0)
    assert np.all(np.diff(keys.times) > 0)
    dense = apply_edit(motion, bone_map, parameters, keep_planted_feet=False)
    index = int(round(keys.times[2] * motion.frame_rate))
    sampled = dense.sample(np.array([keys.times[2] * motion.frame_rate]))
    assert np.max(quaternion.angle_between(keys.rotations[2], sampled.rotations[0])) < 1e-9
    assert 0 <= index < dense.frame_count


def test_keys_neutral_edit_keeps_values():
    motion = stepping_motion(frames=61)
    bone_map = detect_roles(motion.skeleton)
    key_times = np.array([0.0, 0.4, 1.3, 2.0])
    keys = apply_edit_to_keys(motion, bone_map, NEUTRAL_PARAMETERS, key_times)
    source = motion.sample(key_times * motion.frame_rate)
    assert np.allclose(keys.times, key_times)
    assert np.max(quaternion.angle_between(keys.rotations, source.rotations)) < 1e-9


def test_keys_reject_out_of_range_times():
    motion = stepping_motion(frames=61)
    bone_map = detect_roles(motion.skeleton)
    with pytest.raises(ValueError, match="key times span"):
        apply_edit_to_keys(motion, bone_map, NEUTRAL_PARAMETERS, np.array([0.0, 5.0]))
    with pytest.raises(ValueError, match="non-decreasing"):
        apply_edit_to_keys(motion, bone_map, NEUTRAL_PARAMETERS, np.array([1.0, 0.5]))


REAL_EDITS = [
    EditParameters(leg_extent=1.3),
    EditParameters(leg_extent=0.7, spine_flexion=0.4),
    EditParameters(time_scale=1.5, time_warp=0.8, accent=0.8, arm_extent=1.5),
    EditParameters(time_scale=0.7, time_warp=-0.8, smoothness=1.0, leg_extent=0.8, head_flexion=0.3),
    EditParameters(stance_width=0.12, elbow_extension=-0.4, arm_raise=0.3),
]


def _read_walk(bandai1_dir, style: str):
    from synthesis.bvh import read_bvh

    motion = read_bvh(bandai1_dir / "data" / f"dataset-1_walk_{style}_001.bvh")
    return motion, detect_roles(motion.skeleton)


@pytest.fixture(scope="module")
def bandai_walk(bandai1_dir):
    return _read_walk(bandai1_dir, "normal")


@pytest.mark.parametrize("style", ["normal", "sad", "happy", "tired"])
@pytest.mark.parametrize("parameters", REAL_EDITS)
def test_real_walk_keeps_feet_planted(bandai1_dir, style, parameters):
    motion, bone_map = _read_walk(bandai1_dir, style)
    source_contacts = detect_foot_contacts(motion, bone_map)
    source_skating = foot_skating(motion, bone_map, source_contacts)
    result = apply_edit(motion, bone_map, parameters, return_report=True)
    assert result.contacts.any()
    edited_skating = foot_skating(result.motion, bone_map, result.contacts)
    assert edited_skating <= 1.1 * source_skating
    assert result.skipped == []


def test_real_walk_flexion_bends_forward(bandai_walk):
    motion, bone_map = bandai_walk
    edited = apply_edit(motion, bone_map, EditParameters(spine_flexion=0.4), keep_planted_feet=False)
    source_positions, edited_positions = motion.positions(), edited.positions()
    head = bone_map.index("head")
    # The walk goes straight ahead, so the pelvis velocity is the facing direction.
    facing = np.gradient(source_positions[:, bone_map.index("pelvis")], axis=0)
    facing[:, 1] = 0.0
    displacement = np.sum((edited_positions[:, head] - source_positions[:, head]) * facing, axis=-1)
    assert np.all(displacement > 0.0)


@pytest.mark.parametrize(
    ("name", "value", "feature", "sign"),
    [
        ("elbow_extension", 0.8, "arm_extension", 1.0),
        ("elbow_extension", -0.4, "arm_extension", -1.0),
        ("arm_raise", 0.4, "hand_height", 1.0),
        ("stance_width", 0.15, "foot_distance", 1.0),
    ],
)
def test_real_walk_new_edits_move_feature(bandai_walk, name, value, feature, sign):
    motion, bone_map = bandai_walk
    extractor = FeatureExtractor(motion.skeleton, bone_map)
    column = FEATURE_NAMES.index(feature)
    before = extractor.clip_features(motion)[column]
    after = extractor.clip_features(apply_edit(motion, bone_map, EditParameters(**{name: value})))[column]
    # The walk's elbows are nearly straight already, so opening them changes arm_extension by about 0.3 %.
    assert sign * (after - before) > 0.002 * abs(before)
