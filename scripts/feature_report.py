"""Measure how well each LMA feature separates the emotional styles of the Bandai Namco data.

For every clip of ``bandai-namco-1`` with one of the eight emotional styles, the script
computes :func:`synthesis.features.clip_features`, then per feature:

- the mean per style;
- the one-way ANOVA F statistic over the styles;
- leave-one-content-out nearest-centroid accuracy: style centroids of the feature are
  learned on all contents but one (walk, run, bow, ...) and the held-out content's clips
  are classified by the nearest centroid (chance is one over the number of styles).

It does both on absolute features and on features relative to the same content and take
in the normal style (the ratio for features that scale with speed and for the body
volume, the difference for the others; the normal style itself is then left out). The
results replace the part of ``docs/lma_features.md`` between the report markers.

Usage::

    .venv/bin/python scripts/feature_report.py [--datasets DIR] [--output docs/lma_features.md]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from typing import Any

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from synthesis.bvh import read_bvh  # noqa: E402
from synthesis.features import FEATURE_EXTRACTOR_VERSION, FEATURE_NAMES, FEATURES  # noqa: E402
from synthesis.features import FeatureSettings, clip_features  # noqa: E402
from synthesis.roles import detect_roles  # noqa: E402

logger = logging.getLogger("feature_report")

EMOTIONAL_STYLES = ("normal", "happy", "sad", "angry", "proud", "not-confident", "tired", "active")
BEGIN_MARKER = "<!-- feature-report:begin -->"
END_MARKER = "<!-- feature-report:end -->"

# Features compared by ratio to the normal clip: those in units that scale with body
# speed, and the volume. The rest are angles or bounded ratios, compared by difference.
RATIO_FEATURES = tuple(name for name, info in FEATURES.items() if info.speed_exponent > 0) + ("body_volume",)


@dataclass
class Clip:
    content: str
    style: str
    take: str
    features: np.ndarray


def parse_name(path: Path) -> tuple[str, str, str]:
    """Split ``dataset-1_{content}_{style}_{take}.bvh`` into content, style and take."""
    _, content, style, take = path.stem.split("_")
    return content, style, take


def load_clips(data_dir: Path, settings: FeatureSettings) -> list[Clip]:
    """Measure the clips whose content exists in every emotional style (call, kick and the
    other normal-only contents are left out, so no content belongs to one style)."""
    paths = sorted(data_dir.glob("*.bvh"))
    styles_of: dict[str, set[str]] = {}
    for path in paths:
        content, style, _ = parse_name(path)
        styles_of.setdefault(content, set()).add(style)
    clips = []
    for path in paths:
        content, style, take = parse_name(path)
        if style not in EMOTIONAL_STYLES or not set(EMOTIONAL_STYLES) <= styles_of[content]:
            continue
        motion = read_bvh(path)
        features = clip_features(motion, detect_roles(motion.skeleton), settings)
        clips.append(Clip(content, style, take, features))
    return clips


def relative_clips(clips: list[Clip]) -> list[Clip]:
    """Return non-normal clips with features relative to the normal clip of the same content and take."""
    normal = {(clip.content, clip.take): clip.features for clip in clips if clip.style == "normal"}
    ratio = np.array([name in RATIO_FEATURES for name in FEATURE_NAMES])
    result = []
    for clip in clips:
        reference = normal.get((clip.content, clip.take))
        if clip.style == "normal" or reference is None:
            continue
        safe = np.where(np.abs(reference) > 1e-12, reference, 1e-12)
        relative = np.where(ratio, clip.features / safe, clip.features - reference)
        result.append(Clip(clip.content, clip.style, clip.take, relative))
    return result


def anova_f(values: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Return the one-way ANOVA F statistic per column of ``values: (clips, features)``."""
    groups = np.unique(labels)
    grand = values.mean(axis=0)
    between = np.zeros(values.shape[1])
    within = np.zeros(values.shape[1])
    for group in groups:
        members = values[labels == group]
        between += len(members) * (members.mean(axis=0) - grand) ** 2
        within += ((members - members.mean(axis=0)) ** 2).sum(axis=0)
    between_dof = len(groups) - 1
    within_dof = len(values) - len(groups)
    return (between / between_dof) / np.maximum(within / within_dof, 1e-300)


def leave_one_content_out_accuracy(values: np.ndarray, labels: np.ndarray, contents: np.ndarray) -> float:
    """Return nearest-centroid accuracy over held-out contents for ``values: (clips, dims)``.

    Dimensions are standardised with the training clips' mean and standard deviation.
    """
    groups = np.unique(labels)
    correct = 0
    for content in np.unique(contents):
        train, test = contents != content, contents == content
        mean, scale = values[train].mean(axis=0), values[train].std(axis=0)
        scale = np.where(scale > 1e-12, scale, 1.0)
        train_values = (values[train] - mean) / scale
        test_values = (values[test] - mean) / scale
        centroids = np.stack([train_values[labels[train] == group].mean(axis=0) for group in groups])
        distances = ((test_values[:, None, :] - centroids[None]) ** 2).sum(axis=-1)
        correct += int(np.sum(groups[np.argmin(distances, axis=1)] == labels[test]))
    return correct / len(values)


