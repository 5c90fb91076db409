"""Isolate Blender's user folders for the tests in this folder, which run against the bpy module.

Blender reads `BLENDER_USER_RESOURCES` and `HOME` once, when bpy is first imported. The
variables are set at the top of this file because pytest imports a folder's conftest.py
before it collects the test modules beside it, so no test can import bpy earlier. Blender
then keeps its preferences, extensions and caches in a temporary folder instead of the
user's `~/.config/blender`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

_BLENDER_HOME = Path(tempfile.mkdtemp(prefix="emotion-motion-blender-"))
os.environ["HOME"] = str(_BLENDER_HOME)
os.environ["BLENDER_USER_RESOURCES"] = str(_BLENDER_HOME / "blender-user")

_THIS_DIR = Path(__file__).resolve().parent


def pytest_report_header(config: pytest.Config) -> str:
    import bpy

    return f"bpy {bpy.app.version_string}, user resources in {os.environ['BLENDER_USER_RESOURCES']}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test in this folder `blender`, so `-m "not blender"` leaves them out."""
    for item in items:
        if _THIS_DIR in item.path.resolve().parents:
            item.add_marker(pytest.mark.blender)


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(_BLENDER_HOME, ignore_errors=True)
