"""Inference-path preparation shared by the networks: BatchNorm folding and memory format.

:func:`fold_batchnorm` folds an eval-mode BatchNorm into the convolution that directly precedes it,
``bn(conv(x)) = conv'(x)`` with ``W' = W·γ/σ`` (per output channel) and ``b' = (b − μ)·γ/σ + β``,
σ = sqrt(running_var + eps). It is exact only when the BatchNorm is the sole consumer of the convolution's
output, so only these pairs are folded:

* consecutive ``(Conv2d | ConvTranspose2d, BatchNorm2d)`` entries of an ``nn.Sequential``;
* pairs a module declares in a class attribute ``bn_folds = (("conv_attr", "norm_attr"), ...)``, a promise
  that its forward applies ``norm_attr`` right after ``conv_attr`` and uses the conv output nowhere else.

A pre-activation BatchNorm (BN → activation → conv, as in SPARNet's FAU) has no preceding conv of its own
and cannot go into the following conv through the nonlinearity; it is left as it is. BatchNorms without
running statistics and grouped transposed convolutions are left unfolded too. The folded BatchNorm is
replaced by ``nn.Identity``, so load weights before folding.
"""
from __future__ import annotations

import torch
from torch import nn

_CONVS = (nn.Conv2d, nn.ConvTranspose2d)


def _foldable(conv: nn.Module, norm: nn.Module) -> bool:
    if not isinstance(conv, _CONVS) or not isinstance(norm, nn.BatchNorm2d):
        return False
    if norm.running_mean is None or norm.num_features != conv.out_channels:
        return False
    return isinstance(conv, nn.Conv2d) or conv.groups == 1


@torch.no_grad()
def _fold(conv: nn.Conv2d | nn.ConvTranspose2d, norm: nn.BatchNorm2d) -> None:
    scale = torch.rsqrt(norm.running_var + norm.eps)
    if norm.affine:
        scale = scale * norm.weight
    shift = -norm.running_mean * scale + (norm.bias if norm.affine else 0)
    # Conv2d weights are out×in×kh×kw; ConvTranspose2d (groups 1) in×out×kh×kw.
    shape = (-1, 1, 1, 1) if isinstance(conv, nn.Conv2d) else (1, -1, 1, 1)
    conv.weight.mul_(scale.reshape(shape).to(conv.weight.dtype))
    bias = shift if conv.bias is None else conv.bias * scale + shift
    if conv.bias is None:
        conv.bias = nn.Parameter(bias.to(conv.weight.dtype), requires_grad=conv.weight.requires_grad)
    else:
        conv.bias.copy_(bias)


def _fold_pairs(module: nn.Module) -> list[tuple[str, str]]:
    pairs = list(getattr(module, "bn_folds", ()))
    if isinstance(module, nn.Sequential):
        names = list(module._modules)
        pairs += list(zip(names, names[1:]))
    return pairs


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """Fold every foldable eval-mode BatchNorm of ``model`` into its preceding conv, in place.

    The model is switched to eval mode (folding freezes the running statistics); returns ``model``.
    """
    model.eval()
    for module in list(model.modules()):
        for conv_name, norm_name in _fold_pairs(module):
            conv, norm = getattr(module, conv_name), getattr(module, norm_name)
            if _foldable(conv, norm):
                _fold(conv, norm)
                setattr(module, norm_name, nn.Identity())
    return model


def prepare_for_inference(model: nn.Module, channels_last: bool = False) -> nn.Module:
    """Eval mode, BatchNorm folded, gradients off and optionally channels_last weights, in place; returns ``model``.

    Run the prepared model under ``torch.inference_mode()`` (with inputs in channels_last when asked).
    """
    fold_batchnorm(model)
    model.requires_grad_(False)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    return model


def cast_weights(model: nn.Module, dtype: torch.dtype = torch.bfloat16) -> nn.Module:
    """Store the weights and biases of every Conv2d, ConvTranspose2d and Linear in ``dtype``, in place; returns
    ``model``. Run it under ``torch.autocast("cpu", dtype=dtype)`` only.

    Autocast casts fp32 weights again on every call (its cache holds only parameters that require grad), which
    for weight-heavy networks (GFRNet's WarpNet: 492 MB of fp32 weights per forward) costs more than the bf16
    convolutions save; stored bf16 weights halve the traffic instead. Other layers (BatchNorm, PReLU) keep fp32.
    """
    layers = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)
    for module in model.modules():
        if isinstance(module, layers):
            module.to(dtype)
    return model
