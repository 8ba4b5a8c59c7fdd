"""Degradation models and presets: kernels, motion-flow blur, noise, JPEG, and the paper presets'
parameter sets, output sizes and reproducibility."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from facerestore.degrade import (
    PRESETS,
    add_gaussian_noise,
    apply_preset,
    blur_foreground,
    default_face_mask,
    gaussian_blur,
    gaussian_kernel_1d,
    jpeg_compress,
    list_presets,
    motion_kernel_bank,
    random_motion_field,
    random_motion_kernel,
)
from facerestore.degrade.kernels import convolve
from facerestore.degrade.motion_flow import motion_flow_blur
from facerestore.errors import ConfigError

# The papers' parameter sets, written out independently of the code.
GFR_RHO = {0.0} | {round(1 + 0.1 * i, 1) for i in range(21)}  # {0, 1:0.1:3}
GFR_S = {round(1 + 0.1 * i, 1) for i in range(71)}  # {1:0.1:8}
GFR_SIGMA = {0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0}  # {0:1:7}
GFR_Q = {0} | set(range(10, 41))  # {0, 10:1:40}
UFV_MR8 = {0.0625, 0.125, 0.1875, 0.25, 0.3125, 0.375, 0.4375, 0.5}


def _textured(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    return rng.random((h, w, 3)).astype(np.float32)


# --- kernels -------------------------------------------------------------------------------------


def _gaussian_2d(sigma: float, radius: int) -> np.ndarray:
    t = np.arange(-radius, radius + 1)
    k = np.exp(-(t[:, None] ** 2 + t[None, :] ** 2) / (2 * sigma**2))
    return k / k.sum()


def test_gaussian_kernel_matches_formula():
    g = gaussian_kernel_1d(1.5)
    assert g.shape == (11,)  # 2 * ceil(4.5) + 1
    np.testing.assert_allclose(np.outer(g, g), _gaussian_2d(1.5, 5), rtol=1e-5)
    np.testing.assert_array_equal(gaussian_kernel_1d(0), [1.0])


def test_gaussian_blur_matches_scipy_and_sigma_zero_is_identity(rng):
    img = _textured(20, 17, rng)
    np.testing.assert_array_equal(gaussian_blur(img, 0), img)
    kernel = _gaussian_2d(1.2, 4)  # radius ceil(3 * 1.2)
    ref = np.stack([ndimage.convolve(img[..., c], kernel, mode="nearest") for c in range(3)], -1)
    np.testing.assert_allclose(gaussian_blur(img, 1.2), ref, atol=1e-5)


def test_convolve_is_a_true_convolution(rng):
    img = _textured(15, 13, rng)
    kernel = rng.random((5, 3)).astype(np.float32)  # asymmetric: catches correlation vs convolution
    ref = np.stack([ndimage.convolve(img[..., c], kernel, mode="nearest") for c in range(3)], -1)
    np.testing.assert_allclose(convolve(img, kernel), ref, atol=1e-5)


def _check_motion_kernel(k: np.ndarray) -> None:
    n = k.shape[0]
    assert k.shape == (n, n) and 11 <= n <= 31 and n % 2 == 1
    assert k.min() >= 0 and abs(float(k.sum()) - 1) < 1e-5
    ys, xs = np.mgrid[:n, :n]
    # centroid on the centre pixel: blurring does not shift the face
    assert abs((k * xs).sum() - (n - 1) / 2) < 1e-3 and abs((k * ys).sum() - (n - 1) / 2) < 1e-3
    assert (k > 0).sum() > 3  # a trajectory, not a delta


def test_motion_kernel_bank_has_200_normalised_kernels_of_size_11_to_31():
    bank = motion_kernel_bank(0)
    assert len(bank) == 200
    for k in bank:
        _check_motion_kernel(k)
    sizes = {k.shape[0] for k in bank}
    assert min(sizes) == 11 and max(sizes) == 31
    assert all(np.array_equal(a, b) for a, b in zip(bank, motion_kernel_bank.__wrapped__(0)))
    assert not all(np.array_equal(a, b) for a, b in zip(bank, motion_kernel_bank(1)) if a.shape == b.shape)


def test_random_motion_kernel_on_the_fly(rng):
    for _ in range(20):
        k, params = random_motion_kernel(rng)
        _check_motion_kernel(k)
        assert params["kernel_size"] == k.shape[0]
    a, _ = random_motion_kernel(5)
    b, _ = random_motion_kernel(5)
    np.testing.assert_array_equal(a, b)


# --- motion flow -----------------------------------------------------------------------------------


def test_constant_flow_blur_is_a_line_average(rng):
    img = _textured(12, 20, rng)
    field = np.zeros((12, 20, 2), dtype=np.float32)
    field[..., 0] = 4.0  # 5 samples at offsets -2..2 px along x
    ref = ndimage.uniform_filter1d(img, size=5, axis=1, mode="nearest")
    np.testing.assert_allclose(motion_flow_blur(img, field), ref, atol=1e-5)


def test_motion_field_is_smooth_and_bounded(rng):
    field, params = random_motion_field((64, 48), rng, max_length=(4.0, 20.0))
    length = np.sqrt((field**2).sum(-1))
    assert abs(length.max() - params["flow_max_length"]) < 1e-3
    assert 4.0 * 64 / 256 <= params["flow_max_length"] <= 20.0 * 64 / 256  # scaled to the image size
    # sum of translation, rotation and zoom: an affine field, so second differences vanish
    assert np.abs(np.diff(field, n=2, axis=0)).max() < 1e-4
    assert np.abs(np.diff(field, n=2, axis=1)).max() < 1e-4


def test_motion_flow_blur_leaves_pixels_outside_the_mask_untouched(rng):
    img = _textured(64, 64, rng)
    mask = np.zeros((64, 64), dtype=np.float32)
    mask[16:48, 16:48] = 1.0
    mask[12:16, 16:48] = 0.5
    out, params = blur_foreground(img, mask, rng, max_length=(10.0, 12.0))
    np.testing.assert_array_equal(out[mask == 0], img[mask == 0])
    assert np.abs(out[mask == 1] - img[mask == 1]).mean() > 0.05
    assert json.dumps(params)


def test_default_face_mask_is_a_centred_soft_ellipse():
    mask = default_face_mask((256, 256))
    assert mask[133, 128] == 1.0 and mask[0, 0] == 0.0 and mask[128, 5] == 0.0
    assert ((mask > 0) & (mask < 1)).any()  # soft rim
    assert mask.min() >= 0 and mask.max() <= 1


# --- noise and JPEG --------------------------------------------------------------------------------


def test_awgn_sigma_is_on_the_255_scale(rng):
    img = np.full((128, 128, 3), 0.5, dtype=np.float32)
    np.testing.assert_array_equal(add_gaussian_noise(img, 0, rng), img)
    diff = add_gaussian_noise(img, 5, rng) - img
    assert abs(diff.std() * 255 - 5) < 0.1 and abs(diff.mean() * 255) < 0.1


def test_jpeg_matches_pillow_and_quality_zero_is_lossless(rng):
    ys, xs = np.mgrid[:48, :40]
    img = np.stack([np.sin(xs / 5) * 0.4 + 0.5, np.cos(ys / 7) * 0.4 + 0.5, ((xs + ys) % 16) / 16], -1)
    img = img.astype(np.float32) + np.float32(0.3 / 255)  # off the 8-bit grid: q = 0 must not quantise
    np.testing.assert_array_equal(jpeg_compress(img, 0), img)
    pixels = np.rint(np.clip(img, 0, 1) * 255).astype(np.uint8)
    for quality in (10, 40):
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "JPEG", quality=quality)
        ref = np.asarray(Image.open(buffer), dtype=np.float32) / 255
        np.testing.assert_allclose(jpeg_compress(img, quality), ref, atol=1.5 / 255)
    assert np.abs(jpeg_compress(img, 10) - img).mean() > np.abs(jpeg_compress(img, 40) - img).mean()


# --- presets ---------------------------------------------------------------------------------------


PRESET_SIZES = {
    "song_sr": ((128, 96), {"lr": (32, 24)}),
    "song_deblur": ((128, 96), {"lr": (32, 24)}),
    "yun_x8": ((256, 256), {"lr": (32, 32), "hr_blur": (256, 256)}),
    "ufv_multires": ((128, 128), {"lr_up": (128, 128)}),
    "gfrnet_general": ((128, 128), {"lr_up": (128, 128)}),
    "blind_mix": ((128, 128), {"lr_up": (128, 128)}),
    "fish_x4": ((128, 128), {"lr": (32, 32)}),
    "fish_x8": ((128, 128), {"lr": (16, 16)}),
    "fish_x16": ((128, 128), {"lr": (8, 8)}),
}


def test_every_preset_is_covered():
    assert set(list_presets()) == set(PRESET_SIZES)


@pytest.mark.parametrize("name", sorted(PRESET_SIZES))
def test_preset_output_sizes_ranges_and_reproducibility(name, rng):
    hr_size, sizes = PRESET_SIZES[name]
    hr = _textured(*hr_size, rng)
    hr_before = hr.copy()
    outputs, params = apply_preset(name, hr, 7)
    np.testing.assert_array_equal(hr, hr_before)  # input never modified
    assert set(outputs) == set(PRESETS[name].outputs)
    for key, size in sizes.items():
        assert outputs[key].shape == size + (3,)
    for image in outputs.values():
        assert image.dtype == np.float32 and image.min() >= 0 and image.max() <= 1
    assert params["preset"] == name
    assert json.loads(json.dumps(params)) == params
    again, params_again = apply_preset(name, hr, np.random.default_rng(7))
    assert params_again == params
    for key in outputs:
        np.testing.assert_array_equal(again[key], outputs[key])


def test_gfrnet_general_samples_the_paper_sets_and_sizes():
    hr = np.random.default_rng(0).random((24, 24, 3)).astype(np.float32)
    rng = np.random.default_rng(3)
    seen = {key: set() for key in ("blur_sigma", "scale", "noise_sigma", "jpeg_quality")}
    for _ in range(300):
        outputs, params = apply_preset("gfrnet_general", hr, rng)
        for key in seen:
            seen[key].add(params[key])
        lr_side = int(np.ceil(24 / params["scale"] - 1e-9))
        assert outputs["lr"].shape == (lr_side, lr_side, 3)
        assert outputs["lr_up"].shape == (24, 24, 3)
    assert seen["blur_sigma"] <= GFR_RHO and seen["scale"] <= GFR_S
    assert seen["noise_sigma"] <= GFR_SIGMA and seen["jpeg_quality"] <= GFR_Q
    assert 0.0 in seen["blur_sigma"] and 0 in seen["jpeg_quality"] and seen["noise_sigma"] == GFR_SIGMA
    assert len(seen["scale"]) > 50 and len(seen["blur_sigma"]) > 15


def test_gfrnet_general_identity_settings_give_back_the_image(rng):
    # rho = 0 (no blur), s = 1, sigma = 0, q = 0 (no JPEG): Eq. 4 reduces to the identity
    hr = _textured(16, 16, rng)
    out, params = apply_preset("gfrnet_general", hr, rng, blur_sigmas=(0.0,), scales=(1.0,),
                               noise_sigmas=(0.0,), jpeg_qualities=(0,))
    np.testing.assert_array_equal(out["lr"], hr)
    np.testing.assert_array_equal(out["lr_up"], hr)
    assert params == {"preset": "gfrnet_general", "blur_sigma": 0.0, "scale": 1.0, "noise_sigma": 0.0,
                      "jpeg_quality": 0}
    jpeg_only, _ = apply_preset("gfrnet_general", hr, rng, blur_sigmas=(0.0,), scales=(1.0,),
                                noise_sigmas=(0.0,), jpeg_qualities=(20,))
    assert not np.array_equal(jpeg_only["lr"], hr)
    np.testing.assert_allclose(jpeg_only["lr"] * 255, np.rint(jpeg_only["lr"] * 255), atol=1e-3)  # 8-bit


def test_song_presets_sample_their_ranges():
    hr = np.random.default_rng(0).random((32, 32, 3)).astype(np.float32)
    rng = np.random.default_rng(1)
    for _ in range(50):
        _, sr = apply_preset("song_sr", hr, rng)
        assert 1.4 <= sr["blur_sigma"] <= 1.7 and sr["scale"] == 4
        _, deblur = apply_preset("song_deblur", hr, rng)
        assert 0 <= deblur["kernel_index"] < 200 and 11 <= deblur["kernel_size"] <= 31
    _, fresh = apply_preset("song_deblur", hr, rng, bank_seed=None)
    assert "kernel_index" not in fresh and 11 <= fresh["kernel_size"] <= 31


def test_blind_mix_draws_each_component_with_its_weight_and_refuses_bad_mixes():
    hr = np.random.default_rng(0).random((64, 64, 3), dtype=np.float32)
    rng = np.random.default_rng(1)
    drawn = [apply_preset("blind_mix", hr, rng)[1]["component"] for _ in range(200)]
    counts = {name: drawn.count(name) / len(drawn) for name in ("ufv_multires", "gfrnet_general", "bicubic")}
    assert abs(counts["ufv_multires"] - 0.5) < 0.1 and abs(counts["gfrnet_general"] - 0.3) < 0.1
    assert abs(counts["bicubic"] - 0.2) < 0.1
    only, _ = apply_preset("blind_mix", hr, 3, mix=[["bicubic", 1.0]], scales=(4,))
    assert only["lr"].shape == (16, 16, 3) and only["lr_up"].shape == (64, 64, 3)
    with pytest.raises(ConfigError, match="blind_mix needs components"):
        apply_preset("blind_mix", hr, 0, mix=[["sharpen", 1.0]])


def test_ufv_multires_rate_sets():
    hr = np.random.default_rng(0).random((128, 128, 3)).astype(np.float32)
    rng = np.random.default_rng(2)
    rates = {apply_preset("ufv_multires", hr, rng)[1]["rate"] for _ in range(80)}
    assert rates == UFV_MR8
    out, params = apply_preset("ufv_multires", hr, rng, rate_set="MR3")
    assert params["rate"] in {0.125, 0.25, 0.5} and out["lr"].shape[0] == 128 * params["rate"]
    mr7 = {apply_preset("ufv_multires", hr, rng, rate_set="MR7")[1]["rate"] for _ in range(60)}
    assert mr7 == UFV_MR8 - {0.0625}
    with pytest.raises(ConfigError):
        apply_preset("ufv_multires", hr, rng, rate_set="MR5")


def test_yun_x8_blurs_only_the_face_region(rng):
    hr = _textured(256, 256, rng)
    out, params = apply_preset("yun_x8", hr, rng)
    outside = default_face_mask((256, 256)) == 0
    np.testing.assert_array_equal(out["hr_blur"][outside], hr[outside])
    assert params["face_mask"] == "default_ellipse"
    mask = np.zeros((256, 256), dtype=np.float32)
    mask[:, 128:] = 1
    out, params = apply_preset("yun_x8", hr, rng, face_mask=mask[None])  # 1xHxW, as in a Sample
    np.testing.assert_array_equal(out["hr_blur"][:, :128], hr[:, :128])
    assert params["face_mask"] == "given" and not np.array_equal(out["hr_blur"][:, 128:], hr[:, 128:])


def test_scales_option_and_errors(rng):
    hr = _textured(64, 64, rng)
    out, params = apply_preset("fish_x4", hr, rng, scales=(2,))
    assert out["lr"].shape == (32, 32, 3) and params["scale"] == 2.0
    with pytest.raises(ConfigError, match="unknown degradation preset"):
        apply_preset("nope", hr, rng)
    with pytest.raises(ConfigError, match="fish_x4"):
        apply_preset("fish_x4", hr, rng, sigma=3)
    with pytest.raises(ConfigError):
        apply_preset("fish_x4", hr, rng, scales=(0,))
    with pytest.raises(ConfigError):
        apply_preset("fish_x4", hr[..., :2], rng)
