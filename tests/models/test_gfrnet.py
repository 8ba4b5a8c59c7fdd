"""GFRNet (Li et al. 2018 §3.1, §3.3): WarpNet vs the released layout, Eq. 2 warping, landmark helpers,
RecNet U-Net, ablations, PatchGAN for GFRNet's discriminators."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from facerestore.errors import ConfigError, WeightsError
from facerestore.models import build_model, count_parameters
from facerestore.models.inference import prepare_for_inference
from facerestore.models.gfrnet import (
    GFRNet,
    convert_official,
    crop_boxes,
    grid_at_points,
    landmark_boxes,
    normalize_points,
    warp,
)

LAYOUT = Path(__file__).resolve().parents[1] / "fixtures" / "official_checkpoint_layouts" / "gfrnet_warpnet.json"
SMALL = 8  # base width for the behaviour tests (the structure is width-generic; paper: 64)


def _official_layout() -> dict:
    return json.loads(LAYOUT.read_text())


@pytest.fixture(scope="module")
def official_state() -> dict[str, torch.Tensor]:
    """A released-layout state dict with random values (every name and shape from the JSON layout)."""
    g = torch.Generator().manual_seed(0)
    state = {}
    for name, shape in _official_layout()["tensors"]:
        if name.endswith("num_batches_tracked"):
            state[name] = torch.tensor(7)
        elif name.endswith("running_var"):
            state[name] = torch.rand(shape, generator=g) + 0.5
        else:
            state[name] = torch.randn(shape, generator=g) * 0.05
    return state


def _official_warpnet() -> nn.Module:
    """The released ``GFRNet_Warpnet(ngf=64)`` structure, written from its module indices."""
    enc = [nn.Conv2d(6, 64, 4, 2, 1)]
    widths = [64, 128, 256, 512, 1024, 1024, 1024, 1024]
    for i in range(1, 8):
        enc += [nn.LeakyReLU(0.2), nn.Conv2d(widths[i - 1], widths[i], 4, 2, 1)]
        if i < 7:
            enc.append(nn.BatchNorm2d(widths[i]))
    dec = []
    out = [1024, 1024, 1024, 512, 256, 128, 64, 2]
    for j in range(8):
        dec += [nn.ReLU(), nn.ConvTranspose2d(1024 if j == 0 else out[j - 1], out[j], 4, 2, 1)]
        if j < 7:
            dec.append(nn.BatchNorm2d(out[j]))
    dec.append(nn.Tanh())
    net = nn.Module()
    net.warpNet = nn.Sequential(nn.Sequential(*enc), nn.Sequential(*dec))
    return net


def test_warpnet_parameter_count_matches_official_layout():
    with torch.device("meta"):  # counting needs no weight values
        model = build_model("gfrnet_warpnet")
    assert count_parameters(model) == 122_978_818 == _official_layout()["parameters"]


def test_convert_official_maps_every_tensor_once_and_reproduces_the_released_forward(official_state):
    with torch.device("meta"):  # no random init of 123M weights: every value comes from the state dict
        reference = _official_warpnet()
        model = build_model("gfrnet_warpnet")
    reference.load_state_dict(official_state, strict=True, assign=True)  # it really is the released layout
    converted = convert_official(official_state)
    assert len(converted) == len(official_state)
    model.load_state_dict(converted, strict=True, assign=True)

    degraded, guide = torch.rand(2, 1, 3, 256, 256) * 2 - 1
    reference.eval()
    model.eval()
    with torch.inference_mode():
        expected = reference.warpNet(torch.cat((degraded, guide), 1)).permute(0, 2, 3, 1)
        grid = model(degraded, guide)
    torch.testing.assert_close(grid, expected, rtol=1e-5, atol=1e-5)


def test_convert_official_prefix_targets_the_whole_gfrnet(official_state):
    converted = convert_official(official_state, prefix="warpnet.")
    with torch.device("meta"):
        model = GFRNet(channels=64)
    missing, unexpected = model.load_state_dict(converted, strict=False, assign=True)
    assert not unexpected
    assert all(name.startswith("recnet.") for name in missing)


def test_convert_official_rejects_unknown_tensor(official_state):
    state = dict(official_state)
    state["warpNet.0.1.weight"] = torch.zeros(1)  # index 1 is a LeakyReLU in the released model
    with pytest.raises(WeightsError, match="warpNet.0.1.weight"):
        convert_official(state)


def _unet_parameter_count(in_channels: int, channels: int, out_channels: int, skips: bool) -> int:
    """Direct count of the §3.1 encoder/decoder: conv 4×4 weights + biases, BatchNorm scale + shift."""
    enc = [channels * m for m in (1, 2, 4, 8, 16, 16, 16, 16)]
    total, previous = 0, in_channels
    for i, width in enumerate(enc):
        total += previous * width * 16 + width + (2 * width if 0 < i < 7 else 0)
        previous = width
    dec = enc[-2::-1] + [out_channels]
    for j, width in enumerate(dec):
        fan_in = previous + (enc[7 - j] if skips and j > 0 else 0)
        total += fan_in * width * 16 + width + (2 * width if j < 7 else 0)
        previous = width
    return total


def test_gfrnet_and_ablation_parameter_counts():
    warpnet = 122_978_818
    assert _unet_parameter_count(6, 64, 2, skips=False) == warpnet  # the formula agrees with the release
    with torch.device("meta"):
        full = build_model("gfrnet")
        no_warp = build_model("gfrnet", use_warpnet=False)
        no_guide = build_model("gfrnet", use_warpnet=False, use_guide=False)
        doubled = build_model("gfrnet", channels=128, use_warpnet=False)  # Ours(-W2)
    assert count_parameters(full.recnet) == _unet_parameter_count(6, 64, 3, skips=True)
    assert count_parameters(full) == warpnet + _unet_parameter_count(6, 64, 3, skips=True)
    assert count_parameters(no_warp) == _unet_parameter_count(6, 64, 3, skips=True)
    assert count_parameters(no_guide) == _unet_parameter_count(3, 64, 3, skips=True)
    assert count_parameters(doubled) == _unet_parameter_count(6, 128, 3, skips=True)


def test_warpnet_without_guide_is_a_config_error():
    with pytest.raises(ConfigError, match="use_guide"):
        build_model("gfrnet", use_guide=False)


def _eq2_reference(guide: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Eq. 2 written out: sum over the 4 integer neighbours of max(0, 1-|Φy-h|)·max(0, 1-|Φx-w|)."""
    c, height, width = guide.shape
    out = np.zeros((c,) + grid.shape[:2])
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            x = (grid[i, j, 0] + 1) * (width - 1) / 2
            y = (grid[i, j, 1] + 1) * (height - 1) / 2
            for h in (int(np.floor(y)), int(np.floor(y)) + 1):
                for w in (int(np.floor(x)), int(np.floor(x)) + 1):
                    if 0 <= h < height and 0 <= w < width:
                        out[:, i, j] += guide[:, h, w] * max(0, 1 - abs(y - h)) * max(0, 1 - abs(x - w))
    return out


