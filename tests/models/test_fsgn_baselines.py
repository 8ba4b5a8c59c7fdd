"""FSGN (Song et al. Table 1) and the comparison baselines: structure, counts, behaviour."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from facerestore.degrade.resize import imresize
from facerestore.models import build_model, count_parameters
from facerestore.models.fsgn import FSGN


def _conv_layers(model: nn.Module) -> list[nn.Conv2d]:
    return [m for m in model.modules() if isinstance(m, nn.Conv2d)]


@pytest.mark.parametrize(
    "variant, expected_params",
    # conv1 (7 or 3 → 64) + 50 body convs + conv7 (64 → 64) + conv8 (64 → 3), 3×3 with biases.
    [("BLD+M", 7 * 64 * 9 + 64 + 51 * (64 * 64 * 9 + 64) + 64 * 3 * 9 + 3),
     ("BL+M", 7 * 64 * 9 + 64 + 51 * (64 * 64 * 9 + 64) + 64 * 3 * 9 + 3),
     ("BL", 3 * 64 * 9 + 64 + 51 * (64 * 64 * 9 + 64) + 64 * 3 * 9 + 3),
     ("B", 3 * 64 * 9 + 64 + 51 * (64 * 64 * 9 + 64) + 64 * 3 * 9 + 3)],
)
def test_fsgn_counts_and_53_convolutions(variant, expected_params):
    model = build_model("fsgn", variant=variant)
    assert count_parameters(model) == expected_params
    assert len(_conv_layers(model)) == 53


def test_fsgn_docstring_states_the_parameter_counts():
    counts = {variant: f"{count_parameters(build_model('fsgn', variant=variant)):,}" for variant in ("BLD+M", "B")}
    assert counts == {"BLD+M": "1,889,155", "B": "1,886,851"}
    assert f"{counts['BLD+M']} parameters with masks ({counts['B']} without" in " ".join(FSGN.__doc__.split())


def test_fsgn_keeps_rectangular_sizes():
    model = FSGN(channels=8).eval()
    lr_up, masks = torch.rand(1, 3, 40, 30), torch.rand(1, 4, 40, 30)       # 320 × 240 (§4) in miniature
    with torch.no_grad():
        out = model(lr_up, masks)
        assert out.shape == (1, 3, 40, 30)
        # Fully convolutional: the portrait face is the landscape one transposed, through transposed filters.
        flipped = FSGN(channels=8).eval()
        flipped.load_state_dict({k: v.transpose(-1, -2) if v.dim() == 4 else v for k, v in model.state_dict().items()})
        torch.testing.assert_close(flipped(lr_up.transpose(-1, -2), masks.transpose(-1, -2)),
                                   out.transpose(-1, -2), rtol=1e-4, atol=1e-5)


def test_fsgn_dilations_follow_table_1():
    dilations = [conv.dilation[0] for conv in _conv_layers(build_model("fsgn"))]
    assert dilations[0] == 1 and dilations[-2:] == [1, 1]
    assert dilations[1:51] == [d for d in (5, 4, 3, 2, 1) for _ in range(10)]
    assert {conv.dilation[0] for conv in _conv_layers(build_model("fsgn", variant="BL+M"))} == {1}


def test_fsgn_local_skip_switch_changes_the_function():
    torch.manual_seed(0)
    with_skips = FSGN(channels=8, local_skips=True, use_masks=False, dilated=False)
    without = FSGN(channels=8, local_skips=False, use_masks=False, dilated=False)
    without.load_state_dict(with_skips.state_dict())
    x = torch.rand(1, 3, 16, 16)
    assert not torch.allclose(with_skips(x), without(x))


def test_fsgn_predicts_a_residual_on_its_input():
    model = FSGN(channels=8)
    nn.init.zeros_(model.conv8.weight)
    nn.init.zeros_(model.conv8.bias)
    lr_up, masks = torch.rand(2, 3, 20, 24), torch.rand(2, 4, 20, 24)
    assert torch.equal(model(lr_up, masks), lr_up)


def test_fsgn_requires_masks_when_built_with_them():
    with pytest.raises(ValueError, match="masks"):
        FSGN(channels=8)(torch.rand(1, 3, 8, 8))


def test_fsgn_training_step_reduces_loss():
    torch.manual_seed(0)
    model = FSGN(channels=8)
    lr_up, masks = torch.rand(1, 3, 12, 12), torch.rand(1, 4, 12, 12)
    target = lr_up.flip(-1)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(4):
        loss = nn.functional.mse_loss(model(lr_up, masks), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


@pytest.mark.parametrize(
    "name, options, expected",
    [
        ("srcnn", {}, 3 * 64 * 81 + 64 + 64 * 32 * 25 + 32 + 32 * 3 * 25 + 3),
        ("vdsr", {}, 3 * 64 * 9 + 64 + 18 * (64 * 64 * 9 + 64) + 64 * 3 * 9 + 3),
        ("bicubic", {}, 0),
    ],
)
def test_baseline_counts(name, options, expected):
    assert count_parameters(build_model(name, **options)) == expected


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_srresnet_shapes(scale):
    model = build_model("srresnet", scale=scale, num_blocks=2, channels=16).eval()
    with torch.inference_mode():
        assert model(torch.rand(1, 3, 8, 10)).shape == (1, 3, 8 * scale, 10 * scale)


def test_srresnet_rejects_non_power_of_two():
    with pytest.raises(ValueError, match="powers of two"):
        build_model("srresnet", scale=3)


def test_vdsr_and_srcnn_keep_size():
    x = torch.rand(1, 3, 17, 23)
    with torch.inference_mode():
        assert build_model("vdsr", depth=4, channels=8)(x).shape == x.shape
        assert build_model("srcnn")(x).shape == x.shape


def test_bicubic_baseline_matches_numpy_imresize():
    rng = np.random.default_rng(0)
    lr = rng.random((9, 11, 3), dtype=np.float32)
    expected = np.clip(imresize(lr, scale=4), 0, 1)
    out = build_model("bicubic", scale=4)(torch.from_numpy(lr).permute(2, 0, 1)[None])
    np.testing.assert_allclose(out[0].permute(1, 2, 0).numpy(), expected, atol=1e-5)


def test_srresnet_residual_quick_variant_starts_from_matlab_bicubic():
    from facerestore.degrade import imresize_torch
    from facerestore.methods import build_method

    torch.manual_seed(0)
    lr = torch.rand(2, 3, 8, 8)
    with torch.no_grad():
        residual = build_method("srresnet", scale=4, num_blocks=2, residual=True).eval()
        assert torch.equal(residual.restore({"lr": lr}), imresize_torch(lr, scale=4))
        plain = build_method("srresnet", scale=4, num_blocks=2).eval()
        assert not torch.allclose(plain.restore({"lr": lr}), imresize_torch(lr, scale=4), atol=1e-2)


def test_vdsr_starts_with_he_initialisation():
    vdsr = build_model("vdsr")
    inner = vdsr.body[2]
    fan_in = inner.weight[0].numel()
    assert abs(inner.weight.std().item() - (2 / fan_in) ** 0.5) < 0.003 and torch.all(inner.bias == 0)
