"""Emotion Motion: Blender extension entry point.

Blender imports this package and calls `register()` when the extension is enabled and
`unregister()` when it is disabled. The submodules that touch `bpy` are imported inside
those calls, so plain Python (pytest, the headless scripts) can import the package
without Blender.
"""

from __future__ import annotations

import importlib
import logging
from types import ModuleType

__all__ = ["register", "unregister"]

log = logging.getLogger(__name__)

# Submodules that own Blender classes, relative to this package, in registration order.
# Each provides `register()` and `unregister()`. The property groups come first because
# the operators and panels read them.
_REGISTERED_SUBMODULES: tuple[str, ...] = ("operators.properties", "operators.emotion_ops", "operators.panel")


def _import_submodules() -> list[ModuleType]:
    return [importlib.import_module(f".{name}", __package__) for name in _REGISTERED_SUBMODULES]


def register() -> None:
    """Register the classes of every submodule in `_REGISTERED_SUBMODULES`."""
    for module in _import_submodules():
        module.register()
    log.debug("registered %d submodules", len(_REGISTERED_SUBMODULES))


def unregister() -> None:
    """Unregister the submodules in the reverse of registration order."""
    for module in reversed(_import_submodules()):
        module.unregister()
