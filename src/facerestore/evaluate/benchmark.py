"""What is evaluated: the named synthetic benchmarks (one per paper protocol) and folder specs.

A benchmark fixes everything a number depends on: the HR size, the faces (the embedded synthetic world's
``split="test"``, whose renderer seed is derived from :data:`BENCHMARK_SEED` and so gives people no
training recipe draws: training uses ``split="train"``), the degradation preset(s) and the per-sample
seeds (:func:`facerestore.data.sample_rng`). Each *condition* is one preset with fixed options, evaluated on
the same ``count`` HR faces, so per-scale rows (UFVNet Tab. II, FishFSRNet Tab. I) compare like with like.

GFRNet (Li et al. 2018) has three pair benchmarks: ``synthetic-gfrnet`` (Eq. 4 with s drawn from 1:0.1:8, the
§3.2 training distribution) and ``synthetic-gfrnet-x4`` / ``synthetic-gfrnet-x8`` (Eq. 4 with s fixed: Table 1's two
columns, §4.3 "only two scale factors, i.e., 4 and 8, are considered for the test images"; our reading: ϱ, σ and
q are still drawn from their §3.2 sets, the paper does not say otherwise). ``BENCHMARK:random-guide`` (e.g.
``synthetic-gfrnet-x8:random-guide``) is the same benchmark with every face given the guide of another person
(Table 1 / Fig. 6(h) Ours(R), §4.5): see :class:`OtherPersonsGuides`.

``SPEC`` (the CLI's ``--data``) is a benchmark name, ``BENCHMARK:random-guide`` (GFRNet pair benchmarks),
``real-val[:CONDITION[,...]]`` (the real validation faces
of :mod:`facerestore.data.real_val`, aligned 128 crops, under bicubic x4, x8 and GFRNet's Eq. 4 ``gfrnet_general``;
``real-val:x4`` only the x4 condition, for a one-scale method) or
``folder:PATH[:PRESET[,PRESET...]]`` (aligned HR faces; default preset ``fish_x8``, the most common x8 protocol).
"""
from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from facerestore.degrade import PRESETS
from facerestore.errors import ConfigError

if TYPE_CHECKING:  # the data sources are imported when faces are made, not to list the benchmarks
    from facerestore.data.base import FaceDataset, FaceRecord
    from facerestore.metrics import PCAIdentity

BENCHMARK_SEED = 2026
DEFAULT_COUNT = 100
FOLDER_PREFIX = "folder:"
RANDOM_GUIDE = ":random-guide"
FOLDER_DEFAULT_PRESET = "fish_x8"
REAL_VAL = "real-val"
REAL_VAL_SIZE = 128
PCA_TRAINING_FACES = 200
PCA_TRAINING_SEED = 0


@dataclass(frozen=True)
class Condition:
    """One degradation setting: ``preset`` with ``options`` (e.g. ``{"scales": (8,)}``), shown as ``label``."""

    label: str
    preset: str
    options: Mapping = field(default_factory=dict)


@dataclass(frozen=True)
class EvalData:
    """Faces and conditions of one evaluation. ``root`` None: the synthetic test split; else a folder of
    aligned faces. ``count`` None: every face of the folder. ``pairs``: GFRNet guide/target pairs (the HR
    faces differ from single renders, so every method, bicubic included, is scored on the pairs' targets);
    ``random_guide``: each target gets another person's guide (:class:`OtherPersonsGuides`, Ours(R))."""

    name: str
    protocol: str
    size: int
    conditions: tuple[Condition, ...]
    count: int | None = DEFAULT_COUNT
    seed: int = BENCHMARK_SEED
    pairs: bool = False
    root: Path | None = None
    random_guide: bool = False

    def keys(self, required: Iterable[str]) -> frozenset[str]:
        """The sample keys to build for a method reading ``required`` (``lr`` and ``hr`` for the grid and metrics)."""
        return frozenset(required) | {"lr", "hr"} | ({"guide"} if self.pairs else set())

    def dataset(self, condition: Condition, keys: Iterable[str]) -> FaceDataset:
        """The faces of this evaluation under ``condition``, giving ``keys``."""
        from facerestore.data import FolderFaces, SyntheticFaces

        if self.root is None:
            faces = SyntheticFaces(self.size, self.count, self.seed, condition.preset, keys, split="test",
                                   preset_options=condition.options)
            return OtherPersonsGuides(faces) if self.random_guide else faces
        return FolderFaces(self.root, self.size, condition.preset, keys, self.seed, preset_options=condition.options)

    def with_random_guide(self) -> "EvalData":
        """The same pairs, each face given another person's guide (GFRNet §4.5 Ours(R)): ``NAME:random-guide``."""
        if not self.pairs or self.root is not None:
            raise ConfigError(f"--data {self.name}{RANDOM_GUIDE}: random guides need a synthetic GFRNet pair benchmark "
                              f"({', '.join(b.name for b in BENCHMARKS.values() if b.pairs)})")
        if self.random_guide:
            return self
        return replace(self, name=self.name + RANDOM_GUIDE, random_guide=True,
                       protocol=self.protocol + "; each face with the guide of another person (Ours(R), §4.5)")

    def with_scales(self, scales: Sequence[float]) -> "EvalData":
        """The same faces with one condition per (preset, scale): ``scales`` replace the presets' own factors."""
        if not scales:
            return self
        if any(not s > 0 for s in scales):
            raise ConfigError(f"--scales must be positive downscale factors (HR / LR), got {list(scales)}")
        presets = list(dict.fromkeys(c.preset for c in self.conditions))
        conditions = tuple(
            Condition(f"{preset} x{scale:g}" if len(presets) > 1 else f"x{scale:g}", preset,
                      {**_base_options(self, preset), "scales": (float(scale),)})
            for preset, scale in itertools.product(presets, scales))
        return replace(self, conditions=conditions)

    def with_count(self, count: int | None) -> "EvalData":
        if count is None:
            return self
        if count < 1:
            raise ConfigError(f"--count must be >= 1, got {count}")
        return replace(self, count=int(count))


