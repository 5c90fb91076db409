"""Tests that the fast feature path gives the values of the original implementation.

``tests/data/features_reference_1.2.0.json`` contains feature values that the original
per-call implementation of ``synthesis.features`` (one full forward-kinematics pass and
per-array Savitzky-Golay fits, before :class:`FeatureExtractor` existed) wrote for three
Bandai Namco clips. The fast path must reproduce them to ``RELATIVE_TOLERANCE``, so any
change that moves a feature value fails here. When the feature formulas change on
purpose, raise ``FEATURE_EXTRACTOR_VERSION`` and write a new file with
``python3 tests/test_features_speedpath.py --write``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from synthesis import quaternion  # noqa: E402
from synthesis._kinematics_subset import JointSubsetKinematics  # noqa: E402
from synthesis.bvh import read_bvh  # noqa: E402
from synthesis.features import FEATURE_EXTRACTOR_VERSION, FEATURE_NAMES, FeatureExtractor, FeatureSettings  # noqa: E402
from synthesis.features import clip_features, window_features  # noqa: E402
from synthesis.roles import detect_roles  # noqa: E402
from synthesis.skeleton import Motion, Skeleton, forward_kinematics  # noqa: E402

REFERENCE_FILE = Path(__file__).resolve().parent / "data" / f"features_reference_{FEATURE_EXTRACTOR_VERSION}.json"

CLIPS = (
    "dataset-1_walk_happy_001.bvh",
    "dataset-1_bow_angry_001.bvh",
    "dataset-1_dance-short_normal_001.bvh",
)

# Largest relative difference allowed; below |value| 1e-9 the difference is taken as absolute.
RELATIVE_TOLERANCE = 1e-9
ABSOLUTE_FLOOR = 1e-9

FIXED_TIME_SCALE = FeatureSettings(adaptive_time_scale=False)


def clip_variants(motion: Motion) -> dict[str, Motion]:
    """Return the motions measured per clip: the clip, a 24 fps resample, and a 4-frame excerpt."""
    return {
        "clip": motion,
        "resampled_24fps": motion.resample(frame_rate=24.0),
        "four_frames": motion.copy(
            rotations=motion.rotations[:4],
            root_positions=motion.root_positions[:4],
            translations=None if motion.translations is None else motion.translations[:4],
        ),
    }


def measure_cases(datasets: Path, clip_function, window_function) -> dict[str, list]:
    """Return case name to feature values (nested lists) for every clip and variant."""
    cases: dict[str, list] = {}
    for clip in CLIPS:
        source = read_bvh(datasets / "data" / clip)
        bone_map = detect_roles(source.skeleton)
        for variant, motion in clip_variants(source).items():
            stem = f"{clip}/{variant}"
            cases[f"{stem}/clip"] = clip_function(motion, bone_map, None).tolist()
            cases[f"{stem}/clip_fixed_time_scale"] = clip_function(motion, bone_map, FIXED_TIME_SCALE).tolist()
            if variant != "resampled_24fps":
                cases[f"{stem}/windows"] = window_function(motion, bone_map, None).tolist()
    return cases


def write_reference(datasets: Path) -> None:
    """Write the current implementation's values, 15 significant digits, one feature row per line."""
    cases = measure_cases(datasets, clip_features, window_features)
    lines = ["{", f' "version": {json.dumps(FEATURE_EXTRACTOR_VERSION)},', f' "feature_names": {json.dumps(FEATURE_NAMES)},']
    lines.append(' "cases": {')
    for number, (name, values) in enumerate(cases.items()):
        rows = np.atleast_2d(values)
        text = ",\n   ".join(json.dumps([float(f"{value:.15g}") for value in row]) for row in rows)
        opening, closing = ("[", "]") if np.ndim(values) == 2 else ("", "")
        comma = "," if number < len(cases) - 1 else ""
        lines.append(f"  {json.dumps(name)}: {opening}{text}{closing}{comma}")
    lines.extend([" }", "}"])
    REFERENCE_FILE.parent.mkdir(parents=True, exist_ok=True)
    REFERENCE_FILE.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def reference() -> dict:
    if not REFERENCE_FILE.is_file():
        pytest.fail(f"{REFERENCE_FILE} not found; write it with python3 tests/test_features_speedpath.py --write")
    payload = json.loads(REFERENCE_FILE.read_text(encoding="utf-8"))
    assert payload["version"] == FEATURE_EXTRACTOR_VERSION
    assert tuple(payload["feature_names"]) == FEATURE_NAMES
    return payload["cases"]


