"""Index the Bandai Namco clips, extract their LMA features and split them for evaluation.

Clip files are named ``dataset-N_{content}_{style}_{take}.bvh``. Contents and styles
contain hyphens (``walk-left``, ``not-confident``) but never underscores, so the stem
splits on underscores into exactly four parts.

Features come from ``synthesis.features`` and are cached per clip under
``training/artifacts/features/<FEATURE_EXTRACTOR_VERSION>/``; a cached entry is reused
only while the BVH file's modification time and size match the ones stored with it.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from models.emotions import EMOTIONAL_STYLES, STYLE_TO_EMOTION, emotion_pad

__all__ = [
    "Clip",
    "FeatureBackend",
    "FeatureSet",
    "ALL_STYLE_CONTENTS",
    "parse_clip_name",
    "index_clips",
    "load_feature_backend",
    "compute_features",
    "content_folds",
    "Standardizer",
    "pad_matrix",
]

logger = logging.getLogger(__name__)

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATASET_ROOT = REPOSITORY_ROOT.parent / "shared" / "datasets"
DEFAULT_CACHE_DIR = REPOSITORY_ROOT / "training" / "artifacts" / "features"

ALL_STYLE_CONTENTS: tuple[str, ...] = ("walk", "run", "dash", "walk-left", "walk-right", "bow", "bye", "byebye")
"""Contents of the first dataset recorded in every style; the folds of leave-one-content-out."""

_CLIP_NAME = re.compile(r"^dataset-(?P<dataset>\d+)_(?P<content>[^_]+)_(?P<style>[^_]+)_(?P<take>[^_]+)$")


@dataclass(frozen=True)
class Clip:
    """One BVH file of the training data and the labels its name carries."""

    path: Path
    dataset: int
    """1 or 2: which Bandai Namco dataset the clip comes from."""
    content: str
    """Movement the actor performs, such as ``walk`` or ``bow``."""
    style: str
    """Manner of the movement, such as ``sad`` or ``old``."""
    take: str
    """Take number as written in the name, such as ``001``."""

    @property
    def emotional(self) -> bool:
        """True when the style has a PAD value (see ``models.emotions.STYLE_TO_EMOTION``)."""
        return self.style in STYLE_TO_EMOTION

    @property
    def pad(self) -> tuple[float, float, float] | None:
        """PAD of the style, or ``None`` for a non-emotional style."""
        return emotion_pad(self.style) if self.emotional else None

    @property
    def group(self) -> str:
        """Key shared by the clips that show the same movement in different styles.

        The first dataset records every style of a content with matching take numbers,
        so the take is part of the key; the second dataset's takes are independent
        recordings, so all its takes of a content share one group.
        """
        if self.dataset == 1:
            return f"1/{self.content}/{self.take}"
        return f"{self.dataset}/{self.content}"


def parse_clip_name(path: str | os.PathLike[str]) -> Clip:
    """Parse ``dataset-N_{content}_{style}_{take}.bvh`` into a :class:`Clip`.

    Raises
    ------
    ValueError
        If the file name does not follow that pattern.
    """
    path = Path(path)
    match = _CLIP_NAME.match(path.stem)
    if path.suffix.lower() != ".bvh" or match is None:
        raise ValueError(
            f"Clip file name {path.name!r} does not match 'dataset-N_{{content}}_{{style}}_{{take}}.bvh'"
        )
    return Clip(
        path=path,
        dataset=int(match["dataset"]),
        content=match["content"],
        style=match["style"],
        take=match["take"],
    )


def index_clips(root: str | os.PathLike[str] = DEFAULT_DATASET_ROOT, datasets: Sequence[int] = (1, 2)) -> list[Clip]:
    """Return every clip under ``root/bandai-namco-N/data`` for the given datasets, sorted by path.

    Raises
    ------
    FileNotFoundError
        If a requested dataset folder is missing or contains no BVH file.
    """
    root = Path(root)
    clips: list[Clip] = []
    for dataset in datasets:
        folder = root / f"bandai-namco-{dataset}" / "data"
        paths = sorted(folder.glob("*.bvh"))
        if not paths:
            raise FileNotFoundError(
                f"No BVH files in {folder}; the training data is expected in ../shared/datasets next to the repository"
            )
        clips.extend(parse_clip_name(path) for path in paths)
    logger.info("Indexed %d clips under %s", len(clips), root)
    return clips


@dataclass(frozen=True)
class FeatureBackend:
    """The feature extractor the training reads clips with."""

    version: str
    names: tuple[str, ...]
    extract: Callable[[Path], tuple[np.ndarray, np.ndarray]]
    """Return ``(clip_features (features,), window_features (windows, features))`` for a BVH path."""


def _extract_with_synthesis(path: Path) -> tuple[np.ndarray, np.ndarray]:
    from synthesis.bvh import read_bvh
    from synthesis.features import clip_features, window_features
    from synthesis.roles import detect_roles

    motion = read_bvh(path)
    bone_map = detect_roles(motion.skeleton)
    clip = np.asarray(clip_features(motion, bone_map), dtype=np.float64)
    windows = np.asarray(window_features(motion, bone_map), dtype=np.float64)
    if windows.ndim != 2 or windows.shape[0] == 0:
        windows = clip[None, :]
    return clip, windows


def load_feature_backend() -> FeatureBackend:
    """Return the backend that reads clips with ``synthesis.bvh``, ``roles`` and ``features``."""
    from synthesis import features

    return FeatureBackend(
        version=str(features.FEATURE_EXTRACTOR_VERSION),
        names=tuple(features.FEATURE_NAMES),
        extract=_extract_with_synthesis,
    )


@dataclass
class FeatureSet:
    """Clip- and window-level features for a list of clips, in the clips' order."""

    clips: list[Clip]
    names: tuple[str, ...]
    version: str
    clip_features: np.ndarray
    """``(clips, features)``"""
    window_features: list[np.ndarray] = field(default_factory=list)
    """One ``(windows, features)`` array per clip."""

    def subset(self, indices: Sequence[int] | np.ndarray) -> FeatureSet:
        """Return the feature set of the clips at ``indices``."""
        indices = [int(index) for index in indices]
        return FeatureSet(
            clips=[self.clips[index] for index in indices],
            names=self.names,
            version=self.version,
            clip_features=self.clip_features[indices],
            window_features=[self.window_features[index] for index in indices],
        )

    def where(self, predicate: Callable[[Clip], bool]) -> FeatureSet:
        """Return the feature set of the clips for which ``predicate`` is true."""
        return self.subset([index for index, clip in enumerate(self.clips) if predicate(clip)])


