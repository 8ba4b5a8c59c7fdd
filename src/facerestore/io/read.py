"""Read an image file or byte string into a uint8 / uint16 ``HxWxC`` array, refusing bad input with
:class:`~facerestore.errors.ImageReadError` (message names the file and the reason).

Pillow parses the header lazily, so the format and pixel count are checked before any pixel is
decoded. Pillow decodes everything except 16-bit colour PNG / TIFF, which it would truncate to 8 bits:
those go through OpenCV (``IMREAD_UNCHANGED``, BGR reordered to RGB). The EXIF orientation tag is
applied to the array in both cases.
"""
from __future__ import annotations

import io
import os
import stat
import struct
import warnings
import zlib
from collections.abc import Callable

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from facerestore.errors import ImageReadError, ImageTooLargeError
from facerestore.io.info import ImageInfo

DEFAULT_MAX_PIXELS = 50_000_000
READ_FORMATS = frozenset({"BMP", "GIF", "JPEG", "MPO", "PNG", "TIFF", "WEBP"})
READ_EXTENSIONS = frozenset({".bmp", ".gif", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp"})

_UINT16_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})
_GRAY_MODES = frozenset({"1", "L", "LA", "La"})
_COLOR_MODES = frozenset({"P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr"})
# Pillow and OpenCV raise any of these on malformed data; none of them documents a single type.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError,
                  struct.error, zlib.error, cv2.error)
_BYTES_TYPES = (bytes, bytearray, memoryview)
_EXIF_ORIENTATION = 0x0112
_TIFF_BITS, _TIFF_PHOTOMETRIC, _TIFF_SAMPLES = 258, 262, 277
# EXIF orientation -> operation turning the stored pixels upright (EXIF 2.3, tag 0x0112).
_ORIENT: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
    8: lambda a: np.rot90(a, 1),
}