def assert_equal_features(values: np.ndarray, expected: list, case: str) -> None:
    expected_array = np.asarray(expected, dtype=np.float64)
    assert values.shape == expected_array.shape, f"{case}: shape {values.shape}, expected {expected_array.shape}"
    errors = np.abs(values - expected_array) / np.maximum(np.abs(expected_array), ABSOLUTE_FLOOR)
    worst = np.unravel_index(int(np.argmax(errors)), errors.shape)
    assert errors[worst] <= RELATIVE_TOLERANCE, (
        f"{case}: feature {FEATURE_NAMES[worst[-1]]!r} at index {worst} is {values[worst]!r}, "
        f"reference {expected_array[worst]!r} (relative difference {errors[worst]:.3g})"
    )


def test_functions_match_reference(bandai1_dir, reference):
    cases = measure_cases(bandai1_dir, clip_features, window_features)
    assert cases.keys() == reference.keys()
    for case, values in cases.items():
        assert_equal_features(np.asarray(values), reference[case], case)


def test_extractor_matches_reference(bandai1_dir, reference):
    extractors: dict[tuple[int, FeatureSettings | None], FeatureExtractor] = {}

    def extractor(motion: Motion, bone_map, settings):
        # One extractor per skeleton and settings, reused over the variants as an edit solver would.
        key = (id(motion.skeleton), settings)
        if key not in extractors:
            extractors[key] = FeatureExtractor(motion.skeleton, bone_map, settings)
        return extractors[key]

    cases = measure_cases(
        bandai1_dir,
        lambda motion, bone_map, settings: extractor(motion, bone_map, settings).clip_features(motion),
        lambda motion, bone_map, settings: extractor(motion, bone_map, settings).window_features(motion),
    )
    assert len(extractors) == 2 * len(CLIPS)
    for case, values in cases.items():
        assert_equal_features(np.asarray(values), reference[case], case)


def test_subset_kinematics_equals_full(bandai1_dir):
    motion = read_bvh(bandai1_dir / "data" / CLIPS[0])
    skeleton = motion.skeleton
    rest_rotations = quaternion.normalize(np.random.default_rng(3).standard_normal((skeleton.joint_count, 4)))
    turned = Skeleton(skeleton.names, skeleton.parents, skeleton.offsets, rest_rotations, skeleton.end_sites)
    joints = [skeleton.index(name) for name in ("Hand_R", "Head", "Hips", "Foot_L")]
    for rig, translations in ((skeleton, motion.translations), (skeleton, None), (turned, motion.translations)):
        full = forward_kinematics(rig, motion.rotations, motion.root_positions, translations)
        subset = JointSubsetKinematics(rig, joints).positions(motion.rotations, motion.root_positions, translations)
        np.testing.assert_array_equal(subset, full[:, joints])


def test_extractor_rejects_other_skeleton(bandai1_dir):
    motion = read_bvh(bandai1_dir / "data" / CLIPS[0])
    extractor = FeatureExtractor(motion.skeleton, detect_roles(motion.skeleton))
    skeleton = motion.skeleton
    copy = Skeleton(skeleton.names, skeleton.parents, skeleton.offsets.copy(), end_sites=skeleton.end_sites)
    same_arrays = Motion(copy, motion.rotations, motion.root_positions, motion.frame_rate, motion.translations)
    np.testing.assert_array_equal(extractor.clip_features(same_arrays), extractor.clip_features(motion))
    longer = skeleton.with_offsets(skeleton.offsets * 1.1)
    moved = Motion(longer, motion.rotations, motion.root_positions, motion.frame_rate, motion.translations)
    with pytest.raises(ValueError, match="differs from the one this FeatureExtractor"):
        extractor.clip_features(moved)


def test_cache_follows_new_skeleton(bandai1_dir):
    motion = read_bvh(bandai1_dir / "data" / CLIPS[0])
    bone_map = detect_roles(motion.skeleton)
    before = clip_features(motion, bone_map)
    scaled = Skeleton(
        motion.skeleton.names,
        motion.skeleton.parents,
        motion.skeleton.offsets * 2.0,
        end_sites={joint: 2.0 * offset for joint, offset in motion.skeleton.end_sites.items()},
    )
    translations = None if motion.translations is None else motion.translations * 2.0
    doubled = Motion(scaled, motion.rotations, motion.root_positions * 2.0, motion.frame_rate, translations)
    after = clip_features(doubled, bone_map)
    # Features are in body heights, so a skeleton twice as large gives the same values only
    # when the cache measured the new skeleton instead of reusing the first one's height.
    np.testing.assert_allclose(after, before, rtol=1e-9, atol=1e-12)


def main() -> None:
    from conftest import shared_datasets_dir

    parser = argparse.ArgumentParser(description="Write the reference feature values of the current implementation.")
    parser.add_argument("--write", action="store_true", help=f"write {REFERENCE_FILE.name}")
    arguments = parser.parse_args()
    if not arguments.write:
        parser.error("pass --write to overwrite the reference file")
    write_reference(shared_datasets_dir() / "bandai-namco-1")


if __name__ == "__main__":
    main()
