"""Apply an emotion to motion files, or estimate their emotion, without Blender's user interface.

Run it with Blender or with the ``bpy`` module from PyPI::

    blender --background [file.blend] --python scripts/emotion_motion.py -- apply walk.bvh -o sad.bvh --emotion sad
    python scripts/emotion_motion.py apply walk.bvh -o sad.bvh -o sad.blend --emotion sad --report sad.json
    python scripts/emotion_motion.py analyze clips/ --json
    python scripts/emotion_motion.py plot sad.json -o sad.png

Inputs are ``.bvh`` files (read with Blender's own BVH importer), ``.blend`` files or
folders of both. Several inputs, or a folder, run as a batch whose output is a folder.
The work itself is the extension's: the same functions as the Apply Emotion and Analyze
Emotion operators. The ``plot`` subcommand needs only matplotlib, not ``bpy``.

Exit status: 0 on success, 2 for invalid input or usage (the message names the file and
the problem) or a Python without ``bpy``, 1 for an internal error or for missing or damaged
bundled models. A model error stops a batch at the first input, because every later input
would fail the same way.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import logging
import math
import os
import re
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

log = logging.getLogger("emotion_motion.cli")

REPO_ROOT = Path(__file__).resolve().parent.parent
INPUT_SUFFIXES = (".bvh", ".blend")
PAD_AXES = ("pleasure", "arousal", "dominance")

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2


# Packages this script registered and extensions it enabled. They are unregistered and
# disabled before exit because the bpy module of Blender 4.2 crashes at interpreter exit
# while Python classes (operators, panels) are still registered.
REGISTERED: list[ModuleType] = []
ENABLED_EXTENSIONS: list[str] = []


class InputError(Exception):
    """Invalid input or usage; the message names the file and the problem. Exit status 2."""


class ModelLoadError(Exception):
    """The bundled models are missing or damaged, and the message names the fix. Exit status 1."""


BPY_MISSING = (
    "This command needs Blender's Python module (bpy). Run it with .venv-blender-4.2/bin/python "
    "scripts/emotion_motion.py ... (make blender-venvs creates it) or blender --background --python "
    "scripts/emotion_motion.py -- ..."
)


def require_bpy() -> None:
    """Raise :class:`InputError` naming the ways to run this command when ``bpy`` is not importable."""
    if "bpy" not in sys.modules and importlib.util.find_spec("bpy") is None:
        raise InputError(BPY_MISSING)


# Command line


def script_arguments(argv: list[str]) -> list[str]:
    """Return the arguments meant for this script.

    Blender passes its own arguments in ``sys.argv``; the script's come after ``--``.
    Run with plain Python, every argument after the script name is the script's.
    """
    if "--" in argv:
        return argv[argv.index("--") + 1:]
    if any(flag in argv for flag in ("--python", "-P")):
        return []
    return argv[1:]


MODELS_HELP = "folder with manifest.json and ONNX models to use instead of the bundled ones, such as the --output folder of python -m training.train"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="emotion_motion.py",
        description="Apply an emotion to BVH or .blend motion, or estimate the emotion a motion shows.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages to stderr")
    commands = parser.add_subparsers(dest="command", required=True)

    apply = commands.add_parser("apply", help="edit the motion so it shows an emotion")
    apply.add_argument("inputs", nargs="+", metavar="INPUT", help=".bvh or .blend file, or a folder of them")
    apply.add_argument(
        "-o", "--output", action="append", required=True, metavar="OUTPUT",
        help="output .bvh or .blend file; give -o twice to write both. With several inputs or a folder, "
        "an output folder",
    )
    target = apply.add_mutually_exclusive_group(required=True)
    target.add_argument("--emotion", metavar="NAME", help="named emotion, such as happy, sad or angry")
    target.add_argument("--pad", nargs=3, type=float, metavar=("P", "A", "D"),
                        help="pleasure, arousal and dominance, each from -1 to 1")
    target.add_argument("--keyed-pad", action="store_true",
                        help="follow the PAD keys on the armature (.blend input with keyed Emotion sliders)")
    apply.add_argument("--strength", type=float, default=1.0,
                       help="how far to move toward the target features, from 0 to 1 (default 1)")
    apply.add_argument("--bone-map", metavar="FILE", help="JSON bone map ({role: bone name}) that overrides detection")
    apply.add_argument("--models", metavar="FOLDER", help=MODELS_HELP)
    apply.add_argument("--report", metavar="FILE.json", help="write the pipeline report as JSON")
    apply.add_argument("--plot", metavar="FILE.png", help="plot source, target and result features (needs matplotlib)")
    apply.add_argument("--armature", metavar="NAME", help="armature object to edit in a .blend file")
    apply.add_argument("--action", metavar="NAME", help="action to edit; assigned to the armature first")
    apply.add_argument("--bake", action="store_true", help="key every frame instead of the source's key frames")
    apply.add_argument("--no-planted-feet", action="store_true", help="let planted feet move with the edit")
    apply.add_argument("--format", choices=("bvh", "blend"),
                       help="file type of batch outputs (default: the type of each input)")

    analyze = commands.add_parser("analyze", help="estimate the emotion (PAD) each input shows")
    analyze.add_argument("inputs", nargs="+", metavar="INPUT", help=".bvh or .blend file, or a folder of them")
    analyze.add_argument("--json", action="store_true",
                         help="print one JSON object (a list for several inputs) with pad, emotion and features")
    analyze.add_argument("--armature", metavar="NAME", help="armature object to read in a .blend file")
    analyze.add_argument("--action", metavar="NAME", help="action to read instead of the assigned one")
    analyze.add_argument("--bone-map", metavar="FILE", help="JSON bone map ({role: bone name}) that overrides detection")
    analyze.add_argument("--models", metavar="FOLDER", help=MODELS_HELP)

    plot = commands.add_parser("plot", help="plot a report written by apply --report (needs matplotlib, not bpy)")
    plot.add_argument("report", metavar="REPORT.json", help="report file of one input")
    plot.add_argument("-o", "--output", required=True, metavar="FILE.png", help="image file to write")
    return parser


def expand_inputs(paths: list[str]) -> tuple[list[Path], bool]:
    """Return the input files and whether they form a batch (several inputs or a folder)."""
    files: list[Path] = []
    batch = len(paths) > 1
    for text in paths:
        path = Path(text)
        if path.is_dir():
            batch = True
            found = sorted(child for child in path.iterdir() if child.suffix.lower() in INPUT_SUFFIXES)
            if not found:
                raise InputError(f"Folder {path} contains no .bvh or .blend files")
            files.extend(found)
        elif not path.exists():
            raise InputError(f"Input {path} not found")
        elif path.suffix.lower() not in INPUT_SUFFIXES:
            raise InputError(f"Input {path} is not a .bvh or .blend file")
        else:
            files.append(path)
    return files, batch


def check_output_not_input(output: Path, inputs: list[Path]) -> None:
    """Raise :class:`InputError` when ``output`` resolves to one of ``inputs``, which it would overwrite."""
    resolved = output.resolve()
    for source in inputs:
        if source.resolve() != resolved:
            continue
        if len(inputs) == 1:
            raise InputError(f"Output {output} is the input file; choose another output path "
                             "(the source is never overwritten)")
        raise InputError(f"Output {output} is one of the batch's inputs; choose another output folder "
                         "(the sources are never overwritten)")


def check_blend_options(args: argparse.Namespace, inputs: list[Path]) -> None:
    """Raise :class:`InputError` when --armature or --action is given without a .blend input to apply them to."""
    if args.armature is None and args.action is None:
        return
    others = [path for path in inputs if path.suffix.lower() != ".blend"]
    if others:
        raise InputError(f"--armature/--action apply only to .blend inputs, but {others[0]} is a "
                         f"{others[0].suffix} file")


def output_paths(args: argparse.Namespace, source: Path, batch: bool, label: str) -> list[Path]:
    """Return where to write the result of ``source``."""
    if not batch:
        return [Path(output) for output in args.output]
    folder = Path(args.output[0])
    suffix = f".{args.format}" if args.format else source.suffix.lower()
    return [folder / f"{source.stem}_{label}{suffix}"]


def check_apply_arguments(args: argparse.Namespace, inputs: list[Path], batch: bool) -> None:
    if not (math.isfinite(args.strength) and 0.0 <= args.strength <= 1.0):
        raise InputError(f"--strength {args.strength:g} is outside [0, 1]")
    if batch:
        if len(args.output) != 1:
            raise InputError("A batch takes one output folder (-o FOLDER), got several -o options")
        folder = Path(args.output[0])
        if folder.exists() and not folder.is_dir():
            raise InputError(f"Output {folder} is a file, but a batch needs an output folder")
        return
    if args.format:
        raise InputError("--format applies to batches only; give the output file's extension instead")
    for output in args.output:
        if Path(output).suffix.lower() not in INPUT_SUFFIXES:
            raise InputError(f"Output {output} must end in .bvh or .blend")
        check_output_not_input(Path(output), inputs)
    if args.plot and not matplotlib_available():
        raise InputError(
            "--plot needs matplotlib, which this Python lacks; install it (pip install matplotlib) or write "
            "--report and run the plot subcommand with a Python that has matplotlib"
        )


# Finding the extension


def load_extension() -> ModuleType:
    """Return the Emotion Motion package with its Blender classes registered.

    An extension that Blender already enabled comes first, then the checkout this script
    belongs to (its root is added to ``sys.path``), then an installed extension, which is
    enabled here.
    """
    require_bpy()
    import bpy

    enabled = "emotion_motion" in bpy.types.Object.bl_rna.properties
    for name, loaded in list(sys.modules.items()):
        if enabled and re.fullmatch(r"bl_ext\.[^.]+\.emotion_motion", name):
            log.debug("using the enabled extension %s", name)
            return loaded

    if (REPO_ROOT / "blender_manifest.toml").is_file() and (REPO_ROOT / "__init__.py").is_file():
        if str(REPO_ROOT) not in sys.path:
            sys.path.insert(0, str(REPO_ROOT))
        checkout = sys.modules.get("emotion_motion")
        if checkout is None:
            spec = importlib.util.spec_from_file_location(
                "emotion_motion", REPO_ROOT / "__init__.py", submodule_search_locations=[str(REPO_ROOT)]
            )
            assert spec is not None and spec.loader is not None
            checkout = importlib.util.module_from_spec(spec)
            sys.modules["emotion_motion"] = checkout
            spec.loader.exec_module(checkout)
            checkout.register()
            REGISTERED.append(checkout)
            log.debug("using the checkout at %s", REPO_ROOT)
        return checkout

    for repo in bpy.context.preferences.extensions.repos:
        if not (Path(repo.directory) / "emotion_motion" / "blender_manifest.toml").is_file():
            continue
        name = f"bl_ext.{repo.module}.emotion_motion"
        try:
            bpy.ops.preferences.addon_enable(module=name)
        except RuntimeError as error:
            raise RuntimeError(f"The installed extension {name} failed to enable: {error}") from None
        log.debug("enabled the installed extension %s", name)
        ENABLED_EXTENSIONS.append(name)
        return sys.modules[name]
    raise RuntimeError(
        "Emotion Motion not found: run this script from a checkout of the repository, or install the extension "
        "(make extension, then Edit > Preferences > Get Extensions > Install from Disk)"
    )


def submodule(package: ModuleType, name: str) -> ModuleType:
    return importlib.import_module(f"{package.__name__}.{name}")


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send everything printed to stdout, Blender's own C-level output included, to stderr."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


# Loading and saving in Blender


def load_armature(package: ModuleType, path: Path, args: argparse.Namespace):
    """Load ``path`` into Blender and return the armature object to work on.

    A BVH file goes into an empty scene with its axes kept in the armature's data,
    because Blender's BVH exporter (which has no axis options) writes the armature's own
    axes back. A Y-up file is stood upright by the object's rotation instead, so a saved
    .blend shows it as Blender's Z-up importer default would.
    """
    import bpy

    if path.suffix.lower() == ".bvh":
        check_bvh(package, path)
        bpy.ops.wm.read_homefile(use_empty=True)
        try:
            bpy.ops.import_anim.bvh(
                filepath=str(path), global_scale=1.0, update_scene_fps=True, update_scene_duration=True,
                rotate_mode='NATIVE', axis_forward='Y', axis_up='Z',
            )
        except RuntimeError as error:
            raise InputError(f"Blender's BVH importer failed on {path}: {error}") from None
        obj = bpy.context.view_layer.objects.active
        if obj is None or obj.type != 'ARMATURE':
            raise InputError(f"Blender's BVH importer made no armature from {path}")
        if rest_extent(obj, 1) > rest_extent(obj, 2):
            obj.rotation_euler = (math.pi / 2.0, 0.0, 0.0)
    else:
        try:
            bpy.ops.wm.open_mainfile(filepath=str(path), load_ui=False)
        except RuntimeError as error:
            raise InputError(f"Blender could not open {path}: {error}") from None
        obj = pick_armature(path, args.armature)

    if args.action:
        action = bpy.data.actions.get(args.action)
        if action is None:
            names = ", ".join(sorted(action.name for action in bpy.data.actions)) or "none"
            raise InputError(f"{path} has no action {args.action!r}; its actions are: {names}")
        submodule(package, "operators.action_compat").assign_action(obj, action)

    if args.bone_map:
        apply_bone_map_file(package, obj, Path(args.bone_map))
    return obj


def rest_extent(obj, axis: int) -> float:
    """Return the extent of the armature's rest bones along armature axis ``axis`` (0 to 2)."""
    values = [point[axis] for bone in obj.data.bones for point in (bone.head_local, bone.tail_local)]
    return max(values) - min(values)


