"""Apply every emotional style's PAD to every normal clip of bandai-namco-1 and report how close the edits get.

For each normal-style clip (every content and take) and each of the seven emotional
styles (happy, sad, angry, proud, not-confident, tired, active), the script calls
:func:`models.pipeline.apply_emotion` with the style's PAD value
(:data:`models.emotions.STYLE_TO_EMOTION`) at full strength and records:

- the relative reduction of the feature distance to the model's target (goal: median
  over all pairs at least 50 %);
- whether the PAD regressor's estimate of the result is closer to the target PAD than its
  estimate of the source (goal: at least 80 % of the pairs);
- where the dataset has the same content and take performed in that style, the feature
  distance (in training standard deviations) from the source and from the result to that
  real performance;
- foot skating and loop state before and after.

It writes ``docs/synthesis_report.md`` and one before/after figure per emotion in
``docs/figures/`` (stick figures of ``walk_normal_001`` at evenly spaced times).

Usage::

    .venv/bin/python scripts/synthesis_report.py [--datasets DIR] [--jobs 2] [--output docs/synthesis_report.md]
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import importlib  # noqa: E402
import importlib.util  # noqa: E402
import logging  # noqa: E402
import platform  # noqa: E402
import shlex  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402
from types import ModuleType  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402

import numpy as np  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))


if TYPE_CHECKING:
    from synthesis.skeleton import Motion

logger = logging.getLogger("synthesis_report")


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


pipeline = import_extension_module("models.pipeline")
# Every module comes from the one package, so that the bone maps and motions made here
# are the classes the pipeline checks against.
EMOTIONAL_STYLES = import_extension_module("models.emotions").EMOTIONAL_STYLES
STYLE_TO_EMOTION = import_extension_module("models.emotions").STYLE_TO_EMOTION
emotion_pad = import_extension_module("models.emotions").emotion_pad
read_bvh = import_extension_module("synthesis.bvh").read_bvh
vertical_axis = import_extension_module("synthesis.contacts").vertical_axis
FEATURE_EXTRACTOR_VERSION = import_extension_module("synthesis.features").FEATURE_EXTRACTOR_VERSION
FeatureExtractor = import_extension_module("synthesis.features").FeatureExtractor
detect_roles = import_extension_module("synthesis.roles").detect_roles
apply_emotion, load_models = pipeline.apply_emotion, pipeline.load_models

STYLES = tuple(style for style in EMOTIONAL_STYLES if style != "normal")
FIGURE_CLIP = "dataset-1_walk_normal_001.bvh"
FIGURE_SNAPSHOTS = 5
SKATING_FLOOR = 0.005
"""Foot skating increase in body heights per second that counts as none (a planted foot of a bow)."""
REDUCTION_GOAL = 0.5
PAD_GOAL = 0.8


def _clip_name(path: Path) -> str:
    """Return ``content take`` of a file named ``dataset-1_{content}_{style}_{take}.bvh``."""
    _, content, _, take = path.stem.split("_")
    return f"{content} {take}"


def _run_clip(path: Path) -> list[dict]:
    """Apply every style to one normal clip and return one row per style."""
    motion = read_bvh(path)
    bone_map = detect_roles(motion.skeleton)
    models = load_models()
    spread = np.asarray(models.manifest["scaler"]["scale"], dtype=np.float64)
    extractor = FeatureExtractor(motion.skeleton, bone_map)
    source = extractor.clip_features(motion)
    rows = []
    for style in STYLES:
        pad = emotion_pad(STYLE_TO_EMOTION[style])
        started = time.perf_counter()
        result, report = apply_emotion(motion, bone_map, pad)
        seconds = time.perf_counter() - started
        row = {
            "clip": _clip_name(path),
            "style": style,
            "seconds": seconds,
            "reduction": report["relative_error_reduction"],
            "feature_error_before": report["feature_error_before"],
            "feature_error_after": report["feature_error_after"],
            "pad_error_before": report["pad_error_before"],
            "pad_error_after": report["pad_error_after"],
            "pad_closer": report["pad_error_after"] < report["pad_error_before"],
            "foot_skating_before": report["foot_skating_before"],
            "foot_skating_after": report["foot_skating_after"],
            "loops_before": report["loops_before"],
            "loops_after": report["loops_after"],
            "evaluations": report["evaluations"],
            "parameters": report["parameters"],
            # Squared standardised error per feature before and after, for the share each feature keeps.
            "squared_before": {name: ((values["source"] - values["target"]) / spread[index]) ** 2
                               for index, (name, values) in enumerate(report["features"].items())},
            "squared_after": {name: ((values["achieved"] - values["target"]) / spread[index]) ** 2
                              for index, (name, values) in enumerate(report["features"].items())},
        }
        real_path = path.with_name(path.name.replace("_normal_", f"_{style}_"))
        if real_path.is_file():
            real = read_bvh(real_path)
            real_features = FeatureExtractor(real.skeleton, detect_roles(real.skeleton)).clip_features(real)
            achieved = np.array([report["features"][name]["achieved"] for name in models.feature_names])
            row["real_before"] = float(np.sqrt(np.mean(((source - real_features) / spread) ** 2)))
            row["real_after"] = float(np.sqrt(np.mean(((achieved - real_features) / spread) ** 2)))
        rows.append(row)
        logger.info("%s, %s: feature error %.2f -> %.2f, PAD error %.2f -> %.2f (%.1f s)", row["clip"], style,
                    row["feature_error_before"], row["feature_error_after"], row["pad_error_before"],
                    row["pad_error_after"], seconds)
        if path.name == FIGURE_CLIP:
            row["figure"] = _figure(motion, result, bone_map, style)
    return rows


def _side_view(motion: Motion, bone_map) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return positions ``(frames, joints, 3)``, the up axis and the facing axis (where the toes point)."""
    positions = motion.positions()
    up = vertical_axis(motion, bone_map, positions)
    pairs = [(bone_map.get(f"{side}_foot"), bone_map.get(f"{side}_toe")) for side in ("left", "right")]
    pairs = [(foot, toe) for foot, toe in pairs if foot is not None and toe is not None]
    if pairs:
        facing = sum((positions[:, toe] - positions[:, foot]).mean(axis=0) for foot, toe in pairs)
    else:
        lateral = (positions[:, bone_map.index("right_thigh")] - positions[:, bone_map.index("left_thigh")]).mean(axis=0)
        facing = np.cross(up, lateral)
    facing = facing - (facing @ up) * up
    return positions, up, facing / np.linalg.norm(facing)


