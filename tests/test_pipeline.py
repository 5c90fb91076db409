"""Tests of the emotion pipeline with the bundled models on real Bandai Namco walks."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "emotion_motion"


def _import_extension_package() -> None:
    """Import the repository root as package ``emotion_motion``, as Blender imports the extension.

    ``models.pipeline`` imports ``synthesis`` relatively, which only resolves when the
    repository root is a package. Every module this file uses comes from that package, so
    the classes the tests build are the classes the pipeline checks for.
    """
    if PACKAGE in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(
        PACKAGE, REPO_ROOT / "__init__.py", submodule_search_locations=[str(REPO_ROOT)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = module
    spec.loader.exec_module(module)


_import_extension_package()
emotions = importlib.import_module(f"{PACKAGE}.models.emotions")
pipeline = importlib.import_module(f"{PACKAGE}.models.pipeline")
runtime = importlib.import_module(f"{PACKAGE}.models.runtime")
quaternion = importlib.import_module(f"{PACKAGE}.synthesis.quaternion")
bvh = importlib.import_module(f"{PACKAGE}.synthesis.bvh")
edits = importlib.import_module(f"{PACKAGE}.synthesis.edits")
features = importlib.import_module(f"{PACKAGE}.synthesis.features")
roles = importlib.import_module(f"{PACKAGE}.synthesis.roles")

EMOTIONS, emotion_pad = emotions.EMOTIONS, emotions.emotion_pad
ApplyOptions, analyze_motion, apply_emotion = pipeline.ApplyOptions, pipeline.analyze_motion, pipeline.apply_emotion
apply_emotion_to_keys, load_models, pad_keys = pipeline.apply_emotion_to_keys, pipeline.load_models, pipeline.pad_keys
ModelError = runtime.ModelError
read_bvh = bvh.read_bvh
PARAMETER_BOUNDS, EditParameters, apply_edit = edits.PARAMETER_BOUNDS, edits.EditParameters, edits.apply_edit
FEATURE_NAMES = features.FEATURE_NAMES
detect_roles = roles.detect_roles


@pytest.fixture(scope="module")
def models():
    try:
        return load_models()
    except ModelError as error:
        pytest.skip(f"bundled emotion models not available: {error}")


@pytest.fixture(scope="module")
def walk(bandai1_dir):
    motion = read_bvh(bandai1_dir / "data" / "dataset-1_walk_normal_001.bvh")
    return motion, detect_roles(motion.skeleton)


@pytest.fixture(scope="module")
def progress_calls():
    return []


@pytest.fixture(scope="module")
def sad_result(models, walk, progress_calls):
    motion, bone_map = walk
    # A mapping of options, as the Blender operator passes them.
    options = {"keep_planted_feet": True, "progress": lambda fraction, step: progress_calls.append((fraction, step))}
    return apply_emotion(motion, bone_map, emotion_pad("sad"), options=options)


def test_sad_report_json_ready(sad_result):
    _, report = sad_result
    text = json.dumps(report)
    assert json.loads(text)["target_pad"] == pytest.approx(list(emotion_pad("sad")))
    for key in ("source_pad_estimate", "result_pad_estimate", "feature_error_before", "feature_error_after",
                "relative_error_reduction", "features", "parameters", "skipped", "foot_skating_before",
                "foot_skating_after", "evaluations", "models"):
        assert key in report, key
    assert list(report["features"]) == list(FEATURE_NAMES)
    assert set(report["features"]["head_flexion"]) == {"source", "target", "achieved"}
    assert report["models"]["feature_extractor_version"] == report["models"]["model_feature_extractor_version"]


def test_sad_progress_reported(sad_result, progress_calls):
    fractions = [fraction for fraction, _ in progress_calls]
    assert fractions == sorted(fractions)
    assert fractions[0] == 0.0
    assert fractions[-1] == 1.0


def test_sad_time_map(sad_result, walk):
    motion, _ = walk
    result, report = sad_result
    time_map = np.asarray(report["time_map"])
    assert time_map.shape == (result.frame_count,)
    assert np.all(np.diff(time_map) > 0)
    assert time_map[0] == 0.0
    assert time_map[-1] == pytest.approx(motion.frame_count - 1)
    # The sad walk is slower, so the result shows fewer source frames per frame.
    assert result.frame_count > motion.frame_count


def test_unknown_option_rejected(models, walk):
    motion, bone_map = walk
    with pytest.raises(ValueError, match="Unknown apply option\\(s\\) speed"):
        apply_emotion(motion, bone_map, emotion_pad("sad"), options={"speed": 2.0})


def test_sad_feature_error_halved(sad_result):
    _, report = sad_result
    assert report["feature_error_after"] < report["feature_error_before"]
    assert report["relative_error_reduction"] >= 0.5


def test_sad_parameters_in_bounds(sad_result):
    _, report = sad_result
    for name, value in report["parameters"].items():
        low, high = PARAMETER_BOUNDS[name]
        assert low <= value <= high, name


def test_sad_foot_skating_kept(sad_result):
    _, report = sad_result
    assert report["foot_skating_after"] <= 1.1 * report["foot_skating_before"]


def test_sad_pad_estimate_moves(sad_result):
    _, report = sad_result
    assert report["pad_error_after"] < report["pad_error_before"]


def test_strength_zero_unchanged(models, walk):
    motion, bone_map = walk
    result, report = apply_emotion(motion, bone_map, emotion_pad("angry"), strength=0.0)
    assert np.array_equal(result.rotations, motion.rotations)
    assert report["evaluations"] == 0
    assert report["relative_error_reduction"] == 0.0


@pytest.mark.parametrize(
    ("pad", "message"),
    [
        ((0.2, 1.5, 0.0), "1.5 for arousal is outside \\[-1, 1\\]"),
        ((float("nan"), 0.0, 0.0), "NaN for pleasure"),
        ((0.0, 0.0), "shape \\(3,\\)"),
        ((0.0, 0.0, -1.01), "for dominance is outside"),
    ],
)
def test_pad_out_of_range_rejected(models, walk, pad, message):
    motion, bone_map = walk
    with pytest.raises(ValueError, match=message):
        apply_emotion(motion, bone_map, pad)


def test_pad_per_frame_validated(models, walk):
    motion, bone_map = walk
    pad = np.zeros((motion.frame_count, 3))
    pad[40, 1] = 2.0
    with pytest.raises(ValueError, match="arousal at frame 40"):
        apply_emotion(motion, bone_map, pad)
    with pytest.raises(ValueError, match=f"\\({motion.frame_count}, 3\\)"):
        apply_emotion(motion, bone_map, np.zeros((10, 3)))


def test_strength_rejected(models, walk):
    motion, bone_map = walk
    with pytest.raises(ValueError, match="strength"):
        apply_emotion(motion, bone_map, emotion_pad("sad"), strength=-0.1)


def test_constant_per_frame_pad_is_constant(models, walk, sad_result):
    motion, bone_map = walk
    pad = np.tile(emotion_pad("sad"), (motion.frame_count, 1))
    result, report = apply_emotion(motion, bone_map, pad)
    assert report["time_varying"] is False
    assert report["parameters"] == sad_result[1]["parameters"]
    assert np.array_equal(result.rotations, sad_result[0].rotations)


def test_time_varying_pad_blends_smoothly(models, walk):
    motion, bone_map = walk
    times = np.arange(motion.frame_count) / motion.frame_rate
    # Happy for the first two seconds, sad from 4.5 s on, a linear change in between.
    weight = np.clip((times - 2.0) / 2.5, 0.0, 1.0)[:, None]
    pad = (1.0 - weight) * np.array(emotion_pad("happy")) + weight * np.array(emotion_pad("sad"))
    result, report = apply_emotion(motion, bone_map, pad)
    json.dumps(report)
    assert report["time_varying"] is True
    assert len(report["keys"]) >= 2
    assert report["keys"][0]["target_pad"] == pytest.approx(list(emotion_pad("happy")))
    assert report["keys"][-1]["target_pad"] == pytest.approx(list(emotion_pad("sad")))
    assert report["feature_error_after"] < report["feature_error_before"]

    steps = quaternion.angle_between(result.rotations[1:], result.rotations[:-1]).max(axis=1)
    source_steps = quaternion.angle_between(motion.rotations[1:], motion.rotations[:-1]).max(axis=1)
    fastest = max(key["parameters"]["time_scale"] for key in report["keys"])
    assert steps.max() <= 1.25 * fastest * source_steps.max()
    # The blend adds no jumps: the pelvis path is no rougher than under each key's edit applied alone.
    pelvis = bone_map.index("pelvis")
    alone = [apply_edit(motion, bone_map, EditParameters(**key["parameters"])) for key in report["keys"]]
    assert _largest_acceleration(result, pelvis) <= 1.25 * max(_largest_acceleration(item, pelvis) for item in alone)
    assert report["foot_skating_after"] <= 1.1 * report["foot_skating_before"]


def _largest_acceleration(motion, joint: int) -> float:
    """Return the largest second difference of a joint's world position over frames (skeleton units per frame^2)."""
    path = motion.positions()[:, joint]
    return float(np.linalg.norm(path[2:] - 2.0 * path[1:-1] + path[:-2], axis=-1).max())