class OtherPersonsGuides:
    """GFRNet Ours(R) at test time (§4.5, Table 1, Fig. 6(h): "a random I^g with different identity to I^d"):
    the samples of ``faces`` (synthetic pairs) with the guide and guide landmarks of pair ``i + 1`` given to
    target ``i``. Deterministic: in the test split every pair is another person (identity = index), and pair
    ``i + 1`` exists for any ``--count``. Each sample keeps its (seed, index) draws, so degraded inputs and
    targets are those of the true-guide benchmark, face for face; only the guide differs."""

    def __init__(self, faces: FaceDataset):
        self.faces = faces
        self._last: tuple[int, FaceRecord] | None = None  # the record read last (the runner reads in order)

    def __len__(self) -> int:
        return len(self.faces)

    def _record(self, index: int) -> FaceRecord:
        if self._last is None or self._last[0] != index:
            self._last = (index, self.faces.record(index))
        return self._last[1]

    def __getitem__(self, index: int) -> dict:
        from facerestore.data.sample import sample_rng

        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for a data set of {len(self)}")
        record = self._record(index)
        other = self._record(index + 1)
        if other.identity == record.identity:
            raise ConfigError(f"random guide: pairs {index} and {index + 1} are the same person")
        record = replace(record, guide=other.guide, guide_landmarks=other.guide_landmarks)
        return self.faces.sample(index, sample_rng(self.faces.seed, index), rec=record)


def _base_options(data: EvalData, preset: str) -> dict:
    """Options of ``preset``'s first condition without its scale choice (``scales`` / ``rate_set``)."""
    options = next(c.options for c in data.conditions if c.preset == preset)
    return {k: v for k, v in options.items() if k not in ("scales", "rate_set")}


def _fish(factor: int) -> EvalData:
    return EvalData(f"synthetic-fish-x{factor}", f"Wang et al. (FishFSRNet) §IV-B: bicubic x{factor}, 128 -> "
                    f"{128 // factor}", 128, (Condition(f"x{factor}", f"fish_x{factor}"),))


def _multires(rate_set: str, sixteenths: tuple[int, ...]) -> EvalData:
    """UFVNet §IV-A test set ``rate_set``: each face at every rate k/16 of the set, one row per rate (and the
    ``all`` row, the paper's one mean): MR8 k = 1..8 (LR 8..64 px), MR7 k = 2..8, MR3 k = 2, 4, 8."""
    conditions = tuple(Condition(f"{k}/16", "ufv_multires", {"scales": (16 / k,)}) for k in sixteenths)
    rates = ", ".join(f"{k}/16" for k in sixteenths)
    return EvalData(f"synthetic-{rate_set.lower()}", f"Peng et al. (UFVNet) §IV-A {rate_set}: bicubic to r x 128, "
                    f"r in {{{rates}}}, bicubic up", 128, conditions)


def _gfrnet(factor: int) -> EvalData:
    """GFRNet Table 1 column ×``factor`` (§4.3): Eq. 4 with s = ``factor``; the same faces, guides and per-face
    draws as ``synthetic-gfrnet --scales factor``."""
    return EvalData(f"synthetic-gfrnet-x{factor}",
                    f"Li et al. 2018 (GFRNet) Table 1 x{factor}: Eq. 4 with s = {factor} (blur, noise, JPEG drawn as "
                    "§3.2); guide pairs", 256,
                    (Condition(f"x{factor}", "gfrnet_general", {"scales": (float(factor),)}),), pairs=True)


BENCHMARKS: Mapping[str, EvalData] = MappingProxyType({b.name: b for b in (
    _fish(4), _fish(8), _fish(16), _multires("MR8", tuple(range(1, 9))), _multires("MR7", tuple(range(2, 9))),
    _multires("MR3", (2, 4, 8)),
    EvalData("synthetic-song-sr", "Song et al. 2019 §4: Gaussian blur sigma 1.4-1.7, bicubic x4", 128,
             (Condition("song_sr", "song_sr"),)),
    EvalData("synthetic-song-deblur", "Song et al. 2019 §4: bank motion kernel, bicubic x4", 128,
             (Condition("song_deblur", "song_deblur"),)),
    EvalData("synthetic-gfrnet", "Li et al. 2018 (GFRNet) §3.2 Eq. 4: blur, down 1-8, noise, JPEG; guide pairs",
             256, (Condition("gfrnet_general", "gfrnet_general"),), pairs=True),
    _gfrnet(4), _gfrnet(8),
    EvalData("synthetic-yun-x8", "Yun & Park §4.1: motion-flow blur of the face, bicubic x8 (256 -> 32)", 256,
             (Condition("x8", "yun_x8"),)),
)})


