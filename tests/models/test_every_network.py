"""Every registered network, at a tiny width, runs forward and backward on an input of its kind (as timm's
model-wide tests): finite outputs, and gradients that reach the input and the parameters. A network
registered without a case here fails the first test."""
from __future__ import annotations

import pytest
import torch

from facerestore.models import MODELS, build_model


def image(side: int, channels: int = 3) -> torch.Tensor:
    """A batch of two (BatchNorm networks need more than one value per channel)."""
    return torch.rand(2, channels, side, side).requires_grad_(True)


CASES = {  # name → (build options, inputs)
    "bicubic": ({"scale": 2}, lambda: (image(8),)),
    "edsr": ({"channels": 8, "num_blocks": 1}, lambda: (image(8),)),
    "fid_inception_v3": ({}, lambda: (image(75),)),
    "fishfsrnet": ({"channels": 8, "scale": 8}, lambda: (image(16), torch.rand(2, 3, 16, 16))),
    "fsgn": ({"channels": 8}, lambda: (image(32), torch.rand(2, 4, 32, 32))),
    "gfrnet": ({"channels": 2}, lambda: (image(256), image(256))),
    "gfrnet_warpnet": ({"channels": 2}, lambda: (image(256), image(256))),
    "parsingnet": ({}, lambda: (image(16),)),
    "patchgan": ({"channels": 4}, lambda: (image(64),)),
    "sparnet": ({"width": 0.125}, lambda: (image(128),)),
    "sparnet_light_attn3d": ({"width": 0.125}, lambda: (image(128),)),
    "srcnn": ({}, lambda: (image(32),)),
    "srresnet": ({"num_blocks": 1, "channels": 8}, lambda: (image(8),)),
    "ufvnet": ({"width": 0.125}, lambda: (image(16),)),
    "vdsr": ({"depth": 3, "channels": 8}, lambda: (image(32),)),
    "vgg_face": ({}, lambda: (image(32),)),
    "yun_park": ({"channels": 2}, lambda: (image(32),)),
    "yun_park_discriminator": ({"in_channels": 6, "channels": 2}, lambda: (image(256, 6),)),
}


def outputs(result) -> list[torch.Tensor]:
    """The tensors a network returns (one, or the fields of its named tuple)."""
    if isinstance(result, torch.Tensor):
        return [result]
    return [value for value in result if isinstance(value, torch.Tensor)]


def test_every_registered_network_has_a_case():
    assert set(CASES) == set(MODELS.names())


@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_and_backward(name):
    torch.manual_seed(0)
    options, make_inputs = CASES[name]
    net = build_model(name, **options).train()
    inputs = make_inputs()
    results = outputs(net(*inputs))
    assert results and all(torch.isfinite(r).all() for r in results)
    sum(r.float().mean() for r in results).backward()
    assert inputs[0].grad is not None and torch.isfinite(inputs[0].grad).all() and inputs[0].grad.abs().sum() > 0
    grads = [p.grad for p in net.parameters() if p.requires_grad]
    if grads:  # bicubic has no parameters
        reached = [g for g in grads if g is not None]
        assert reached and all(torch.isfinite(g).all() for g in reached)
