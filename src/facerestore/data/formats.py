"""On-disk formats the data package reads and writes.

* The face-folder layout (what ``facerestore prepare`` writes and :class:`FolderFaces` reads), next to
  each image ``NAME.<ext>``: landmarks ``NAME.npy`` (float32 (68, 2), image pixels) or ``NAME.txt``
  (68 lines ``x y``, spaces or commas), parsing ``NAME_parsing.png`` (8-bit labels of
  :mod:`facerestore.face.labels`), masks ``NAME_masks.npz`` (uint8 0-255: ``components`` 4xHxW,
  Song's brows/eyes/nose/mouth, and ``face`` HxW, Yun's face region).
* The public datasets' annotation files: CelebA ``list_landmarks_celeba.txt`` and
  ``list_eval_partition.txt``, Helen's 194-point ``annotation/*.txt``, FFHQ's ``ffhq-dataset-v2.json``.

Malformed files raise :class:`AnnotationError` naming the file and the line.
"""
from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np

from facerestore.errors import ConfigError, FaceRestoreError, ImageReadError
from facerestore.face.labels import NUM_LANDMARKS, NUM_PARSING_LABELS
from facerestore.io import READ_EXTENSIONS
from facerestore.io.atomic import write_bytes_atomic

PARSING_SUFFIX = "_parsing"
MASKS_SUFFIX = "_masks"
LANDMARK_SUFFIXES = (".npy", ".txt")
AUXILIARY_SUFFIXES = (PARSING_SUFFIX, MASKS_SUFFIX)
HELEN_POINTS = 194


class AnnotationError(FaceRestoreError):
    """An annotation or landmark file is malformed (message: file, line, what was expected)."""

    def __init__(self, message: str, path: str | os.PathLike, line: int | None = None):
        super().__init__(message if line is None else f"line {line}: {message}", path)


# ------------------------------------------------------------------------------ face-folder layout
def landmark_candidates(image_path: Path) -> tuple[Path, ...]:
    """``NAME.npy`` and ``NAME.txt`` next to ``NAME.<ext>``, in the order they are looked for."""
    return tuple(image_path.with_suffix(suffix) for suffix in LANDMARK_SUFFIXES)


def parsing_path(image_path: Path) -> Path:
    return image_path.with_name(image_path.stem + PARSING_SUFFIX + ".png")


def masks_path(image_path: Path) -> Path:
    return image_path.with_name(image_path.stem + MASKS_SUFFIX + ".npz")


def is_auxiliary(path: Path) -> bool:
    """A parsing / mask file of the layout, not a face image."""
    return path.stem.endswith(AUXILIARY_SUFFIXES)


def list_images(root: str | os.PathLike, skip_auxiliary: bool = True) -> list[Path]:
    """Files with an image extension under ``root`` (recursively, hidden folders skipped), sorted by
    relative path; ``skip_auxiliary`` leaves out the layout's parsing / mask files."""
    root = Path(root)
    if not root.is_dir():
        raise ImageReadError("no such folder", root)
    found = []
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if (path.suffix.lower() in READ_EXTENSIONS and not any(p.startswith(".") for p in relative.parts)
                and not (skip_auxiliary and is_auxiliary(path)) and path.is_file()):
            found.append(path)
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def _check_points(points: np.ndarray, count: int, path: Path) -> np.ndarray:
    if points.shape != (count, 2):
        raise AnnotationError(f"expected {count} points (x, y), got an array of shape {points.shape}", path)
    if not np.isfinite(points).all():
        raise AnnotationError("landmarks contain NaN or infinite values", path)
    return points


def read_landmarks(path: str | os.PathLike) -> np.ndarray:
    """A (68, 2) float64 landmark file: ``.npy`` or text (one ``x y`` / ``x, y`` pair per line)."""
    path = Path(path)
    if path.suffix == ".npy":
        try:
            points = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise AnnotationError(f"not a readable .npy array ({exc})", path) from exc
        return _check_points(np.asarray(points, dtype=np.float64), NUM_LANDMARKS, path)
    rows = []
    for number, line in _lines(path):
        rows.append(_numbers(line, 2, path, number))
    return _check_points(np.array(rows, dtype=np.float64).reshape(-1, 2), NUM_LANDMARKS, path)


def layout_landmarks(image_path: Path) -> np.ndarray | None:
    """The landmarks of the layout file beside ``NAME.<ext>`` (the first of :func:`landmark_candidates` that
    exists), None when there is none."""
    found = next((path for path in landmark_candidates(image_path) if path.is_file()), None)
    return None if found is None else read_landmarks(found)


def write_landmarks(path: str | os.PathLike, points: np.ndarray) -> None:
    """Write (68, 2) landmarks as float32 ``.npy``, atomically."""
    stream = io.BytesIO()
    np.save(stream, np.asarray(points, dtype=np.float32))
    write_bytes_atomic(path, stream.getvalue())


def write_masks(path: str | os.PathLike, components: np.ndarray, face: np.ndarray) -> None:
    """Write Song's (4, H, W) component masks and the (H, W) face mask in [0, 1] as uint8 ``.npz``."""
    def to_u8(mask: np.ndarray) -> np.ndarray:
        return np.rint(np.clip(mask, 0.0, 1.0) * 255).astype(np.uint8)

    stream = io.BytesIO()
    np.savez_compressed(stream, components=to_u8(components), face=to_u8(face))
    write_bytes_atomic(path, stream.getvalue())


