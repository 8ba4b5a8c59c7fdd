"""Discriminators (models/discriminators.py): Yun & Park §3.3's seven-convolution discriminator with one score
per image, beside pix2pix's PatchGAN (which GFRNet and the Yun & Park quick recipe keep)."""
from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from facerestore.models import build_model, count_parameters
from facerestore.models.discriminators import PatchGAN, YunParkDiscriminator
from facerestore.models.inference import prepare_for_inference


def _kinds(model: nn.Module, kind: type) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, kind)]


def test_yun_park_discriminator_has_seven_convolutions_and_one_score_per_image():
    torch.manual_seed(0)
    d = build_model("yun_park_discriminator", in_channels=6, channels=4).eval()
    assert isinstance(d, YunParkDiscriminator)
    convs = _kinds(d, nn.Conv2d)
    assert len(convs) == 7  # §3.3: "seven convolutional layers"
    assert [c.out_channels for c in convs] == [4, 8, 16, 32, 32, 32, 1]
    assert [c.stride for c in convs] == [(2, 2)] * 6 + [(1, 1)] and convs[-1].padding == (0, 0)
    assert len(_kinds(d, nn.BatchNorm2d)) == 5 and len(_kinds(d, nn.LeakyReLU)) == 6
    assert not _kinds(d, nn.Sigmoid)
    with torch.no_grad():
        convs[-1].bias.fill_(5.0)  # no sigmoid: a score above 1 is possible (LSGAN, Eq. 1-2)
        scores = d(torch.rand(3, 6, 256, 256) * 2 - 1)
    assert scores.shape == (3, 1) and scores.min() > 1  # "one-dimensional output", not a 30×30 map


def test_yun_park_discriminator_parameter_counts():
    with torch.device("meta"):
        counts = {(arch, c, w): count_parameters(build_model(arch, in_channels=c, channels=w))
                  for arch in ("yun_park_discriminator", "patchgan") for c in (6, 3) for w in (64, 16)}
    assert counts[("yun_park_discriminator", 6, 64)] == 11_161_281  # D_g
    assert counts[("yun_park_discriminator", 3, 64)] == 11_158_209  # D_l
    assert counts[("yun_park_discriminator", 6, 16)] == 701_361  # the quick recipe's width
    assert counts[("patchgan", 6, 64)] == 2_769_601 and counts[("patchgan", 6, 16)] == 176_305


def test_yun_park_discriminator_refuses_other_sizes_naming_them():
    d = build_model("yun_park_discriminator", channels=2)
    with pytest.raises(ValueError, match="256×256 inputs.*got 128×128"):
        d(torch.rand(2, 3, 128, 128))


def test_yun_park_discriminator_folds_its_batchnorms_exactly():
    torch.manual_seed(0)
    d = build_model("yun_park_discriminator", in_channels=3, channels=4).eval()
    for m in _kinds(d, nn.BatchNorm2d):
        m.running_mean.uniform_(-0.2, 0.2)
        m.running_var.uniform_(0.5, 2.0)
    x = torch.rand(2, 3, 256, 256)
    with torch.no_grad():
        expected = d(x)
    folded = prepare_for_inference(copy.deepcopy(d))
    with torch.inference_mode():
        got = folded(x)
    assert not _kinds(folded, nn.BatchNorm2d)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)


def test_patchgan_is_unchanged():
    d = build_model("patchgan", in_channels=9, channels=4)
    assert isinstance(d, PatchGAN) and len(_kinds(d, nn.Conv2d)) == 5
    with torch.no_grad():
        assert d(torch.rand(2, 9, 256, 256)).shape == (2, 1, 30, 30)