def test_pad_keys_follow_changes(walk):
    motion, _ = walk
    constant = np.zeros((motion.frame_count, 3))
    times, values = pad_keys(motion, constant, ApplyOptions())
    assert len(times) == 2
    assert times[0] == 0.0
    assert times[-1] == pytest.approx(motion.duration)
    ramp = np.linspace(-1.0, 1.0, motion.frame_count)[:, None] * np.ones(3)
    times, values = pad_keys(motion, ramp, ApplyOptions(max_pad_keys=4))
    assert len(times) == 4
    assert np.all(np.diff(times) > 0)
    assert np.all(np.diff(values[:, 0]) > 0)


def test_sparse_keys_keep_count(models, walk):
    motion, bone_map = walk
    key_times = tuple(np.arange(0, motion.frame_count, 15) / motion.frame_rate)
    keys, report = apply_emotion_to_keys(motion, bone_map, emotion_pad("sad"), options=ApplyOptions(key_times=key_times))
    assert len(keys.times) == len(key_times)
    assert np.all(np.diff(keys.times) > 0)
    assert report["keys_output_times"] == pytest.approx(list(keys.times))
    with pytest.raises(ValueError, match="key_times"):
        apply_emotion_to_keys(motion, bone_map, emotion_pad("sad"))


def test_analyze_walk(models, walk):
    motion, bone_map = walk
    analysis = analyze_motion(motion, bone_map)
    json.dumps(analysis)
    assert len(analysis["pad"]) == 3
    assert all(-1.0 <= value <= 1.0 for value in analysis["pad"])
    assert analysis["emotion"] in EMOTIONS
    assert list(analysis["features"]) == list(FEATURE_NAMES)
    assert list(analysis["z_scores"]) == list(FEATURE_NAMES)
    assert list(analysis["influence"]) == list(FEATURE_NAMES)
    top = analysis["top_features"]
    assert len(top) == 5
    assert all(entry["name"] in FEATURE_NAMES for entry in top)
    effects = [np.linalg.norm(entry["pad_effect"]) for entry in top]
    assert effects == sorted(effects, reverse=True)
    assert effects[0] > 0.0
    assert analysis["influence"][top[0]["name"]] == pytest.approx(effects[0])


