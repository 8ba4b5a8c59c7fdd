"""A folder of aligned HR faces (e.g. the output of ``facerestore prepare``), in the layout of
:mod:`facerestore.data.formats`: optional landmark files ``NAME.npy`` / ``NAME.txt`` and parsing
maps ``NAME_parsing.png`` beside each image."""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

import numpy as np

from facerestore.data.base import DATA_SOURCES, FaceRecord
from facerestore.data.formats import check_parsing, layout_landmarks, list_images, parsing_path
from facerestore.data.photo_faces import PhotoFaces
from facerestore.errors import ImageReadError
from facerestore.face.detect import FaceDetector
from facerestore.io import READ_EXTENSIONS, read_image

def resize_labels(labels: np.ndarray, size: int) -> np.ndarray:
    """Nearest-neighbour resize of a square label map, sampling at output pixel centres."""
    rows = ((np.arange(size) + 0.5) * labels.shape[0] / size).astype(np.int64)
    cols = ((np.arange(size) + 0.5) * labels.shape[1] / size).astype(np.int64)
    return labels[np.ix_(rows, cols)]


@DATA_SOURCES.register("folder")
class FolderFaces(PhotoFaces):
    """Every aligned square face image under ``root`` (recursively), resized to ``size``.

    Landmarks come from ``NAME.npy`` / ``NAME.txt`` (image pixels) when present; otherwise, when the
    requested keys need them, they are detected once on the resized face and cached under
    ``cache_dir`` (default ``root/.facerestore_cache``). A parsing map comes from
    ``NAME_parsing.png`` when present, else from the landmarks. Other arguments: :class:`PhotoFaces`.
    """

    def __init__(self, root: str | os.PathLike, size: int = 128, preset: str | None = "fish_x8",
                 keys: Iterable[str] = ("lr", "hr"), seed: int = 0, flip: float = 0.0,
                 preset_options: Mapping | None = None, *, detector: FaceDetector | None = None,
                 cache_dir: str | os.PathLike | None = None):
        super().__init__(root, size, preset, keys, seed, flip, preset_options, detector=detector, cache_dir=cache_dir)
        self.files = list_images(self.root)
        if not self.files:
            raise ImageReadError(f"no face images ({', '.join(sorted(READ_EXTENSIONS))}) in the folder", self.root)

    def __len__(self) -> int:
        return len(self.files)

    def record(self, index: int) -> FaceRecord:
        path = self.files[index]
        hr, side = self.load_aligned(path)
        parsing = None
        if self.wants_parsing() and parsing_path(path).is_file():
            labels, _ = read_image(parsing_path(path))
            parsing = resize_labels(check_parsing(labels, (side, side), parsing_path(path)), self.size)
        landmarks = None
        if self.wants_landmarks(parsing is not None):
            landmarks = self.landmarks_for(path, hr, layout_landmarks(path), side)
        return FaceRecord(hr, landmarks, parsing)
