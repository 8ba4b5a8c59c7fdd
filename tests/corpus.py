"""Malformed and unusual image files for tests/test_io.py, generated at test time (nothing binary is committed).

Each case writes its file(s) into a folder and returns a :class:`Case`: either the pixels a correct reader
must return, or a fragment of the refusal reason. Expected pixels come from the arrays that were encoded,
not from the reader: PNGs and EXIF blocks are assembled byte by byte here (``png_bytes``, ``exif_block``),
TIFFs are written by tifffile, other formats by Pillow in lossless modes; lossy JPEGs carry a tolerance.
"""
from __future__ import annotations

import io
import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image


@dataclass(frozen=True)
class Case:
    path: Path
    expected: np.ndarray | None = None  # HxWxC uint8/uint16 a correct reader returns
    tolerance: int = 0  # largest absolute pixel difference accepted (lossy formats)
    error: str | None = None  # fragment of the ImageReadError reason


CASES: dict[str, Callable[[Path], Case]] = {}


def case(build: Callable[[Path], Case]) -> Callable[[Path], Case]:
    CASES[build.__name__] = build
    return build


# ---------------------------------------------------------------- byte-level builders
def png_chunk(kind: bytes, payload: bytes) -> bytes:
    """One PNG chunk: length, type, payload, CRC-32 of type + payload (PNG spec §5.3)."""
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_bytes(pixels: np.ndarray, *, color_type: int | None = None, bit_depth: int | None = None,
              size: tuple[int, int] | None = None, extra: tuple[bytes, ...] = (),
              trailer: tuple[bytes, ...] = ()) -> bytes:
    """A PNG holding ``pixels`` (HxWxC uint8/uint16, or bit-packed rows when ``bit_depth`` < 8), rows
    unfiltered (filter type 0). ``size`` overrides the header's width, height; ``extra`` chunks go
    before IDAT, ``trailer`` chunks after it."""
    height, width = pixels.shape[:2]
    width, height = size or (width, height)
    channels = pixels.shape[2] if pixels.ndim == 3 else 1
    color_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels] if color_type is None else color_type
    bit_depth = pixels.dtype.itemsize * 8 if bit_depth is None else bit_depth
    rows = pixels.astype(pixels.dtype.newbyteorder(">")).reshape(pixels.shape[0], -1)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + b"".join(extra)
            + png_chunk(b"IDAT", zlib.compress(raw)) + b"".join(trailer) + png_chunk(b"IEND", b""))


def exif_block(orientation: int) -> bytes:
    """Big-endian TIFF structure with one IFD entry: Orientation (0x0112), SHORT, count 1 (EXIF 2.3 §4.6.4)."""
    entry = struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0)
    return b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1) + entry + struct.pack(">I", 0)


def with_jpeg_exif(jpeg: bytes, orientation: int) -> bytes:
    """Insert an APP1 "Exif" segment right after the JPEG SOI marker."""
    payload = b"Exif\x00\x00" + exif_block(orientation)
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def pillow_bytes(pixels: np.ndarray, file_format: str, **options) -> bytes:
    stream = io.BytesIO()
    Image.fromarray(pixels[..., 0] if pixels.shape[2] == 1 else pixels).save(stream, file_format, **options)
    return stream.getvalue()


def random_pixels(shape: tuple[int, ...], dtype: type = np.uint8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, np.iinfo(dtype).max, shape, endpoint=True, dtype=dtype)


def upright_blocks() -> np.ndarray:
    """16x24 RGB, six 8x8 blocks of distinct colours: every flip and rotation of it is different."""
    colors = np.array([[[230, 20, 20], [20, 230, 20], [20, 20, 230]],
                       [[230, 230, 20], [20, 230, 230], [128, 128, 128]]], dtype=np.uint8)
    return np.repeat(np.repeat(colors, 8, axis=0), 8, axis=1)


# Operation that stores an upright image so that EXIF orientation ``tag`` displays it upright again.
STORE_FOR_ORIENTATION = {
    1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_270,
}


