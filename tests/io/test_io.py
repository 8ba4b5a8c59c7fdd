"""facerestore.io: reading the generated corpus (tests/fixtures/corpus.py), pixel conversions, atomic writes."""
from __future__ import annotations

import errno
import os
import warnings

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from corpus import CASES, pillow_bytes, png_bytes, random_pixels
from facerestore.errors import ConfigError, ImageReadError, ImageWriteError
from facerestore.io import (
    ensure_not_input,
    from_float,
    read_image,
    split_alpha,
    to_float,
    write_image,
)


# ---------------------------------------------------------------- reading
def test_corpus_has_at_least_twenty_files():
    assert len(CASES) >= 20


@pytest.mark.parametrize("name", sorted(CASES))
def test_corpus_file_is_read_exactly_or_refused_naming_it(name, tmp_path):
    case = CASES[name](tmp_path)
    if case.error is not None:
        with pytest.raises(ImageReadError) as caught:
            read_image(case.path)
        assert caught.value.path == str(case.path)
        assert str(caught.value).startswith(str(case.path))
        assert case.error in caught.value.reason
        return
    pixels, info = read_image(case.path)
    assert pixels.dtype == case.expected.dtype and pixels.shape == case.expected.shape
    difference = np.abs(pixels.astype(np.int64) - case.expected.astype(np.int64)).max()
    assert difference <= case.tolerance
    assert info.path == str(case.path)
    assert info.bit_depth == case.expected.dtype.itemsize * 8
    assert info.channels == case.expected.shape[2]
    assert info.has_alpha == (case.expected.shape[2] in (2, 4))


@pytest.mark.parametrize("tag", range(1, 9))
def test_exif_orientation_matches_pillow_exif_transpose(tag, tmp_path):
    case = CASES[f"jpeg_exif_orientation_{tag}"](tmp_path)
    pixels, info = read_image(case.path)
    with Image.open(case.path) as image:
        reference = np.asarray(ImageOps.exif_transpose(image).convert("RGB"))
    np.testing.assert_array_equal(pixels[..., :3], reference)
    assert info.orientation == tag and info.format == "JPEG"


def test_read_records_the_original_kind(tmp_path):
    _, palette = read_image(CASES["png_palette_with_transparency"](tmp_path).path)
    _, cmyk = read_image(CASES["cmyk_jpeg"](tmp_path).path)
    _, rgb16 = read_image(CASES["png_rgb16"](tmp_path).path)
    assert (palette.mode, palette.channels, palette.has_alpha) == ("P", 4, True)
    assert (cmyk.mode, cmyk.channels) == ("CMYK", 3)
    assert (rgb16.mode, rgb16.bit_depth, rgb16.format) == ("RGB;16", 16, "PNG")


def test_cmyk_jpeg_agrees_with_opencv(tmp_path):
    path = CASES["cmyk_jpeg"](tmp_path).path
    reference = cv2.imread(str(path), cv2.IMREAD_COLOR)[..., ::-1]
    pixels, _ = read_image(path)
    assert np.abs(pixels.astype(int) - reference).max() <= 2


def test_bytes_source_reads_like_the_file(tmp_path):
    path = CASES["png_rgba16"](tmp_path).path
    from_file, _ = read_image(path)
    from_bytes, info = read_image(path.read_bytes())
    np.testing.assert_array_equal(from_bytes, from_file)
    assert info.path is None
    with pytest.raises(ImageReadError, match=r"^<bytes>: not an image"):
        read_image(b"GIF89a but nothing else")


def test_max_pixels_is_configurable(tmp_path):
    path = tmp_path / "100x100.png"
    path.write_bytes(png_bytes(random_pixels((100, 100, 3))))
    with pytest.raises(ImageReadError, match="100x100 = 10000 pixels"):
        read_image(path, max_pixels=9_999)
    assert read_image(path, max_pixels=10_000)[0].shape == (100, 100, 3)


