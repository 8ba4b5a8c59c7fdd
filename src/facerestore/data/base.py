"""The common shape of every data set: a source gives one :class:`FaceRecord` per index, and
:class:`FaceDataset` turns it into the sample dict of :mod:`facerestore.data.sample`. :data:`DATA_SOURCES`
names the sources a recipe's data spec can build (filled by the source modules; import
:mod:`facerestore.data.sources` for all of them)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from torch.utils.data import Dataset

from facerestore.data.sample import build_sample, check_keys, needs_landmarks, sample_rng
from facerestore.errors import ConfigError
from facerestore.registry import Registry

DATA_SOURCES: Registry[type[FaceDataset]] = Registry("data source")


@dataclass
class FaceRecord:
    """One HR face as a source knows it: ``hr`` HxWx3 float32 [0, 1], (68, 2) ``landmarks`` in its
    pixels, ``parsing`` HxW int64, and for identity sources ``identity`` and the GFRNet ``guide``."""

    hr: np.ndarray
    landmarks: np.ndarray | None = None
    parsing: np.ndarray | None = None
    identity: int | None = None
    guide: np.ndarray | None = None
    guide_landmarks: np.ndarray | None = None


class FaceDataset(Dataset):
    """Base of the data sets. Subclasses implement ``__len__`` and ``record(index)``, and list in
    ``provides`` the keys beyond images and priors they can give (``identity``, ``guide``...).

    ``keys``: the sample keys the method needs (only those priors are computed); ``preset``: a
    degradation preset name (None: no degraded keys); ``seed``: sample ``i`` is drawn from
    :func:`sample_rng` ``(seed, i)`` whatever the worker or order; ``flip``: probability of a
    horizontal flip (landmarks and parsing follow); ``preset_options``: passed to the preset
    (e.g. ``{"rate_set": "MR3"}`` for ``ufv_multires``, ``{"scales": (8,)}``).
    """

    provides: frozenset[str] = frozenset()

    def __init__(self, size: int, preset: str | None, keys: Iterable[str], seed: int = 0, flip: float = 0.0,
                 preset_options: Mapping | None = None):
        if size <= 0:
            raise ConfigError(f"size must be positive, got {size}")
        if not 0.0 <= flip <= 1.0:
            raise ConfigError(f"flip is a probability in [0, 1], got {flip}")
        self.size = int(size)
        self.preset = preset
        self.keys = check_keys(keys, preset, self.provides)
        self.seed = int(seed)
        self.flip = float(flip)
        self.preset_options = dict(preset_options or {})

    def wants_landmarks(self, has_parsing: bool = False) -> bool:
        """Whether the requested keys need a face's landmarks (given whether it has a parsing map)."""
        return needs_landmarks(self.keys, self.preset, has_parsing)

    def wants_parsing(self) -> bool:
        return bool(self.keys & {"parsing", "parsing_skin"})

    def __len__(self) -> int:
        raise NotImplementedError

    def record(self, index: int) -> FaceRecord:
        raise NotImplementedError

    def sample(self, index: int, rng: np.random.Generator, rec: FaceRecord | None = None) -> dict:
        """The sample dict of record ``index`` (``rec`` when the caller holds it already) drawn with ``rng``."""
        rec = self.record(index) if rec is None else rec
        return build_sample(rec.hr, rec.landmarks, rec.parsing, self.keys, self.preset, rng,
                            preset_options=self.preset_options, flip=self.flip,
                            guide=rec.guide, guide_landmarks=rec.guide_landmarks, identity=rec.identity)

    def __getitem__(self, index: int) -> dict:
        length = len(self)
        if not -length <= index < length:
            raise IndexError(f"index {index} out of range for a data set of {length}")
        index %= length
        return self.sample(index, sample_rng(self.seed, index))
