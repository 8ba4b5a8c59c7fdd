"""Samples from the embedded synthetic face world (:mod:`facerestore.synth`): exact landmarks and
parsing maps, identities, and GFRNet guide/target pairs, with no files at all."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

import numpy as np

from facerestore.data.base import DATA_SOURCES, FaceDataset, FaceRecord
from facerestore.errors import ConfigError
from facerestore.synth import SIZES, identity_of, render_face, render_pair

SPLITS = ("train", "test")


def split_seed(seed: int, split: str) -> int:
    """The renderer seed of a split: ``seed`` itself for "train", a derived one for "test" (other
    people, other photos; with ``identities`` the test people are new ones too)."""
    if split not in SPLITS:
        raise ConfigError(f"split must be one of {SPLITS}, got {split!r}")
    if split == "train":
        return int(seed)
    return int(np.random.SeedSequence([seed & 0xFFFFFFFF, 1]).generate_state(1)[0])


def quantise(image: np.ndarray) -> np.ndarray:
    """Round to 8-bit levels, as a stored data set is: a synthetic face saved as PNG and read back
    (:class:`FolderFaces`) then gives exactly the same sample."""
    return (np.rint(np.clip(image, 0.0, 1.0) * 255.0) / 255.0).astype(np.float32)


@DATA_SOURCES.register("synthetic")
class SyntheticFaces(FaceDataset):
    """``count`` rendered faces of ``size`` (128, 256 or 512) from ``seed``.

    ``identities``: number of people the faces are drawn from (None: every face a new person, its
    identity is its index). Asking for ``guide`` / ``guide_landmarks`` makes every sample a GFRNet
    pair (:func:`facerestore.synth.render_pair`, Li et al. §4.1: a frontal, eyes-open guide of the
    same person; pair ``i`` of identity ``identity_of(i)``). HR images are rounded to 8-bit levels
    (:func:`quantise`). Other arguments: :class:`FaceDataset`.
    """

    provides = frozenset({"identity", "guide", "guide_landmarks"})

    def __init__(self, size: int = 128, count: int = 1000, seed: int = 0, preset: str | None = "fish_x8",
                 keys: Iterable[str] = ("lr", "hr"), *, identities: int | None = None,
                 split: Literal["train", "test"] = "train", flip: float = 0.0,
                 preset_options: Mapping | None = None):
        if size not in SIZES:
            raise ConfigError(f"synthetic faces come in sizes {SIZES}, got {size}")
        if count < 0:
            raise ConfigError(f"count must be >= 0, got {count}")
        if identities is not None and identities < 1:
            raise ConfigError(f"identities must be >= 1, got {identities}")
        super().__init__(size, preset, keys, split_seed(seed, split), flip, preset_options)
        self.count = int(count)
        self.identities = identities
        self.split = split
        self.pairs = bool(self.keys & {"guide", "guide_landmarks"})

    def __len__(self) -> int:
        return self.count

    def identity(self, index: int) -> int:
        return index if self.identities is None else identity_of(self.seed, index, self.identities)

    def record(self, index: int) -> FaceRecord:
        person = self.identity(index)
        if self.pairs:
            guide, face = render_pair(self.seed, person, self.size, pair_index=index)
            return FaceRecord(quantise(face.image), face.landmarks, face.parsing, person,
                              quantise(guide.image), guide.landmarks)
        face = render_face(self.seed, index, self.size, identity=person)
        return FaceRecord(quantise(face.image), face.landmarks, face.parsing, person)
