"""Time one emotion applied inside Blender against Blender's own BVH import of the same clip.

Usage::

    .venv-blender-4.5/bin/python benchmarks/bench_blender.py [--datasets DIR] [--repeats 3] [--machine TEXT] [--no-record]

Run it with the Python of a Blender venv (``.venv-blender-X.Y``, the ``bpy`` module). The
clip is the long motion of ``bench_features.py`` (a Bandai Namco walk played forwards and
backwards in turn up to 10,000 frames at 30 fps on 25 joints), written as BVH to a
temporary folder. Each run loads an empty file, imports the clip with
``bpy.ops.import_anim.bvh`` and applies the sad emotion with ``bpy.ops.emotion_motion.apply``,
which reads the action, solves and writes a new action. The apply is also split into
read, solve and write by timing the functions the operator calls. Times are the best of
``--repeats`` runs, each on a fresh import. The goal is an apply that takes at most half
the import time.

Unless ``--no-record`` is given, this Blender version's row of the "Blender apply vs BVH
import" section of docs/benchmarks.md is replaced (or added); rows of other versions stay.
"""

from __future__ import annotations

import os

# One core, as for the other benchmarks, because numpy's BLAS would otherwise use every core.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import importlib  # noqa: E402
import importlib.util  # noqa: E402
import logging  # noqa: E402
import shlex  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import types  # noqa: E402
from pathlib import Path  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "benchmarks"))

from bench_features import CLIP, long_motion  # noqa: E402
from benchmark_doc import describe_machine  # noqa: E402

logger = logging.getLogger("bench_blender")

SECTION_TITLE = "## Blender apply vs BVH import"
BENCHMARKS_DOC = REPO_ROOT / "docs" / "benchmarks.md"
FRAMES = 10_000
EMOTION = "sad"
GOAL_RATIO = 0.5
TABLE_HEADER = (
    "| Blender | BVH import (s) | apply (s) | read | solve | write | apply / import | goal | load average |\n"
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |\n"
)


def load_package() -> types.ModuleType:
    """Load the repository as the add-on package ``emotion_motion`` and register its classes."""
    spec = importlib.util.spec_from_file_location(
        "emotion_motion", REPO_ROOT / "__init__.py", submodule_search_locations=[str(REPO_ROOT)]
    )
    assert spec is not None and spec.loader is not None
    package = importlib.util.module_from_spec(spec)
    sys.modules["emotion_motion"] = package
    spec.loader.exec_module(package)
    package.register()
    return package


