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


MATMUL_MAX_PIXELS = 256  # output pixels per image up to which a weight-heavy conv runs as a matrix product
MATMUL_MIN_WEIGHTS = 1 << 24  # 1024×1024×4×4: GFRNet's inner layers; Yun & Park's 512-wide ones are faster as convs


class MatmulConv(nn.Module):
    """Inference form of a weight-heavy convolution on few pixels: one matrix product with the weight tensor
    viewed as a matrix (no copy), ``W · unfold(x)`` for a Conv2d and ``fold(Wᵀ · x)`` for a ConvTranspose2d;
    the wrapped convolution itself on inputs giving more than :data:`MATMUL_MAX_PIXELS` output pixels.

    oneDNN lays a convolution's weights out anew on every call. For layers with millions of weights and a
    handful of pixels (GFRNet's 1024-channel 4×4 layers at 8×8 … 1×1, 67 MB each) that copy
    dominates, and the fp32 matrix product is 2–4× faster on this CPU (docs/models.md). Same arithmetic, sums
    in another order: outputs equal to the convolution's to float rounding. Weights stored in bf16
    (:func:`cast_weights`) keep the convolution, which was faster than a bf16 matrix product here.
    """

    def __init__(self, conv: nn.Conv2d | nn.ConvTranspose2d):
        super().__init__()
        self.conv = conv
        self.transposed = isinstance(conv, nn.ConvTranspose2d)

    @staticmethod
    def applies_to(module: nn.Module) -> bool:
        if not isinstance(module, _CONVS) or module.groups != 1 or module.weight.numel() < MATMUL_MIN_WEIGHTS:
            return False
        if isinstance(module, nn.ConvTranspose2d):
            return not any(module.output_padding)
        return module.padding_mode == "zeros" and not isinstance(module.padding, str)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        conv = self.conv
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = conv.kernel_size, conv.stride, conv.padding, conv.dilation
        n, _, h, w = x.shape
        if self.transposed:
            out_h = (h - 1) * sh - 2 * ph + dh * (kh - 1) + 1
            out_w = (w - 1) * sw - 2 * pw + dw * (kw - 1) + 1
        else:
            out_h = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
            out_w = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
        weight = conv.weight
        if out_h * out_w > MATMUL_MAX_PIXELS or weight.dtype != torch.float32:
            return conv(x)
        if self.transposed:  # weight in × out × kh × kw
            cols = torch.matmul(weight.flatten(1).t(), x.flatten(2))
            out = nn.functional.fold(cols, (out_h, out_w), (kh, kw), (dh, dw), (ph, pw), (sh, sw))
        else:  # weight out × in × kh × kw
            cols = nn.functional.unfold(x, (kh, kw), (dh, dw), (ph, pw), (sh, sw))
            out = torch.matmul(weight.flatten(1), cols).view(n, -1, out_h, out_w)
        return out if conv.bias is None else out + conv.bias.to(out.dtype).view(1, -1, 1, 1)


def use_matmul_convs(model: nn.Module) -> nn.Module:
    """Wrap every convolution :meth:`MatmulConv.applies_to` in a :class:`MatmulConv`, in place; returns ``model``.
    The wrapped weights are the same tensors (``cast_weights`` and state dicts keep working, under ``conv.``)."""
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if MatmulConv.applies_to(child):
                setattr(module, name, MatmulConv(child))
    return model


def prepare_for_inference(model: nn.Module, channels_last: bool = False) -> nn.Module:
    """Eval mode, BatchNorm folded, gradients off, weight-heavy convolutions on few pixels as matrix products
    (:class:`MatmulConv`) and optionally channels_last weights, in place; returns ``model``.

    Run the prepared model under ``torch.inference_mode()`` (with inputs in channels_last when asked).
    """
    fold_batchnorm(model)
    use_matmul_convs(model)
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
