"""Helpers the benchmark scripts share: timing, the machine line and docs/benchmarks.md sections."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path
from typing import Callable

import numpy as np

BENCHMARKS_DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def describe_machine() -> str:
    return f"{os.cpu_count()}-core {platform.machine()}, Python {platform.python_version()}, numpy {np.__version__}"


def time_best(function: Callable[[], object], repeats: int) -> float:
    """Return the shortest wall-clock time in seconds of ``repeats`` calls of ``function``."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def record_section(title: str, section: str, document: Path = BENCHMARKS_DOC) -> None:
    """Replace the section headed ``title`` in ``document``, or append it, leaving other sections alone.

    ``title`` is the whole heading line, such as ``"## LMA features"``. One blank line
    separates the section from the next one.
    """
    text = document.read_text(encoding="utf-8") if document.exists() else "# Benchmarks\n"
    start = text.find(title + "\n")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(title))
        text = text[:start] + (section.rstrip("\n") + "\n\n" + text[end + 1 :] if end >= 0 else section)
    document.write_text(text, encoding="utf-8")
