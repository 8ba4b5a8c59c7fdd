"""BatchNorm folding and inference preparation: folded outputs equal the plain eval forward."""
from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from facerestore.models import build_model
from facerestore.models.inference import fold_batchnorm, prepare_for_inference


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


@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("size", [1, 2, 4, 8])
def test_matmul_conv_equals_the_convolution_on_few_pixels(transposed, size):
    from facerestore.models.inference import MatmulConv

    torch.manual_seed(0)
    conv = (nn.ConvTranspose2d if transposed else nn.Conv2d)(32, 16, 4, stride=2, padding=1).eval()
    x = torch.randn(3, 32, size, size) if transposed or size > 1 else torch.randn(3, 32, 2, 2)
    with torch.inference_mode():
        assert torch.allclose(MatmulConv(conv)(x), conv(x), atol=1e-5)


def test_matmul_conv_wraps_only_weight_heavy_convolutions_and_keeps_their_weights(monkeypatch):
    from facerestore.models import inference
    from facerestore.models.inference import MATMUL_MAX_PIXELS, MatmulConv, use_matmul_convs

    monkeypatch.setattr(inference, "MATMUL_MIN_WEIGHTS", 1 << 20)  # the real threshold is 16 M weights
    model = nn.Sequential(nn.Conv2d(256, 256, 4, 2, 1), nn.Conv2d(8, 8, 3, padding=1),
                          nn.Conv2d(256, 256, 3, padding=1, padding_mode="reflect"))
    weight = model[0].weight
    use_matmul_convs(model)
    assert isinstance(model[0], MatmulConv) and model[0].conv.weight is weight
    assert isinstance(model[1], nn.Conv2d) and isinstance(model[2], nn.Conv2d)  # small; reflection padding
    assert isinstance(use_matmul_convs(build_model("gfrnet_warpnet")).encoder[6].conv, MatmulConv)
    big = torch.randn(1, 256, 64, 64)  # 32×32 output pixels > MATMUL_MAX_PIXELS: the convolution itself
    assert 32 * 32 > MATMUL_MAX_PIXELS
    with torch.inference_mode():
        assert torch.equal(model[0](big), model[0].conv(big))
