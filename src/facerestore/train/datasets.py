"""Training data from a recipe's data spec, in a resumable order.

A data spec is a mapping ``{source: synthetic|folder|celeba|helen|ffhq|identity|photos|real_val, cache: bool, ...}``
(the names of :data:`facerestore.data.sources.DATA_SOURCES`); the other keys are the source class's keyword
arguments (:mod:`facerestore.data`), ``keys`` come from the objective.
``{source: mix, parts: [spec, ...]}`` concatenates data sets (each part's ``count`` sets its share).

Resumability (an interrupted run resumed must give the same weights as an uninterrupted one): the order and
the augmentation are pure functions of (seed, stage, iteration). Iteration ``t`` of a stage takes positions
``t·B … (t+1)·B − 1`` of an endless stream made of one permutation per epoch, the permutation of epoch ``e``
seeded by (seed, stage, e); under DDP rank ``r`` takes its contiguous slice of the global batch (the role of
``DistributedSampler``, which cannot restart in the middle of an epoch). The sample at position ``p`` is
built from its record with an RNG seeded by (dataset seed, epoch, index), so each epoch draws new
degradations and flips (:func:`facerestore.data.build_sample`) whatever the worker count.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from facerestore.data.base import FaceDataset, FaceRecord
from facerestore.data.mix import MixedSources
from facerestore.data.sample import crop_sample
from facerestore.data.sources import DATA_SOURCES
from facerestore.errors import ConfigError

_EPOCH_STREAM = 0x45504F43


def build_source(spec: Mapping, keys: frozenset[str]) -> FaceDataset:
    """The data set of ``spec`` (see the module docstring) giving ``keys``: an unknown source, or an option its
    class does not take, is a one-line :class:`ConfigError`."""
    options = {k: v for k, v in spec.items() if k not in ("source", "cache", "batch_size", "crop")}
    source = spec.get("source")
    if source == "mix":
        parts = spec.get("parts")
        if not isinstance(parts, list) or not parts or set(options) - {"parts"}:
            raise ConfigError("data source mix takes one key, parts: a list of data specs (their counts set the mix)")
        return MixedSources([build_source(part, keys) for part in parts])
    if source not in DATA_SOURCES.names():
        raise ConfigError(f"data source must be one of {DATA_SOURCES.names() + ['mix']}, got {source!r}")
    if "keys" in options:
        raise ConfigError(f"data source {source}: keys come from the method's objective, not from the data spec")
    return DATA_SOURCES.build(source, keys=sorted(keys), **options)


class EpochSamples(Dataset):
    """``dataset[(index, epoch)]``: sample ``index`` of ``source`` with epoch-dependent degradation/flip.

    ``cache`` keeps the records (HR image, landmarks, parsing) in memory: rendering a synthetic face costs
    about 40 ms on this machine, more than a small network's step. ``crop`` trains on random ``crop``×``crop``
    patches of the degraded sample (:func:`facerestore.data.sample.crop_sample`).
    """

    def __init__(self, source: FaceDataset, cache: bool = False, crop: int | None = None):
        self.source = source
        self.cache: dict[int, FaceRecord] | None = {} if cache else None
        self.crop = crop

    def __len__(self) -> int:
        return len(self.source)

    def _record(self, index: int) -> FaceRecord:
        if self.cache is None:
            return self.source.record(index)
        if index not in self.cache:
            self.cache[index] = self.source.record(index)
        return self.cache[index]

    def __getitem__(self, item: tuple[int, int]) -> dict:
        index, epoch = item
        rng = np.random.default_rng([self.source.seed & 0xFFFFFFFF, epoch, index, _EPOCH_STREAM])
        sample = self.source.sample(index, rng, self._record(index))
        return sample if self.crop is None else crop_sample(sample, self.crop, rng)


def epoch_permutation(length: int, seed: int, stage: int, epoch: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(int(np.random.SeedSequence([seed, stage, epoch]).generate_state(1)[0]))
    return torch.randperm(length, generator=generator)


class ResumableBatches(Sampler[list[tuple[int, int]]]):
    """Batches of ``(index, epoch)`` for iterations ``start … stop − 1`` of a stage; ``batch_size`` per rank."""

    def __init__(self, length: int, batch_size: int, seed: int, stage: int, start: int, stop: int,
                 rank: int = 0, world_size: int = 1):
        if length < 1:
            raise ConfigError("the training data set is empty")
        self.length, self.batch_size, self.seed, self.stage = length, batch_size, seed, stage
        self.start, self.stop, self.rank, self.world_size = start, stop, rank, world_size
        self._perms: dict[int, torch.Tensor] = {}

    def __len__(self) -> int:
        return max(0, self.stop - self.start)

    def batch(self, iteration: int) -> list[tuple[int, int]]:
        first = (iteration * self.world_size + self.rank) * self.batch_size
        items = []
        for position in range(first, first + self.batch_size):
            epoch, offset = divmod(position, self.length)
            if epoch not in self._perms:
                self._perms = {epoch: epoch_permutation(self.length, self.seed, self.stage, epoch)}
            items.append((int(self._perms[epoch][offset]), epoch))
        return items

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        return (self.batch(t) for t in range(self.start, self.stop))