def check_bvh(package: ModuleType, path: Path) -> None:
    """Parse ``path`` with the project's BVH reader first, whose errors name the line and the problem."""
    bvh = submodule(package, "synthesis.bvh")
    try:
        bvh.read_bvh(path)
    except bvh.BVHError as error:
        raise InputError(str(error)) from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"Could not read {path}: {error}") from None


def pick_armature(path: Path, name: str | None):
    import bpy

    armatures = [o for o in bpy.data.objects if o.type == 'ARMATURE']
    if name is not None:
        obj = bpy.data.objects.get(name)
        if obj is None or obj.type != 'ARMATURE':
            listed = ", ".join(sorted(o.name for o in armatures)) or "none"
            raise InputError(f"{path} has no armature object {name!r}; its armatures are: {listed}")
    else:
        animated = [o for o in armatures if o.animation_data is not None and o.animation_data.action is not None]
        candidates = animated or armatures
        if not candidates:
            raise InputError(f"{path} contains no armature object")
        if len(candidates) > 1:
            names = ", ".join(sorted(o.name for o in candidates))
            raise InputError(f"{path} has several animated armatures ({names}); choose one with --armature NAME")
        obj = candidates[0]
    bpy.context.view_layer.objects.active = obj
    return obj


def apply_bone_map_file(package: ModuleType, obj, path: Path) -> None:
    """Load a bone-map JSON as overrides on the armature, as the Load Bone Map button does."""
    roles = submodule(package, "synthesis.roles")
    try:
        loaded = roles.load_bone_map(path)
    except (OSError, ValueError) as error:
        raise InputError(f"Could not load bone map {path}: {error}") from None
    bones = {bone.name for bone in obj.data.bones}
    unknown = sorted(f"{role} -> {bone!r}" for role, bone in loaded.items() if bone and bone not in bones)
    if unknown:
        raise InputError(f"Bone map {path} names bones that armature {obj.name!r} lacks: {', '.join(unknown)}")
    properties = submodule(package, "operators.properties")
    properties.set_bone_map(obj.emotion_motion, {role: bone for role, bone in loaded.items() if bone},
                            {role: "file" for role in loaded})


