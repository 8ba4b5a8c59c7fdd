"""Image files in and out: robust reading (typed errors, 8/16-bit, alpha, EXIF orientation), pixel
conversions, and atomic writing that never overwrites an input or an existing file by accident."""
from facerestore.io.info import ImageInfo
from facerestore.io.pixels import from_float, split_alpha, to_float
from facerestore.io.read import DEFAULT_MAX_PIXELS, READ_EXTENSIONS, READ_FORMATS, read_image
from facerestore.io.write import WRITE_FORMATS, encode_image, ensure_not_input, write_image

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "READ_EXTENSIONS",
    "READ_FORMATS",
    "WRITE_FORMATS",
    "ImageInfo",
    "encode_image",
    "ensure_not_input",
    "from_float",
    "read_image",
    "split_alpha",
    "to_float",
    "write_image",
]