def test_analyze_sad_below_happy(models, bandai1_dir):
    estimates = {}
    for style in ("sad", "happy"):
        motion = read_bvh(bandai1_dir / "data" / f"dataset-1_walk_{style}_001.bvh")
        estimates[style] = analyze_motion(motion, detect_roles(motion.skeleton))["pad"]
    # Pleasure of the sad walk is estimated lower than that of the happy walk.
    assert estimates["sad"][0] < estimates["happy"][0]


def test_analyze_walk_has_no_warnings(models, walk):
    motion, bone_map = walk
    assert analyze_motion(motion, bone_map)["warnings"] == []


def test_analyze_one_frame_warns(models, walk):
    motion, bone_map = walk
    single = motion.sample(np.zeros(1))
    warnings = analyze_motion(single, bone_map)["warnings"]
    assert len(warnings) == 1
    assert "1 frame" in warnings[0]
    assert "posture only" in warnings[0]


def test_analyze_static_clip_warns(models, walk):
    motion, bone_map = walk
    still = motion.sample(np.zeros(30))
    warnings = analyze_motion(still, bone_map)["warnings"]
    assert len(warnings) == 1
    assert "barely moves" in warnings[0]


def test_analyze_skips_damaged_target_model(walk, tmp_path):
    import shutil

    DEFAULT_DIRECTORY = runtime.DEFAULT_DIRECTORY

    motion, bone_map = walk
    for path in DEFAULT_DIRECTORY.iterdir():
        if path.suffix in (".json", ".onnx"):
            shutil.copy(path, tmp_path / path.name)
    (tmp_path / "target_features.onnx").write_bytes(b"damaged")
    analysis = analyze_motion(motion, bone_map, options={"model_directory": str(tmp_path)})
    assert len(analysis["pad"]) == 3
    with pytest.raises(ModelError, match="target_features.onnx is corrupt"):
        apply_emotion(motion, bone_map, emotion_pad("sad"), options={"model_directory": str(tmp_path)})


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (0.62, 0.70, "moved away from the target (0.62 -> 0.70)"),
        (0.62, 0.60, "barely moved toward the target (0.62 -> 0.60)"),
        (0.62, 0.40, None),
        (0.03, 0.04, None),
    ],
)
def test_pad_progress_warnings(before, after, expected):
    pad_progress_warnings = pipeline.pad_progress_warnings

    report = {
        "pad_error_before": before,
        "pad_error_after": after,
        "target_pad": list(emotion_pad("happy")),
        "result_pad_estimate": list(emotion_pad("happy")),
    }
    warnings = pad_progress_warnings(report)
    if expected is None:
        assert warnings == []
    else:
        assert len(warnings) == 1
        assert expected in warnings[0]
        assert "does not read it as 'happy'" in warnings[0]