def _figure(source: Motion, result: Motion, bone_map, style: str) -> str:
    """Draw source and result as side-view stick figures at the same fractions of their durations."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(11, 3.2))
    parents = source.skeleton.parents
    pelvis = bone_map.index("pelvis")
    source_positions, up, facing = _side_view(source, bone_map)
    result_positions = result.positions()
    height = float(np.ptp(source_positions @ up))
    # Only the body below and including the pelvis is drawn: a BVH root joint on the floor
    # (Bandai's joint_Root) would add a line from the floor to the hips.
    body = {pelvis}
    for joint, parent in enumerate(parents):
        if parent in body:
            body.add(joint)
    for snapshot, fraction in enumerate(np.linspace(0.0, 1.0, FIGURE_SNAPSHOTS)):
        for positions, colour, width, label in ((source_positions, "0.6", 2.5, "normal (source)"),
                                                (result_positions, "tab:red", 1.6, f"{style} (edited)")):
            frame = int(round(fraction * (len(positions) - 1)))
            pose = positions[frame] - positions[frame, pelvis]
            horizontal = pose @ facing + snapshot * 0.9 * height
            vertical = pose @ up + positions[frame, pelvis] @ up
            for joint, parent in enumerate(parents):
                if parent not in body or joint not in body:
                    continue
                axis.plot([horizontal[parent], horizontal[joint]], [vertical[parent], vertical[joint]], color=colour,
                          linewidth=width, solid_capstyle="round",
                          label=label if snapshot == 0 and parent == pelvis and joint == min(body - {pelvis}) else None)
    axis.set_aspect("equal")
    axis.set_axis_off()
    axis.legend(loc="upper right", frameon=False)
    axis.set_title(f"walk_normal_001 edited toward {style}: side view at {FIGURE_SNAPSHOTS} evenly spaced times "
                   "(facing right)", fontsize=10)
    path = REPO_ROOT / "docs" / "figures" / f"synthesis_{style}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(figure)
    return str(path.relative_to(REPO_ROOT / "docs"))


def _percent(value: float) -> str:
    return f"{100 * value:.0f} %"


def _write(rows: list[dict], output: Path, command: str, seconds: float, jobs: int) -> dict:
    models = load_models()
    reductions = np.array([row["reduction"] for row in rows])
    closer = np.array([row["pad_closer"] for row in rows])
    median = float(np.median(reductions))
    closer_share = float(closer.mean())
    skating_ok = [row["foot_skating_after"] <= max(1.1 * row["foot_skating_before"], row["foot_skating_before"] + SKATING_FLOOR)
                  for row in rows]
    clips = sorted({row["clip"] for row in rows})
    table = {(row["clip"], row["style"]): row for row in rows}
    lines = [
        "# Emotion synthesis on the Bandai Namco data",
        "",
        f"Generated by `{command}` in {seconds / 60:.1f} min with {jobs} worker processes on the "
        f"{os.cpu_count()}-core {platform.machine()} sandbox (Python {platform.python_version()}, numpy {np.__version__}); "
        f"feature extractor {FEATURE_EXTRACTOR_VERSION}, models trained on feature extractor "
        f"{models.feature_extractor_version} (target model `{models.manifest['models']['target'].get('design')}`, "
        f"PAD regressor `{models.manifest['models']['pad'].get('design')}`).",
        "",
        f"Every normal-style clip of `bandai-namco-1` ({len(clips)} clips: every content and take) was edited with "
        f"`models.pipeline.apply_emotion` toward each of the {len(STYLES)} emotional styles' PAD values at full "
        f"strength: {len(rows)} pairs. Feature errors are root mean square differences in training standard "
        "deviations of each feature. The PAD estimates come from the bundled PAD regressor.",
        "",
    ]
    lines += [
        "## Goals",
        "",
        "| goal | measured | met |",
        "| --- | ---: | --- |",
        f"| median reduction of the feature distance to the target >= {_percent(REDUCTION_GOAL)} | "
        f"{_percent(median)} | {'yes' if median >= REDUCTION_GOAL else 'no'} |",
        f"| estimated PAD of the result closer to the target than the source's, in >= {_percent(PAD_GOAL)} of pairs | "
        f"{_percent(closer_share)} ({int(closer.sum())} of {len(rows)}) | {'yes' if closer_share >= PAD_GOAL else 'no'} |",
        f"| foot skating of the result within 10 % of the source's, or less than {SKATING_FLOOR} body heights/s "
        "above it | "
        f"{sum(skating_ok)} of {len(rows)} pairs | {'yes' if all(skating_ok) else 'no'} |",
        "",
    ]

    lines += [
        "## Per emotion",
        "",
        "| style | PAD | median reduction | lowest reduction | PAD closer | mean PAD error before | mean PAD error after "
        "| median distance to the real style clip, before -> after | median seconds per clip |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for style in STYLES:
        group = [row for row in rows if row["style"] == style]
        real = [row for row in group if "real_before" in row]
        real_text = (f"{np.median([row['real_before'] for row in real]):.2f} -> "
                     f"{np.median([row['real_after'] for row in real]):.2f} ({len(real)} clip{'' if len(real) == 1 else 's'})") if real else "none"
        lines.append(
            f"| {style} | {', '.join(f'{value:.2f}' for value in emotion_pad(STYLE_TO_EMOTION[style]))} | "
            f"{_percent(np.median([row['reduction'] for row in group]))} | "
            f"{_percent(min(row['reduction'] for row in group))} | "
            f"{sum(row['pad_closer'] for row in group)} of {len(group)} | "
            f"{np.mean([row['pad_error_before'] for row in group]):.2f} | "
            f"{np.mean([row['pad_error_after'] for row in group]):.2f} | {real_text} | "
            f"{np.median([row['seconds'] for row in group]):.1f} |"
        )

    lines += [
        "",
        "\"Distance to the real style clip\" compares with the same content and take performed by the actor in that "
        "style, where the dataset has one. It checks the target model as much as the solver: the edit aims at the "
        "model's target, not at the real performance.",
        "",
        "## Feature distance reduction per clip",
        "",
        "| clip | " + " | ".join(STYLES) + " |",
        "| --- | " + " | ".join("---:" for _ in STYLES) + " |",
    ]
    for clip in clips:
        lines.append(f"| {clip} | " + " | ".join(_percent(table[clip, style]["reduction"]) for style in STYLES) + " |")

    lines += [
        "",
        "## PAD estimate error per clip, before -> after (a star marks a result no closer to the target)",
        "",
        "| clip | " + " | ".join(STYLES) + " |",
        "| --- | " + " | ".join("---" for _ in STYLES) + " |",
    ]
    for clip in clips:
        cells = []
        for style in STYLES:
            row = table[clip, style]
            cells.append(f"{row['pad_error_before']:.2f} -> {row['pad_error_after']:.2f}{'' if row['pad_closer'] else ' *'}")
        lines.append(f"| {clip} | " + " | ".join(cells) + " |")

    names = list(rows[0]["squared_after"])
    before = np.array([[row["squared_before"][name] for name in names] for row in rows]).sum(axis=0)
    after = np.array([[row["squared_after"][name] for name in names] for row in rows]).sum(axis=0)
    order = np.argsort(-after)[:6]
    lines += [
        "",
        "## What remains",
        "",
        "Share of the summed squared feature error over all pairs, before and after the edit, for the features "
        "that keep the most of it. Features that no edit parameter moves in the requested direction stay where "
        "they were and bound the reduction.",
        "",
        "| feature | share of the error before | share after | after / before |",
        "| --- | ---: | ---: | ---: |",
    ]
    lines += [f"| `{names[index]}` | {_percent(before[index] / before.sum())} | {_percent(after[index] / after.sum())} | "
              f"{after[index] / max(before[index], 1e-12):.2f} |" for index in order]

    over = [row for row, ok in zip(rows, skating_ok) if not ok]
    lines += ["", "## Foot skating above the goal", ""]
    if over:
        lines += ["| clip | style | before (body heights/s) | after | time scale | leg extent |",
                  "| --- | --- | ---: | ---: | ---: | ---: |"]
        lines += [f"| {row['clip']} | {row['style']} | {row['foot_skating_before']:.3f} | {row['foot_skating_after']:.3f} | "
                  f"{row['parameters']['time_scale']:.2f} | {row['parameters']['leg_extent']:.2f} |" for row in over]
    else:
        lines.append("None.")

    lines += ["", "## Figures", ""]
    for row in rows:
        if "figure" in row:
            lines += [f"![walk_normal_001 toward {row['style']}]({row['figure']})", ""]
    output.write_text("\n".join(lines).rstrip("\n") + "\n", encoding="utf-8")
    return {"median_reduction": median, "pad_closer_share": closer_share}


def main() -> int:
    parser = argparse.ArgumentParser(description="Apply every emotional style to every normal Bandai clip and report.")
    parser.add_argument("--datasets", type=Path,
                        default=Path(os.environ.get("EMOTION_MOTION_DATASETS", REPO_ROOT.parent / "shared" / "datasets")),
                        help="folder that contains bandai-namco-1/")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes, one clip each at a time")
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "docs" / "synthesis_report.md",
                        help="Markdown file to write")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    for name in ("synthesis", "models"):
        logging.getLogger(name).setLevel(logging.WARNING)

    paths = sorted((arguments.datasets / "bandai-namco-1" / "data").glob("dataset-1_*_normal_*.bvh"))
    if not paths:
        parser.error(f"no normal-style clips under {arguments.datasets / 'bandai-namco-1' / 'data'}; "
                     "pass --datasets or set EMOTION_MOTION_DATASETS")
    load_models()
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=max(1, arguments.jobs)) as pool:
        rows = [row for clip_rows in pool.map(_run_clip, paths) for row in clip_rows]
    seconds = time.perf_counter() - started
    command = "python3 scripts/synthesis_report.py" + (" " + shlex.join(sys.argv[1:]) if sys.argv[1:] else "")
    summary = _write(rows, arguments.output, command, seconds, arguments.jobs)
    logger.info("Median reduction %.0f %%, PAD closer in %.0f %% of pairs; wrote %s", 100 * summary["median_reduction"],
                100 * summary["pad_closer_share"], arguments.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
