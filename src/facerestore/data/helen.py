"""Helen (Le et al. 2012): images with 194-point annotation files (``annotation/*.txt``), cropped
to HR squares like CelebA (the DIC protocol of FishFSRNet §IV-A / UFVNet §IV-A); the official split
lists ``trainnames.txt`` / ``testnames.txt`` when present. Helen crops already made with
``facerestore prepare`` are read with :class:`facerestore.data.FolderFaces`."""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal

import numpy as np

from facerestore.data.base import DATA_SOURCES, FaceRecord
from facerestore.data.formats import AnnotationError, find_file, list_images, read_helen_annotation
from facerestore.data.photo_faces import PhotoFaces
from facerestore.data.photos import crop_square, load_rgb, square_from_points
from facerestore.face.detect import FaceDetector

# Helen's 194 points: jaw 0-40, nose 41-57, outer lips 58-85, inner lips 86-113, eyes 114-133 and
# 134-153, brows 154-173 and 174-193.
EYES = (slice(114, 134), slice(134, 154))
OUTER_LIPS = slice(58, 86)
SPLIT_FILES = {"train": "trainnames.txt", "test": "testnames.txt"}


def helen_square(points: np.ndarray) -> tuple[np.ndarray, float]:
    """The face square of a 194-point annotation: eye centres (image-left first) and lip centre."""
    eyes = np.array(sorted((points[group].mean(axis=0) for group in EYES), key=lambda p: p[0]))
    return square_from_points(eyes, points[OUTER_LIPS].mean(axis=0))


@DATA_SOURCES.register("helen")
class HelenFaces(PhotoFaces, title="Helen", splits=SPLIT_FILES, cache_prefix="helen_"):
    """Helen faces of ``split`` ("train", "test" from the name lists, or "all"), cropped to ``size``.

    ``root`` holds ``annotation/`` and the images anywhere below it (``train_1`` ... ``test``), found
    by name. The 68 landmarks are detected once on the crop and cached, as for
    :class:`facerestore.data.CelebAFaces`. Other arguments: :class:`PhotoFaces`.
    """

    def __init__(self, root: str | os.PathLike, split: Literal["train", "test", "all"] = "train",
                 size: int = 128, preset: str | None = "fish_x8", keys: Iterable[str] = ("lr", "hr"),
                 seed: int = 0, flip: float = 0.0, preset_options: Mapping | None = None, *,
                 detector: FaceDetector | None = None, cache_dir: str | os.PathLike | None = None):
        super().__init__(root, size, preset, keys, seed, flip, preset_options, split, detector, cache_dir)
        annotations = find_file(self.root, ("annotation",), "Helen annotation folder")
        images = {path.stem: path for path in list_images(self.root)}
        self.items: list[tuple[Path, np.ndarray]] = []
        wanted = None
        if split != "all":
            names_file = find_file(self.root, (SPLIT_FILES[split],), f"Helen name list for split {split!r}")
            wanted = {line.strip() for line in names_file.read_text(encoding="utf-8").splitlines() if line.strip()}
        for annotation in sorted(annotations.glob("*.txt")):
            name, points = read_helen_annotation(annotation)
            if wanted is not None and name not in wanted:
                continue
            if name not in images:
                raise AnnotationError(f"names image {name!r}, which is not under {self.root}", annotation, 1)
            self.items.append((images[name], points))

    def __len__(self) -> int:
        return len(self.items)

    def record(self, index: int) -> FaceRecord:
        path, points = self.items[index]
        centre, side = helen_square(points)
        hr, _ = crop_square(load_rgb(path), centre, side, self.size)
        landmarks = self.landmarks_for(path, hr, key=path.stem) if self.wants_landmarks() else None
        return FaceRecord(hr, landmarks)
