"""Time LMA feature extraction and record the result.

Usage::

    python3 benchmarks/bench_features.py [--datasets DIR] [--repeats 3] [--machine TEXT] [--no-record]

The long motion is a Bandai Namco walk played forwards and backwards in turn up to
10,000 frames at 30 frames per second, on its 22-joint skeleton plus three leaf joints
(25 joints). The solver case is a 10 s excerpt, 300 frames at 30 frames per second,
measured both through ``clip_features`` and through a ``FeatureExtractor`` prepared once,
as the edit solver calls it.
Reported times are the best of ``--repeats`` runs. Unless ``--no-record`` is given, the
"LMA features" section of docs/benchmarks.md is replaced (or appended).
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from benchmark_doc import BENCHMARKS_DOC, describe_machine, record_section, time_best  # noqa: E402
from synthesis import quaternion  # noqa: E402
from synthesis.bvh import read_bvh  # noqa: E402
from synthesis._kinematics_subset import JointSubsetKinematics  # noqa: E402
from synthesis.features import FeatureExtractor, clip_features, window_features  # noqa: E402
from synthesis.roles import detect_roles  # noqa: E402
from synthesis.skeleton import Motion, Skeleton, forward_kinematics  # noqa: E402

logger = logging.getLogger("bench_features")

SECTION_TITLE = "## LMA features"
CLIP = "dataset-1_walk_happy_001.bvh"


def long_motion(source: Motion, frames: int) -> Motion:
    """Return ``source`` played forwards and backwards in turn for ``frames`` frames, with
    three extra leaf joints (under the head and both hands)."""
    period = 2 * (source.frame_count - 1)
    step = np.arange(frames) % period
    index = np.where(step < source.frame_count, step, period - step)
    skeleton = source.skeleton
    leaves = [skeleton.index(name) for name in ("Head", "Hand_L", "Hand_R")]
    extended = Skeleton(
        skeleton.names + ("HeadTop", "Finger_L", "Finger_R"),
        np.concatenate([skeleton.parents, leaves]),
        np.concatenate([skeleton.offsets, np.full((3, 3), 5.0)]),
    )
    rotations = np.concatenate([source.rotations[index], quaternion.identity((frames, 3))], axis=1)
    translations = np.concatenate(
        [source.translations[index], np.broadcast_to(extended.offsets[-3:], (frames, 3, 3))], axis=1
    )
    return Motion(extended, rotations, source.root_positions[index], source.frame_rate, translations)


def main() -> None:
    parser = argparse.ArgumentParser(description="Time LMA feature extraction.")
    parser.add_argument("--datasets", type=Path,
                        default=Path(os.environ.get("EMOTION_MOTION_DATASETS", REPO_ROOT.parent / "shared" / "datasets")),
                        help="folder that contains bandai-namco-1/")
    parser.add_argument("--repeats", type=int, default=3, help="runs per case; the best is reported")
    parser.add_argument("--machine", default=describe_machine(), help="machine description written to the record")
    parser.add_argument("--no-record", action="store_true", help="print only, leave docs/benchmarks.md alone")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    path = arguments.datasets / "bandai-namco-1" / "data" / CLIP
    if not path.is_file():
        parser.error(f"{path} not found; pass --datasets or set EMOTION_MOTION_DATASETS")
    motion = long_motion(read_bvh(path), 10_000)
    bone_map = detect_roles(motion.skeleton)
    short = motion.copy(rotations=motion.rotations[:300], root_positions=motion.root_positions[:300],
                        translations=motion.translations[:300])

    extractor = FeatureExtractor(motion.skeleton, bone_map)
    subset = JointSubsetKinematics(motion.skeleton, extractor.measured_joints)
    rows = [
        ("forward kinematics alone, all joints", motion, lambda: forward_kinematics(
            motion.skeleton, motion.rotations, motion.root_positions, motion.translations)),
        (f"forward kinematics of the {len(extractor.measured_joints)} joints that features read, "
         f"and their ancestors ({len(subset.computed)} joints)", motion,
         lambda: subset.positions(motion.rotations, motion.root_positions, motion.translations)),
        ("`clip_features`", motion, lambda: clip_features(motion, bone_map)),
        ("`window_features`", motion, lambda: window_features(motion, bone_map)),
        ("`clip_features`, solver case", short, lambda: clip_features(short, bone_map)),
        ("`FeatureExtractor.clip_features`, solver case", short, lambda: extractor.clip_features(short)),
    ]
    lines = [
        SECTION_TITLE,
        "",
        f"Command: `python3 benchmarks/bench_features.py{' ' + shlex.join(sys.argv[1:]) if sys.argv[1:] else ''}`. "
        f"Machine: {arguments.machine}. Best of {arguments.repeats} runs, one thread.",
        "Long motion: a Bandai walk played back and forth to 10,000 frames at 30 fps on 25 joints. "
        "Solver case: its first 300 frames (10 s).",
        "",
        "| step | frames | seconds |",
        "| --- | ---: | ---: |",
    ]
    for label, measured, function in rows:
        seconds = time_best(function, arguments.repeats)
        logger.info("%s, %d frames: %.4f s", label, measured.frame_count, seconds)
        lines.append(f"| {label} | {measured.frame_count:,} | {seconds:.4f} |")
    section = "\n".join(lines) + "\n"
    if not arguments.no_record:
        record_section(SECTION_TITLE, section)
        logger.info("Recorded in %s", BENCHMARKS_DOC)


if __name__ == "__main__":
    main()
