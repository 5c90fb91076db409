"""Check that every BVH clip in the datasets survives read -> write -> read.

Usage::

    python3 scripts/check_bvh_round_trip.py [DATASETS_DIR] [--tolerance 1e-4]

DATASETS_DIR defaults to $EMOTION_MOTION_DATASETS or ../shared/datasets next to the
repository. Every ``*.bvh`` below it is read, written with the default settings of
``write_bvh`` and read again. The world joint positions of both reads must agree within
``tolerance`` body heights on every frame, where the body height is the largest extent of
the first frame's bounding box. The exit status is 1 when a clip fails, and the log lists
the failed clips.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from synthesis.bvh import read_bvh, read_bvh_text, write_bvh_text  # noqa: E402
from synthesis.skeleton import MotionError  # noqa: E402

logger = logging.getLogger("check_bvh_round_trip")


def round_trip_error(path: Path) -> float:
    """Return the largest joint displacement after a round trip, in body heights."""
    motion = read_bvh(path)
    again = read_bvh_text(write_bvh_text(motion), source=f"{path} (written again)")
    if again.skeleton.names != motion.skeleton.names:
        raise MotionError(f"{path}: joint names changed in the round trip")
    positions = motion.positions()
    height = float(np.ptp(positions[0], axis=0).max())
    return float(np.abs(again.positions() - positions).max()) / height


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get("EMOTION_MOTION_DATASETS") or str(REPO_ROOT.parent / "shared" / "datasets")
    parser.add_argument("datasets", nargs="?", default=default, help="folder searched for *.bvh files")
    parser.add_argument(
        "--tolerance", type=float, default=1e-4, help="largest allowed joint displacement, in body heights"
    )
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    paths = sorted(Path(arguments.datasets).rglob("*.bvh"))
    if not paths:
        logger.error("No .bvh files found under %s; pass the datasets folder as the first argument", arguments.datasets)
        return 1
    failures = []
    worst = (0.0, paths[0])
    start = time.perf_counter()
    for path in paths:
        try:
            error = round_trip_error(path)
        except MotionError as exception:
            failures.append(f"{path}: {exception}")
            continue
        worst = max(worst, (error, path))
        if error >= arguments.tolerance:
            failures.append(f"{path}: a joint moves by {error:.3e} body heights")
    elapsed = time.perf_counter() - start
    logger.info("%d clips in %.1f s; largest displacement %.3e body heights (%s)", len(paths), elapsed, *worst)
    for failure in failures:
        logger.error("%s", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