def test_warp_is_equation_2(rng):
    guide = rng.random((2, 5, 7))
    grid = rng.uniform(-1.2, 1.2, (4, 6, 2))  # some positions fall outside the guide
    result = warp(torch.from_numpy(guide)[None], torch.from_numpy(grid)[None])[0].numpy()
    np.testing.assert_allclose(result, _eq2_reference(guide, grid), atol=1e-12)


def _identity_grid(height: int, width: int) -> torch.Tensor:
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, height), torch.linspace(-1, 1, width), indexing="ij")
    return torch.stack((xs, ys), dim=-1)[None]


def test_identity_grid_warps_guide_onto_itself():
    guide = torch.rand(1, 3, 9, 11)
    torch.testing.assert_close(warp(guide, _identity_grid(9, 11)), guide)


def test_normalize_points_maps_pixel_centres_to_corners():
    points = torch.tensor([[0.0, 0.0], [10.0, 4.0], [5.0, 2.0]])
    expected = torch.tensor([[-1.0, -1.0], [1.0, 1.0], [0.0, 0.0]])
    torch.testing.assert_close(normalize_points(points, height=5, width=11), expected)


def test_grid_at_points_interpolates_the_flow_at_landmarks(rng):
    """Φ of an affine map is affine, so bilinear interpolation at any landmark gives the map exactly."""
    grid = _identity_grid(16, 16) * 0.5 + torch.tensor([0.1, -0.2])
    points = torch.from_numpy(rng.uniform(-1, 1, (2, 68, 2)).astype(np.float32))
    expected = points * 0.5 + torch.tensor([0.1, -0.2])
    torch.testing.assert_close(grid_at_points(grid.expand(2, -1, -1, -1), points), expected)