def save_output(obj, action, path: Path) -> None:
    import bpy

    path.parent.mkdir(parents=True, exist_ok=True)
    scene = bpy.context.scene
    start, end = (int(round(frame)) for frame in action.frame_range)
    if path.suffix.lower() == ".blend":
        # A timing edit changes the clip's length, so the saved scene plays the new range.
        scene.frame_start, scene.frame_end = start, end
        save_blend_without_backup(path)
        return
    for other in bpy.context.view_layer.objects:
        other.select_set(other == obj)
    bpy.context.view_layer.objects.active = obj
    bpy.ops.export_anim.bvh(
        filepath=str(path.resolve()), check_existing=False, global_scale=1.0, frame_start=start,
        frame_end=end, rotate_mode='NATIVE', root_transform_only=False,
    )
    scene.frame_current = start


def save_blend_without_backup(path: Path) -> None:
    """Save the open file as ``path`` without Blender's ``.blend1`` backup of a file it replaces.

    The number of backups is the user preference Save Versions, set to 0 for the save and
    restored afterwards.
    """
    import bpy

    filepaths = bpy.context.preferences.filepaths
    saved_versions = filepaths.save_version
    filepaths.save_version = 0
    try:
        bpy.ops.wm.save_as_mainfile(filepath=str(path.resolve()), copy=True)
    finally:
        filepaths.save_version = saved_versions


