"""The headless command ``scripts/emotion_motion.py`` run with the bpy module on the demo walk.

Each test runs the script in its own process, as a user would, with ``HOME`` and
``BLENDER_USER_RESOURCES`` in a temporary folder.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "emotion_motion.py"
REPORT_KEYS = {"target_pad", "source_pad_estimate", "result_pad_estimate", "feature_error_before", "feature_error_after"}


def run_script(home: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(home), "BLENDER_USER_RESOURCES": str(home / "blender-user")}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *arguments], capture_output=True, text=True, timeout=600, env=env, cwd=home
    )


@pytest.fixture(scope="module")
def demo_clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with two short demo walks at different speeds, written as BVH."""
    sys.path.insert(0, str(REPO_ROOT))
    try:
        from scripts.demo_motion import demo_walk
        from synthesis.bvh import write_bvh
    finally:
        sys.path.remove(str(REPO_ROOT))
    folder = tmp_path_factory.mktemp("clips")
    write_bvh(demo_walk(seconds=2.0), folder / "walk.bvh")
    write_bvh(demo_walk(seconds=2.0, cycle_seconds=0.9), folder / "brisk_walk.bvh")
    return folder


def test_apply_writes_bvh_blend_report(demo_clips: Path, tmp_path: Path) -> None:
    source = demo_clips / "walk.bvh"
    completed = run_script(
        tmp_path, "apply", str(source), "-o", str(tmp_path / "sad.bvh"), "-o", str(tmp_path / "sad.blend"),
        "--emotion", "sad", "--report", str(tmp_path / "sad.json"),
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    assert "target PAD (-0.63, -0.27, -0.33)" in completed.stdout
    assert "Applied 'sad' at strength 1.0" in completed.stdout

    report = json.loads((tmp_path / "sad.json").read_text())
    assert REPORT_KEYS <= set(report)
    assert report["outputs"] == [str(tmp_path / "sad.bvh"), str(tmp_path / "sad.blend")]
    assert (tmp_path / "sad.blend").stat().st_size > 0

    sys.path.insert(0, str(REPO_ROOT))
    try:
        from synthesis.bvh import read_bvh
    finally:
        sys.path.remove(str(REPO_ROOT))
    original = read_bvh(source)
    written = read_bvh(tmp_path / "sad.bvh")
    assert written.skeleton.names == original.skeleton.names
    # The exported file keeps the source's Y-up axes: the hips stay about 95 cm up.
    assert written.skeleton.offsets[0][1] == pytest.approx(original.skeleton.offsets[0][1], abs=1e-3)


def test_analyze_json_object(demo_clips: Path, tmp_path: Path) -> None:
    completed = run_script(tmp_path, "analyze", str(demo_clips / "walk.bvh"), "--json")
    assert completed.returncode == 0, completed.stderr[-4000:]
    result = json.loads(completed.stdout)
    assert len(result["pad"]) == 3
    assert all(-1.5 <= value <= 1.5 for value in result["pad"])
    assert isinstance(result["emotion"], str)
    assert result["style"] in result["style_probabilities"]
    assert sum(result["style_probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
    assert result["features"]
    assert all(isinstance(value, float) for value in result["features"].values())


def test_analyze_folder_json_list(demo_clips: Path, tmp_path: Path) -> None:
    completed = run_script(tmp_path, "analyze", str(demo_clips), "--json")
    assert completed.returncode == 0, completed.stderr[-4000:]
    results = json.loads(completed.stdout)
    assert [Path(result["input"]).name for result in results] == ["brisk_walk.bvh", "walk.bvh"]
    assert "[2/2]" in completed.stderr


def test_apply_batch_folder(demo_clips: Path, tmp_path: Path) -> None:
    output = tmp_path / "happy"
    completed = run_script(tmp_path, "apply", str(demo_clips), "-o", str(output), "--emotion", "happy",
                           "--report", str(tmp_path / "happy.json"))
    assert completed.returncode == 0, completed.stderr[-4000:]
    assert sorted(path.name for path in output.iterdir()) == ["brisk_walk_happy.bvh", "walk_happy.bvh"]
    reports = json.loads((tmp_path / "happy.json").read_text())
    assert len(reports) == 2


def test_invalid_bvh_exits_2(tmp_path: Path) -> None:
    broken = tmp_path / "broken.bvh"
    broken.write_text("HIERARCHY\nROOT Hips\n{\n  OFFSET 0 0\n")
    completed = run_script(tmp_path, "analyze", str(broken))
    assert completed.returncode == 2
    assert str(broken) in completed.stderr


def test_bone_map_missing_role_exits_2(demo_clips: Path, tmp_path: Path) -> None:
    bone_map = tmp_path / "bones.json"
    bone_map.write_text(json.dumps({"left_hand": None}))
    completed = run_script(tmp_path, "apply", str(demo_clips / "walk.bvh"), "-o", str(tmp_path / "out.bvh"),
                           "--emotion", "sad", "--bone-map", str(bone_map))
    assert completed.returncode == 2
    assert re.search(r"no bone for (role )?left_hand", completed.stderr), completed.stderr[-2000:]
    assert not (tmp_path / "out.bvh").exists()


def test_apply_blend_over_existing_file(demo_clips: Path, tmp_path: Path) -> None:
    output = tmp_path / "sad.blend"
    output.write_bytes(b"an older result")
    completed = run_script(
        tmp_path, "apply", str(demo_clips / "walk.bvh"), "-o", str(output), "--emotion", "sad",
        "--report", str(tmp_path / "sad.json"), "--plot", str(tmp_path / "sad.png"),
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    assert re.search(r"result looks '[a-z-]+', PAD error \d\.\d\d -> \d\.\d\d", completed.stdout), completed.stdout
    assert output.stat().st_size > len(b"an older result")
    assert not (tmp_path / "sad.blend1").exists()
    assert (tmp_path / "sad.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = json.loads((tmp_path / "sad.json").read_text())
    assert isinstance(report["warnings"], list)
    for warning in report["warnings"]:
        assert f"WARNING: {warning}" in completed.stdout


def test_analyze_json_lists_failures(demo_clips: Path, tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO_ROOT))
    try:
        from synthesis.bvh import read_bvh, write_bvh
    finally:
        sys.path.remove(str(REPO_ROOT))
    folder = tmp_path / "clips"
    folder.mkdir()
    walk = read_bvh(demo_clips / "walk.bvh")
    write_bvh(walk.sample(np.zeros(1)), folder / "pose.bvh")
    (folder / "broken.bvh").write_text("HIERARCHY\nROOT Hips\n{\n  OFFSET 0 0\n")
    completed = run_script(tmp_path, "analyze", str(folder), "--json")
    assert completed.returncode == 2
    results = {Path(result["input"]).name: result for result in json.loads(completed.stdout)}
    assert set(results) == {"broken.bvh", "pose.bvh"}
    assert str(folder / "broken.bvh") in results["broken.bvh"]["error"]
    assert "pad" not in results["broken.bvh"]
    assert any("1 frame" in warning for warning in results["pose.bvh"]["warnings"])
    assert "WARNING: the clip has 1 frame" in completed.stderr


def test_damaged_model_stops_batch(demo_clips: Path, tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    for name in ("synthesis", "operators", "models"):
        shutil.copytree(REPO_ROOT / name, checkout / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("__init__.py", "blender_manifest.toml", "scripts/emotion_motion.py"):
        (checkout / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO_ROOT / name, checkout / name)
    (checkout / "models" / "target_features.onnx").write_bytes(b"damaged")
    env = {**os.environ, "HOME": str(tmp_path), "BLENDER_USER_RESOURCES": str(tmp_path / "blender-user")}
    command = [sys.executable, str(checkout / "scripts" / "emotion_motion.py")]

    completed = subprocess.run([*command, "apply", str(demo_clips), "-o", str(tmp_path / "out"), "--emotion", "sad"],
                               capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert completed.returncode == 1
    assert completed.stderr.count("target_features.onnx is corrupt") == 1, completed.stderr[-4000:]
    assert "Traceback" not in completed.stderr
    assert "[2/2]" not in completed.stderr

    # Analysis does not use the damaged target model.
    completed = subprocess.run([*command, "analyze", str(demo_clips / "walk.bvh")],
                               capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr[-4000:]
    assert "estimated PAD" in completed.stdout


def test_analyze_uses_models_folder(demo_clips: Path, tmp_path: Path) -> None:
    models = tmp_path / "my-models"
    shutil.copytree(REPO_ROOT / "models", models, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    completed = run_script(tmp_path, "analyze", str(demo_clips / "walk.bvh"), "--json", "--models", str(models))
    assert completed.returncode == 0, completed.stderr[-4000:]
    assert json.loads(completed.stdout)["style"]

    manifest = json.loads((models / "manifest.json").read_text())
    manifest["scaler"]["mean"][0] += 7.0
    (models / "manifest.json").write_text(json.dumps(manifest))
    completed = run_script(tmp_path, "analyze", str(demo_clips / "walk.bvh"), "--models", str(models))
    assert completed.returncode == 1
    assert f"{models / 'manifest.json'} was edited or is damaged" in completed.stderr
    assert completed.stdout == ""


def test_apply_missing_models_folder(demo_clips: Path, tmp_path: Path) -> None:
    output = tmp_path / "out.bvh"
    missing = tmp_path / "no-models"
    completed = run_script(
        tmp_path, "apply", str(demo_clips / "walk.bvh"), "-o", str(output), "--emotion", "sad", "--models", str(missing)
    )
    assert completed.returncode == 1
    assert f"Model folder {missing} does not exist" in completed.stderr
    assert f"rebuild that folder with `python -m training.train --output {missing}`" in completed.stderr
    assert not output.exists()