def test_pillow_bomb_warning_is_silenced_only_inside_the_call(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 300)  # warns above 300 px, refuses above 600 px
    allowed, bomb = tmp_path / "20x20.png", tmp_path / "30x30.png"
    allowed.write_bytes(png_bytes(random_pixels((20, 20, 3))))
    bomb.write_bytes(png_bytes(random_pixels((30, 30, 3))))
    filters_before = list(warnings.filters)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_image(allowed)[0].shape == (20, 20, 3)
        with pytest.raises(ImageReadError, match="larger than the pixel limit"):
            read_image(bomb)
    assert warnings.filters == filters_before
    with pytest.warns(Image.DecompressionBombWarning):  # other code still gets Pillow's warning
        Image.open(allowed).close()


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about the damaged TIFF tags it skips
@pytest.mark.parametrize("file_format", ["PNG", "PNG16", "JPEG", "GIF", "BMP", "TIFF", "WEBP"])
def test_damaged_files_never_raise_anything_but_image_read_error(file_format):
    pixels = random_pixels((12, 10, 3))
    if file_format == "PNG16":
        data = png_bytes(random_pixels((12, 10, 3), np.uint16))
    else:
        data = pillow_bytes(pixels, file_format)
    rng = np.random.default_rng(5)
    for _ in range(60):
        damaged = bytearray(data[: rng.integers(8, len(data) + 1)])
        for position in rng.integers(0, len(damaged), rng.integers(1, 4)):
            damaged[position] = rng.integers(0, 256)
        try:
            decoded, _ = read_image(bytes(damaged), max_pixels=4096)
        except ImageReadError as error:
            assert str(error).startswith("<bytes>: ")
        else:
            assert decoded.ndim == 3 and decoded.dtype in (np.uint8, np.uint16)


# ---------------------------------------------------------------- pixel conversions
def test_to_float_divides_by_the_type_maximum():
    np.testing.assert_array_equal(to_float(np.array([0, 51, 255], np.uint8)),
                                  np.array([0, 0.2, 1], np.float32))
    np.testing.assert_allclose(to_float(np.array([0, 257, 65535], np.uint16)), [0, 1 / 255, 1], rtol=1e-7)
    assert to_float(np.zeros(2, np.uint16)).dtype == np.float32
    with pytest.raises(TypeError):
        to_float(np.zeros(2, np.int32))


def test_from_float_clips_and_rounds():
    values = np.array([-0.5, 0.0, 0.4 / 255, 0.6 / 255, 127.5 / 255, 1.0, 7.0], np.float32)
    np.testing.assert_array_equal(from_float(values, 8), [0, 0, 0, 1, 128, 255, 255])
    np.testing.assert_array_equal(from_float(np.array([0.5, 1.0]), 16), [32768, 65535])
    every_uint16 = np.arange(65536, dtype=np.uint16)
    np.testing.assert_array_equal(from_float(to_float(every_uint16), 16), every_uint16)
    with pytest.raises(ValueError):
        from_float(np.array([np.nan]), 8)
    with pytest.raises(ValueError):
        from_float(np.zeros(1), 12)


def test_split_alpha():
    rgba = random_pixels((2, 3, 4))
    color, alpha = split_alpha(rgba)
    np.testing.assert_array_equal(color, rgba[..., :3])
    np.testing.assert_array_equal(alpha, rgba[..., 3:])
    gray, gray_alpha = split_alpha(rgba[..., 1:3])
    assert gray.shape == gray_alpha.shape == (2, 3, 1) and gray[0, 0, 0] == rgba[0, 0, 1]
    assert split_alpha(rgba[..., :3])[1] is None


# ---------------------------------------------------------------- writing
def png_header(path) -> tuple[int, int]:
    """(bit depth, colour type) from the IHDR chunk."""
    data = path.read_bytes()
    return data[24], data[25]


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("channels, color_type", [(1, 0), (3, 2), (4, 6)])
def test_png_round_trip_is_exact(dtype, channels, color_type, tmp_path):
    pixels = random_pixels((6, 5, channels), dtype)
    path = write_image(tmp_path / "out.png", pixels)
    bits = pixels.dtype.itemsize * 8
    assert png_header(path) == (bits, color_type)
    independent = cv2.imread(str(path), cv2.IMREAD_UNCHANGED).reshape(6, 5, channels)
    bgr_order = {1: [0], 3: [2, 1, 0], 4: [2, 1, 0, 3]}[channels]
    np.testing.assert_array_equal(independent[..., bgr_order], pixels)
    back, info = read_image(path)
    np.testing.assert_array_equal(back, pixels)
    assert (info.bit_depth, info.channels) == (bits, channels)


