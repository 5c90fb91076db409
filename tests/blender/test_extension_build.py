"""Build the extension with Blender's own packaging tool and check what the package contains."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import bpy

REPO_ROOT = Path(__file__).resolve().parents[2]

# Development files that the manifest's `paths_exclude_pattern` must keep out of the package.
EXCLUDED_PREFIXES = ("training/", "scripts/", "benchmarks/", "docs/", "tests/", ".ci/", ".venv")
EXCLUDED_ROOT_FILES = (
    "Makefile",
    "pyproject.toml",
    "requirements-runtime.txt",
    "requirements-test.txt",
    "requirements-train.txt",
    ".gitignore",
)


def blender_ext_script() -> Path:
    """Return Blender's extension command-line tool bundled with the bpy module."""
    path = Path(bpy.utils.system_resource("SCRIPTS")) / "addons_core" / "bl_pkg" / "cli" / "blender_ext.py"
    assert path.is_file(), f"blender_ext.py not found at {path}; the bpy {bpy.app.version_string} layout changed"
    return path


def test_manifest_validates() -> None:
    result = subprocess.run(
        [sys.executable, str(blender_ext_script()), "validate", str(REPO_ROOT)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_package_contents(tmp_path: Path) -> None:
    package = tmp_path / "emotion_motion.zip"
    result = subprocess.run(
        [
            sys.executable,
            str(blender_ext_script()),
            "build",
            "--source-dir",
            str(REPO_ROOT),
            "--output-filepath",
            str(package),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr

    with zipfile.ZipFile(package) as archive:
        names = archive.namelist()
    assert "blender_manifest.toml" in names
    assert "__init__.py" in names
    assert "synthesis/__init__.py" in names
    for name in names:
        assert not name.startswith(EXCLUDED_PREFIXES), f"{name} should be excluded from the package"
        assert name not in EXCLUDED_ROOT_FILES, f"{name} should be excluded from the package"
        assert "__pycache__" not in name, f"{name} should be excluded from the package"
