"""Several data sets as one (``data: {source: mix, parts: [...]}``): e.g. synthetic faces with natural-photo
patches (:class:`facerestore.data.natural_photos.PhotoPatches`); each part keeps its own preset, seed and
flip, and its length sets its share of an epoch."""
from __future__ import annotations

import bisect
from collections.abc import Sequence

import numpy as np

from facerestore.data.base import FaceDataset, FaceRecord
from facerestore.errors import ConfigError


class MixedSources(FaceDataset):
    """Index ``i`` is index ``i − offset`` of the part it falls in (the parts in order)."""

    def __init__(self, parts: Sequence[FaceDataset]):
        if not parts:
            raise ConfigError("a mix needs at least one part")
        keys = {part.keys for part in parts}
        if len(keys) != 1:
            raise ConfigError(f"the parts of a mix give different sample keys: {[sorted(k) for k in keys]}")
        first = parts[0]
        super().__init__(first.size, first.preset, first.keys, first.seed, first.flip, first.preset_options)
        self.parts = tuple(parts)
        self.offsets = np.cumsum([0] + [len(part) for part in parts]).tolist()

    def __len__(self) -> int:
        return self.offsets[-1]

    def locate(self, index: int) -> tuple[FaceDataset, int]:
        part = bisect.bisect_right(self.offsets, index) - 1
        return self.parts[part], index - self.offsets[part]

    def record(self, index: int) -> FaceRecord:
        part, local = self.locate(index)
        return part.record(local)

    def sample(self, index: int, rng: np.random.Generator, rec: FaceRecord | None = None) -> dict:
        part, local = self.locate(index)
        return part.sample(local, rng, rec)