# Subcommands


def run_apply(args: argparse.Namespace) -> int:
    inputs, batch = expand_inputs(args.inputs)
    check_apply_arguments(args, inputs, batch)
    check_blend_options(args, inputs)
    pad = target_pad_from_arguments(args)
    package = load_extension()
    emotion_ops = submodule(package, "operators.emotion_ops")
    failures = {EXIT_BAD_INPUT: 0, EXIT_INTERNAL: 0}
    reports = []
    for number, path in enumerate(inputs, start=1):
        prefix = f"[{number}/{len(inputs)}] {path}" if batch else str(path)
        try:
            with stdout_to_stderr():
                report = apply_one(package, emotion_ops, path, args, inputs, batch, pad)
        except InputError as error:
            failures[EXIT_BAD_INPUT] += 1
            print(f"{prefix}: error: {error}", file=sys.stderr)
            continue
        except Exception as error:  # noqa: BLE001 - one broken input must not stop a batch
            report_failure(package, error, prefix, failures, args.verbose, args.models)
            continue
        reports.append(report)
        print(f"{prefix} -> {', '.join(report['outputs'])}: target PAD {format_pad(report['target_pad'])}. "
              f"{report['summary']}", flush=True)
        for warning in report.get("warnings", []):
            print(f"{prefix}: WARNING: {warning}", flush=True)

    if args.report and reports:
        write_json(Path(args.report), reports if batch else reports[0])
    if args.plot and reports:
        for report in reports:
            plot_path = Path(args.plot)
            if batch:
                plot_path = plot_path.with_name(f"{plot_path.stem}_{Path(report['input']).stem}{plot_path.suffix}")
            plot_report(report, plot_path)
    return exit_status(failures, len(inputs))