def test_landmark_boxes_enclose_all_landmarks(rng):
    landmarks = rng.uniform(30, 220, (3, 68, 2))
    expected = np.concatenate((landmarks.min(axis=1), landmarks.max(axis=1)), axis=1)
    np.testing.assert_allclose(landmark_boxes(torch.from_numpy(landmarks)).numpy(), expected)


def test_crop_boxes_samples_the_box_on_a_regular_lattice():
    """On a linear ramp image, bilinear resampling is exact: crop[i, j] = ramp(x0 + j·Δx, y0 + i·Δy)."""
    height, width, size = 40, 50, 8
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    image = torch.from_numpy(np.stack((0.3 * xs + 0.1 * ys, -0.2 * xs + 0.5 * ys + 3)))[None]
    box = np.array([5.5, 7.25, 40.0, 30.0])
    crop = crop_boxes(image, torch.from_numpy(box)[None], size=size)[0].numpy()
    cx = box[0] + np.arange(size) * (box[2] - box[0]) / (size - 1)
    cy = box[1] + np.arange(size) * (box[3] - box[1]) / (size - 1)
    gy, gx = np.meshgrid(cy, cx, indexing="ij")
    np.testing.assert_allclose(crop, np.stack((0.3 * gx + 0.1 * gy, -0.2 * gx + 0.5 * gy + 3)), atol=1e-9)


@pytest.mark.parametrize("options", [{}, {"use_warpnet": False}, {"use_warpnet": False, "use_guide": False}])
def test_gfrnet_outputs_and_eval_determinism(options):
    model = build_model("gfrnet", channels=SMALL, **options).eval()
    degraded, guide = torch.rand(2, 2, 3, 256, 256) * 2 - 1
    with torch.inference_mode():
        first = model(degraded, guide)
        second = model(degraded, guide)
    assert first.restored.shape == (2, 3, 256, 256)
    assert first.restored.abs().max() <= 1
    assert torch.equal(first.restored, second.restored)
    if options:
        assert first.grid is None and first.warped is None
    else:
        assert first.grid.shape == (2, 256, 256, 2) and first.grid.abs().max() <= 1
        torch.testing.assert_close(first.warped, warp(guide, first.grid))


def test_gfrnet_training_steps_reduce_the_loss():
    model = build_model("gfrnet", channels=SMALL)
    degraded, guide, target = torch.rand(3, 1, 3, 256, 256) * 2 - 1  # batch 1, as in §4.2
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.5, 0.999))
    losses = []
    for _ in range(3):
        out = model(degraded, guide)
        loss = torch.mean((out.restored - target) ** 2) + torch.mean(out.grid.diff(dim=1) ** 2)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert all(p.grad is not None for p in model.warpnet.parameters())


def test_gfrnet_global_and_local_discriminators_shapes():
    global_d = build_model("patchgan", in_channels=9)
    local_d = build_model("patchgan", in_channels=3)
    with torch.inference_mode():
        assert global_d(torch.rand(1, 9, 256, 256)).shape == (1, 1, 30, 30)
        crop = crop_boxes(torch.rand(1, 3, 256, 256), torch.tensor([[60.0, 80.0, 190.0, 220.0]]))
        assert local_d(crop).shape == (1, 1, 14, 14)


def test_batchnorm_folding_keeps_the_output():
    model = build_model("gfrnet", channels=SMALL).eval()
    g = torch.Generator().manual_seed(5)
    for m in model.modules():  # non-trivial statistics, so that folding has something to do
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
    degraded, guide = torch.rand(2, 1, 3, 256, 256) * 2 - 1
    with torch.inference_mode():
        expected = model(degraded, guide)
        prepare_for_inference(model)
        folded = model(degraded, guide)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    torch.testing.assert_close(folded.restored, expected.restored, rtol=0, atol=1e-5)
    torch.testing.assert_close(folded.grid, expected.grid, rtol=0, atol=1e-5)
