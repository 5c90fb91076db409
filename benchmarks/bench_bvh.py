"""Time BVH reading and writing on the bandai-namco-1 clips and record the result.

Usage::

    python3 benchmarks/bench_bvh.py [--datasets DIR] [--repeats 3] [--machine TEXT] [--no-record]

It reads every ``*.bvh`` in ``bandai-namco-1/data`` (144 clips, about 32 MB), then writes
each motion back to BVH text in memory, and reports the best of ``--repeats`` runs of
each. Unless ``--no-record`` is given, the "BVH reading and writing" section of
docs/benchmarks.md is replaced (or appended) with the command, machine and result.
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

from benchmark_doc import BENCHMARKS_DOC, describe_machine, record_section, time_best  # noqa: E402
from synthesis.bvh import read_bvh, write_bvh_text  # noqa: E402

logger = logging.getLogger("bench_bvh")

SECTION_TITLE = "## BVH reading and writing"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get("EMOTION_MOTION_DATASETS") or str(REPO_ROOT.parent / "shared" / "datasets")
    parser.add_argument("--datasets", default=default, help="folder that contains bandai-namco-1/")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each step; the fastest counts")
    parser.add_argument("--machine", default=describe_machine(), help="machine description written to the record")
    parser.add_argument("--no-record", action="store_true", help="print the result without changing docs/benchmarks.md")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    paths = sorted((Path(arguments.datasets) / "bandai-namco-1" / "data").glob("*.bvh"))
    if not paths:
        logger.error("No .bvh files in %s/bandai-namco-1/data; pass --datasets DIR", arguments.datasets)
        return 1
    megabytes = sum(path.stat().st_size for path in paths) / 1e6

    motions = [read_bvh(path) for path in paths]
    frames = sum(motion.frame_count for motion in motions)
    read_seconds = time_best(lambda: [read_bvh(path) for path in paths], arguments.repeats)
    write_seconds = time_best(lambda: [write_bvh_text(motion) for motion in motions], arguments.repeats)

    command = " ".join(["python3", "benchmarks/bench_bvh.py"] + [shlex.quote(argument) for argument in sys.argv[1:]])
    section = (
        f"{SECTION_TITLE}\n\n"
        f"Command: `{command}`. Machine: {arguments.machine}. Best of {arguments.repeats} runs.\n\n"
        "| step | clips | frames | MB | seconds | frames per second |\n"
        "| --- | --- | --- | --- | --- | --- |\n"
        f"| `read_bvh`, bandai-namco-1 | {len(paths)} | {frames} | {megabytes:.1f} | {read_seconds:.2f} "
        f"| {frames / read_seconds:,.0f} |\n"
        f"| `write_bvh_text`, same motions | {len(paths)} | {frames} | | {write_seconds:.2f} "
        f"| {frames / write_seconds:,.0f} |\n"
    )
    logger.info("%s", section)
    if not arguments.no_record:
        record_section(SECTION_TITLE, section)
        logger.info("Recorded in %s", BENCHMARKS_DOC)
    return 0


if __name__ == "__main__":
    sys.exit(main())
