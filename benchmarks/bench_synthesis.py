"""Time one emotion applied to a long motion (solve plus final edit) and record the result.

Usage::

    python3 benchmarks/bench_synthesis.py [--datasets DIR] [--repeats 3] [--machine TEXT] [--no-record]

The long motion is the one ``bench_features.py`` builds: a Bandai Namco walk played
forwards and backwards in turn up to 10,000 frames at 30 frames per second on 25 joints.
The target is the clip features of the sad walk of the same take (``solve_edit``) and the
sad PAD value through the bundled models (``apply_emotion``, when the models load).
Times are the best of ``--repeats`` runs on one thread. Unless ``--no-record`` is given,
the "Emotion synthesis" section of docs/benchmarks.md is replaced (or appended).
"""

from __future__ import annotations

import os

# One core: the goal is stated for one core, and numpy's BLAS would otherwise use every core.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import importlib  # noqa: E402
import importlib.util  # noqa: E402
import logging  # noqa: E402
import shlex  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from types import ModuleType  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

from bench_features import CLIP, long_motion  # noqa: E402
from benchmark_doc import BENCHMARKS_DOC, describe_machine, record_section, time_best  # noqa: E402

from models.emotions import emotion_pad  # noqa: E402
from synthesis.bvh import read_bvh  # noqa: E402
from synthesis.edits import apply_edit  # noqa: E402
from synthesis.features import FeatureExtractor  # noqa: E402
from synthesis.roles import detect_roles  # noqa: E402
from synthesis.solver import solve_edit  # noqa: E402

logger = logging.getLogger("bench_synthesis")


def import_extension_module(name: str) -> ModuleType:
    """Import module ``name`` of the repository root loaded as package ``emotion_motion``.

    ``models.pipeline`` imports ``synthesis`` relatively, as Blender imports the extension,
    so it only imports as part of that package.
    """
    if "emotion_motion" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "emotion_motion", REPO_ROOT / "__init__.py", submodule_search_locations=[str(REPO_ROOT)]
        )
        assert spec is not None and spec.loader is not None
        package = importlib.util.module_from_spec(spec)
        sys.modules["emotion_motion"] = package
        spec.loader.exec_module(package)
    return importlib.import_module(f"emotion_motion.{name}")

SECTION_TITLE = "## Emotion synthesis"
GOAL_SECONDS = 2.0
TARGET_CLIP = "dataset-1_walk_sad_001.bvh"


def main() -> None:
    parser = argparse.ArgumentParser(description="Time one emotion applied to a 10,000-frame motion.")
    parser.add_argument("--datasets", type=Path,
                        default=Path(os.environ.get("EMOTION_MOTION_DATASETS", REPO_ROOT.parent / "shared" / "datasets")),
                        help="folder that contains bandai-namco-1/")
    parser.add_argument("--repeats", type=int, default=3, help="runs per case; the best is reported")
    parser.add_argument("--machine", default=describe_machine(), help="machine description written to the record")
    parser.add_argument("--no-record", action="store_true", help="print only, leave docs/benchmarks.md alone")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    data = arguments.datasets / "bandai-namco-1" / "data"
    if not (data / CLIP).is_file() or not (data / TARGET_CLIP).is_file():
        parser.error(f"{data / CLIP} or {data / TARGET_CLIP} not found; pass --datasets or set EMOTION_MOTION_DATASETS")
    motion = long_motion(read_bvh(data / CLIP), 10_000)
    bone_map = detect_roles(motion.skeleton)
    extractor = FeatureExtractor(motion.skeleton, bone_map)
    target_motion = read_bvh(data / TARGET_CLIP)
    target = FeatureExtractor(target_motion.skeleton, detect_roles(target_motion.skeleton)).clip_features(target_motion)

    source = extractor.clip_features(motion)
    solved = solve_edit(motion, bone_map, target, source_features=source)
    rows = [
        ("source clip features (`FeatureExtractor.clip_features`)", lambda: extractor.clip_features(motion)),
        ("`solve_edit` with the source features given: search on the proxy, final edit, "
         "full-resolution measurement", lambda: solve_edit(motion, bone_map, target, source_features=source)),
        ("the final `apply_edit` alone (found parameters, foot locking)",
         lambda: apply_edit(motion, bone_map, solved.parameters)),
        ("the result's clip features alone", lambda: extractor.clip_features(solved.motion)),
        ("total: source features + `solve_edit`",
         lambda: solve_edit(motion, bone_map, target, source_features=extractor.clip_features(motion))),
    ]
    runtime = import_extension_module("models.runtime")
    try:
        apply_emotion = import_extension_module("models.pipeline").apply_emotion

        # The pipeline checks bone maps against the package's own BoneMap class.
        package_bone_map = import_extension_module("synthesis.roles").detect_roles(motion.skeleton)
        pad = emotion_pad("sad")
        apply_emotion(motion, package_bone_map, pad)
        rows.append(("`apply_emotion` with the sad PAD: models, solve, final edit, PAD estimates, constraint report",
                     lambda: apply_emotion(motion, package_bone_map, pad)))
    except runtime.ModelError as error:
        logger.warning("apply_emotion not timed: %s", error)

    lines = [
        SECTION_TITLE,
        "",
        f"Command: `python3 benchmarks/bench_synthesis.py{' ' + shlex.join(sys.argv[1:]) if sys.argv[1:] else ''}`. "
        f"Machine: {arguments.machine}. Best of {arguments.repeats} runs, one thread.",
        f"Long motion: `{CLIP}` played back and forth to 10,000 frames at 30 fps on 25 joints. "
        f"Target: the clip features of `{TARGET_CLIP}`. Goal: under {GOAL_SECONDS:g} s for the total on one core.",
        "",
        "| step | seconds |",
        "| --- | ---: |",
    ]
    times = {}
    for label, function in rows:
        seconds = time_best(function, arguments.repeats)
        times[label] = seconds
        logger.info("%s: %.3f s", label, seconds)
        lines.append(f"| {label} | {seconds:.3f} |")
    total = times["total: source features + `solve_edit`"]
    lines += [
        "",
        f"Goal {'met' if total < GOAL_SECONDS else 'not met'} in this run: {total:.2f} s for the total against "
        f"{GOAL_SECONDS:g} s. The final full-resolution `apply_edit` is the largest part; the sad edit slows the walk "
        "down, so the output has more frames than the source.",
        f"The search used {solved.evaluations} edit evaluations on a proxy of {solved.proxy_excerpts} joined "
        f"excerpts; feature distance {solved.distance_before:.3f} -> {solved.distance_after:.3f} "
        f"({100 * solved.relative_error_reduction:.0f} % lower); the proxy predicted the result's features within "
        f"{solved.proxy_error:.3f} (root mean square, in feature spreads).",
        f"One-minute load average at the end of the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores. "
        "Other jobs running at the same time make the times longer, never shorter.",
    ]
    section = "\n".join(lines) + "\n"
    print(section)
    if not arguments.no_record:
        record_section(SECTION_TITLE, section)
        logger.info("Recorded in %s", BENCHMARKS_DOC)


if __name__ == "__main__":
    main()