def _cache_path(cache_dir: Path, version: str, clip: Clip) -> Path:
    safe_version = re.sub(r"[^A-Za-z0-9._-]", "_", version)
    return cache_dir / safe_version / f"dataset-{clip.dataset}" / f"{clip.path.stem}.npz"


def _read_cache(path: Path, source: Path, names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray] | None:
    if not path.exists():
        return None
    stat = source.stat()
    try:
        with np.load(path, allow_pickle=False) as cached:
            if int(cached["mtime_ns"]) != stat.st_mtime_ns or int(cached["size"]) != stat.st_size:
                return None
            if tuple(str(name) for name in cached["names"]) != names:
                return None
            return cached["clip"], cached["windows"]
    except (OSError, KeyError, ValueError) as error:
        logger.warning("Ignoring unreadable feature cache %s: %s", path, error)
        return None


def _write_cache(path: Path, source: Path, names: tuple[str, ...], clip: np.ndarray, windows: np.ndarray) -> None:
    stat = source.stat()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp.npz")
    np.savez(
        temporary,
        clip=clip,
        windows=windows,
        names=np.array(names),
        mtime_ns=np.int64(stat.st_mtime_ns),
        size=np.int64(stat.st_size),
    )
    os.replace(temporary, path)


_worker_backend: FeatureBackend | None = None


def _init_worker(backend: FeatureBackend) -> None:
    global _worker_backend
    _worker_backend = backend


def _extract_in_worker(path: Path) -> tuple[np.ndarray, np.ndarray]:
    assert _worker_backend is not None
    return _worker_backend.extract(path)