def check_parsing(labels: np.ndarray, shape: tuple[int, int], path: Path) -> np.ndarray:
    """Validate a parsing map read from ``path`` (2-D, ``shape``, known labels); returns int64."""
    if labels.ndim == 3:
        labels = labels[..., 0]
    if labels.shape != shape:
        raise AnnotationError(f"parsing map is {labels.shape[1]}x{labels.shape[0]}, its image "
                              f"{shape[1]}x{shape[0]}", path)
    if labels.max(initial=0) >= NUM_PARSING_LABELS:
        raise AnnotationError(f"label {int(labels.max())} is not a parsing label (0..{NUM_PARSING_LABELS - 1})",
                              path)
    return labels.astype(np.int64)


# ---------------------------------------------------------------------------- public annotations
def find_file(root: Path, candidates: tuple[str, ...], what: str, required: bool = True) -> Path | None:
    """The first of ``candidates`` (paths relative to ``root``) that exists; ConfigError naming them
    all when ``required`` and none does."""
    for candidate in candidates:
        if (root / candidate).exists():
            return root / candidate
    if required:
        raise ConfigError(f"{what} not found; looked for {', '.join(candidates)}", root)
    return None


def _lines(path: Path):
    """(1-based line number, stripped text) of the non-blank lines of a text file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AnnotationError(f"cannot read annotation file ({exc})", path) from exc
    return [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]


def _numbers(text: str, count: int, path: Path, line: int) -> list[float]:
    fields = text.replace(",", " ").split()
    try:
        values = [float(field) for field in fields]
    except ValueError:
        raise AnnotationError(f"expected {count} numbers, got {text!r}", path, line) from None
    if len(values) != count:
        raise AnnotationError(f"expected {count} numbers, got {len(values)} in {text!r}", path, line)
    return values


def read_celeba_landmarks(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """CelebA ``list_landmarks_celeba.txt``: a count line, a header line, then ``NAME x1 y1 ... x5 y5``.

    Returns ``{name: (5, 2)}`` in our 5-point order (subject's right eye, left eye, nose tip, right and
    left mouth corners): CelebA's "lefteye" / "leftmouth" are the image-left ones, i.e. the subject's
    right, so the file order is kept.
    """
    path = Path(path)
    lines = _lines(path)
    if len(lines) < 2:
        raise AnnotationError("expected a count line and a header line", path)
    (count_line, count_text), (header_line, header) = lines[:2]
    try:
        count = int(count_text)
    except ValueError:
        raise AnnotationError(f"expected the number of images, got {count_text!r}", path, count_line) from None
    if len(header.split()) != 10:
        raise AnnotationError(f"expected the 10 column names (lefteye_x ... rightmouth_y), got {header!r}",
                              path, header_line)
    points = {}
    for number, line in lines[2:]:
        name, rest = (line.split(maxsplit=1) + [""])[:2]
        points[name] = np.array(_numbers(rest, 10, path, number), dtype=np.float64).reshape(5, 2)
    if len(points) != count:
        raise AnnotationError(f"the count line says {count} images, the file lists {len(points)}", path,
                              count_line)
    return points


def read_celeba_partition(path: str | os.PathLike) -> dict[str, int]:
    """CelebA ``list_eval_partition.txt``: ``NAME 0|1|2`` (train, val, test) per line."""
    path = Path(path)
    partition = {}
    for number, line in _lines(path):
        fields = line.split()
        if len(fields) != 2 or fields[1] not in ("0", "1", "2"):
            raise AnnotationError(f"expected 'NAME 0|1|2', got {line!r}", path, number)
        partition[fields[0]] = int(fields[1])
    return partition


def read_helen_annotation(path: str | os.PathLike) -> tuple[str, np.ndarray]:
    """One Helen annotation file: the image name, then 194 ``x , y`` lines (Le et al. 2012).
    Returns ``(name, (194, 2))``."""
    path = Path(path)
    lines = _lines(path)
    if not lines:
        raise AnnotationError("empty annotation file", path)
    name = lines[0][1]
    if len(lines) - 1 != HELEN_POINTS:
        raise AnnotationError(f"expected {HELEN_POINTS} point lines after the image name, got {len(lines) - 1}",
                              path)
    points = [_numbers(line, 2, path, number) for number, line in lines[1:]]
    return name, np.array(points, dtype=np.float64)


def read_ffhq_metadata(path: str | os.PathLike) -> dict[str, tuple[np.ndarray, str | None]]:
    """FFHQ ``ffhq-dataset-v2.json``: ``{image file path: ((68, 2) landmarks in the aligned 1024 image,
    category "training" / "validation" or None)}``."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as file:
            entries = json.load(file)
    except json.JSONDecodeError as exc:
        raise AnnotationError(f"invalid JSON ({exc.msg})", path, exc.lineno) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise AnnotationError(f"cannot read metadata file ({exc})", path) from exc
    if not isinstance(entries, dict):
        raise AnnotationError("expected a JSON object of entries keyed by index", path)
    table = {}
    for key, entry in entries.items():
        try:
            image = entry["image"]
            points = np.asarray(image["face_landmarks"], dtype=np.float64)
            file_path = str(image["file_path"])
        except (KeyError, TypeError, ValueError) as exc:
            raise AnnotationError(f"entry {key}: expected image.file_path and image.face_landmarks ({exc})",
                                  path) from None
        if points.shape != (NUM_LANDMARKS, 2):
            raise AnnotationError(f"entry {key}: expected 68 landmarks, got shape {points.shape}", path)
        table[file_path] = (points, entry.get("category"))
    return table
