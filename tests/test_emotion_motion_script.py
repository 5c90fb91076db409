"""The headless command's parts that need no Blender: arguments, usage errors, exit codes and plots.

Applying and analysing through Blender is tested in ``tests/blender/test_headless.py``.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from scripts import emotion_motion as cli

REPO_ROOT = Path(__file__).resolve().parent.parent
SCRIPT = REPO_ROOT / "scripts" / "emotion_motion.py"

REPORT = {
    "input": "walk.bvh",
    "emotion": "sad",
    "strength": 1.0,
    "target_pad": [-0.63, -0.27, -0.33],
    "source_pad_estimate": [0.05, 0.1, 0.0],
    "result_pad_estimate": [-0.4, -0.2, -0.25],
    "feature_error_before": 0.84,
    "feature_error_after": 0.31,
    "features": {
        "tempo": {"source": 1.0, "target": 0.7, "achieved": 0.75},
        "extent": {"source": 0.3, "target": 0.2, "achieved": 0.22},
    },
}


def run_script(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *arguments], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["emotion_motion.py", "analyze", "a.bvh"], ["analyze", "a.bvh"]),
        (["blender", "--background", "--python", "s.py", "--", "analyze", "a.bvh"], ["analyze", "a.bvh"]),
        (["blender", "--background", "--python", "s.py"], []),
    ],
)
def test_script_arguments(argv: list[str], expected: list[str]) -> None:
    assert cli.script_arguments(argv) == expected


def test_missing_input_exits_2(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.bvh"
    completed = run_script("analyze", str(missing))
    assert completed.returncode == 2
    assert f"Input {missing} not found" in completed.stderr


def test_wrong_suffix_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "walk.fbx"
    path.write_text("not motion")
    completed = run_script("apply", str(path), "-o", str(tmp_path / "out.bvh"), "--emotion", "sad")
    assert completed.returncode == 2
    assert "is not a .bvh or .blend file" in completed.stderr


def test_unknown_emotion_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "walk.bvh"
    path.write_text("HIERARCHY\n")
    completed = run_script("apply", str(path), "-o", str(tmp_path / "out.bvh"), "--emotion", "furious")
    assert completed.returncode == 2
    assert "Unknown emotion 'furious'" in completed.stderr
    assert "happy" in completed.stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--pad", "1.5", "0", "0"], "outside [-1, 1]"),
        (["--emotion", "sad", "--strength", "2"], "--strength 2 is outside [0, 1]"),
        (["--emotion", "sad", "--format", "bvh"], "--format applies to batches only"),
    ],
)
def test_invalid_options_exit_2(tmp_path: Path, extra: list[str], message: str) -> None:
    path = tmp_path / "walk.bvh"
    path.write_text("HIERARCHY\n")
    completed = run_script("apply", str(path), "-o", str(tmp_path / "out.bvh"), *extra)
    assert completed.returncode == 2
    assert message in completed.stderr


def test_output_suffix_checked(tmp_path: Path) -> None:
    path = tmp_path / "walk.bvh"
    path.write_text("HIERARCHY\n")
    completed = run_script("apply", str(path), "-o", str(tmp_path / "out.fbx"), "--emotion", "sad")
    assert completed.returncode == 2
    assert "must end in .bvh or .blend" in completed.stderr


def test_usage_error_exits_2() -> None:
    completed = run_script("apply")
    assert completed.returncode == 2
    assert "usage:" in completed.stderr


def test_batch_needs_one_output_folder(tmp_path: Path) -> None:
    for name in ("a.bvh", "b.bvh"):
        (tmp_path / name).write_text("HIERARCHY\n")
    completed = run_script("apply", str(tmp_path), "-o", str(tmp_path / "x"), "-o", str(tmp_path / "y"),
                           "--emotion", "sad")
    assert completed.returncode == 2
    assert "A batch takes one output folder" in completed.stderr


def test_expand_inputs_folder(tmp_path: Path) -> None:
    for name in ("b.bvh", "a.blend", "notes.txt"):
        (tmp_path / name).write_text("")
    files, batch = cli.expand_inputs([str(tmp_path)])
    assert [path.name for path in files] == ["a.blend", "b.bvh"]
    assert batch


def test_empty_folder_rejected(tmp_path: Path) -> None:
    with pytest.raises(cli.InputError, match="contains no .bvh or .blend files"):
        cli.expand_inputs([str(tmp_path)])


def test_plot_writes_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    report_path = tmp_path / "report.json"
    report_path.write_text(json.dumps(REPORT))
    image = tmp_path / "plot.png"
    completed = run_script("plot", str(report_path), "-o", str(image))
    assert completed.returncode == 0, completed.stderr
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_keyed_target(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    report = dict(REPORT, target_pad=[[-0.5, 0.0, 0.0], [0.5, 0.0, 0.0]])
    assert cli.mean_pad(report["target_pad"]) == pytest.approx([0.0, 0.0, 0.0])
    image = tmp_path / "keyed.png"
    cli.plot_report(report, image)
    assert image.stat().st_size > 0


def test_plot_invalid_report_exits_2(tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    report_path.write_text("{not json")
    completed = run_script("plot", str(report_path), "-o", str(tmp_path / "plot.png"))
    assert completed.returncode == 2
    assert "is not valid JSON" in completed.stderr


def test_output_equal_to_input_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "walk.bvh"
    path.write_text("HIERARCHY\n")
    # The same file through another spelling of its path.
    same = tmp_path / "sub" / ".." / "walk.bvh"
    (tmp_path / "sub").mkdir()
    completed = run_script("apply", str(path), "-o", str(same), "--emotion", "sad")
    assert completed.returncode == 2
    assert f"Output {same} is the input file; choose another output path" in completed.stderr
    assert path.read_text() == "HIERARCHY\n"


def test_batch_output_among_inputs_rejected(tmp_path: Path) -> None:
    inputs = [tmp_path / "walk.bvh", tmp_path / "walk_sad.bvh"]
    with pytest.raises(cli.InputError, match="is one of the batch's inputs"):
        cli.check_output_not_input(tmp_path / "walk_sad.bvh", inputs)
    cli.check_output_not_input(tmp_path / "walk_sad_sad.bvh", inputs)


@pytest.mark.parametrize("command", ["apply", "analyze"])
def test_armature_option_on_bvh_exits_2(tmp_path: Path, command: str) -> None:
    path = tmp_path / "walk.bvh"
    path.write_text("HIERARCHY\n")
    extra = ["-o", str(tmp_path / "out.bvh"), "--emotion", "sad"] if command == "apply" else []
    completed = run_script(command, str(path), *extra, "--armature", "Rig")
    assert completed.returncode == 2
    assert "--armature/--action apply only to .blend inputs" in completed.stderr


def test_missing_bpy_exits_2(tmp_path: Path) -> None:
    if importlib.util.find_spec("bpy") is not None:
        pytest.skip("this Python has bpy")
    path = tmp_path / "walk.bvh"
    path.write_text("HIERARCHY\n")
    completed = run_script("apply", str(path), "-o", str(tmp_path / "out.bvh"), "--emotion", "sad")
    assert completed.returncode == 2
    assert "This command needs Blender's Python module (bpy)" in completed.stderr
    assert ".venv-blender-4.2/bin/python scripts/emotion_motion.py" in completed.stderr
    assert "Traceback" not in completed.stderr
