"""The base of the data sets read from face photos under a root folder (CelebA, Helen, FFHQ, a folder of
aligned faces, identity folders): it owns the root, the split check, the landmark cache and the landmarks of
a photo's HR face, so that a data set is its constants, the parsing of its annotations and ``record()``."""
from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path

import numpy as np

from facerestore.data.base import FaceDataset
from facerestore.data.photos import LandmarkCache, load_rgb, rescale_points, resize_face
from facerestore.errors import ConfigError
from facerestore.face.detect import FaceDetector


class PhotoFaces(FaceDataset):
    """Base of the data sets of face photos under ``root``.

    A subclass names its constants in its class statement, e.g. ``class HelenFaces(PhotoFaces, title="Helen",
    splits=SPLIT_FILES, cache_prefix="helen_")``: ``title``, its name in messages; ``splits``, its split names
    besides "all" (this base refuses any other ``split``; none: the data set has no splits); ``cache_prefix``,
    detected landmarks go to the cache folder ``<cache_prefix><size>``. Its ``__init__`` calls this one, then
    parses its annotations; its ``record`` reads faces with :meth:`load_aligned` (or the crops of
    :mod:`facerestore.data.photos`) and their landmarks with :meth:`landmarks_for`.

    ``detector``, ``cache_dir``: the :class:`~facerestore.data.photos.LandmarkCache` of the faces that come
    without landmarks (``cache_dir`` defaults to ``root/.facerestore_cache``). Other arguments:
    :class:`FaceDataset`.
    """

    title = "photo"
    splits: Collection[str] = ()
    cache_prefix = ""

    def __init_subclass__(cls, title: str | None = None, splits: Collection[str] | None = None,
                          cache_prefix: str | None = None, **options):
        super().__init_subclass__(**options)
        cls.title = cls.title if title is None else title
        cls.splits = cls.splits if splits is None else splits
        cls.cache_prefix = cls.cache_prefix if cache_prefix is None else cache_prefix

    def __init__(self, root: str | os.PathLike, size: int, preset: str | None, keys: Iterable[str], seed: int = 0,
                 flip: float = 0.0, preset_options: Mapping | None = None, split: str | None = None,
                 detector: FaceDetector | None = None, cache_dir: str | os.PathLike | None = None):
        super().__init__(size, preset, keys, seed, flip, preset_options)
        if self.splits and split not in (*self.splits, "all"):
            raise ConfigError(f"{self.title} split must be one of {(*self.splits, 'all')}, got {split!r}")
        self.split = split
        self.root = Path(root)
        self.cache = LandmarkCache(self.root, cache_dir, detector)

    def load_aligned(self, path: Path) -> tuple[np.ndarray, int]:
        """The aligned (square) face of file ``path`` resized to ``size``, and its side in the file (the
        pixels its landmark points are given in); a non-square image is refused naming the file."""
        image = load_rgb(path)
        return resize_face(image, self.size, path), image.shape[0]

    def landmarks_for(self, path: Path, hr: np.ndarray, points: np.ndarray | None = None, side: int | None = None,
                      key: str | None = None) -> np.ndarray:
        """The 68 landmarks of ``hr``, the ``size`` face made from file ``path``: ``points`` (in the pixels of
        the file's ``side`` x ``side`` face) rescaled to ``size``, or, when there are none, detected on ``hr``
        once and cached as ``<cache_prefix><size>/<key>`` (``key``: by default the file's path below ``root``).
        """
        if points is not None:
            factor = self.size / side
            return rescale_points(points, (factor, factor))
        key = path.relative_to(self.root).as_posix() if key is None else key
        return self.cache.get(f"{self.cache_prefix}{self.size}/{key}", hr, path)