def compute_features(
    clips: Sequence[Clip],
    backend: FeatureBackend | None = None,
    cache_dir: str | os.PathLike[str] = DEFAULT_CACHE_DIR,
    workers: int = 2,
    progress: bool = False,
) -> FeatureSet:
    """Extract clip and window features for ``clips``, reusing the on-disk cache.

    Clips whose cache entry is missing or stale are read in ``workers`` processes
    (forked, so the backend need not be importable by name). A clip whose extraction
    fails stops the run with the clip's path in the message.
    """
    backend = backend or load_feature_backend()
    cache_dir = Path(cache_dir)
    clip_rows: list[np.ndarray | None] = [None] * len(clips)
    window_rows: list[np.ndarray | None] = [None] * len(clips)
    missing: list[int] = []
    for index, clip in enumerate(clips):
        cached = _read_cache(_cache_path(cache_dir, backend.version, clip), clip.path, backend.names)
        if cached is None:
            missing.append(index)
        else:
            clip_rows[index], window_rows[index] = cached
    logger.info("Features: %d clips cached, %d to extract", len(clips) - len(missing), len(missing))

    if missing:
        paths = [clips[index].path for index in missing]
        results: Iterator[tuple[np.ndarray, np.ndarray]]
        if workers > 1 and len(missing) > 1:
            context = multiprocessing.get_context("fork")
            pool = context.Pool(workers, initializer=_init_worker, initargs=(backend,))
            results = pool.imap(_extract_in_worker, paths, chunksize=4)
        else:
            pool = None
            results = map(backend.extract, paths)
        if progress:
            from tqdm import tqdm

            results = tqdm(results, total=len(paths), desc="features", unit="clip")
        try:
            for index, (clip_values, windows) in zip(missing, results):
                clip = clips[index]
                clip_values = np.asarray(clip_values, dtype=np.float64).reshape(-1)
                windows = np.asarray(windows, dtype=np.float64).reshape(-1, clip_values.shape[0])
                if clip_values.shape[0] != len(backend.names):
                    raise ValueError(
                        f"{clip.path}: feature extractor returned {clip_values.shape[0]} values "
                        f"but names {len(backend.names)} features"
                    )
                _write_cache(_cache_path(cache_dir, backend.version, clip), clip.path, backend.names, clip_values, windows)
                clip_rows[index], window_rows[index] = clip_values, windows
        finally:
            if pool is not None:
                pool.close()
                pool.join()

    return FeatureSet(
        clips=list(clips),
        names=backend.names,
        version=backend.version,
        clip_features=np.stack([row for row in clip_rows if row is not None]),
        window_features=[row for row in window_rows if row is not None],
    )


def content_folds(clips: Sequence[Clip], contents: Sequence[str] = ALL_STYLE_CONTENTS) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Split clips for leave-one-content-out cross-validation.

    Returns one ``(held_out_content, train_indices, test_indices)`` per content. The test
    side contains the first dataset's clips of that content; the train side contains every
    other clip except the second dataset's clips of a content with the same name (its
    ``walk`` and ``run`` would leak the held-out movement). Splits are made per clip, so
    the windows of one clip always stay on one side.
    """
    folds = []
    for content in contents:
        test = [index for index, clip in enumerate(clips) if clip.dataset == 1 and clip.content == content]
        train = [index for index, clip in enumerate(clips) if clip.content != content]
        if not test:
            raise ValueError(f"No clips of content {content!r} in the first dataset to hold out")
        folds.append((content, np.array(train, dtype=np.int64), np.array(test, dtype=np.int64)))
    return folds


def style_index(style: str) -> int:
    """Return the position of an emotional style in ``EMOTIONAL_STYLES``."""
    return EMOTIONAL_STYLES.index(style)


@dataclass
class Standardizer:
    """Per-feature standardisation: ``(x - mean) / scale``."""

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, features: np.ndarray) -> Standardizer:
        """Fit to ``(clips, features)``; a feature with (near) zero spread keeps scale 1."""
        mean = features.mean(axis=0)
        scale = features.std(axis=0)
        scale = np.where(scale > 1e-8, scale, 1.0)
        return cls(mean=mean, scale=scale)

    def transform(self, features: np.ndarray) -> np.ndarray:
        return (features - self.mean) / self.scale

    def inverse(self, standardized: np.ndarray) -> np.ndarray:
        return standardized * self.scale + self.mean


def pad_matrix(clips: Sequence[Clip]) -> np.ndarray:
    """Return ``(clips, 3)`` PAD per clip, NaN rows for non-emotional styles."""
    return np.array([clip.pad if clip.pad is not None else (np.nan, np.nan, np.nan) for clip in clips], dtype=np.float64)
