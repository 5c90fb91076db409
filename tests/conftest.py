"""Shared pytest configuration: where the motion-capture datasets are, and which tests need Blender."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

# Environment variable that overrides the default datasets location.
DATASETS_ENV_VAR = "EMOTION_MOTION_DATASETS"

# tests/blender imports bpy at module level, so only the .venv-blender-* environments
# (`make blender-venvs`) can collect it. Elsewhere it is left out instead of failing.
if importlib.util.find_spec("bpy") is None:
    collect_ignore = ["blender"]


def shared_datasets_dir() -> Path:
    """Return the motion-capture datasets folder, which may not exist.

    The default is `../shared/datasets` next to the repository; the environment variable
    `EMOTION_MOTION_DATASETS` replaces it.
    """
    override = os.environ.get(DATASETS_ENV_VAR)
    if override:
        return Path(override).expanduser().resolve()
    return (REPO_ROOT.parent / "shared" / "datasets").resolve()


def _existing_dir_or_skip(path: Path) -> Path:
    if not path.is_dir():
        pytest.skip(
            f"shared motion-capture datasets not found at {path}; "
            f"place them at ../shared/datasets or set {DATASETS_ENV_VAR}"
        )
    return path


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    """Folder that contains `bandai-namco-1/` and `bandai-namco-2/`; skips the test when missing."""
    return _existing_dir_or_skip(shared_datasets_dir())


@pytest.fixture(scope="session")
def bandai1_dir() -> Path:
    """`bandai-namco-1` dataset folder (144 BVH clips with emotion styles); skips the test when missing."""
    return _existing_dir_or_skip(shared_datasets_dir() / "bandai-namco-1")


@pytest.fixture(scope="session")
def bandai2_dir() -> Path:
    """`bandai-namco-2` dataset folder (1,402 BVH clips); skips the test when missing."""
    return _existing_dir_or_skip(shared_datasets_dir() / "bandai-namco-2")