def test_other_emotion_warning_names_both():
    report = {
        "pad_error_before": 1.0,
        "pad_error_after": 0.5,
        "target_pad": list(emotion_pad("happy")),
        "result_pad_estimate": list(emotion_pad("sad")),
    }

    warnings = pipeline.pad_progress_warnings(report)

    assert len(warnings) == 1
    assert "still reads as 'sad', not 'happy'" in warnings[0]


def test_sad_report_lists_warnings(sad_result):
    _, report = sad_result
    assert isinstance(report["warnings"], list)
    assert all(isinstance(text, str) for text in report["warnings"])


def test_extension_manifest_declares_model_licence():
    import fnmatch
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    manifest = tomllib.loads((root / "blender_manifest.toml").read_text(encoding="utf-8"))
    assert "SPDX:GPL-3.0-or-later" in manifest["license"]
    assert "SPDX:CC-BY-NC-4.0" in manifest["license"]
    licence = (root / "models" / "LICENSE").read_text(encoding="utf-8")
    assert "CC BY-NC 4.0" in licence
    assert "Bandai Namco Research" in licence
    # The package build must not leave the licence out.
    for pattern in manifest["build"]["paths_exclude_pattern"]:
        assert not fnmatch.fnmatch("models/LICENSE", pattern.strip("/")), pattern
        assert not fnmatch.fnmatch("LICENSE", pattern.strip("/")), pattern


def test_analyze_warns_on_roles_guessed_from_hierarchy(bandai1_dir):
    motion = read_bvh(bandai1_dir / "data" / "dataset-1_walk_normal_001.bvh")
    renamed = dataclasses.replace(
        motion.skeleton, names=tuple(f"bone_{index:02d}" for index in range(motion.skeleton.joint_count))
    )
    anonymous = motion.copy(skeleton=renamed)
    bone_map = detect_roles(renamed)

    result = pipeline.analyze_motion(anonymous, bone_map)

    guessed = [text for text in result["warnings"] if "guessed from the hierarchy" in text]
    assert len(guessed) == 1
    assert "pelvis=" in guessed[0]


def test_analyze_named_rig_has_no_role_warning(bandai1_dir):
    motion = read_bvh(bandai1_dir / "data" / "dataset-1_walk_normal_001.bvh")

    result = pipeline.analyze_motion(motion, detect_roles(motion.skeleton))

    assert not [text for text in result["warnings"] if "guessed from the hierarchy" in text]


def test_physical_targets_clip_impossible_values():
    names = list(FEATURE_NAMES)
    targets = np.ones(len(names))
    targets[names.index("effector_energy_mean")] = -0.5
    targets[names.index("hand_directness")] = 1.4
    targets[names.index("spine_flexion")] = -0.3

    clipped = pipeline._physical_targets(targets)

    assert clipped[names.index("effector_energy_mean")] == 0.0
    assert clipped[names.index("hand_directness")] == 1.0
    assert clipped[names.index("spine_flexion")] == -0.3


def test_pad_per_frame_nan_named(models, walk):
    motion, bone_map = walk
    pad = np.zeros((motion.frame_count, 3))
    pad[4, 1] = np.nan
    with pytest.raises(ValueError, match="for arousal at frame 4 is not a number"):
        apply_emotion(motion, bone_map, pad)
