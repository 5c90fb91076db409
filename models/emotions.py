"""Named emotions as Pleasure/Arousal/Dominance (PAD) points, with their sources.

Every axis runs from -1 to 1. Most values are the factor scores of Russell and
Mehrabian (1977), "Evidence for a three-factor theory of emotions", Journal of
Research in Personality 11, 273-294, as transcribed in public emotion-lexicon code.
NOTE: the values were checked against two independent transcriptions, not against
the printed table itself.

The Bandai Namco dataset styles ``not-confident``, ``active`` and ``exhausted`` have
no entry of their own in that table. Their values borrow the nearest listed term and
are marked ``estimated=True``; ``normal`` is the origin by definition.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "AXES",
    "Emotion",
    "EMOTIONS",
    "STYLE_TO_EMOTION",
    "EMOTIONAL_STYLES",
    "emotion_pad",
    "nearest_emotion",
    "validate_pad",
]

AXES = ("pleasure", "arousal", "dominance")

RUSSELL_MEHRABIAN_1977 = "Russell & Mehrabian (1977), three-factor scores"


@dataclass(frozen=True)
class Emotion:
    """A named point in PAD space."""

    name: str
    """Lower-case name shown in the UI and stored in the manifest."""
    pad: tuple[float, float, float]
    """Pleasure, arousal and dominance, each in [-1, 1]."""
    source: str
    """Citation of the value, including the term it was read under."""
    estimated: bool = False
    """True when the value is borrowed from a related term rather than listed for this name."""


def _table(rows: Iterable[tuple[str, tuple[float, float, float], str, bool]]) -> dict[str, Emotion]:
    table = {}
    for name, pad, source, estimated in rows:
        table[name] = Emotion(name=name, pad=pad, source=source, estimated=estimated)
    return table


EMOTIONS: dict[str, Emotion] = _table(
    [
        ("normal", (0.0, 0.0, 0.0), "neutral origin of the PAD space", False),
        ("happy", (0.81, 0.51, 0.46), f"{RUSSELL_MEHRABIAN_1977}: happy", False),
        ("sad", (-0.63, -0.27, -0.33), f"{RUSSELL_MEHRABIAN_1977}: sad", False),
        ("angry", (-0.51, 0.59, 0.25), f"{RUSSELL_MEHRABIAN_1977}: angry", False),
        ("proud", (0.77, 0.38, 0.65), f"{RUSSELL_MEHRABIAN_1977}: proud", False),
        ("tired", (-0.18, -0.57, -0.29), f"{RUSSELL_MEHRABIAN_1977}: fatigued", False),
        (
            "not-confident",
            (-0.57, 0.14, -0.21),
            f"{RUSSELL_MEHRABIAN_1977}: insecure (estimate; shamed is -0.57, 0.01, -0.34)",
            True,
        ),
        ("active", (0.42, 0.58, 0.38), f"{RUSSELL_MEHRABIAN_1977}: activated (estimate)", True),
        ("exhausted", (-0.18, -0.57, -0.29), f"{RUSSELL_MEHRABIAN_1977}: fatigued (estimate)", True),
        ("relaxed", (0.68, -0.46, 0.06), f"{RUSSELL_MEHRABIAN_1977}: relaxed", False),
        ("bored", (-0.65, -0.62, -0.33), f"{RUSSELL_MEHRABIAN_1977}: bored", False),
        ("fearful", (-0.64, 0.60, -0.43), f"{RUSSELL_MEHRABIAN_1977}: fearful", False),
        ("surprised", (0.40, 0.67, -0.13), f"{RUSSELL_MEHRABIAN_1977}: surprised", False),
        ("disgusted", (-0.60, 0.35, 0.11), f"{RUSSELL_MEHRABIAN_1977}: disgusted", False),
        ("excited", (0.62, 0.75, 0.38), f"{RUSSELL_MEHRABIAN_1977}: excited", False),
        ("carefree", (0.78, 0.25, 0.41), f"{RUSSELL_MEHRABIAN_1977}: carefree", False),
        ("depressed", (-0.72, -0.29, -0.41), f"{RUSSELL_MEHRABIAN_1977}: depressed", False),
        ("enraged", (-0.44, 0.72, 0.32), f"{RUSSELL_MEHRABIAN_1977}: enraged", False),
        ("triumphant", (0.69, 0.57, 0.63), f"{RUSSELL_MEHRABIAN_1977}: triumphant", False),
        ("timid", (-0.15, -0.12, -0.47), f"{RUSSELL_MEHRABIAN_1977}: timid", False),
        ("anxious", (0.01, 0.59, -0.15), f"{RUSSELL_MEHRABIAN_1977}: anxious", False),
        ("frustrated", (-0.64, 0.52, -0.35), f"{RUSSELL_MEHRABIAN_1977}: frustrated", False),
    ]
)
"""Every named emotion: the dataset styles first, then extra presets for the UI."""

STYLE_TO_EMOTION: dict[str, str] = {
    "normal": "normal",
    "happy": "happy",
    "sad": "sad",
    "angry": "angry",
    "proud": "proud",
    "not-confident": "not-confident",
    "tired": "tired",
    "active": "active",
    "exhausted": "exhausted",
}
"""Bandai Namco dataset style name to the key of its entry in ``EMOTIONS``.

