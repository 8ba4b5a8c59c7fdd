"""Losses against direct formulas and PyTorch's own cross-entropy; VGG-19 layout against torchvision's counts."""
from __future__ import annotations


import numpy as np
import pytest
import torch
import torch.nn.functional as F

from facerestore.errors import ConfigError, WeightsError
from facerestore.losses import NO_VGG19, l1_loss, l2_loss, parsing_l1, perceptual_or_none, pixel_loss, \
    soft_cross_entropy
from facerestore.losses.perceptual import WEIGHTS_ENV
from facerestore.methods import build_method
from facerestore.methods.objective import PixelObjective
from facerestore.models.ufvnet import anchor_weight_targets
from facerestore.models.vgg import VGG19Features, layer_names, load_vgg19
from facerestore.models.weights import save_weights_file


def test_pixel_losses_match_numpy(rng):
    a, b = rng.random((2, 3, 5, 5)), rng.random((2, 3, 5, 5))
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    assert float(l1_loss(ta, tb)) == pytest.approx(np.abs(a - b).mean())
    assert float(l2_loss(ta, tb)) == pytest.approx(((a - b) ** 2).mean())
    assert pixel_loss("l2") is l2_loss
    with pytest.raises(ConfigError, match="l3"):
        pixel_loss("l3")
    with pytest.raises(ValueError, match="shape"):
        l1_loss(ta, tb[:, :, :4])


def test_parsing_l1_is_eq2_on_three_channel_maps(rng):
    p, y = rng.random((2, 3, 4, 4)), rng.random((2, 3, 4, 4))
    assert float(parsing_l1(torch.from_numpy(p), torch.from_numpy(y))) == pytest.approx(np.abs(p - y).mean())
    with pytest.raises(ValueError, match="N×3"):
        parsing_l1(torch.zeros(2, 1, 4, 4), torch.zeros(2, 1, 4, 4))


def test_soft_cross_entropy_matches_formula_and_torch(rng):
    logits = torch.from_numpy(rng.normal(size=(4, 3)))
    targets = anchor_weight_targets(torch.tensor([1 / 16, 3 / 16, 5 / 16, 8 / 16])).double()
    log_p = logits.numpy() - np.log(np.exp(logits.numpy()).sum(1, keepdims=True))
    expected = -(targets.numpy() * log_p).sum(1).mean()
    assert float(soft_cross_entropy(logits, targets)) == pytest.approx(expected)
    # probability targets are what torch's cross_entropy also accepts
    assert float(soft_cross_entropy(logits, targets)) == pytest.approx(float(F.cross_entropy(logits, targets)))


def test_soft_cross_entropy_is_minimised_at_the_targets():
    targets = anchor_weight_targets(torch.tensor([0.3]))
    logits = targets.log().clone().requires_grad_(True)
    soft_cross_entropy(logits, targets).backward()
    assert logits.grad.abs().max() < 1e-6


def test_vgg19_layout_is_torchvision():
    model = VGG19Features()
    names = layer_names()
    # torchvision vgg19.features indices: relu1_2 = 3, relu2_2 = 8, relu3_4 = 17, relu4_4 = 26, relu5_4 = 35
    assert [names.index(n) for n in ("relu1_2", "relu2_2", "relu3_4", "relu4_4", "relu5_4", "pool5")] == \
        [3, 8, 17, 26, 35, 36]
    # torchvision vgg19: 143,667,240 parameters, of which the classifier has 123,642,856
    assert sum(p.numel() for p in model.parameters()) == 143_667_240 - 123_642_856
    assert "features.34.weight" in model.state_dict() and len(model.state_dict()) == 32
    out = model(torch.rand(1, 3, 32, 32), ["relu1_1", "pool2"])
    assert out["relu1_1"].shape == (1, 64, 32, 32) and out["pool2"].shape == (1, 128, 8, 8)


def test_vgg19_missing_weights_file_is_named(tmp_path):
    missing = tmp_path / "vgg19.pth"
    with pytest.raises(WeightsError, match="vgg19.pth"):
        load_vgg19(missing)
    with pytest.raises(WeightsError, match="vgg19.pth"):
        perceptual_or_none({"relu1_1": 1.0}, missing)


def test_perceptual_off_without_weights_and_the_objective_says_why(monkeypatch):
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    assert perceptual_or_none({"relu1_1": 1.0}) is None
    objective = PixelObjective(build_method("bicubic"), perceptual={"relu1_1": 1.0})  # printed at stage start
    assert objective.perceptual is None and objective.off_terms == {"perceptual": NO_VGG19}


def test_perceptual_loss_from_local_file(tmp_path, monkeypatch):
    path = tmp_path / "vgg.safetensors"  # a torchvision-format file: features.* and (ignored) classifier.*
    save_weights_file({**VGG19Features().state_dict(), "classifier.6.bias": torch.zeros(1000)}, path)
    monkeypatch.setenv(WEIGHTS_ENV, str(path))
    loss = perceptual_or_none({"relu1_1": 1.0, "relu2_1": 0.5})
    x = torch.rand(1, 3, 16, 16)
    assert float(loss(x, x)) == 0.0
    y = torch.rand(1, 3, 16, 16)
    vgg = loss.vgg
    fx, fy = vgg(x, ["relu1_1", "relu2_1"]), vgg(y, ["relu1_1", "relu2_1"])
    expected = (fx["relu1_1"] - fy["relu1_1"]).abs().mean() + 0.5 * (fx["relu2_1"] - fy["relu2_1"]).abs().mean()
    assert float(loss(y, x)) == pytest.approx(float(expected), rel=1e-5)
    assert not any(p.requires_grad for p in vgg.parameters())