def test_gray_alpha8_round_trip_is_exact(tmp_path):
    pixels = random_pixels((4, 3, 2))
    path = write_image(tmp_path / "la.png", pixels)
    with Image.open(path) as image:
        assert image.mode == "LA"
        np.testing.assert_array_equal(np.asarray(image), pixels)


def test_gray_alpha16_is_written_as_rgba16(tmp_path):
    pixels = random_pixels((4, 3, 2), np.uint16)
    back, _ = read_image(write_image(tmp_path / "la.png", pixels))
    np.testing.assert_array_equal(back, pixels[..., [0, 0, 0, 1]])


@pytest.mark.parametrize("suffix", [".png", ".tif", ".webp"])
def test_rgba8_round_trip_is_exact(suffix, tmp_path):
    pixels = random_pixels((6, 5, 4))
    pixels[..., 3] = np.maximum(pixels[..., 3], 1)  # WebP may drop the colour of alpha-0 pixels
    path = write_image(tmp_path / f"out{suffix}", pixels)
    with Image.open(path) as image:
        assert image.mode == "RGBA"
        np.testing.assert_array_equal(np.asarray(image), pixels)
    np.testing.assert_array_equal(read_image(path)[0], pixels)


def test_tiff16_rgb_round_trip_is_exact(tmp_path):
    import tifffile

    pixels = random_pixels((6, 5, 3), np.uint16)
    path = write_image(tmp_path / "out.tif", pixels)
    np.testing.assert_array_equal(tifffile.imread(path), pixels)
    np.testing.assert_array_equal(read_image(path)[0], pixels)


def test_float_images_are_written_at_the_requested_depth(tmp_path):
    image = np.linspace(0, 1, 30, dtype=np.float32).reshape(5, 2, 3)
    eight = write_image(tmp_path / "f8.png", image)
    sixteen = write_image(tmp_path / "f16.png", image, bit_depth=16)
    assert png_header(eight)[0] == 8 and png_header(sixteen)[0] == 16
    np.testing.assert_array_equal(read_image(eight)[0], np.rint(image * 255).astype(np.uint8))
    np.testing.assert_array_equal(read_image(sixteen)[0], np.rint(image * 65535).astype(np.uint16))


def test_uint16_to_jpeg_is_reduced_to_8_bit(tmp_path):
    pixels = np.full((8, 8, 3), 257 * 200, np.uint16)
    back, info = read_image(write_image(tmp_path / "out.jpg", pixels, jpeg_quality=100))
    assert info.bit_depth == 8 and np.abs(back.astype(int) - 200).max() <= 1


def test_jpeg_quality_scales_the_standard_quantization_table(tmp_path):
    pixels = random_pixels((16, 16, 3))
    with Image.open(write_image(tmp_path / "q50.jpg", pixels, jpeg_quality=50)) as image:
        assert image.quantization[0][0] == 16  # JPEG Annex K luminance DC entry, unscaled at quality 50
    with Image.open(write_image(tmp_path / "q100.jpg", pixels, jpeg_quality=100)) as image:
        assert set(image.quantization[0]) == {1}


@pytest.mark.parametrize("name, image, options, reason", [
    ("out.gif", np.zeros((2, 2, 3), np.uint8), {}, "unsupported extension '.gif'"),
    ("out", np.zeros((2, 2, 3), np.uint8), {}, "unsupported extension ''"),
    ("out.jpg", np.zeros((2, 2, 4), np.uint8), {}, "JPEG cannot store an alpha channel"),
    ("out.bmp", np.zeros((2, 2, 2), np.uint8), {}, "BMP cannot store an alpha channel"),
    ("out.jpg", np.zeros((2, 2, 3), np.uint16), {"bit_depth": 16}, "JPEG cannot store 16-bit"),
    ("out.png", np.zeros((2, 2, 5), np.uint8), {}, "got shape (2, 2, 5)"),
    ("out.png", np.zeros((0, 2, 3), np.uint8), {}, "got shape (0, 2, 3)"),
    ("out.png", np.zeros((2, 2, 3), np.int32), {}, "got int32"),
    ("out.png", np.full((2, 2, 3), np.nan, np.float32), {}, "NaN"),
    ("out.jpg", np.zeros((1, 70000, 3), np.uint8), {}, "cannot encode as JPEG"),
])
def test_bad_writes_are_refused_naming_the_file(name, image, options, reason, tmp_path):
    path = tmp_path / name
    with pytest.raises(ImageWriteError) as caught:
        write_image(path, image, **options)
    assert caught.value.path == str(path) and reason in caught.value.reason
    assert list(tmp_path.iterdir()) == []