def stored_for_orientation(upright: np.ndarray, tag: int) -> np.ndarray:
    method = STORE_FOR_ORIENTATION[tag]
    return upright if method is None else np.asarray(Image.fromarray(upright).transpose(method))


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


# ---------------------------------------------------------------- refused files
@case
def empty_file(folder: Path) -> Case:
    return Case(write(folder, "empty.png", b""), error="empty")


@case
def missing_file(folder: Path) -> Case:
    return Case(folder / "missing.png", error="not found")


@case
def directory(folder: Path) -> Case:
    (folder / "folder.png").mkdir()
    return Case(folder / "folder.png", error="directory")


@case
def named_pipe(folder: Path) -> Case:
    path = folder / "pipe.png"
    os.mkfifo(path)  # reading it would block forever
    return Case(path, error="not a regular file")


@case
def text_named_png(folder: Path) -> Case:
    return Case(write(folder, "notes.png", b"this is a text file, not a picture\n" * 4), error="not an image")


@case
def random_bytes(folder: Path) -> Case:
    return Case(write(folder, "noise.jpg", random_pixels((512,), seed=7).tobytes()), error="not an image")


@case
def png_cut_in_header(folder: Path) -> Case:
    return Case(write(folder, "header_cut.png", png_bytes(random_pixels((8, 8, 3)))[:20]), error="truncated")


