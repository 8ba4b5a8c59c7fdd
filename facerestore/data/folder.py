"""A folder of aligned HR faces (e.g. the output of ``facerestore prepare``), in the layout of
:mod:`facerestore.data.formats`: optional landmark files ``NAME.npy`` / ``NAME.txt`` and parsing
maps ``NAME_parsing.png`` beside each image."""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from facerestore.data.base import FaceDataset, FaceRecord
from facerestore.data.formats import check_parsing, landmark_candidates, list_images, parsing_path, read_landmarks
from facerestore.data.photos import LandmarkCache, aligned_face_landmarks, load_rgb, resize_face
from facerestore.errors import ImageReadError
from facerestore.face.detect import FaceDetector
from facerestore.io import READ_EXTENSIONS, read_image

def resize_labels(labels: np.ndarray, size: int) -> np.ndarray:
    """Nearest-neighbour resize of a square label map, sampling at output pixel centres."""
    rows = ((np.arange(size) + 0.5) * labels.shape[0] / size).astype(np.int64)
    cols = ((np.arange(size) + 0.5) * labels.shape[1] / size).astype(np.int64)
    return labels[np.ix_(rows, cols)]


class FolderFaces(FaceDataset):
    """Every aligned square face image under ``root`` (recursively), resized to ``size``.

    Landmarks come from ``NAME.npy`` / ``NAME.txt`` (image pixels) when present; otherwise, when the
    requested keys need them, they are detected once on the resized face and cached under
    ``cache_dir`` (default ``root/.facerestore_cache``). A parsing map comes from
    ``NAME_parsing.png`` when present, else from the landmarks. Other arguments: :class:`FaceDataset`.
    """

    def __init__(self, root: str | os.PathLike, size: int = 128, preset: str | None = "fish_x8",
                 keys: Iterable[str] = ("lr", "hr"), seed: int = 0, flip: float = 0.0,
                 preset_options: Mapping | None = None, *, detector: FaceDetector | None = None,
                 cache_dir: str | os.PathLike | None = None):
        super().__init__(size, preset, keys, seed, flip, preset_options)
        self.root = Path(root)
        self.files = list_images(self.root)
        if not self.files:
            raise ImageReadError(f"no face images ({', '.join(sorted(READ_EXTENSIONS))}) in the folder", self.root)
        self.cache = LandmarkCache(self.root, cache_dir, detector)

    def __len__(self) -> int:
        return len(self.files)

    def record(self, index: int) -> FaceRecord:
        path = self.files[index]
        image = load_rgb(path)
        hr = resize_face(image, self.size, path)
        parsing = None
        if self.wants_parsing() and parsing_path(path).is_file():
            labels, _ = read_image(parsing_path(path))
            parsing = resize_labels(check_parsing(labels, image.shape[:2], parsing_path(path)), self.size)
        landmarks = None
        if self.wants_landmarks(parsing is not None):
            landmark_file = next((p for p in landmark_candidates(path) if p.is_file()), None)
            landmarks = aligned_face_landmarks(
                None if landmark_file is None else read_landmarks(landmark_file), image.shape[0], hr, self.size,
                self.cache, f"{self.size}/{path.relative_to(self.root).as_posix()}", path)
        return FaceRecord(hr, landmarks, parsing)