def target_pad_from_arguments(args: argparse.Namespace) -> tuple[float, float, float] | None:
    """Return the constant target PAD, or None to follow the armature's PAD keys."""
    emotions = load_emotions_module()
    if args.emotion is not None:
        try:
            return emotions.emotion_pad(args.emotion.lower())
        except KeyError:
            raise InputError(f"Unknown emotion {args.emotion!r}; known emotions: {', '.join(emotions.EMOTIONS)}") from None
    if args.pad is not None:
        try:
            return emotions.validate_pad(args.pad, name="--pad")
        except ValueError as error:
            raise InputError(str(error)) from None
    return None


def load_emotions_module() -> ModuleType:
    """Import the emotion table without ``bpy``, from the checkout or an installed extension."""
    if (REPO_ROOT / "models" / "emotions.py").is_file():
        spec = importlib.util.spec_from_file_location("_emotion_motion_emotions", REPO_ROOT / "models" / "emotions.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        # dataclasses look the module up in sys.modules while the class body runs.
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        return module
    return submodule(load_extension(), "models.emotions")


def apply_one(package: ModuleType, emotion_ops: ModuleType, path: Path, args: argparse.Namespace,
              inputs: list[Path], batch: bool, pad: tuple[float, float, float] | None) -> dict[str, Any]:
    obj = load_armature(package, path, args)
    settings = obj.emotion_motion
    settings.keep_hand_keys = not args.bake
    settings.keep_planted_feet = not args.no_planted_feet
    if pad is None and emotion_ops.keyframed_pad(obj, obj.animation_data.action, [0.0]) is None:
        raise InputError(f"--keyed-pad: armature {obj.name!r} in {path} has no keys on its Emotion sliders")

    result = emotion_ops.apply_to_armature(
        obj, pad=pad, strength=args.strength, use_keyframed_pad=pad is None,
        progress=lambda fraction, message="": log.debug("%s: %.0f%% %s", path, 100 * fraction, message),
        model_directory=args.models,
    )
    outputs = output_paths(args, path, batch, result.label)
    for output in outputs:
        check_output_not_input(output, inputs)
    for output in outputs:
        save_output(obj, result.action, output)
    report = dict(result.report)
    report.update({
        "input": str(path),
        "outputs": [str(output) for output in outputs],
        "armature": obj.name,
        "source_action": result.source.name,
        "result_action": result.action.name,
        "emotion": result.label,
        "strength": args.strength,
        "summary": result.summary,
    })
    return report


def run_analyze(args: argparse.Namespace) -> int:
    inputs, batch = expand_inputs(args.inputs)
    check_blend_options(args, inputs)
    package = load_extension()
    emotion_ops = submodule(package, "operators.emotion_ops")
    failures = {EXIT_BAD_INPUT: 0, EXIT_INTERNAL: 0}
    results: list[dict[str, Any]] = []
    for number, path in enumerate(inputs, start=1):
        prefix = f"[{number}/{len(inputs)}] {path}" if batch else str(path)
        try:
            with stdout_to_stderr():
                obj = load_armature(package, path, args)
                analysis = emotion_ops.analyze_armature(obj, model_directory=args.models)
        except InputError as error:
            failures[EXIT_BAD_INPUT] += 1
            print(f"{prefix}: error: {error}", file=sys.stderr)
            results.append({"input": str(path), "error": str(error)})
            continue
        except Exception as error:  # noqa: BLE001 - one broken input must not stop a batch
            report_failure(package, error, prefix, failures, args.verbose, args.models)
            results.append({"input": str(path), "error": str(error)})
            continue
        result = {
            "input": str(path),
            "pad": [float(value) for value in analysis["pad"]],
            "emotion": str(analysis["emotion"]),
            "style": str(analysis["style"]),
            "style_probabilities": {name: float(value) for name, value in analysis["style_probabilities"].items()},
            "features": {name: float(value) for name, value in analysis["features"].items()},
            "warnings": [str(text) for text in analysis.get("warnings", [])],
        }
        results.append(result)
        if batch:
            print(f"[{number}/{len(inputs)}] {path}: {result['emotion']}", file=sys.stderr, flush=True)
        if not args.json:
            print(
                f"{path}: looks {result['emotion']}, estimated PAD {format_pad(result['pad'])}; "
                f"classified as dataset style {result['style']}",
                flush=True,
            )
        for warning in result["warnings"]:
            print(f"{path}: WARNING: {warning}", file=sys.stderr if args.json else sys.stdout, flush=True)
    # A single input that failed prints nothing on stdout: the error goes to stderr and the exit status reports it.
    if args.json and (batch or "error" not in results[0]):
        print(json.dumps(results if batch else results[0], indent=2, default=json_default))
    return exit_status(failures, len(inputs))


def run_plot(args: argparse.Namespace) -> int:
    path = Path(args.report)
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InputError(f"Could not read report {path}: {error}") from None
    except json.JSONDecodeError as error:
        raise InputError(f"Report {path} is not valid JSON: {error.msg} at line {error.lineno}") from None
    if isinstance(report, list):
        if len(report) != 1:
            raise InputError(f"Report {path} contains {len(report)} inputs; plot takes the report of one input")
        report = report[0]
    if not matplotlib_available():
        raise InputError("plot needs matplotlib, which this Python lacks; install it with pip install matplotlib")
    plot_report(report, Path(args.output))
    print(f"Wrote {args.output}")
    return EXIT_OK


def report_failure(package: ModuleType, error: Exception, prefix: str, failures: dict[int, int],
                   verbose: bool, models_folder: str | None = None) -> None:
    """Print the error of one input and count it; raise :class:`ModelLoadError` to stop at a model error."""
    runtime = submodule(package, "models.runtime")
    if isinstance(error, runtime.ModelError):
        if verbose:
            traceback.print_exc(file=sys.stderr)
        hint = ""
        if models_folder is not None:
            hint = (f". These are the models of --models {models_folder}: rebuild that folder with "
                    f"`python -m training.train --output {models_folder}`, or leave out --models to use the bundled models")
        raise ModelLoadError(
            f"the emotion models could not be loaded, so no input can be processed: {error}{hint}"
        ) from None
    status = classify_error(package, error)
    failures[status] += 1
    print(f"{prefix}: error: {error}", file=sys.stderr)
    if status == EXIT_INTERNAL:
        traceback.print_exc(file=sys.stderr)


def classify_error(package: ModuleType, error: Exception) -> int:
    """Return exit status 2 for errors in the user's data, 1 for everything else."""
    input_errors = getattr(submodule(package, "operators.emotion_ops"), "INPUT_ERRORS", ())
    return EXIT_BAD_INPUT if isinstance(error, input_errors) else EXIT_INTERNAL


def exit_status(failures: dict[int, int], total: int) -> int:
    if failures[EXIT_INTERNAL]:
        status = EXIT_INTERNAL
    elif failures[EXIT_BAD_INPUT]:
        status = EXIT_BAD_INPUT
    else:
        return EXIT_OK
    failed = failures[EXIT_INTERNAL] + failures[EXIT_BAD_INPUT]
    print(f"{failed} of {total} inputs failed", file=sys.stderr)
    return status


# Reports and plots


def format_pad(pad: Any) -> str:
    values = [float(value) for value in pad] if len(pad) == 3 and not hasattr(pad[0], "__len__") else None
    if values is None:
        return "keyed"
    return "(" + ", ".join(f"{value:+.2f}" for value in values) + ")"


def json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=json_default) + "\n", encoding="utf-8")