@case
def png_truncated(folder: Path) -> Case:
    data = png_bytes(random_pixels((32, 32, 3)))
    return Case(write(folder, "truncated.png", data[: len(data) // 2]), error="truncated")


@case
def png16_truncated(folder: Path) -> Case:
    data = png_bytes(random_pixels((32, 32, 3), np.uint16))
    return Case(write(folder, "truncated16.png", data[: len(data) // 2]), error="truncated")


@case
def jpeg_truncated(folder: Path) -> Case:
    data = pillow_bytes(random_pixels((32, 32, 3)), "JPEG")
    return Case(write(folder, "truncated.jpg", data[: len(data) // 2]), error="truncated")


@case
def png_bad_header_crc(folder: Path) -> Case:
    data = bytearray(png_bytes(random_pixels((8, 8, 3))))
    data[29] ^= 0xFF  # first byte of the IHDR CRC
    return Case(write(folder, "bad_crc.png", bytes(data)), error="corrupt or truncated header")


@case
def png_corrupt_pixel_data(folder: Path) -> Case:
    """Valid header, IDAT payload that is not a zlib stream."""
    pixels = random_pixels((8, 8, 3))
    data = png_bytes(pixels)
    header = data[: data.index(b"IDAT") - 4]  # signature and IHDR
    garbage = random_pixels((200,), seed=9).tobytes()
    data = header + png_chunk(b"IDAT", garbage) + png_chunk(b"IEND", b"")
    return Case(write(folder, "bad_idat.png", data), error="corrupt")


@case
def png_huge_header(folder: Path) -> Case:
    """60000x60000 header over a garbage IDAT: refused by size, so nothing may have been decoded."""
    data = png_bytes(np.zeros((1, 1, 3), np.uint8), size=(60000, 60000))
    return Case(write(folder, "huge.png", data), error="pixel limit")


@case
def png_over_default_limit(folder: Path) -> Case:
    """8000x8000 = 64 Mpx: above the 50 Mpx default, below Pillow's own warning threshold."""
    data = png_bytes(np.zeros((1, 1, 3), np.uint8), size=(8000, 8000))
    return Case(write(folder, "64mpx.png", data), error="pixel limit of 50000000")


@case
def icon_format(folder: Path) -> Case:
    return Case(write(folder, "icon.ico", pillow_bytes(random_pixels((16, 16, 3)), "ICO")),
                error="unsupported format ICO")


@case
def pcx_format(folder: Path) -> Case:
    return Case(write(folder, "image.pcx", pillow_bytes(random_pixels((8, 8, 3)), "PCX")),
                error="unsupported format PCX")


@case
def tiff_float32(folder: Path) -> Case:
    path = folder / "float.tif"
    tifffile.imwrite(path, np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4))
    return Case(path, error="unsupported pixel type")


# ---------------------------------------------------------------- files read correctly
@case
def png_gray8(folder: Path) -> Case:
    pixels = random_pixels((5, 7, 1))
    return Case(write(folder, "gray8.png", png_bytes(pixels)), pixels)


@case
def png_gray16(folder: Path) -> Case:
    pixels = random_pixels((5, 7, 1), np.uint16)
    return Case(write(folder, "gray16.png", png_bytes(pixels)), pixels)


@case
def png_rgb16(folder: Path) -> Case:
    pixels = random_pixels((5, 7, 3), np.uint16)
    return Case(write(folder, "rgb16.png", png_bytes(pixels)), pixels)


@case
def png_rgba16(folder: Path) -> Case:
    pixels = random_pixels((5, 7, 4), np.uint16)
    return Case(write(folder, "rgba16.png", png_bytes(pixels)), pixels)


@case
def png_gray_alpha16(folder: Path) -> Case:
    pixels = random_pixels((5, 7, 2), np.uint16)
    return Case(write(folder, "la16.png", png_bytes(pixels)), pixels)


@case
def png_gray_alpha8(folder: Path) -> Case:
    pixels = random_pixels((5, 7, 2))
    return Case(write(folder, "la8.png", png_bytes(pixels)), pixels)


@case
def png_rgba8(folder: Path) -> Case:
    pixels = random_pixels((5, 7, 4))
    return Case(write(folder, "rgba8.png", png_bytes(pixels)), pixels)


@case
def png_one_pixel(folder: Path) -> Case:
    pixels = np.array([[[12, 200, 99]]], np.uint8)
    return Case(write(folder, "one_pixel.png", png_bytes(pixels)), pixels)


@case
def png_one_bit(folder: Path) -> Case:
    bits = random_pixels((4, 16), seed=3) > 127
    data = png_bytes(np.packbits(bits, axis=1)[..., None], bit_depth=1, size=(16, 4))
    return Case(write(folder, "bilevel.png", data), (bits * 255).astype(np.uint8)[..., None])


@case
def png_palette_with_transparency(folder: Path) -> Case:
    palette = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255]], np.uint8)
    alpha = np.array([255, 0, 128], np.uint8)
    indices = random_pixels((4, 6, 1), seed=4) % 3
    extra = (png_chunk(b"PLTE", palette.tobytes()), png_chunk(b"tRNS", alpha.tobytes()))
    data = png_bytes(indices, color_type=3, extra=extra)
    expected = np.concatenate([palette[indices[..., 0]], alpha[indices]], axis=2)
    return Case(write(folder, "palette_trns.png", data), expected)


@case
def png_rgb_color_key(folder: Path) -> Case:
    """RGB with a tRNS colour key: pixels equal to the key become transparent."""
    pixels = np.array([[[10, 20, 30], [1, 2, 3]], [[1, 2, 3], [200, 100, 0]]], np.uint8)
    key = png_chunk(b"tRNS", struct.pack(">HHH", 1, 2, 3))
    alpha = np.where((pixels == [1, 2, 3]).all(axis=2, keepdims=True), 0, 255).astype(np.uint8)
    return Case(write(folder, "color_key.png", png_bytes(pixels, extra=(key,))),
                np.concatenate([pixels, alpha], axis=2))


@case
def png_exif_rotated(folder: Path) -> Case:
    """eXIf chunk before the pixel data, orientation 3 (stored upside down)."""
    upright = random_pixels((3, 5, 3))
    data = png_bytes(upright[::-1, ::-1], extra=(png_chunk(b"eXIf", exif_block(3)),))
    return Case(write(folder, "exif3.png", data), upright)


@case
def png16_exif_after_pixels(folder: Path) -> Case:
    """16-bit RGB (the OpenCV path) with the eXIf chunk after IDAT, orientation 6."""
    upright = random_pixels((3, 5, 3), np.uint16)
    stored = np.rot90(upright, 1)  # orientation 6 = displayed after a 90 degree clockwise turn
    data = png_bytes(stored, trailer=(png_chunk(b"eXIf", exif_block(6)),))
    return Case(write(folder, "rgb16_exif6.png", data), upright)


@case
def png_broken_exif(folder: Path) -> Case:
    """An eXIf chunk that is not a TIFF structure is ignored, like viewers do."""
    pixels = random_pixels((3, 4, 3))
    data = png_bytes(pixels, extra=(png_chunk(b"eXIf", b"garbage!"),))
    return Case(write(folder, "broken_exif.png", data), pixels)


@case
def png_out_of_range_orientation(folder: Path) -> Case:
    """Orientation 9 does not exist (EXIF 2.3 allows 1-8): the pixels are kept as stored."""
    pixels = random_pixels((3, 4, 3))
    data = png_bytes(pixels, extra=(png_chunk(b"eXIf", exif_block(9)),))
    return Case(write(folder, "orientation9.png", data), pixels)


@case
def png_content_with_other_extension(folder: Path) -> Case:
    """The content decides the format, not the name."""
    pixels = random_pixels((3, 4, 3))
    return Case(write(folder, "really_a_png.xyz", png_bytes(pixels)), pixels)


@case
def gif_first_frame(folder: Path) -> Case:
    first, second = np.zeros((4, 6, 3), np.uint8), np.full((4, 6, 3), 255, np.uint8)
    first[:2] = [255, 0, 0]
    first[2:, 3:] = [0, 0, 255]
    stream = io.BytesIO()
    Image.fromarray(first).save(stream, "GIF", save_all=True, append_images=[Image.fromarray(second)])
    return Case(write(folder, "animated.gif", stream.getvalue()), first)


@case
def cmyk_jpeg(folder: Path) -> Case:
    """CMYK JPEG; RGB expected from R = 255 (1 - C/255)(1 - K/255) etc."""
    cmyk = np.zeros((16, 16, 4), np.uint8)
    cmyk[:, :8], cmyk[:, 8:] = [20, 100, 200, 50], [0, 255, 255, 0]
    stream = io.BytesIO()
    Image.frombytes("CMYK", (16, 16), cmyk.tobytes()).save(stream, "JPEG", quality=95)
    c, k = cmyk[..., :3].astype(np.float64), cmyk[..., 3:].astype(np.float64)
    expected = np.rint((255 - c) * (255 - k) / 255).astype(np.uint8)
    return Case(write(folder, "cmyk.jpg", stream.getvalue()), expected, tolerance=4)


@case
def tiff_rgb16(folder: Path) -> Case:
    pixels = random_pixels((5, 7, 3), np.uint16)
    tifffile.imwrite(folder / "rgb16.tif", pixels, photometric="rgb")
    return Case(folder / "rgb16.tif", pixels)


@case
def tiff_gray16(folder: Path) -> Case:
    pixels = random_pixels((5, 7, 1), np.uint16)
    tifffile.imwrite(folder / "gray16.tif", pixels[..., 0], photometric="minisblack")
    return Case(folder / "gray16.tif", pixels)


@case
def bmp_rgb(folder: Path) -> Case:
    pixels = random_pixels((5, 7, 3))
    return Case(write(folder, "image.bmp", pillow_bytes(pixels, "BMP")), pixels)


@case
def webp_lossless_rgba(folder: Path) -> Case:
    pixels = random_pixels((5, 7, 4))
    pixels[..., 3] = np.maximum(pixels[..., 3], 1)  # WebP may zero the colour of fully transparent pixels
    return Case(write(folder, "rgba.webp", pillow_bytes(pixels, "WEBP", lossless=True, exact=True)), pixels)


def _exif_jpeg_case(tag: int) -> Callable[[Path], Case]:
    def build(folder: Path) -> Case:
        stored = stored_for_orientation(upright_blocks(), tag)
        jpeg = pillow_bytes(stored, "JPEG", quality=95, subsampling=0)
        return Case(write(folder, f"exif{tag}.jpg", with_jpeg_exif(jpeg, tag)), upright_blocks(), tolerance=6)

    build.__name__ = f"jpeg_exif_orientation_{tag}"
    return build


for _tag in range(1, 9):
    case(_exif_jpeg_case(_tag))
