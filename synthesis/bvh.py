"""Read and write Biovision Hierarchy (BVH) motion files.

:func:`read_bvh` and :func:`read_bvh_text` turn a BVH file into a :class:`~synthesis.skeleton.Motion`;
:func:`write_bvh` and :func:`write_bvh_text` turn a motion back into BVH. Only numpy and the
standard library are used.

What the reader accepts
-----------------------
- Any rotation channel order per joint. ``Zrotation Xrotation Yrotation`` means
  ``R = Rz @ Rx @ Ry`` (the BVH convention, and the order of
  :func:`synthesis.quaternion.from_euler`). Angles in the file are in degrees.
- Joints with 0 to 6 channels, position channels on any joint, channels in any order.
  A missing rotation channel reads as a zero angle.
- ``End Site`` blocks, whose offsets go to :attr:`Skeleton.end_sites`. A name after
  ``End Site`` is ignored, as Blender ignores it.
- CRLF, CR or LF line ends, tabs or spaces, keywords in any letter case, and any frame
  rate. ``Frame Time`` (seconds) becomes ``frame_rate = 1 / Frame Time``, snapped to the
  nearest whole number when it lies within 1e-4 (relative) of one, because files store the
  frame time with few digits (``0.0333333`` is 30 fps).
- Joint names that contain spaces: the words are joined with ``_``, as Blender's importer
  does, so that names match the armature Blender builds from the same file.

Position channels
-----------------
A joint's position channels give its local translation for that frame: they replace the
joint's ``OFFSET``, they are not added to it. Blender's BVH importer (``io_anim_bvh``,
``import_bvh.py``, Blender 4.x) treats them the same way: the pose-bone location is
``bvh_position - OFFSET``, added to a rest head that already contains ``OFFSET``. This
holds for the root too, so the root's position channels are its position in world space
and the root ``OFFSET`` only matters when the root has no position channels. A joint with
only some position channels reads the missing ones as 0, as Blender does.

In the returned :class:`Motion`:

- ``root_positions`` ``(frames, 3)`` are the root's position channels, or the root
  ``OFFSET`` on every frame when the root has none.
- ``translations`` ``(frames, joints, 3)`` are set when some non-root joint has position
  channels (every joint in the Bandai Namco files does). Rows of joints without position
  channels contain their rest offsets. The root's row is zero, because forward kinematics
  adds it to ``root_positions``. ``translations`` is ``None`` otherwise.
- ``rotations`` are quaternions ``(w, x, y, z)``; joints without rotation channels get the
  identity.

Writing
-------
:func:`write_bvh` writes the skeleton's hierarchy (end sites included) and chooses the
channels the motion needs: 6 channels on the root and on every joint whose translation
differs from its rest offset on some frame, 3 rotation channels elsewhere. Rotations are
written in one ``rotation_order`` for all joints. Each joint's Euler angles are made
continuous across frames, choosing between the two Euler solutions of every rotation and
removing 360-degree jumps, so that Blender does not interpolate the long way round. A
skeleton with non-identity rest rotations (one read from a Blender armature) is written
with the rest rotation folded into each frame's rotation, so that world joint positions
stay the same.

Errors
------
Every problem in a file raises :class:`BVHError`, a :class:`~synthesis.skeleton.MotionError`,
whose message starts with ``path:line:`` (1-based line number) and names the problem and a
fix: missing ``HIERARCHY`` or ``MOTION``, unknown keywords, unbalanced braces, unknown
channel names, duplicate joint names, a bad ``Frames`` or ``Frame Time`` line, ``Frames: 0``,
a truncated file, a frame line with the wrong number of values, and non-numeric, NaN or
infinite values.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import numpy as np

from . import quaternion
from .skeleton import Motion, MotionError, Skeleton

__all__ = ["BVHError", "CHANNEL_NAMES", "read_bvh", "read_bvh_text", "write_bvh", "write_bvh_text"]

logger = logging.getLogger(__name__)

CHANNEL_NAMES = ("Xposition", "Yposition", "Zposition", "Xrotation", "Yrotation", "Zrotation")
"""The six channel names a BVH ``CHANNELS`` line may use (matched without letter case)."""

_CHANNEL_LOOKUP = {name.lower(): name for name in CHANNEL_NAMES}
_FRAMES_PATTERN = re.compile(r"^\s*frames\s*:\s*(\S*)\s*$", re.IGNORECASE)
_FRAME_TIME_PATTERN = re.compile(r"^\s*frame\s+time\s*:\s*(\S*)\s*$", re.IGNORECASE)
_FRAME_RATE_SNAP_TOLERANCE = 1e-4


class BVHError(MotionError):
    """Invalid BVH file; the message starts with ``path:line:`` and names the problem and a fix."""


@dataclass
class _Joint:
    """A joint as declared in the HIERARCHY section, before the skeleton is built."""

    name: str
    parent: int
    line: int
    offset: np.ndarray | None = None
    channels: list[str] = field(default_factory=list)
    first_column: int = 0
    channels_line: int | None = None
    end_site: np.ndarray | None = None


class _HierarchyParser:
    """Recursive-descent parser of the HIERARCHY section over a stream of ``(line, token)``."""

    def __init__(self, lines: list[str], source: str) -> None:
        self.lines = lines
        self.source = source
        self.line_index = 0
        self.tokens: list[str] = []
        self.token_index = 0
        self.joints: list[_Joint] = []
        self.channel_count = 0
        self.last_close_line = 0

    def error(self, line: int, problem: str) -> BVHError:
        return BVHError(f"{self.source}:{line}: {problem}")

    # Token stream: whitespace-separated words with the 1-based line they come from.

    @property
    def line(self) -> int:
        return self.line_index

    def _fill(self) -> bool:
        while self.token_index >= len(self.tokens):
            if self.line_index >= len(self.lines):
                return False
            self.tokens = self.lines[self.line_index].split()
            self.token_index = 0
            self.line_index += 1
        return True

    def peek(self) -> str | None:
        return self.tokens[self.token_index] if self._fill() else None

    def next(self, expected: str) -> str:
        if not self._fill():
            raise self.error(len(self.lines), f"file ends where {expected} was expected; the file is truncated")
        token = self.tokens[self.token_index]
        self.token_index += 1
        return token

    def words_before_brace(self, line: int) -> tuple[list[str], bool]:
        """Consume the tokens left on ``line`` up to and including a ``{``.

        Return the words before the brace and whether a brace was consumed.
        """
        words: list[str] = []
        while self.line == line and self.token_index < len(self.tokens):
            token = self.tokens[self.token_index]
            self.token_index += 1
            if token == "{":
                return words, True
            words.append(token)
        return words, False

    def rest_of_line(self) -> list[str]:
        """Consume and return the tokens left on the current line."""
        if self.token_index >= len(self.tokens):
            return []
        words = self.tokens[self.token_index :]
        self.token_index = len(self.tokens)
        return words

    def number(self, label: str) -> float:
        token = self.next(label)
        try:
            value = float(token)
        except ValueError:
            raise self.error(self.line, f"{label} must be a number, got {token!r}") from None
        if not np.isfinite(value):
            raise self.error(self.line, f"{label} must be finite, got {token!r}")
        return value

    def vector(self, label: str) -> np.ndarray:
        return np.array([self.number(f"{label} {axis}") for axis in "xyz"])

    # Grammar.

    def parse(self) -> int:
        """Parse up to and including the MOTION keyword; return the 0-based index of the next line."""
        first = self.peek()
        if first is None or first.upper() != "HIERARCHY":
            found = "an empty file" if first is None else f"{first!r}"
            raise self.error(
                max(self.line, 1),
                f"missing HIERARCHY keyword at the start of the file, found {found}; is this a BVH file?",
            )
        self.next("HIERARCHY")

        keyword = self.peek()
        if keyword is None or keyword.upper() != "ROOT":
            found = "the end of the file" if keyword is None else repr(keyword)
            raise self.error(max(self.line, 1), f"expected ROOT after HIERARCHY, found {found}")
        self.next("ROOT")
        self.joint_block(parent=-1, keyword_line=self.line)

        keyword = self.peek()
        if keyword is None:
            raise self.error(
                len(self.lines), "missing MOTION section after the hierarchy; the file has no frames or is truncated"
            )
        if keyword.upper() == "ROOT":
            raise self.error(
                self.line,
                "a second ROOT is not supported; split the file into one file per root "
                "or parent both roots to a new joint",
            )
        if keyword == "}" or keyword.upper() in {"JOINT", "END", "OFFSET", "CHANNELS"}:
            raise self.error(
                self.line,
                f"unbalanced braces: {keyword!r} follows the '}}' at line {self.last_close_line} that closed the ROOT "
                "block; remove the extra '}'",
            )
        if keyword.upper() != "MOTION":
            raise self.error(self.line, f"unknown keyword {keyword!r} after the hierarchy; expected MOTION")

        self.next("MOTION")
        extra = self.rest_of_line()
        if extra:
            raise self.error(
                self.line, f"unexpected {' '.join(extra)!r} after MOTION; frame data starts on later lines"
            )
        return self.line_index

    def joint_block(self, parent: int, keyword_line: int) -> None:
        words, opened_here = self.words_before_brace(keyword_line)
        if not words:
            raise self.error(keyword_line, "joint has no name; write 'JOINT name' or 'ROOT name'")
        if len(words) > 1:
            logger.debug("%s:%d: joint name %r contains spaces; joining with '_'", self.source, keyword_line, words)
        name = "_".join(words)

        for joint in self.joints:
            if joint.name == name:
                raise self.error(
                    keyword_line,
                    f"duplicate joint name {name!r} (first declared at line {joint.line}); rename one of them",
                )
        joint = _Joint(name=name, parent=parent, line=keyword_line)
        index = len(self.joints)
        self.joints.append(joint)
        if not opened_here:
            self.open_brace(f"joint {name!r}")

        while True:
            token = self.peek()
            if token is None:
                raise self.error(
                    len(self.lines), f"unbalanced braces: joint {name!r} opened at line {keyword_line} is never closed"
                )
            self.next("a keyword")
            keyword = token.upper()
            line = self.line
            if token == "}":
                break
            if keyword == "OFFSET":
                if joint.offset is not None:
                    raise self.error(line, f"joint {name!r} has a second OFFSET; keep one")
                joint.offset = self.vector(f"OFFSET of joint {name!r}")
            elif keyword == "CHANNELS":
                if joint.channels_line is not None:
                    raise self.error(
                        line,
                        f"joint {name!r} has a second CHANNELS line (first at line {joint.channels_line}); keep one",
                    )
                self.channels(joint, line)
            elif keyword == "JOINT":
                self.joint_block(parent=index, keyword_line=line)
            elif keyword == "END":
                self.end_site(joint, line)
            elif keyword == "MOTION":
                raise self.error(
                    line,
                    f"unbalanced braces: MOTION found inside joint {name!r} opened at line {keyword_line}; add '}}'",
                )
            else:
                raise self.error(
                    line,
                    f"unknown keyword {token!r} in joint {name!r}; expected OFFSET, CHANNELS, JOINT, End Site or '}}'",
                )

        if joint.offset is None:
            raise self.error(joint.line, f"joint {name!r} has no OFFSET line; add 'OFFSET x y z'")
        if joint.channels_line is None:
            raise self.error(
                joint.line, f"joint {name!r} has no CHANNELS line; add one, 'CHANNELS 0' for a joint without motion"
            )
        self.last_close_line = self.line

    def open_brace(self, label: str) -> None:
        token = self.next(f"'{{' opening {label}")
        if token != "{":
            raise self.error(self.line, f"expected '{{' to open {label}, found {token!r}")

    def channels(self, joint: _Joint, line: int) -> None:
        count_token = self.next(f"the channel count of joint {joint.name!r}")
        try:
            count = int(count_token)
        except ValueError:
            raise self.error(
                line, f"CHANNELS of joint {joint.name!r} must start with a count, got {count_token!r}"
            ) from None
        if not 0 <= count <= 6:
            raise self.error(line, f"CHANNELS of joint {joint.name!r} declares {count} channels; a joint has 0 to 6")
        names = []
        for listed in range(count):
            token = self.peek()
            if token is None or self.line != line and token.upper() in {"JOINT", "END", "}", "OFFSET", "MOTION"}:
                raise self.error(
                    line,
                    f"CHANNELS of joint {joint.name!r} declares {count} channels but lists {listed}; fix the count",
                )
            self.next("a channel name")
            channel = _CHANNEL_LOOKUP.get(token.lower())
            if channel is None:
                raise self.error(
                    self.line,
                    f"unknown channel {token!r} in joint {joint.name!r}; expected one of {', '.join(CHANNEL_NAMES)}",
                )
            if channel in names:
                raise self.error(self.line, f"joint {joint.name!r} lists channel {channel} twice; keep one")
            names.append(channel)
        joint.channels = names
        joint.channels_line = line
        joint.first_column = self.channel_count
        self.channel_count += count

    def end_site(self, joint: _Joint, line: int) -> None:
        site = self.next(f"'Site' after 'End' in joint {joint.name!r}")
        if site.upper() != "SITE":
            raise self.error(self.line, f"expected 'End Site' in joint {joint.name!r}, found 'End {site}'")
        # Blender ignores a name after End Site, and so does this reader.
        _, opened_here = self.words_before_brace(line)
        if not opened_here:
            self.open_brace(f"the End Site of joint {joint.name!r}")
        offset = None
        while True:
            token = self.next(f"'}}' closing the End Site of joint {joint.name!r}")
            if token == "}":
                break
            if token.upper() == "OFFSET" and offset is None:
                offset = self.vector(f"End Site OFFSET of joint {joint.name!r}")
                continue
            raise self.error(
                self.line,
                f"unexpected {token!r} in the End Site of joint {joint.name!r} (opened at line {line}); "
                "an End Site contains one OFFSET and '}'",
            )
        if offset is None:
            raise self.error(line, f"End Site of joint {joint.name!r} has no OFFSET; add 'OFFSET x y z'")
        if joint.end_site is not None:
            logger.warning(
                "%s:%d: joint %r has more than one End Site; keeping the first", self.source, line, joint.name
            )
            return
        joint.end_site = offset


def read_bvh(path: str | os.PathLike[str]) -> Motion:
    """Read a BVH file into a :class:`Motion`.

    Parameters
    ----------
    path
        File to read. Text is decoded as UTF-8, or as Latin-1 when it is not valid UTF-8.

    Returns
    -------
    Motion
        Rotations ``(frames, joints, 4)``, root positions ``(frames, 3)`` in the file's length
        unit, and translations as the module docstring describes.

    Raises
    ------
    BVHError
        When the file is not valid BVH; the message gives the path and line.
    OSError
        When the file cannot be read.
    """
    path = Path(path)
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return read_bvh_text(text, source=str(path))


def read_bvh_text(text: str, source: str = "<string>") -> Motion:
    """Parse BVH text into a :class:`Motion`; ``source`` names the text in error messages.

    See :func:`read_bvh` for the result and the errors.
    """
    # Editors on Windows may start the text with a byte order mark.
    text = text.removeprefix("\ufeff")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    parser = _HierarchyParser(lines, source)
    data_start = parser.parse()
    joints = parser.joints
    channel_count = parser.channel_count
    if channel_count == 0:
        raise BVHError(
            f"{source}:{parser.joints[0].line}: no joint has channels, so the file contains no motion; "
            "list channels on CHANNELS lines"
        )

    frame_count, frames_line, frame_rate, data_start = _read_motion_header(lines, data_start, source)
    values = _read_frames(lines, data_start, frame_count, frames_line, joints, channel_count, source)
    motion = _build_motion(joints, values, frame_rate)
    logger.debug(
        "Read %s: %d joints, %d channels, %d frames at %g fps",
        source,
        len(joints),
        channel_count,
        frame_count,
        frame_rate,
    )
    return motion


def _read_motion_header(lines: list[str], start: int, source: str) -> tuple[int, int, float, int]:
    """Parse the ``Frames:`` and ``Frame Time:`` lines.

    Return the frame count, the 1-based line of ``Frames:``, the frame rate in frames per
    second and the 0-based index of the first frame line.
    """
    index = _skip_blank(lines, start)
    if index >= len(lines):
        raise BVHError(f"{source}:{len(lines)}: file ends after MOTION; expected 'Frames: N' and 'Frame Time: seconds'")
    match = _FRAMES_PATTERN.match(lines[index])
    if match is None:
        raise BVHError(f"{source}:{index + 1}: expected 'Frames: N' after MOTION, found {lines[index].strip()!r}")
    try:
        frame_count = int(match.group(1))
    except ValueError:
        raise BVHError(
            f"{source}:{index + 1}: frame count must be a whole number, got {match.group(1)!r}"
        ) from None
    if frame_count <= 0:
        raise BVHError(
            f"{source}:{index + 1}: 'Frames: {frame_count}' leaves no motion to read; a motion needs at least one frame"
        )
    frames_line = index

    index = _skip_blank(lines, index + 1)
    if index >= len(lines):
        raise BVHError(f"{source}:{len(lines)}: file ends after 'Frames:'; expected 'Frame Time: seconds'")
    match = _FRAME_TIME_PATTERN.match(lines[index])
    if match is None:
        raise BVHError(
            f"{source}:{index + 1}: expected 'Frame Time: seconds' after line {frames_line + 1}, "
            f"found {lines[index].strip()!r}"
        )
    try:
        frame_time = float(match.group(1))
    except ValueError:
        raise BVHError(
            f"{source}:{index + 1}: Frame Time must be a number of seconds, got {match.group(1)!r}"
        ) from None
    if not (np.isfinite(frame_time) and frame_time > 0.0):
        raise BVHError(
            f"{source}:{index + 1}: Frame Time must be a positive number of seconds, got {match.group(1)!r}; "
            "write 1 / frames per second, for example 0.0333333 for 30 fps"
        )
    frame_rate = 1.0 / frame_time
    nearest = round(frame_rate)
    if nearest > 0 and abs(frame_rate - nearest) <= _FRAME_RATE_SNAP_TOLERANCE * frame_rate:
        frame_rate = float(nearest)
    return frame_count, frames_line + 1, frame_rate, index + 1


def _skip_blank(lines: list[str], index: int) -> int:
    while index < len(lines) and not lines[index].strip():
        index += 1
    return index


def _read_frames(
    lines: list[str],
    start: int,
    frame_count: int,
    frames_line: int,
    joints: list[_Joint],
    channel_count: int,
    source: str,
) -> np.ndarray:
    """Parse the frame lines into ``(frames, channels)`` values, checking counts and finiteness."""
    # Blank lines between frames are allowed, so rows maps each frame to its line in data_lines.
    data_lines = lines[start:]
    nonblank = [number for number, line in enumerate(data_lines) if line and not line.isspace()]
    if len(nonblank) < frame_count:
        last_line = start + (nonblank[-1] + 1 if nonblank else 0)
        raise BVHError(
            f"{source}:{last_line + 1}: file ends after {len(nonblank)} of {frame_count} frames "
            f"('Frames: {frame_count}' at line {frames_line}); the file is truncated: re-export it or lower 'Frames:'"
        )
    if len(nonblank) > frame_count:
        logger.warning(
            "%s:%d: %d lines after the last of the %d frames are ignored",
            source,
            start + nonblank[frame_count] + 1,
            len(nonblank) - frame_count,
            frame_count,
        )

    rows = nonblank[:frame_count]
    frame_lines = [data_lines[number] for number in rows]
    try:
        values = np.loadtxt(frame_lines, dtype=np.float64, comments=None, ndmin=2)
    except ValueError:
        values = None
    if values is None or values.shape != (frame_count, channel_count):
        # Only reached for broken files: find the first bad line and report its problem.
        _raise_frame_error(frame_lines, rows, start, joints, channel_count, source)

    finite = np.isfinite(values)
    if not finite.all():
        frame, column = (int(i) for i in np.argwhere(~finite)[0])
        raise BVHError(
            f"{source}:{start + rows[frame] + 1}: frame {frame + 1} has the value "
            f"{frame_lines[frame].split()[column]!r} in column {column + 1} ({_column_name(joints, column)}); "
            "NaN and infinite values are invalid: fix or re-export the motion"
        )
    return values


def _raise_frame_error(
    frame_lines: list[str], rows: list[int], start: int, joints: list[_Joint], channel_count: int, source: str
) -> NoReturn:
    for frame, line in enumerate(frame_lines):
        number = start + rows[frame] + 1
        words = line.split()
        if len(words) != channel_count:
            raise BVHError(
                f"{source}:{number}: frame {frame + 1} has {len(words)} values, expected {channel_count} "
                f"(one per channel of the {len(joints)} joints); fix the line or re-export the file"
            )
        for column, word in enumerate(words):
            try:
                float(word)
            except ValueError:
                raise BVHError(
                    f"{source}:{number}: frame {frame + 1} has the non-numeric value {word!r} in column {column + 1} "
                    f"({_column_name(joints, column)}); fix or re-export the motion"
                ) from None
    raise BVHError(f"{source}:{start + 1}: frame data could not be parsed as {channel_count} numbers per line")


def _column_name(joints: list[_Joint], column: int) -> str:
    for joint in joints:
        if joint.first_column <= column < joint.first_column + len(joint.channels):
            return f"joint {joint.name!r} channel {joint.channels[column - joint.first_column]}"
    return "no channel"


def _build_motion(joints: list[_Joint], values: np.ndarray, frame_rate: float) -> Motion:
    """Turn ``values: (frames, channels)`` into a Motion; rotation channels are in degrees."""
    frame_count = values.shape[0]
    joint_count = len(joints)
    offsets = np.array([joint.offset for joint in joints])
    skeleton = Skeleton(
        names=tuple(joint.name for joint in joints),
        parents=np.array([joint.parent for joint in joints]),
        offsets=offsets,
        end_sites={index: joint.end_site for index, joint in enumerate(joints) if joint.end_site is not None},
    )

    # Column index of each channel, -1 where a joint lacks it: -1 selects the zero column
    # appended below, so missing channels read as 0 without any branching.
    padded = np.concatenate((values, np.zeros((frame_count, 1))), axis=1)
    position_columns = np.full((joint_count, 3), -1, dtype=np.int64)
    has_position = np.zeros(joint_count, dtype=bool)
    orders: dict[str, list[tuple[int, list[int]]]] = {}
    for index, joint in enumerate(joints):
        rotation_axes = []
        rotation_columns = []
        for offset_in_joint, channel in enumerate(joint.channels):
            column = joint.first_column + offset_in_joint
            axis = channel[0]
            if channel.endswith("position"):
                position_columns[index, "XYZ".index(axis)] = column
                has_position[index] = True
            else:
                rotation_axes.append(axis)
                rotation_columns.append(column)
        if not rotation_axes:
            continue
        # Missing axes have a zero angle, so where they go in the product does not matter.
        for axis in "XYZ":
            if axis not in rotation_axes:
                rotation_axes.append(axis)
                rotation_columns.append(-1)
        orders.setdefault("".join(rotation_axes), []).append((index, rotation_columns))

    rotations = quaternion.identity((frame_count, joint_count))
    for order, members in orders.items():
        indices = [index for index, _ in members]
        columns = np.array([columns for _, columns in members])
        angles = np.radians(padded[:, columns])
        rotations[:, indices] = quaternion.from_euler(angles, order)

    positions = padded[:, position_columns]
    if has_position[0]:
        root_positions = positions[:, 0].copy()
    else:
        root_positions = np.broadcast_to(offsets[0], (frame_count, 3)).copy()
    translations = None
    if has_position[1:].any():
        translations = np.where(has_position[None, :, None], positions, offsets[None])
        translations[:, 0] = 0.0
    return Motion(
        skeleton=skeleton,
        rotations=rotations,
        root_positions=root_positions,
        frame_rate=frame_rate,
        translations=translations,
    )


def write_bvh(
    motion: Motion, path: str | os.PathLike[str], rotation_order: str = "ZXY", precision: int = 6
) -> None:
    """Write ``motion`` to a BVH file.

    Parameters
    ----------
    motion
        The motion to write. Lengths are written in the skeleton's unit.
    path
        File to create or replace.
    rotation_order
        Euler order of every joint's rotation channels, in matrix-product order: ``"ZXY"``
        writes ``Zrotation Xrotation Yrotation`` (``R = Rz @ Rx @ Ry``).
    precision
        Digits after the decimal point for per-frame positions and angles in degrees.
        Offsets are written at full precision.

    Raises
    ------
    ValueError
        When ``rotation_order`` or ``precision`` is invalid.
    BVHError
        When a joint name cannot be written (empty, or a duplicate once spaces become ``_``).
    """
    text = write_bvh_text(motion, rotation_order=rotation_order, precision=precision)
    Path(path).write_text(text, encoding="utf-8", newline="\n")
    logger.debug("Wrote %s: %d frames", path, motion.frame_count)


def write_bvh_text(motion: Motion, rotation_order: str = "ZXY", precision: int = 6) -> str:
    """Return ``motion`` as BVH text; see :func:`write_bvh` for the parameters."""
    order = rotation_order.upper()
    if order not in quaternion.EULER_ORDERS:
        raise ValueError(
            f"Invalid rotation_order {rotation_order!r}; expected one of {', '.join(quaternion.EULER_ORDERS)}"
        )
    if not isinstance(precision, (int, np.integer)) or not 1 <= precision <= 15:
        raise ValueError(f"precision must be a whole number of decimal digits from 1 to 15, got {precision!r}")

    skeleton = motion.skeleton
    names = _writable_names(skeleton.names)
    joint_order = _depth_first_order(skeleton)

    # FK adds the root's translation row to root_positions, so the file's root position is the sum.
    root_positions = motion.root_positions
    carries_translation = np.zeros(skeleton.joint_count, dtype=bool)
    carries_translation[0] = True
    if motion.translations is not None:
        root_positions = root_positions + motion.translations[:, 0]
        carries_translation[1:] = np.any(motion.translations[:, 1:] != skeleton.offsets[None, 1:], axis=(0, 2))

    local_rotations = quaternion.multiply(skeleton.rest_rotations[None], motion.rotations)
    angles = np.degrees(_continuous_euler(local_rotations, order))

    rotation_channels = " ".join(f"{axis}rotation" for axis in order)
    number = f"%.{int(precision)}f"
    header = ["HIERARCHY"]
    columns = []
    for position, joint in enumerate(joint_order):
        depth = _depth(skeleton, joint)
        indent = "  " * depth
        parent = int(skeleton.parents[joint])
        # Close the blocks of the joints between the previous joint and this joint's parent.
        if position > 0:
            previous = joint_order[position - 1]
            header.extend(_close_blocks(skeleton, previous, parent, names))
        keyword = "ROOT" if parent < 0 else "JOINT"
        header.append(f"{indent}{keyword} {names[joint]}")
        header.append(f"{indent}{{")
        # Offsets keep full precision (a few numbers), so rest lengths survive a round trip exactly.
        offset = " ".join(repr(float(value)) for value in skeleton.offsets[joint])
        header.append(f"{indent}  OFFSET {offset}")
        if carries_translation[joint]:
            header.append(f"{indent}  CHANNELS 6 Xposition Yposition Zposition {rotation_channels}")
            columns.append(root_positions if parent < 0 else motion.translations[:, joint])  # type: ignore[index]
        else:
            header.append(f"{indent}  CHANNELS 3 {rotation_channels}")
        columns.append(angles[:, joint])
    header.extend(_close_blocks(skeleton, joint_order[-1], -1, names))

    values = np.concatenate(columns, axis=1)
    frame_time = 1.0 / motion.frame_rate
    header.append("MOTION")
    header.append(f"Frames: {motion.frame_count}")
    header.append(f"Frame Time: {frame_time:.10g}")
    line_format = " ".join([number] * values.shape[1]) + "\n"
    body = (line_format * values.shape[0]) % tuple(values.ravel().tolist())
    return "\n".join(header) + "\n" + body


def _writable_names(names: tuple[str, ...]) -> list[str]:
    written = []
    for name in names:
        words = name.split()
        if not words:
            raise BVHError(f"Joint name {name!r} is empty and cannot be written to BVH; give the joint a name")
        if "{" in name or "}" in name:
            raise BVHError(f"Joint name {name!r} contains a brace and cannot be written to BVH; rename the joint")
        if len(words) > 1:
            logger.warning("Joint name %r contains spaces; writing it as %r", name, "_".join(words))
        written.append("_".join(words))
    if len(set(written)) != len(written):
        duplicates = sorted({name for name in written if written.count(name) > 1})
        raise BVHError(
            f"Joint names {', '.join(duplicates)} collide once spaces become '_'; rename the joints before writing"
        )
    return written


def _depth_first_order(skeleton: Skeleton) -> list[int]:
    """Return joint indices in the depth-first order BVH nests them, children in index order."""
    order = []
    stack = [0]
    while stack:
        joint = stack.pop()
        order.append(joint)
        stack.extend(reversed(skeleton.children(joint)))
    return order


def _depth(skeleton: Skeleton, joint: int) -> int:
    depth = 0
    while skeleton.parents[joint] >= 0:
        joint = int(skeleton.parents[joint])
        depth += 1
    return depth


def _close_blocks(skeleton: Skeleton, joint: int, stop: int, names: list[str]) -> list[str]:
    """Return the lines closing ``joint`` and its ancestors up to (not including) ``stop``.

    Each closed joint's End Site is written just before its closing brace.
    """
    lines: list[str] = []
    while joint != stop:
        depth = _depth(skeleton, joint)
        indent = "  " * depth
        end_site = skeleton.end_sites.get(joint)
        if end_site is not None:
            offset = " ".join(repr(float(value)) for value in end_site)
            lines.extend((f"{indent}  End Site", f"{indent}  {{", f"{indent}    OFFSET {offset}", f"{indent}  }}"))
        lines.append(f"{indent}}}")
        joint = int(skeleton.parents[joint])
    return lines


def _continuous_euler(rotations: np.ndarray, order: str) -> np.ndarray:
    """Convert ``rotations: (frames, joints, 4)`` to Euler angles in radians, continuous over frames.

    Every rotation has two Euler solutions, ``(a, b, c)`` and ``(a + pi, pi - b, c + pi)``.
    Mapping one to the other keeps distances between frames (modulo 2 pi). So whether to
    switch solutions between frames ``t - 1`` and ``t`` does not depend on the solution
    chosen before, and a cumulative parity picks the solution of every frame at once.
    ``np.unwrap`` then removes the remaining 360-degree jumps.

    NOTE: at gimbal lock (middle angle exactly +-90 degrees) ``to_euler`` puts the whole
    turn into the first angle, so a motion that passes exactly through it may still jump.
    """
    canonical = quaternion.to_euler(rotations, order)
    if canonical.shape[0] < 2:
        return canonical
    alternative = canonical + np.array([np.pi, 0.0, np.pi])
    alternative[..., 1] = np.pi - canonical[..., 1]

    def wrapped_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        difference = np.abs(a - b) % (2.0 * np.pi)
        return np.sum(np.minimum(difference, 2.0 * np.pi - difference), axis=-1)

    keep = wrapped_distance(canonical[1:], canonical[:-1])
    switch = wrapped_distance(alternative[1:], canonical[:-1])
    first = np.zeros((1,) + canonical.shape[1:-1], dtype=bool)
    parity = np.concatenate((first, np.cumsum(switch < keep, axis=0) % 2 == 1))
    chosen = np.where(parity[..., None], alternative, canonical)
    return np.unwrap(chosen, axis=0)