def matplotlib_available() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def mean_pad(pad: Any) -> list[float]:
    """Return a PAD triple; a per-frame ``(frames, 3)`` PAD becomes its mean over frames."""
    rows = pad if pad and hasattr(pad[0], "__len__") else [pad]
    return [sum(float(row[axis]) for row in rows) / len(rows) for axis in range(3)]


def plot_report(report: dict[str, Any], path: Path) -> None:
    """Draw the source, target and result features and the PAD estimates of one report as a PNG.

    Each feature is divided by the largest magnitude of its three values, because the
    features have different units. The report keeps the raw values.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    features = {name: values for name, values in report.get("features", {}).items()
                if isinstance(values, dict) and {"source", "target", "achieved"} <= set(values)}
    names = sorted(features)
    figure, (feature_axes, pad_axes) = plt.subplots(
        1, 2, figsize=(13, max(4.0, 0.32 * len(names) + 1.5)), gridspec_kw={"width_ratios": [3, 1]}
    )
    height = 0.27
    for offset, (key, colour) in enumerate((("source", "#8c8c8c"), ("target", "#d62728"), ("achieved", "#1f77b4"))):
        scaled = []
        for name in names:
            values = [abs(float(features[name][part])) for part in ("source", "target", "achieved")]
            scale = max(values) or 1.0
            scaled.append(float(features[name][key]) / scale)
        positions = [index + (offset - 1) * height for index in range(len(names))]
        feature_axes.barh(positions, scaled, height=height, color=colour, label="result" if key == "achieved" else key)
    feature_axes.set_yticks(range(len(names)), names, fontsize=8)
    feature_axes.invert_yaxis()
    feature_axes.axvline(0.0, color="black", linewidth=0.6)
    feature_axes.set_xlabel("feature value / largest of source, target, result")
    feature_axes.set_title(
        f"LMA features: error {float(report['feature_error_before']):.2f} -> {float(report['feature_error_after']):.2f}"
    )
    feature_axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=3, fontsize=8)

    pads = (
        ("target", mean_pad(report["target_pad"]), "#d62728"),
        ("source estimate", mean_pad(report["source_pad_estimate"]), "#8c8c8c"),
        ("result estimate", mean_pad(report["result_pad_estimate"]), "#1f77b4"),
    )
    for offset, (label, values, colour) in enumerate(pads):
        pad_axes.bar([axis + (offset - 1) * height for axis in range(3)], values, width=height, color=colour,
                     label=label)
    pad_axes.set_xticks(range(3), [axis.capitalize() for axis in PAD_AXES])
    pad_axes.set_ylim(-1.0, 1.0)
    pad_axes.axhline(0.0, color="black", linewidth=0.6)
    pad_axes.set_title("PAD")
    pad_axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=1, fontsize=8)

    title = Path(str(report.get("input", ""))).name
    if report.get("emotion"):
        title = f"{title}: {report['emotion']} at strength {float(report.get('strength', 1.0)):.1f}"
    figure.suptitle(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(argv: list[str]) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(script_arguments(argv))
    except SystemExit as exit_:
        return int(exit_.code or 0)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    commands = {"apply": run_apply, "analyze": run_analyze, "plot": run_plot}
    try:
        return commands[args.command](args)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ModelLoadError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INTERNAL
    except Exception:  # noqa: BLE001 - the exit status must say internal error
        traceback.print_exc(file=sys.stderr)
        return EXIT_INTERNAL
    finally:
        release_blender_classes()


def release_blender_classes() -> None:
    """Unregister the checkout and disable the extensions that this script turned on."""
    while REGISTERED:
        REGISTERED.pop().unregister()
    if ENABLED_EXTENSIONS:
        import bpy

        while ENABLED_EXTENSIONS:
            bpy.ops.preferences.addon_disable(module=ENABLED_EXTENSIONS.pop())


if __name__ == "__main__":
    status = main(sys.argv)
    sys.stdout.flush()
    sys.stderr.flush()
    # Blender keeps running after a --python script unless the script exits, and sys.exit
    # is the one way to give Blender a non-zero exit status.
    sys.exit(status)
