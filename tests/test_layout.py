"""Checks of the extension manifest and of the package entry point that need no Blender."""

from __future__ import annotations

import importlib.util
import sys
import tomllib
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

REQUIRED_MANIFEST_KEYS = (
    "schema_version",
    "id",
    "version",
    "name",
    "tagline",
    "maintainer",
    "type",
    "blender_version_min",
    "license",
)

# Folders that are for development only and must stay out of the extension package.
DEVELOPMENT_FOLDERS = ("/training/", "/scripts/", "/benchmarks/", "/docs/", "/tests/")


@pytest.fixture(scope="module")
def manifest() -> dict:
    with open(REPO_ROOT / "blender_manifest.toml", "rb") as file:
        return tomllib.load(file)


@pytest.mark.parametrize("key", REQUIRED_MANIFEST_KEYS)
def test_manifest_has_key(manifest: dict, key: str) -> None:
    assert key in manifest, f"blender_manifest.toml is missing the required key {key!r}"


def test_manifest_identity(manifest: dict) -> None:
    assert manifest["id"] == "emotion_motion"
    assert manifest["type"] == "add-on"
    assert manifest["blender_version_min"] == "4.2.0"


def test_manifest_short_texts(manifest: dict) -> None:
    # Blender rejects a tagline or permission reason over 64 characters or ending in a period.
    texts = [manifest["tagline"], *manifest["permissions"].values()]
    for text in texts:
        assert len(text) <= 64, text
        assert not text.endswith("."), text


@pytest.mark.parametrize("folder", DEVELOPMENT_FOLDERS)
def test_manifest_build_excludes(manifest: dict, folder: str) -> None:
    assert folder in manifest["build"]["paths_exclude_pattern"]


def test_package_imports_without_bpy() -> None:
    spec = importlib.util.spec_from_file_location(
        "emotion_motion", REPO_ROOT / "__init__.py", submodule_search_locations=[str(REPO_ROOT)]
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Other test files may have loaded the package already, and their modules keep using it.
    previous = sys.modules.get("emotion_motion")
    sys.modules["emotion_motion"] = module
    try:
        spec.loader.exec_module(module)
        assert callable(module.register)
        assert callable(module.unregister)
    finally:
        if previous is None:
            del sys.modules["emotion_motion"]
        else:
            sys.modules["emotion_motion"] = previous
