"""What a read image file was, so that a writer can give it back in the same kind."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImageInfo:
    """Description of a decoded image file.

    ``path`` is None for bytes input. ``format`` is Pillow's format name ("PNG", "JPEG", ...).
    ``mode`` is the file's pixel layout before conversion, in Pillow's naming ("P", "CMYK", "I;16",
    ...); 16-bit colour files, which Pillow would truncate, are named "RGB;16", "RGBA;16", "LA;16".
    ``bit_depth`` (8 or 16), ``channels`` (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA) and ``has_alpha``
    describe the returned array. ``orientation`` is the EXIF orientation tag (1-8) that was applied.
    """

    path: str | None
    format: str
    mode: str
    bit_depth: int
    channels: int
    has_alpha: bool
    orientation: int = 1