class StepTimer:
    """Timer of module functions: each wrapped call adds its wall-clock seconds to a named total."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._restore: list[tuple[object, str, object]] = []

    def wrap(self, owner: object, attribute: str, step: str) -> None:
        original = getattr(owner, attribute)

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[step] = self.seconds.get(step, 0.0) + time.perf_counter() - start

        setattr(owner, attribute, timed)
        self._restore.append((owner, attribute, original))

    def restore(self) -> None:
        for owner, attribute, original in reversed(self._restore):
            setattr(owner, attribute, original)
        self._restore.clear()


def run_once(bpy, clip: Path, pad, timer: StepTimer) -> tuple[float, float, dict[str, float]]:
    """Import ``clip`` into an empty file and apply the emotion.

    Returns the import seconds, the apply seconds and the apply's split into steps.
    """
    bpy.ops.wm.read_homefile(use_empty=True)
    start = time.perf_counter()
    bpy.ops.import_anim.bvh(filepath=str(clip), update_scene_fps=True, update_scene_duration=True)
    import_seconds = time.perf_counter() - start
    obj = bpy.context.view_layer.objects.active
    if obj is None or obj.type != 'ARMATURE':
        raise RuntimeError(f"Blender's BVH importer left no active armature after importing {clip}")

    timer.seconds.clear()
    start = time.perf_counter()
    outcome = bpy.ops.emotion_motion.apply(pleasure=pad[0], arousal=pad[1], dominance=pad[2], strength=1.0)
    apply_seconds = time.perf_counter() - start
    if outcome != {'FINISHED'}:
        raise RuntimeError(f"bpy.ops.emotion_motion.apply returned {outcome}. Its error report is in the output above")
    return import_seconds, apply_seconds, dict(timer.seconds)


def record(row_version: str, row: str, header: str) -> None:
    """Replace this version's row of the section in docs/benchmarks.md, keeping other versions' rows."""
    text = BENCHMARKS_DOC.read_text(encoding="utf-8") if BENCHMARKS_DOC.exists() else "# Benchmarks\n"
    start = text.find(SECTION_TITLE + "\n")
    rows: dict[str, str] = {}
    if start >= 0:
        end = text.find("\n## ", start + len(SECTION_TITLE))
        old = text[start:] if end < 0 else text[start : end + 1]
        for line in old.splitlines():
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            if line.startswith("| ") and cells[0][:1].isdigit():
                rows[cells[0]] = line
    rows[row_version] = row
    ordered = [rows[version] for version in sorted(rows, key=lambda v: tuple(int(p) for p in v.split(".")[:2]))]
    section = header + TABLE_HEADER + "\n".join(ordered) + "\n"
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        text = text[:start] + section + ("\n" + text[end + 1 :] if end >= 0 else "")
    BENCHMARKS_DOC.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description="Time Apply Emotion in Blender against Blender's BVH import.")
    parser.add_argument("--datasets", type=Path,
                        default=Path(os.environ.get("EMOTION_MOTION_DATASETS", REPO_ROOT.parent / "shared" / "datasets")),
                        help="folder that contains bandai-namco-1/")
    parser.add_argument("--repeats", type=int, default=3, help="runs, each on a fresh import; the best is reported")
    parser.add_argument("--machine", default=describe_machine(), help="machine description written to the record")
    parser.add_argument("--no-record", action="store_true", help="print only, leave docs/benchmarks.md alone")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    try:
        import bpy
    except ImportError:
        parser.error("bpy not found; run this script with a Blender venv's Python, e.g. .venv-blender-4.5/bin/python")
    data = arguments.datasets / "bandai-namco-1" / "data"
    if not (data / CLIP).is_file():
        parser.error(f"{data / CLIP} not found; pass --datasets or set EMOTION_MOTION_DATASETS")

    package = load_package()
    try:
        bvh = importlib.import_module("emotion_motion.synthesis.bvh")
        emotions = importlib.import_module("emotion_motion.models.emotions")
        emotion_ops = importlib.import_module("emotion_motion.operators.emotion_ops")
        timer = StepTimer()
        timer.wrap(emotion_ops.action_io, "read_armature_motion", "read")
        timer.wrap(emotion_ops.pipeline, "apply_emotion", "solve")
        timer.wrap(emotion_ops, "write_result_action", "write")
        pad = emotions.emotion_pad(EMOTION)
        with tempfile.TemporaryDirectory(prefix="emotion-motion-bench-") as folder:
            clip = Path(folder) / "walk_10000.bvh"
            motion = long_motion(bvh.read_bvh(data / CLIP), FRAMES)
            bvh.write_bvh(motion, clip)
            runs = []
            for repeat in range(arguments.repeats):
                runs.append(run_once(bpy, clip, pad, timer))
                logger.info("run %d: import %.3f s, apply %.3f s (%s)", repeat + 1, runs[-1][0], runs[-1][1],
                            ", ".join(f"{step} {seconds:.3f} s" for step, seconds in runs[-1][2].items()))
        timer.restore()
    finally:
        package.unregister()

    import_seconds = min(run[0] for run in runs)
    best_apply = min(runs, key=lambda run: run[1])
    apply_seconds, split = best_apply[1], best_apply[2]
    ratio = apply_seconds / import_seconds
    version = ".".join(str(part) for part in bpy.app.version[:2])
    load = os.getloadavg()[0]
    command = f"{Path(sys.executable).parent.parent.name}/bin/python benchmarks/bench_blender.py"
    if sys.argv[1:]:
        command += " " + shlex.join(sys.argv[1:])
    header = "\n".join([
        SECTION_TITLE,
        "",
        f"Command: `{command}`, once per Blender venv (`.venv-blender-X.Y`). Machine: {arguments.machine}. "
        f"Best of {arguments.repeats} runs, each on a fresh import, one thread.",
        f"Clip: `{CLIP}` played back and forth to {FRAMES:,} frames at 30 fps on 25 joints, written as BVH. "
        "BVH import is `bpy.ops.import_anim.bvh`. Apply is `bpy.ops.emotion_motion.apply` with the "
        f"{EMOTION} PAD at strength 1: read the action, solve (`apply_emotion`: models, search, final edit, "
        "report) and write the new action. Read, solve and write are the times of those calls in the best "
        f"apply run. Goal: the apply takes at most {GOAL_RATIO:g} of the import time. The load average is the "
        "one-minute value at the end of each version's run, on "
        f"{os.cpu_count()} cores. Other jobs running at the same time make the times longer, never shorter.",
        "",
        "",
    ])
    row = (
        f"| {version} | {import_seconds:.2f} | {apply_seconds:.2f} | {split.get('read', 0.0):.2f} | "
        f"{split.get('solve', 0.0):.2f} | {split.get('write', 0.0):.2f} | {ratio:.2f} | "
        f"{'met' if ratio <= GOAL_RATIO else 'not met'} | {load:.1f} |"
    )
    print(header + TABLE_HEADER + row)
    if not arguments.no_record:
        record(version, row, header)
        logger.info("Recorded in %s", BENCHMARKS_DOC)


if __name__ == "__main__":
    main()