def separation(clips: list[Clip]) -> dict[str, Any]:
    values = np.stack([clip.features for clip in clips])
    labels = np.array([clip.style for clip in clips])
    contents = np.array([clip.content for clip in clips])
    per_feature = np.array(
        [leave_one_content_out_accuracy(values[:, [i]], labels, contents) for i in range(values.shape[1])]
    )
    return {
        "anova_f": anova_f(values, labels),
        "accuracy": per_feature,
        "all_accuracy": leave_one_content_out_accuracy(values, labels, contents),
        "chance": 1.0 / len(np.unique(labels)),
    }


def correlated_pairs(clips: list[Clip], threshold: float) -> list[tuple[str, str, float]]:
    values = np.stack([clip.features for clip in clips])
    correlation = np.corrcoef(values, rowvar=False)
    pairs = []
    for i in range(len(FEATURE_NAMES)):
        for j in range(i + 1, len(FEATURE_NAMES)):
            if abs(correlation[i, j]) >= threshold:
                pairs.append((FEATURE_NAMES[i], FEATURE_NAMES[j], float(correlation[i, j])))
    return sorted(pairs, key=lambda pair: -abs(pair[2]))


def format_number(value: float) -> str:
    return f"{value:.3g}"


def markdown_report(clips: list[Clip], seconds: float, command: str) -> str:
    styles = [style for style in EMOTIONAL_STYLES if any(clip.style == style for clip in clips)]
    absolute = separation(clips)
    relative_set = relative_clips(clips)
    relative = separation(relative_set)
    lines = [
        BEGIN_MARKER,
        "",
        f"Generated by `{command}` in {seconds:.0f} s on the 2-core x86_64 sandbox "
        f"(Python {sys.version.split()[0]}, numpy {np.__version__}); feature extractor "
        f"{FEATURE_EXTRACTOR_VERSION}, default `FeatureSettings`. {len(clips)} clips of "
        f"`bandai-namco-1` in {len(styles)} emotional styles; {len(relative_set)} of them have "
        "a normal clip of the same content and take to compare with.",
        "",
        "### Mean per style",
        "",
        "| feature | " + " | ".join(styles) + " |",
        "| --- | " + " | ".join("---:" for _ in styles) + " |",
    ]
    values = np.stack([clip.features for clip in clips])
    labels = np.array([clip.style for clip in clips])
    for index, name in enumerate(FEATURE_NAMES):
        means = [format_number(values[labels == style, index].mean()) for style in styles]
        lines.append(f"| `{name}` | " + " | ".join(means) + " |")

    lines += [
        "",
        "### Separation of the styles per feature",
        "",
        "ANOVA F over the styles (higher separates better) and leave-one-content-out "
        "nearest-centroid accuracy of the feature alone. Absolute: 8 styles, chance "
        f"{absolute['chance']:.3f}. Relative to the normal clip: 7 styles, chance {relative['chance']:.3f}.",
        "",
        "| feature | component | F absolute | accuracy absolute | F relative | accuracy relative |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    order = np.argsort(-relative["anova_f"])
    for index in order:
        name = FEATURE_NAMES[index]
        lines.append(
            f"| `{name}` | {FEATURES[name].component} | {absolute['anova_f'][index]:.2f} | "
            f"{absolute['accuracy'][index]:.3f} | {relative['anova_f'][index]:.2f} | {relative['accuracy'][index]:.3f} |"
        )
    lines += [
        "",
        f"All {len(FEATURE_NAMES)} features together, nearest centroid on standardised features: "
        f"accuracy {absolute['all_accuracy']:.3f} absolute, {relative['all_accuracy']:.3f} relative.",
        "",
        "### Strongly correlated pairs (|r| >= 0.9 over the absolute clip features)",
        "",
    ]
    pairs = correlated_pairs(clips, 0.9)
    if pairs:
        lines += [f"- `{a}` and `{b}`: r = {r:.2f}" for a, b, r in pairs]
    else:
        lines.append("- none")
    lines += ["", END_MARKER]
    return "\n".join(lines)


def write_report(output: Path, section: str) -> None:
    """Replace the text between the report markers in ``output``, or append the section."""
    text = output.read_text(encoding="utf-8") if output.exists() else ""
    if BEGIN_MARKER in text and END_MARKER in text:
        before = text[: text.index(BEGIN_MARKER)]
        after = text[text.index(END_MARKER) + len(END_MARKER) :]
        text = before + section + after
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + section + "\n"
    output.write_text(text, encoding="utf-8")


def default_datasets_dir() -> Path:
    override = os.environ.get("EMOTION_MOTION_DATASETS")
    return Path(override) if override else REPO_ROOT.parent / "shared" / "datasets"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", type=Path, default=default_datasets_dir(),
                        help="folder that contains bandai-namco-1/ (default: ../shared/datasets or $EMOTION_MOTION_DATASETS)")
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "docs" / "lma_features.md",
                        help="Markdown file whose report section is replaced")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    data_dir = arguments.datasets / "bandai-namco-1" / "data"
    if not data_dir.is_dir():
        parser.error(f"dataset folder {data_dir} not found; pass --datasets or set EMOTION_MOTION_DATASETS")
    start = time.perf_counter()
    clips = load_clips(data_dir, FeatureSettings())
    seconds = time.perf_counter() - start
    logger.info("Measured %d clips in %.1f s", len(clips), seconds)
    section = markdown_report(clips, seconds, "python scripts/feature_report.py")
    write_report(arguments.output, section)
    logger.info("Wrote %s", arguments.output)


if __name__ == "__main__":
    main()
