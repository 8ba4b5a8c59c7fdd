"""SPARNet / SPARNet-Light-Attn3D: official counts and layouts, the FAU against a direct formula, training."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from facerestore.errors import WeightsError
from facerestore.models import build_model, count_parameters
from facerestore.models.sparnet import FaceAttentionUnit, convert_official

LAYOUTS = Path(__file__).resolve().parents[1] / "fixtures" / "official_checkpoint_layouts"
CASES = [("sparnet", "sparnet", 10_518_867), ("sparnet_light_attn3d", "light", 5_242_211)]


def _official_state_dict(layout: str) -> dict[str, torch.Tensor]:
    tensors = json.loads((LAYOUTS / f"{layout}.json").read_text())["tensors"]
    return {name: torch.randn(shape) if shape else torch.tensor(7) for name, shape in tensors}


def _randomize_batchnorm(model: nn.Module) -> None:
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)


@pytest.mark.parametrize("name, variant, expected", CASES)
def test_parameter_count_matches_official(name, variant, expected):
    layout = json.loads((LAYOUTS / f"{name}.json").read_text())
    assert layout["parameters"] == expected
    assert count_parameters(build_model(name)) == expected


@pytest.mark.parametrize("name, variant, expected", CASES)
def test_official_layout_converts_one_to_one(name, variant, expected):
    official = _official_state_dict(name)
    converted = convert_official(official, variant=variant)
    assert len(converted) == len(official)  # distinct names: no two official tensors share one of ours
    model = build_model(name)
    model.load_state_dict(converted, strict=True)  # every one of ours is filled, shapes equal
    assert all(t is official_t for t, official_t in zip(converted.values(), official.values()))


def test_converter_maps_hourglass_levels_outermost_first():
    names = {
        "encoder.1.att_func.b1_4.conv2d.weight": "encoder.down.0.attention.skip.0.conv.weight",
        "encoder.1.att_func.b2_1.norm.norm.running_var": "encoder.down.0.attention.down.3.norm.running_var",
        "encoder.1.att_func.b2_plus_1.conv2d.weight": "encoder.down.0.attention.bottom.conv.weight",
        "decoder.2.att_func.b3_5.conv2d.weight": "decoder.up.2.attention.up.0.conv.weight",
        "res_layers.0.preact_func.0.norm.weight": "decoder.body.0.pre_norm.weight",
        "decoder.1.shortcut_func.conv2d.bias": "decoder.up.1.shortcut.bias",
        "out_conv.conv2d.weight": "decoder.tail.weight",
    }
    official = _official_state_dict("sparnet_light_attn3d")
    converted = convert_official(official, variant="light")
    for theirs, ours in names.items():
        assert converted[ours] is official[theirs]


def test_converter_rejects_wrong_variant_and_foreign_tensors():
    official = _official_state_dict("sparnet_light_attn3d")
    with pytest.raises(WeightsError, match="body FAUs"):
        convert_official(official, variant="sparnet")
    with pytest.raises(WeightsError, match="not part of"):
        convert_official({**official, "module.extra.weight": torch.zeros(1)}, variant="light")


def _conv_ref(x, weight, bias=None, stride=1, upsample=False):
    """Official ConvLayer: optional nearest ×2, reflection pad 1, 3×3 conv."""
    if upsample:
        x = F.interpolate(x, scale_factor=2, mode="nearest")
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), weight, bias, stride)


def _bn_ref(x, bn):
    shape = (1, -1, 1, 1)
    return (x - bn.running_mean.view(shape)) / torch.sqrt(bn.running_var.view(shape) + bn.eps) * bn.weight.view(
        shape) + bn.bias.view(shape)


def _cna_ref(x, block, stride=1, upsample=False):
    return F.leaky_relu(_bn_ref(_conv_ref(x, block.conv.weight, None, stride, upsample), block.norm), 0.2)


def _hourglass_ref(x, hg, level, depth):
    """The official recursive hourglass (b1 skip, b2 down, b2_plus bottom, b3 ×2 up) on our tensors."""
    k = depth - level
    up1 = _cna_ref(x, hg.skip[k])
    low = _cna_ref(x, hg.down[k], stride=2)
    low = _hourglass_ref(low, hg, level - 1, depth) if level > 1 else _cna_ref(low, hg.bottom)
    return up1 + _cna_ref(low, hg.up[k], upsample=True)


@pytest.mark.parametrize("scale, c_in, c_out", [("down", 4, 8), ("up", 8, 4), ("none", 6, 6)])
@pytest.mark.parametrize("attention", ["spar", "spar3d"])
def test_fau_matches_equation_3_with_official_blocks(scale, c_in, c_out, attention):
    fau = FaceAttentionUnit(c_in, c_out, scale, hourglass_depth=2, attention=attention)
    _randomize_batchnorm(fau)
    fau.eval()
    x = torch.randn(2, c_in, 16, 16)
    h = F.leaky_relu(_bn_ref(x, fau.pre_norm), 0.2)
    up = scale == "up"
    stride = 2 if scale == "down" else 1
    h = F.leaky_relu(_bn_ref(_conv_ref(h, fau.conv1.weight, upsample=up), fau.norm1), 0.2)
    h = _bn_ref(_conv_ref(h, fau.conv2.weight, stride=stride), fau.norm2)
    attention_map = torch.sigmoid(_conv_ref(_hourglass_ref(h, fau.attention, 2, 2), fau.attention.out.weight,
                                            fau.attention.out.bias))
    assert attention_map.shape[1] == (1 if attention == "spar" else c_out)
    identity = x if scale == "none" else _conv_ref(x, fau.shortcut.weight, fau.shortcut.bias, stride, up)
    with torch.no_grad():
        torch.testing.assert_close(fau(x), identity + h * attention_map, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["sparnet", "sparnet_light_attn3d"])
def test_output_is_the_hr_size_and_eval_is_deterministic(name):
    model = build_model(name).eval()
    x = torch.rand(1, 3, 128, 128) * 2 - 1
    with torch.inference_mode():
        first, second = model(x), model(x)
    assert first.shape == (1, 3, 128, 128)
    assert torch.equal(first, second)


def test_training_steps_reduce_the_l1_loss():
    model = build_model("sparnet_light_attn3d").train()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-4)
    lr_up, hr = torch.rand(1, 3, 64, 64) * 2 - 1, torch.rand(1, 3, 64, 64) * 2 - 1  # any multiple of 32 from 64
    losses = []
    for _ in range(3):
        loss = F.l1_loss(model(lr_up), hr)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
