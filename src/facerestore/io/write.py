"""Atomic image writing (temporary file in the output folder, then rename / hard link) and the guard
the CLIs use to never write onto one of their inputs.

PNG and TIFF are encoded by OpenCV (Pillow cannot write 16-bit colour, and OpenCV's default PNG
settings encode a 1024x1024 photo about 6x faster than Pillow's at the same size, docs/io.md); JPEG, WebP,
BMP and 8-bit gray+alpha (OpenCV writes 1, 3 or 4 channels only) by Pillow. TIFFs use Deflate.
"""
from __future__ import annotations

import io
import os
from collections.abc import Iterable
from pathlib import Path
from types import MappingProxyType

import cv2
import numpy as np
from PIL import Image

from facerestore.errors import ConfigError, ImageWriteError
from facerestore.io.atomic import EXISTS_MESSAGE, write_bytes_atomic
from facerestore.io.pixels import from_float, to_float

WRITE_FORMATS = MappingProxyType({".bmp": "BMP", ".jpeg": "JPEG", ".jpg": "JPEG", ".png": "PNG",
                                  ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP"})
_SIXTEEN_BIT_FORMATS = frozenset({"PNG", "TIFF"})
_ALPHA_FORMATS = frozenset({"PNG", "TIFF", "WEBP"})


def write_image(path: str | os.PathLike, image: np.ndarray, *, jpeg_quality: int = 95,
                overwrite: bool = False, bit_depth: int | None = None) -> Path:
    """Write ``image`` (``HxW`` or ``HxWxC``, C in 1..4; uint8, uint16 or float in [0, 1]) atomically.

    The format follows the extension (see ``WRITE_FORMATS``). ``bit_depth`` None keeps the array's
    depth (uint16 -> 16, uint8 and float -> 8), reduced to 8 for formats without 16-bit (JPEG, BMP,
    WebP); asking for 16 there is an error, as is an alpha channel for JPEG / BMP. 16-bit gray+alpha
    is written as 16-bit RGBA (neither encoder writes 2-channel 16-bit). WebP is lossless;
    ``jpeg_quality`` (1-100) applies to JPEG. An existing file is only replaced with ``overwrite=True``;
    a failed write leaves no temporary file and the old file untouched (the data is fsync'ed before the
    rename). Returns the written path.
    """
    path = Path(path)
    file_format = WRITE_FORMATS.get(path.suffix.lower())
    if file_format is None:
        raise ImageWriteError(f"unsupported extension {path.suffix!r} (use one of "
                              f"{', '.join(WRITE_FORMATS)})", path)
    if not 1 <= jpeg_quality <= 100:
        raise ConfigError(f"jpeg_quality must be in 1..100, got {jpeg_quality}")
    if not path.parent.is_dir():
        raise ImageWriteError(f"output folder {path.parent} does not exist", path)
    if not overwrite and os.path.lexists(path):
        raise ImageWriteError(EXISTS_MESSAGE, path)
    data = encode_image(image, path.suffix, jpeg_quality=jpeg_quality, bit_depth=bit_depth, name=path)
    write_bytes_atomic(path, data, overwrite=overwrite, error=ImageWriteError)
    return path


def encode_image(image: np.ndarray, extension: str, *, jpeg_quality: int = 95, bit_depth: int | None = None,
                 name: str | os.PathLike = "<image>") -> bytes:
    """The bytes :func:`write_image` would write for ``extension`` (``.png``, ``.jpg``...), in memory (an HTTP
    response); ``name`` appears in errors."""
    file_format = WRITE_FORMATS.get(extension.lower())
    if file_format is None:
        raise ImageWriteError(f"unsupported extension {extension!r} (use one of {', '.join(WRITE_FORMATS)})", name)
    if not 1 <= jpeg_quality <= 100:
        raise ConfigError(f"jpeg_quality must be in 1..100, got {jpeg_quality}")
    return _encode(_prepare(image, file_format, bit_depth, Path(name)), file_format, jpeg_quality, Path(name))


def ensure_not_input(out_path: str | os.PathLike, input_paths: Iterable[str | os.PathLike]) -> None:
    """Raise ImageWriteError when ``out_path`` is one of ``input_paths`` (same file under any spelling,
    symbolic or hard link)."""
    if not os.path.exists(out_path):
        return
    for input_path in input_paths:
        if os.path.exists(input_path) and os.path.samefile(out_path, input_path):
            raise ImageWriteError(f"refusing to write onto the input file {os.fspath(input_path)}; "
                                  "choose another output path", out_path)


def _prepare(image: np.ndarray, file_format: str, bit_depth: int | None, path: Path) -> np.ndarray:
    """Validate shape / dtype and convert to the uint8 or uint16 ``HxWxC`` pixels to encode."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[2] not in (1, 2, 3, 4) or 0 in image.shape:
        raise ImageWriteError(f"expected an HxW or HxWxC image with C in 1..4, got shape {image.shape}", path)
    if image.shape[2] in (2, 4) and file_format not in _ALPHA_FORMATS:
        raise ImageWriteError(f"{file_format} cannot store an alpha channel; write .png, .tif or .webp, "
                              "or drop the alpha channel (split_alpha)", path)
    if image.dtype == np.uint16:
        natural_depth = 16
    elif image.dtype == np.uint8 or np.issubdtype(image.dtype, np.floating):
        natural_depth = 8
    else:
        raise ImageWriteError(f"pixels must be uint8, uint16 or float in [0, 1], got {image.dtype}", path)
    max_depth = 16 if file_format in _SIXTEEN_BIT_FORMATS else 8
    depth = min(natural_depth, max_depth) if bit_depth is None else bit_depth
    if depth not in (8, 16):
        raise ConfigError(f"bit_depth must be 8 or 16, got {bit_depth}")
    if depth > max_depth:
        raise ImageWriteError(f"{file_format} cannot store 16-bit pixels; write .png or .tif", path)
    if image.dtype != (np.uint16 if depth == 16 else np.uint8):
        floats = image if np.issubdtype(image.dtype, np.floating) else to_float(image)
        try:
            image = from_float(floats, depth)
        except ValueError as exc:
            raise ImageWriteError(str(exc), path) from exc
    if depth == 16 and image.shape[2] == 2:
        image = image[..., [0, 0, 0, 1]]
    return image


def _encode(pixels: np.ndarray, file_format: str, jpeg_quality: int, path: Path) -> bytes:
    channels = pixels.shape[2]
    try:
        if file_format in _SIXTEEN_BIT_FORMATS and channels != 2:
            return _encode_opencv(pixels, file_format)
        options = {"JPEG": {"quality": jpeg_quality}, "WEBP": {"lossless": True},
                   "TIFF": {"compression": "tiff_adobe_deflate"}}.get(file_format, {})
        stream = io.BytesIO()
        Image.fromarray(pixels[..., 0] if channels == 1 else pixels).save(stream, file_format, **options)
        return stream.getvalue()
    except (OSError, ValueError, cv2.error) as exc:
        raise ImageWriteError(f"cannot encode as {file_format} ({exc})", path) from exc


def _encode_opencv(pixels: np.ndarray, file_format: str) -> bytes:
    """PNG (OpenCV's default compression) or Deflate TIFF from 1, 3 or 4 channels, 8 or 16 bits."""
    bgr = pixels[..., {1: [0], 3: [2, 1, 0], 4: [2, 1, 0, 3]}[pixels.shape[2]]]
    if file_format == "PNG":
        ok, buffer = cv2.imencode(".png", bgr)
    else:
        ok, buffer = cv2.imencode(".tif", bgr, [cv2.IMWRITE_TIFF_COMPRESSION,
                                                cv2.IMWRITE_TIFF_COMPRESSION_ADOBE_DEFLATE])
    if not ok:
        raise ValueError("OpenCV could not encode the pixels")
    return buffer.tobytes()
