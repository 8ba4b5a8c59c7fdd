"""The tuned inference paths of every registered network (the ones benchmarks/bench_models.py times):
BatchNorm folded + inference_mode in fp32, contiguous and channels_last, equals the plain eval forward
within 1e-5; bf16 autocast with bf16-stored conv/linear weights stays close to fp32 (and really runs in
bf16)."""
from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from facerestore.models import build_model, list_models
from facerestore.models.inference import cast_weights, prepare_for_inference

# name → (builder options, input shapes, input range): tiny widths/sizes where the architecture allows.
CASES = {
    "bicubic": ({"scale": 4}, [(2, 3, 8, 8)], (0, 1)),
    "edsr": ({"scale": 2, "num_blocks": 2, "channels": 16}, [(2, 3, 8, 8)], (0, 1)),
    "fishfsrnet": ({"scale": 4}, [(1, 3, 4, 4), (1, 3, 4, 4)], (0, 1)),
    "fsgn": ({}, [(2, 3, 12, 16), (2, 4, 12, 16)], (0, 1)),
    "gfrnet": ({"channels": 4}, [(1, 3, 256, 256), (1, 3, 256, 256)], (-1, 1)),
    "gfrnet_warpnet": ({"channels": 4}, [(1, 3, 256, 256), (1, 3, 256, 256)], (-1, 1)),
    "parsingnet": ({}, [(2, 3, 8, 8)], (0, 1)),
    "patchgan": ({"in_channels": 6, "channels": 8}, [(2, 6, 32, 32)], (-1, 1)),
    "sparnet": ({}, [(1, 3, 64, 64)], (-1, 1)),
    "sparnet_light_attn3d": ({}, [(2, 3, 64, 64)], (-1, 1)),
    "srcnn": ({}, [(2, 3, 16, 16)], (0, 1)),
    "srresnet": ({"scale": 2, "num_blocks": 2}, [(2, 3, 8, 8)], (0, 1)),
    "ufvnet": ({"num_anchors": 2, "anchor_decoders": False}, [(1, 3, 12, 12)], (-1, 1)),
    "vdsr": ({}, [(2, 3, 16, 16)], (0, 1)),
    "yun_park": ({}, [(1, 3, 32, 32)], (-1, 1)),
    "yun_park_discriminator": ({"in_channels": 6, "channels": 8}, [(2, 6, 256, 256)], (-1, 1)),
}


def _model(name: str) -> nn.Module:
    """The network with non-trivial BatchNorm statistics (identity statistics would fold to no change)."""
    torch.manual_seed(0)
    model = build_model(name, **CASES[name][0]).eval()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.6, 1.4)
                module.bias.uniform_(-0.2, 0.2)
    return model


def _image(shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """Uniform noise in [0, 1]; from 64 pixels up smoothed like a photo (noise at 1/4 size, bilinear),
    since GFRNet's warp turns image gradients × grid rounding (× H/2 pixels) into output error."""
    n, c, h, w = shape
    if h < 64:
        return torch.rand(shape, generator=generator)
    coarse = torch.rand((n, c, h // 4, w // 4), generator=generator)
    return F.interpolate(coarse, size=(h, w), mode="bilinear", align_corners=False)


def _inputs(name: str, channels_last: bool = False) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(1)
    low, high = CASES[name][2]
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    return tuple(
        (_image(shape, generator) * (high - low) + low).contiguous(memory_format=memory_format)
        for shape in CASES[name][1]
    )


def _tensors(output: object) -> list[torch.Tensor]:
    items = output if isinstance(output, tuple) else (output,)
    return [t for t in items if t is not None]


# Not restoration networks: the FID feature extractor is run by the metrics, never benchmarked or tuned.
NOT_RESTORATION = {"fid_inception_v3", "vgg_face"}  # feature extractors of metrics and losses


def test_every_registered_network_has_an_inference_path_case():
    assert set(list_models()) - NOT_RESTORATION == set(CASES)


@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "channels_last"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_tuned_fp32_forward_equals_the_plain_forward(name, channels_last):
    plain = _model(name)
    tuned = prepare_for_inference(copy.deepcopy(plain), channels_last=channels_last)
    with torch.no_grad():
        expected = _tensors(plain(*_inputs(name)))
    with torch.inference_mode():
        got = _tensors(tuned(*_inputs(name, channels_last)))
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        torch.testing.assert_close(g, e, rtol=0, atol=1e-5)


@pytest.mark.parametrize("name", sorted(set(CASES) - {"bicubic"}))
def test_bf16_autocast_with_bf16_weights_is_close_to_fp32(name):
    tuned = prepare_for_inference(_model(name), channels_last=True)
    inputs = _inputs(name, channels_last=True)
    with torch.inference_mode():
        reference = _tensors(tuned(*inputs))[0]
        cast_weights(tuned, torch.bfloat16)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = _tensors(tuned(*inputs))[0].float()
    relative = torch.linalg.vector_norm(low - reference) / torch.linalg.vector_norm(reference)
    # bf16 keeps 8 significant bits (relative rounding 2^-9 ≈ 0.2 % per operation): a bf16 forward differs
    # from fp32 by well under a few per cent, and by more than fp32 reordering would (~1e-6).
    assert 1e-4 < relative < 3e-2


def test_cast_weights_stores_conv_and_linear_parameters_in_bf16_only():
    model = cast_weights(build_model("srresnet", scale=2, num_blocks=1), torch.bfloat16)
    for module in model.modules():
        expected = torch.bfloat16 if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)) else torch.float32
        for parameter in module.parameters(recurse=False):
            assert parameter.dtype == expected, type(module).__name__
    assert any(isinstance(m, nn.PReLU) for m in model.modules())  # the fp32 branch is exercised
