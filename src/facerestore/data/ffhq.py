"""FFHQ (Karras et al. 2019): the aligned images (``images1024x1024/**.png``, or any folder of them)
resized to the HR size, with the 68 landmarks and training/validation split of
``ffhq-dataset-v2.json`` when it is present."""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal

from facerestore.data.base import DATA_SOURCES, FaceRecord
from facerestore.data.formats import find_file, list_images, read_ffhq_metadata
from facerestore.data.photo_faces import PhotoFaces
from facerestore.errors import ConfigError
from facerestore.face.detect import FaceDetector

METADATA_FILE = "ffhq-dataset-v2.json"
SPLITS = {"train": "training", "val": "validation"}


@DATA_SOURCES.register("ffhq")
class FFHQFaces(PhotoFaces, title="FFHQ", splits=SPLITS, cache_prefix="ffhq_"):
    """FFHQ faces of ``split`` ("train" / "val" by the metadata's categories, or "all"), resized to
    ``size`` (MATLAB bicubic).

    Images are every image file under ``root`` (recursively); the metadata file, looked for in
    ``root``, gives each file's landmarks (matched by file name); without it the landmarks are
    detected once and cached as in :class:`facerestore.data.FolderFaces`. Other arguments:
    :class:`PhotoFaces`.
    """

    def __init__(self, root: str | os.PathLike, split: Literal["train", "val", "all"] = "all",
                 size: int = 128, preset: str | None = "fish_x8", keys: Iterable[str] = ("lr", "hr"),
                 seed: int = 0, flip: float = 0.0, preset_options: Mapping | None = None, *,
                 detector: FaceDetector | None = None, cache_dir: str | os.PathLike | None = None):
        super().__init__(root, size, preset, keys, seed, flip, preset_options, split, detector, cache_dir)
        metadata_file = find_file(self.root, (METADATA_FILE,), "FFHQ metadata", required=split != "all")
        metadata = {} if metadata_file is None else {
            Path(file_path).name: entry for file_path, entry in read_ffhq_metadata(metadata_file).items()}
        self.files = [path for path in list_images(self.root)
                      if split == "all" or metadata.get(path.name, (None, None))[1] == SPLITS[split]]
        if not self.files:
            raise ConfigError(f"no FFHQ images for split {split!r} under the folder", self.root)
        self.landmarks = {name: points for name, (points, _) in metadata.items()}

    def __len__(self) -> int:
        return len(self.files)

    def record(self, index: int) -> FaceRecord:
        path = self.files[index]
        hr, side = self.load_aligned(path)
        if not self.wants_landmarks():
            return FaceRecord(hr)
        return FaceRecord(hr, self.landmarks_for(path, hr, self.landmarks.get(path.name), side))