REAL_VAL_CONDITIONS = (Condition("x4", "fish_x4"), Condition("x8", "fish_x8"),
                       Condition("gfrnet_general", "gfrnet_general"))


def real_val_data(labels: Sequence[str] | None = None) -> EvalData:
    """The real validation faces' 128 crops under :data:`REAL_VAL_CONDITIONS` (``labels``: only those, e.g.
    ``("x4",)`` for a one-scale method); :class:`ConfigError` naming the command that fetches them when they are
    absent, or the valid labels."""
    from facerestore.data.real_val import aligned_folder

    known = {c.label: c for c in REAL_VAL_CONDITIONS}
    unknown = [label for label in labels or () if label not in known]
    if unknown:
        raise ConfigError(f"--data {REAL_VAL}: unknown condition(s) {unknown}; choose from {list(known)}")
    conditions = REAL_VAL_CONDITIONS if not labels else tuple(known[label] for label in dict.fromkeys(labels))
    return EvalData(REAL_VAL, "real photos shipped by Python packages (validation only), aligned 128 crops: "
                    + ", ".join(c.label for c in conditions), REAL_VAL_SIZE, conditions, count=None,
                    root=aligned_folder(REAL_VAL_SIZE))


def list_benchmarks() -> list[str]:
    """Benchmark names, grouped by paper."""
    return list(BENCHMARKS)


def parse_spec(spec: str, size: int | None = None) -> EvalData:
    """The :class:`EvalData` of a ``--data`` SPEC (see the module docstring); ``size`` is the HR size of a
    folder's faces (default 128; a benchmark's size is fixed). Raises :class:`ConfigError` on a bad SPEC."""
    if spec.endswith(RANDOM_GUIDE) and spec[:-len(RANDOM_GUIDE)] in BENCHMARKS:
        return parse_spec(spec[:-len(RANDOM_GUIDE)], size).with_random_guide()
    if spec in BENCHMARKS:
        data = BENCHMARKS[spec]
        if size is not None and size != data.size:
            raise ConfigError(f"benchmark {spec} has HR size {data.size}; --size {size} applies to folder specs only")
        return data
    if spec == REAL_VAL or spec.startswith(REAL_VAL + ":"):
        if size is not None and size != REAL_VAL_SIZE:
            raise ConfigError(f"{REAL_VAL} has HR size {REAL_VAL_SIZE}; for the 256 crops use "
                              f"--data {FOLDER_PREFIX}$FACERESTORE_HOME/real_val/aligned256:PRESET")
        return real_val_data([label for label in spec[len(REAL_VAL) + 1:].split(",") if label])
    if not spec.startswith(FOLDER_PREFIX):
        raise ConfigError(f"--data {spec!r}: expected a benchmark name ({', '.join(list_benchmarks())}), "
                          f"{REAL_VAL} or {FOLDER_PREFIX}PATH[:PRESET[,PRESET...]]")
    body = spec[len(FOLDER_PREFIX):]
    path, colon, presets_text = body.rpartition(":")
    if not colon:
        path, presets_text = body, ""
    if not path:
        raise ConfigError(f"--data {spec!r}: the folder path is empty ({FOLDER_PREFIX}PATH[:PRESET])")
    presets = [p for p in presets_text.split(",") if p] or [FOLDER_DEFAULT_PRESET]
    unknown = [p for p in presets if p not in PRESETS]
    if unknown:
        raise ConfigError(f"--data {spec!r}: unknown degradation preset(s) {unknown}; choose from {sorted(PRESETS)}")
    conditions = tuple(Condition(p, p) for p in dict.fromkeys(presets))
    return EvalData(spec, "aligned faces from a folder", size or 128, conditions, count=None, root=Path(path))


def fit_identity_pca(data: EvalData, faces: int = PCA_TRAINING_FACES) -> PCAIdentity:
    """Song et al. §4.2 identity measure for a synthetic benchmark: a :class:`PCAIdentity` fit on ``faces``
    HR training faces (``split="train"``, seed 0 as the recipes) of the benchmark's size, never test faces."""
    from facerestore.data import SyntheticFaces
    from facerestore.metrics import PCAIdentity

    if data.root is not None:
        raise ConfigError(f"--identity pca on {data.name} needs --pca FILE (a PCA fit on that data's training faces)")
    train = SyntheticFaces(data.size, faces, PCA_TRAINING_SEED, preset=None, keys=("hr",), split="train")
    return PCAIdentity.fit([train.record(i).hr for i in range(faces)])