def test_bad_options_raise_config_error(tmp_path):
    with pytest.raises(ConfigError, match="jpeg_quality"):
        write_image(tmp_path / "a.jpg", np.zeros((2, 2, 3), np.uint8), jpeg_quality=0)
    with pytest.raises(ConfigError, match="bit_depth"):
        write_image(tmp_path / "a.png", np.zeros((2, 2, 3), np.uint8), bit_depth=12)


def test_missing_output_folder_is_reported(tmp_path):
    with pytest.raises(ImageWriteError, match="does not exist"):
        write_image(tmp_path / "no" / "out.png", np.zeros((2, 2, 3), np.uint8))


def test_existing_file_is_kept_unless_overwrite(tmp_path):
    path = tmp_path / "out.png"
    path.write_bytes(b"precious")
    with pytest.raises(ImageWriteError, match="overwrite=True"):
        write_image(path, np.zeros((2, 2, 3), np.uint8))
    assert path.read_bytes() == b"precious" and list(tmp_path.iterdir()) == [path]
    write_image(path, np.zeros((2, 2, 3), np.uint8), overwrite=True)
    assert read_image(path)[0].shape == (2, 2, 3) and list(tmp_path.iterdir()) == [path]


def fail_with(code: int):
    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code))
    return fail


def test_failed_replace_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "out.png"
    path.write_bytes(b"old")
    monkeypatch.setattr(os, "replace", fail_with(errno.ENOSPC))
    with pytest.raises(ImageWriteError, match="No space left"):
        write_image(path, np.zeros((2, 2, 3), np.uint8), overwrite=True)
    assert path.read_bytes() == b"old" and list(tmp_path.iterdir()) == [path]


def test_failed_new_write_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "fsync", fail_with(errno.EIO))
    with pytest.raises(ImageWriteError, match="Input/output error"):
        write_image(tmp_path / "out.png", np.zeros((2, 2, 3), np.uint8))
    assert list(tmp_path.iterdir()) == []


def test_file_appearing_during_the_write_is_not_overwritten(tmp_path, monkeypatch):
    path = tmp_path / "out.png"
    real_link = os.link

    def racing_link(source, destination):
        path.write_bytes(b"written by someone else meanwhile")
        real_link(source, destination)

    monkeypatch.setattr(os, "link", racing_link)
    with pytest.raises(ImageWriteError, match="file exists"):
        write_image(path, np.zeros((2, 2, 3), np.uint8))
    assert path.read_bytes() == b"written by someone else meanwhile"
    assert list(tmp_path.iterdir()) == [path]


def test_file_systems_without_hard_links_still_get_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "link", fail_with(errno.EPERM))
    pixels = random_pixels((3, 3, 3))
    path = write_image(tmp_path / "out.png", pixels)
    np.testing.assert_array_equal(read_image(path)[0], pixels)
    assert list(tmp_path.iterdir()) == [path]


def test_written_file_permissions_follow_the_umask(tmp_path):
    umask = os.umask(0o027)
    try:
        path = write_image(tmp_path / "out.png", np.zeros((2, 2, 3), np.uint8))
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o640


def test_ensure_not_input_catches_every_spelling_of_an_input(tmp_path):
    source = tmp_path / "in.png"
    source.write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.png").symlink_to(source)
    os.link(source, tmp_path / "hard.png")
    for spelling in [source, tmp_path / "sub" / ".." / "in.png", tmp_path / "link.png", tmp_path / "hard.png"]:
        with pytest.raises(ImageWriteError, match="input file") as caught:
            ensure_not_input(spelling, [tmp_path / "other.png", source])
        assert caught.value.path == str(spelling)
    ensure_not_input(tmp_path / "new.png", [source])
    (tmp_path / "other.png").write_bytes(b"x")
    ensure_not_input(tmp_path / "other.png", [source])

