"""Time motion edits and record the result.

Usage::

    python3 benchmarks/bench_edits.py [--datasets DIR] [--repeats 3] [--machine TEXT] [--no-record]

The long motion is the one ``bench_features.py`` builds: a Bandai Namco walk played
forwards and backwards in turn up to 10,000 frames at 30 frames per second on 25 joints.
The solver case is its first 300 frames (10 s). Reported times are the best of
``--repeats`` runs. Unless ``--no-record`` is given, the "Motion edits" section of
docs/benchmarks.md is replaced (or appended).
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

from bench_features import CLIP, long_motion  # noqa: E402
from benchmark_doc import BENCHMARKS_DOC, describe_machine, record_section, time_best  # noqa: E402

from synthesis.bvh import read_bvh  # noqa: E402
from synthesis.contacts import detect_foot_contacts  # noqa: E402
from synthesis.edits import NEUTRAL_PARAMETERS, EditParameters, apply_edit  # noqa: E402
from synthesis.roles import detect_roles  # noqa: E402

logger = logging.getLogger("bench_edits")

SECTION_TITLE = "## Motion edits"

# Every edit at once, so every stage of apply_edit runs.
FULL_EDIT = EditParameters(
    time_scale=1.2, time_warp=0.6, arm_extent=1.4, leg_extent=1.2, spine_extent=1.2, head_extent=1.1,
    spine_flexion=0.2, head_flexion=0.1, shoulder_raise=0.1, arm_openness=0.2, smoothness=0.3, accent=0.4,
    arm_raise=0.2, elbow_extension=-0.3, stance_width=0.1,
)


def main() -> None:
    parser = argparse.ArgumentParser(description="Time motion edits.")
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

    rows = [
        ("`detect_foot_contacts`", motion, lambda: detect_foot_contacts(motion, bone_map)),
        ("`apply_edit`, identity edit, no foot locking", motion,
         lambda: apply_edit(motion, bone_map, NEUTRAL_PARAMETERS, keep_planted_feet=False)),
        ("`apply_edit`, every edit, no foot locking", motion,
         lambda: apply_edit(motion, bone_map, FULL_EDIT, keep_planted_feet=False)),
        ("`apply_edit`, every edit, foot locking", motion, lambda: apply_edit(motion, bone_map, FULL_EDIT)),
        ("`apply_edit`, every edit, foot locking, solver case", short, lambda: apply_edit(short, bone_map, FULL_EDIT)),
    ]
    lines = [
        SECTION_TITLE,
        "",
        f"Command: `python3 benchmarks/bench_edits.py{' ' + shlex.join(sys.argv[1:]) if sys.argv[1:] else ''}`. "
        f"Machine: {arguments.machine}. Best of {arguments.repeats} runs, one thread.",
        "Long motion: a Bandai walk played back and forth to 10,000 frames at 30 fps on 25 joints. "
        "Solver case: its first 300 frames (10 s). \"Every edit\" sets all sixteen parameters away from neutral "
        "(time scale 1.2, so the output has 8,334 frames).",
        "",
        "| step | source frames | seconds |",
        "| --- | ---: | ---: |",
    ]
    for label, measured, function in rows:
        seconds = time_best(function, arguments.repeats)
        logger.info("%s, %d frames: %.4f s", label, measured.frame_count, seconds)
        lines.append(f"| {label} | {measured.frame_count:,} | {seconds:.4f} |")
    load = os.getloadavg()[0]
    lines.append("")
    lines.append(f"One-minute load average at the end of the run: {load:.1f} on {os.cpu_count()} cores. "
                 "Other jobs running at the same time make the times longer, never shorter.")
    section = "\n".join(lines) + "\n"
    if not arguments.no_record:
        record_section(SECTION_TITLE, section)
        logger.info("Recorded in %s", BENCHMARKS_DOC)


if __name__ == "__main__":
    main()
