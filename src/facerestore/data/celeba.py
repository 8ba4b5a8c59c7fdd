"""CelebA (Liu et al. 2015) in the wild: ``img_celeba/*.jpg`` with the 5-point file
``list_landmarks_celeba.txt``, cropped to HR squares as in the DIC protocol that FishFSRNet §IV-A and
UFVNet §IV-A follow; the official split from ``list_eval_partition.txt`` when present."""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Literal

from facerestore.data.base import DATA_SOURCES, FaceRecord
from facerestore.data.formats import find_file, read_celeba_landmarks, read_celeba_partition
from facerestore.data.photo_faces import PhotoFaces
from facerestore.data.photos import crop_square, load_rgb, square_from_points
from facerestore.errors import ConfigError
from facerestore.face.detect import FaceDetector

LANDMARK_FILE = "list_landmarks_celeba.txt"
PARTITION_FILE = "list_eval_partition.txt"
SPLITS = {"train": 0, "val": 1, "test": 2}


@DATA_SOURCES.register("celeba")
class CelebAFaces(PhotoFaces, title="CelebA", splits=SPLITS, cache_prefix="celeba_"):
    """CelebA faces of ``split`` ("train", "val", "test" by the partition file, or "all"),
    cropped to ``size``.

    The crop is the axis-aligned square of :func:`facerestore.data.photos.square_from_points` from the
    file's eye and mouth-corner points, resized to ``size`` (128 in the papers). The 68 landmarks the
    priors need are detected once on the crop and cached (``cache_dir``, default
    ``root/.facerestore_cache``). Looks for ``list_landmarks_celeba.txt`` in ``root`` or ``root/Anno``,
    ``list_eval_partition.txt`` in ``root`` or ``root/Eval``, images in ``root/img_celeba`` or
    ``root/Img/img_celeba``. Other arguments: :class:`PhotoFaces`.
    """

    def __init__(self, root: str | os.PathLike, split: Literal["train", "val", "test", "all"] = "train",
                 size: int = 128, preset: str | None = "fish_x8", keys: Iterable[str] = ("lr", "hr"),
                 seed: int = 0, flip: float = 0.0, preset_options: Mapping | None = None, *,
                 detector: FaceDetector | None = None, cache_dir: str | os.PathLike | None = None):
        super().__init__(root, size, preset, keys, seed, flip, preset_options, split, detector, cache_dir)
        self.points = read_celeba_landmarks(find_file(self.root, (LANDMARK_FILE, f"Anno/{LANDMARK_FILE}"),
                                                      "CelebA landmark file"))
        self.images = find_file(self.root, ("img_celeba", "Img/img_celeba"), "CelebA image folder")
        names = sorted(self.points)
        if split != "all":
            partition_file = find_file(self.root, (PARTITION_FILE, f"Eval/{PARTITION_FILE}"),
                                       f"CelebA partition file (needed for split {split!r})")
            partition = read_celeba_partition(partition_file)
            unlisted = [name for name in names if name not in partition]
            if unlisted:
                raise ConfigError(f"{len(unlisted)} image(s) of the landmark file are not in the partition file, "
                                  f"e.g. {unlisted[0]}", partition_file)
            names = [name for name in names if partition[name] == SPLITS[split]]
        self.names = names

    def __len__(self) -> int:
        return len(self.names)

    def record(self, index: int) -> FaceRecord:
        name = self.names[index]
        path = self.images / name
        points = self.points[name]
        centre, side = square_from_points(points[:2], points[3:].mean(axis=0))
        hr, _ = crop_square(load_rgb(path), centre, side, self.size)
        landmarks = self.landmarks_for(path, hr, key=name) if self.wants_landmarks() else None
        return FaceRecord(hr, landmarks)
