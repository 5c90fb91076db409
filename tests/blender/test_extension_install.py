"""Build the Linux package, install it into Blender as a user would, and apply an emotion with it.

Each Blender step runs in its own process with ``HOME`` and ``BLENDER_USER_RESOURCES`` in
a temporary folder. One process installs the package and saves the preferences. A new one
enables the installed add-on, imports a Bandai Namco walk with Blender's BVH importer and
runs ``bpy.ops.emotion_motion.apply()``. Nothing from the repository is on the second
process's import path, so the operator can only come from the installed package.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import bpy
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
MODULE = "bl_ext.user_default.emotion_motion"
CLIP = "dataset-1_walk_normal_001.bvh"
CLIP_FRAMES = 60

INSTALL_SCRIPT = """
import sys
import bpy

result = bpy.ops.extensions.package_install_files(filepath=sys.argv[-1], repo="user_default", enable_on_install=True)
assert result == {"FINISHED"}, result
# Disabled again before exit, because the bpy module of Blender 4.2 crashes at exit while
# an add-on's classes are registered; the next process enables it from the user folder.
bpy.ops.preferences.addon_disable(module="bl_ext.user_default.emotion_motion")
bpy.ops.wm.save_userpref()
"""

APPLY_SCRIPT = """
import json
import sys
import bpy

MODULE = "bl_ext.user_default.emotion_motion"
assert bpy.ops.preferences.addon_enable(module=MODULE) == {"FINISHED"}
bpy.ops.wm.read_homefile(use_empty=True)
bpy.ops.import_anim.bvh(filepath=sys.argv[-1], update_scene_fps=True, update_scene_duration=True)
obj = bpy.context.view_layer.objects.active
source = obj.animation_data.action.name
bpy.ops.emotion_motion.set_emotion(emotion="angry")
result = bpy.ops.emotion_motion.apply()
import onnxruntime
from pathlib import Path
site_packages = Path(bpy.utils.user_resource("EXTENSIONS")) / ".local" / "lib" / "python3.11" / "site-packages"
print("RESULT " + json.dumps({
    "bundled_onnxruntime": (site_packages / "onnxruntime").is_dir(),
    "result": sorted(result),
    "source": source,
    "assigned": obj.animation_data.action.name,
    "actions": sorted(action.name for action in bpy.data.actions),
    "report": obj.emotion_motion.last_report,
    "package_file": sys.modules[MODULE].__file__,
    "onnxruntime_file": onnxruntime.__file__,
}), flush=True)
bpy.ops.preferences.addon_disable(module=MODULE)
"""


def blender_ext_script() -> Path:
    return Path(bpy.utils.system_resource("SCRIPTS")) / "addons_core" / "bl_pkg" / "cli" / "blender_ext.py"


def run_blender(script: str, argument: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update(HOME=str(home), BLENDER_USER_RESOURCES=str(home / "blender-user"))
    return subprocess.run(
        [sys.executable, "-c", script, argument],
        capture_output=True, text=True, timeout=600, env=env, cwd=home,
    )


@pytest.fixture(scope="module")
def linux_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Linux x64 zip that ``blender_ext.py build --split-platforms`` makes from the repository."""
    with open(REPO_ROOT / "blender_manifest.toml", "rb") as file:
        wheels = tomllib.load(file).get("wheels", [])
    missing = [wheel for wheel in wheels if not (REPO_ROOT / wheel).is_file()]
    assert not missing, f"wheels missing from the repository: {missing}; run `make wheels` first"

    output = tmp_path_factory.mktemp("dist")
    completed = subprocess.run(
        [sys.executable, str(blender_ext_script()), "build", "--source-dir", str(REPO_ROOT),
         "--output-dir", str(output), "--split-platforms"],
        capture_output=True, text=True, timeout=600,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    packages = sorted(output.glob("emotion_motion-*-linux_x64.zip"))
    assert len(packages) == 1, f"expected one Linux package in {output}, found {[p.name for p in output.iterdir()]}"
    return packages[0]


@pytest.fixture(scope="module")
def short_clip(bandai1_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    sys.path.insert(0, str(REPO_ROOT))
    try:
        from synthesis.bvh import read_bvh, write_bvh
    finally:
        sys.path.remove(str(REPO_ROOT))
    motion = read_bvh(bandai1_dir / "data" / CLIP)
    translations = None if motion.translations is None else motion.translations[:CLIP_FRAMES]
    trimmed = motion.copy(
        rotations=motion.rotations[:CLIP_FRAMES],
        root_positions=motion.root_positions[:CLIP_FRAMES],
        translations=translations,
    )
    path = tmp_path_factory.mktemp("clips") / "walk_normal.bvh"
    write_bvh(trimmed, path)
    return path


def test_installed_extension_applies(linux_package: Path, short_clip: Path, tmp_path: Path) -> None:
    installed = run_blender(INSTALL_SCRIPT, str(linux_package), tmp_path)
    assert installed.returncode == 0, installed.stdout[-4000:] + installed.stderr[-4000:]
    extension_dir = tmp_path / "blender-user" / "extensions" / "user_default" / "emotion_motion"
    assert (extension_dir / "blender_manifest.toml").is_file()

    applied = run_blender(APPLY_SCRIPT, str(short_clip), tmp_path)
    lines = [line for line in applied.stdout.splitlines() if line.startswith("RESULT ")]
    assert applied.returncode == 0, applied.stdout[-4000:] + applied.stderr[-4000:]
    assert lines, applied.stdout[-4000:] + applied.stderr[-4000:]
    result = json.loads(lines[0][len("RESULT "):])

    assert Path(result["package_file"]).resolve().is_relative_to(extension_dir.resolve())
    # Blender extracts the wheels of enabled extensions into extensions/.local.
    assert result["bundled_onnxruntime"], "the bundled onnxruntime wheel was not extracted"
    assert result["result"] == ["FINISHED"]
    assert result["assigned"] == f"{result['source']}_angry"
    assert result["source"] in result["actions"]
    assert result["report"].startswith("Applied 'angry' at strength 1.0")