The non-emotional styles (childish, old, giant, feminine, masculinity, musical,
chimpira, and elderly, youthful, feminine, masculine in the second dataset) have no PAD
value and are absent.
"""

EMOTIONAL_STYLES: tuple[str, ...] = ("normal", "happy", "sad", "angry", "proud", "not-confident", "tired", "active")
"""The eight styles of the first Bandai Namco dataset that carry an emotion, in a fixed order."""


def validate_pad(pad: Iterable[float], name: str = "PAD value") -> tuple[float, float, float]:
    """Check a PAD triple and return it as three floats.

    Raises
    ------
    ValueError
        If ``pad`` does not have three entries, or an entry is NaN, infinite or outside
        [-1, 1]. The message names the axis and the value.
    """
    values = tuple(pad)
    if len(values) != 3:
        raise ValueError(f"{name} must have 3 entries (pleasure, arousal, dominance), got {len(values)}")
    result = []
    for axis, value in zip(AXES, values):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name} {value!r} for {axis} is not a number") from None
        if math.isnan(number):
            raise ValueError(f"{name} NaN for {axis} is not a number; pleasure, arousal and dominance each range from -1 to 1")
        if not -1.0 <= number <= 1.0:
            raise ValueError(
                f"{name} {number:g} for {axis} is outside [-1, 1]; "
                "pleasure, arousal and dominance each range from -1 to 1"
            )
        result.append(number)
    return result[0], result[1], result[2]


def emotion_pad(name: str) -> tuple[float, float, float]:
    """Return the PAD triple of a named emotion or dataset style.

    Raises
    ------
    KeyError
        If the name is neither in ``EMOTIONS`` nor in ``STYLE_TO_EMOTION``; the message
        lists the known names.
    """
    key = STYLE_TO_EMOTION.get(name, name)
    if key not in EMOTIONS:
        raise KeyError(f"Unknown emotion {name!r}; known emotions: {', '.join(sorted(EMOTIONS))}")
    return EMOTIONS[key].pad


def nearest_emotion(pad: Iterable[float], candidates: Iterable[str] | None = None) -> str:
    """Return the name of the emotion closest to ``pad`` in Euclidean distance.

    ``candidates`` limits the search to those names (all of ``EMOTIONS`` by default).
    Emotions that share a PAD value (``tired`` and ``exhausted``) resolve to the one
    listed first.
    """
    point = validate_pad(pad)
    names = list(EMOTIONS) if candidates is None else list(candidates)
    if not names:
        raise ValueError("nearest_emotion needs at least one candidate emotion")
    best_name = names[0]
    best_distance = math.inf
    for name in names:
        distance = math.dist(point, emotion_pad(name))
        if distance < best_distance:
            best_name = name
            best_distance = distance
    return best_name
