"""MATLAB-compatible bicubic imresize: hand-derived Keys weights, Pillow's bicubic in the interior,
MATLAB's output-size rule, constants preserved, and the batched torch version."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from facerestore.degrade.resize import imresize, imresize_torch
from matlab_reference import hand_matrix_double, hand_matrix_halve

def test_halving_uses_antialiased_keys_weights(rng):
    img = rng.random((8, 12, 3)).astype(np.float32)
    rows, cols = hand_matrix_halve(8), hand_matrix_halve(12)
    expected = np.einsum("ij,jkc,lk->ilc", rows, img.astype(np.float64), cols)
    out = imresize(img, scale=0.5)
    assert out.shape == (4, 6, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_doubling_uses_keys_weights(rng):
    img = rng.random((4, 5)).astype(np.float32)
    expected = hand_matrix_double(4) @ img.astype(np.float64) @ hand_matrix_double(5).T
    np.testing.assert_allclose(imresize(img, scale=2), expected, atol=1e-6)


@pytest.mark.parametrize("size", [(15, 22), (80, 101), (20, 70), (9, 5)])
def test_matches_pillow_bicubic_away_from_borders(rng, size):
    # Pillow also uses Keys a = -0.5 with an antialiased (stretched) kernel; it differs only at the
    # borders, where it renormalises the truncated kernel instead of mirroring.
    img = rng.random((37, 53)).astype(np.float32)
    out = imresize(img, size=size)
    ref = np.asarray(Image.fromarray(img, mode="F").resize(size[::-1], Image.Resampling.BICUBIC))
    border = 3
    np.testing.assert_allclose(out[border:-border, border:-border], ref[border:-border, border:-border], atol=1e-5)


@pytest.mark.parametrize("scale", [1 / 3.2, 0.25, 1 / 7.3, 1.7, 3.0])
def test_constant_image_stays_constant(scale):
    img = np.full((64, 48, 3), 0.3, dtype=np.float32)
    out = imresize(img, scale=scale)
    np.testing.assert_allclose(out, 0.3, atol=1e-6)


@pytest.mark.parametrize(
    ("in_size", "scale", "expected"),
    [((128, 128), 1 / 3.2, (40, 40)), ((128, 128), 1 / 3, (43, 43)), ((37, 20), 0.5, (19, 10)),
     ((7, 9), 2.5, (18, 23))],
)
def test_output_size_is_ceil_of_scaled_size(in_size, scale, expected):
    assert imresize(np.zeros(in_size, dtype=np.float32), scale=scale).shape == expected


def test_explicit_size_and_identity():
    img = np.random.default_rng(0).random((10, 14, 3)).astype(np.float32)
    assert imresize(img, size=(7, 31)).shape == (7, 31, 3)
    np.testing.assert_array_equal(imresize(img, scale=1), img)
    with pytest.raises(ValueError):
        imresize(img, scale=0.5, size=(5, 7))
    with pytest.raises(ValueError):
        imresize(img)


def test_torch_batch_matches_numpy(rng):
    batch = rng.random((2, 3, 24, 30)).astype(np.float32)
    out = imresize_torch(torch.from_numpy(batch), scale=1 / 3.5)
    for i in range(2):
        expected = imresize(batch[i].transpose(1, 2, 0), scale=1 / 3.5).transpose(2, 0, 1)
        np.testing.assert_allclose(out[i].numpy(), expected, atol=1e-6)
    up = imresize_torch(torch.from_numpy(batch), size=(24, 30))
    assert torch.equal(up, torch.from_numpy(batch))


def test_weights_cached_under_inference_mode_serve_a_later_backward():
    """The weight matrices are cached: ones first made inside torch.inference_mode() (an evaluation) must still
    work in a training step's autograd afterwards."""
    with torch.inference_mode():
        imresize_torch(torch.rand(1, 3, 13, 13), scale=3)
    x = torch.rand(1, 3, 13, 13, requires_grad=True)
    imresize_torch(x, scale=3).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