def read_image(source: str | os.PathLike | bytes, *,
               max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[np.ndarray, ImageInfo]:
    """Decode ``source`` (a path, or the bytes of an encoded file) into ``(pixels, info)``.

    ``pixels`` is ``HxWxC`` uint8 or uint16 in RGB order with C = 1 (gray), 2 (gray + alpha),
    3 (RGB) or 4 (RGBA), upright per EXIF. Palette images become RGB / RGBA, CMYK and YCbCr become
    RGB, 1-bit becomes 0/255 gray, and a transparency key (palette, gray or RGB) becomes an alpha
    channel. Animated files give their first frame. Images above ``max_pixels`` (width x height)
    are refused before decoding; Pillow's own decompression-bomb error (2 x
    ``PIL.Image.MAX_IMAGE_PIXELS``) still applies above that.
    """
    name, data = _read_source(source)
    try:
        pixels, file_format, mode, orientation = _decode(data, max_pixels, name)
    except UnidentifiedImageError as exc:
        raise ImageReadError("not an image: unrecognised content (unknown format, or a corrupt or "
                             "truncated header)", name) from exc
    except Image.DecompressionBombError as exc:
        raise ImageReadError(f"larger than the pixel limit: {exc}", name) from exc
    except _DECODE_ERRORS as exc:
        raise ImageReadError(f"truncated or corrupt image data ({exc})", name) from exc
    pixels = np.ascontiguousarray(_ORIENT[orientation](pixels))
    channels = pixels.shape[2]
    info = ImageInfo(path=None if isinstance(source, _BYTES_TYPES) else name, format=file_format, mode=mode,
                     bit_depth=16 if pixels.dtype == np.uint16 else 8, channels=channels,
                     has_alpha=channels in (2, 4), orientation=orientation)
    return pixels, info


def _decode(data: bytes, max_pixels: int, name: str) -> tuple[np.ndarray, str, str, int]:
    """(stored pixels, format, original mode, EXIF orientation); decoder errors propagate."""
    with warnings.catch_warnings():
        # ``max_pixels`` replaces Pillow's warning threshold; silenced only inside this call.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(data)) as image:
            _check_header(image, max_pixels, name)
            layout16 = _sixteen_bit_color_layout(image, data)
            pixels = _decode_opencv(data, layout16, name) if layout16 else _decode_pillow(image, name)
            mode = f"{layout16};16" if layout16 else image.mode
            return pixels, image.format, mode, _orientation(image, data)


def _read_source(source: str | os.PathLike | bytes) -> tuple[str, bytes]:
    """Return (name for messages, file content); refuse missing, non-regular and empty files."""
    if isinstance(source, _BYTES_TYPES):
        name, data = "<bytes>", bytes(source)
    else:
        name = os.fspath(source)
        try:
            mode = os.stat(name).st_mode
            if stat.S_ISDIR(mode):
                raise ImageReadError("is a directory, not an image file", name)
            if not stat.S_ISREG(mode):
                raise ImageReadError("not a regular file", name)
            with open(name, "rb") as file:
                data = file.read()
        except FileNotFoundError:
            raise ImageReadError("file not found", name) from None
        except OSError as exc:
            raise ImageReadError(f"cannot read file ({exc.strerror or exc})", name) from exc
    if not data:
        raise ImageReadError("empty file (0 bytes)", name)
    return name, data


def _check_header(image: Image.Image, max_pixels: int, name: str) -> None:
    if image.format not in READ_FORMATS:
        raise ImageReadError(f"unsupported format {image.format} (supported: "
                             f"{', '.join(sorted(READ_FORMATS - {'MPO'}))})", name)
    width, height = image.size
    if width * height > max_pixels:
        raise ImageTooLargeError(f"{width}x{height} = {width * height} pixels is larger than the pixel limit "
                                 f"of {max_pixels} (raise max_pixels to accept it)", name, width, height)


def _sixteen_bit_color_layout(image: Image.Image, data: bytes) -> str | None:
    """"RGB" / "RGBA" / "LA" for 16-bit colour or gray+alpha files that Pillow truncates, else None."""
    if image.format == "PNG" and data[12:16] == b"IHDR" and data[24] == 16:  # IHDR bit depth, colour type
        return {2: "RGB", 4: "LA", 6: "RGBA"}.get(data[25])
    if image.format == "TIFF" and image.mode not in _UINT16_MODES:
        bits = np.max(np.atleast_1d(image.tag_v2.get(_TIFF_BITS, 8)))
        layout = (image.tag_v2.get(_TIFF_PHOTOMETRIC), image.tag_v2.get(_TIFF_SAMPLES, 1))
        return {(2, 3): "RGB", (2, 4): "RGBA"}.get(layout) if bits == 16 else None
    return None


def _decode_opencv(data: bytes, layout: str, name: str) -> np.ndarray:
    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    order = {"RGB": [2, 1, 0], "RGBA": [2, 1, 0, 3], "LA": [0, 3]}[layout]  # cv2 gives gray+alpha as BGRA
    if pixels is None or pixels.dtype != np.uint16 or pixels.ndim != 3 or pixels.shape[2] != max(order) + 1:
        raise ImageReadError(f"truncated or corrupt 16-bit {layout} image data (OpenCV could not decode it)",
                             name)
    return pixels[..., order]


def _decode_pillow(image: Image.Image, name: str) -> np.ndarray:
    if image.mode in _UINT16_MODES:
        pixels = np.asarray(image).astype(np.uint16)  # native byte order
    elif image.mode in _GRAY_MODES | _COLOR_MODES:
        alpha = image.has_transparency_data
        target = ("LA" if alpha else "L") if image.mode in _GRAY_MODES else ("RGBA" if alpha else "RGB")
        pixels = np.asarray(image if image.mode == target else image.convert(target))
    else:
        raise ImageReadError(f"unsupported pixel type (Pillow mode {image.mode}): only 8- and 16-bit "
                             "integer images are read", name)
    return pixels.reshape(pixels.shape[0], pixels.shape[1], -1)


def _orientation(image: Image.Image, data: bytes) -> int:
    """EXIF orientation tag, 1 when absent, invalid or unreadable (a broken EXIF block is ignored)."""
    if image.format == "PNG" and "exif" not in image.info and b"eXIf" not in data:
        return 1  # no eXIf chunk: skip getexif, which would decode the pixels looking for one after IDAT
    try:
        value = image.getexif().get(_EXIF_ORIENTATION, 1)
    except _DECODE_ERRORS:
        return 1
    return value if value in _ORIENT else 1
