"""BatchNorm folding and inference preparation: folded outputs equal the plain eval forward."""
from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from facerestore.models import build_model
from facerestore.models.inference import (PackedConv2d, PackedConvTranspose2d, fold_batchnorm, prepare_for_inference,
                                          use_packed_convs)


def _randomize_batchnorm(model: nn.Module) -> nn.Module:
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d) and module.affine:
                module.running_mean.uniform_(-0.3, 0.3)
                module.running_var.uniform_(0.3, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.3, 0.3)
    return model


def _batchnorms(model: nn.Module) -> int:
    return sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())


def test_folded_sparnet_equals_the_plain_eval_forward():
    plain = _randomize_batchnorm(build_model("sparnet")).eval()
    folded = fold_batchnorm(copy.deepcopy(plain))
    # 16 FAUs keep only their pre-activation BN (BN → LeakyReLU → conv cannot be folded).
    assert _batchnorms(plain) > 100 and _batchnorms(folded) == 3 + 10 + 3
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    with torch.inference_mode():
        torch.testing.assert_close(folded(x), plain(x), rtol=0, atol=1e-5)


def test_prepared_channels_last_light_attn3d_equals_the_plain_forward():
    plain = _randomize_batchnorm(build_model("sparnet_light_attn3d")).eval()
    prepared = prepare_for_inference(copy.deepcopy(plain), channels_last=True)
    assert not prepared.training
    assert not any(p.requires_grad for p in prepared.parameters())
    assert prepared.encoder.head.weight.is_contiguous(memory_format=torch.channels_last)
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    with torch.inference_mode():
        torch.testing.assert_close(prepared(x.contiguous(memory_format=torch.channels_last)), plain(x),
                                   rtol=0, atol=1e-5)


def test_sequential_conv_and_transposed_conv_pairs_are_folded():
    plain = _randomize_batchnorm(nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1, groups=4), nn.BatchNorm2d(8), nn.LeakyReLU(0.2),
        nn.ConvTranspose2d(8, 6, 4, stride=2, padding=1), nn.BatchNorm2d(6),
    )).eval()
    folded = fold_batchnorm(copy.deepcopy(plain))
    assert _batchnorms(folded) == 0
    assert isinstance(folded[1], nn.Identity) and folded[0].bias is not None
    x = torch.randn(2, 3, 10, 10)
    with torch.inference_mode():
        torch.testing.assert_close(folded(x), plain(x), rtol=0, atol=1e-5)


def test_batchnorms_that_cannot_be_folded_exactly_are_left():
    model = nn.Sequential(
        nn.BatchNorm2d(3), nn.Conv2d(3, 4, 3),  # BN before the conv: nothing precedes it
        nn.Conv2d(4, 4, 1), nn.BatchNorm2d(4, track_running_stats=False),  # batch statistics even in eval
        nn.ConvTranspose2d(4, 4, 2, groups=2), nn.BatchNorm2d(4),  # grouped transposed conv
    )
    folded = fold_batchnorm(copy.deepcopy(model))
    assert _batchnorms(folded) == 3


def test_fold_switches_the_model_to_eval_mode():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).train()
    assert not fold_batchnorm(model).training


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("transposed", [False, True])
def test_packed_conv_equals_the_convolution_at_every_size_and_keeps_the_memory_format(dtype, channels_last,
                                                                                       transposed):
    torch.manual_seed(0)
    kind = nn.ConvTranspose2d if transposed else nn.Conv2d
    conv = kind(32, 16, 4, stride=2, padding=1, dilation=1, groups=2).eval().to(dtype)
    packed = use_packed_convs(copy.deepcopy(conv))
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    with torch.inference_mode():
        for shape in [(1, 32, 2, 2), (3, 32, 8, 8), (2, 32, 5, 9)]:  # packed for the first, reused for the rest
            x = torch.randn(shape).to(dtype).contiguous(memory_format=fmt)
            out, ref = packed(x), conv(x)
            assert out.shape == ref.shape and out.dtype == dtype and out.is_contiguous(memory_format=fmt)
            assert torch.allclose(out.float(), ref.float(), atol=1e-5 if dtype == torch.float32 else 2e-2)


def test_packed_conv_repacks_after_a_weight_update_and_defers_to_the_conv_for_gradients():
    torch.manual_seed(0)
    conv = nn.Conv2d(8, 8, 3, padding=2, dilation=2)
    packed, x = use_packed_convs(copy.deepcopy(conv)), torch.randn(1, 8, 6, 6)
    with torch.inference_mode():
        packed(x)
    with torch.no_grad():
        packed.weight.mul_(-2)  # in place, as load_state_dict does
        conv.weight.mul_(-2)
    with torch.inference_mode():
        assert torch.allclose(packed(x), conv(x), atol=1e-5)
    packed(x).sum().backward()  # gradients wanted: the convolution's own forward
    assert packed.weight.grad is not None


def test_packed_conv_casts_fp32_input_to_stored_bf16_weights_under_autocast():
    conv = nn.Conv2d(4, 4, 3, padding=1).to(torch.bfloat16).requires_grad_(False)
    x = torch.randn(1, 4, 5, 5)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        out, ref = use_packed_convs(copy.deepcopy(conv))(x), conv(x)
    assert out.dtype == torch.bfloat16 and torch.equal(out, ref)


def test_use_packed_convs_changes_only_the_class_of_zero_padded_convolutions():
    model = nn.Sequential(nn.Conv2d(16, 16, 4, 2, 1), nn.ConvTranspose2d(16, 8, 4, 2, 1),
                          nn.Conv2d(8, 8, 3, padding=1, padding_mode="reflect"), nn.Conv2d(8, 8, 3, padding="same"))
    weight, keys = model[0].weight, list(model.state_dict())
    use_packed_convs(model)
    assert type(model[0]) is PackedConv2d and model[0].weight is weight and type(model[1]) is PackedConvTranspose2d
    assert type(model[2]) is nn.Conv2d and type(model[3]) is nn.Conv2d  # reflection / string padding
    assert list(model.state_dict()) == keys
    assert type(use_packed_convs(build_model("gfrnet_warpnet")).encoder[6].conv) is PackedConv2d
