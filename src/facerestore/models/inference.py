"""Inference-path preparation shared by the networks: BatchNorm folding, prepacked convolution weights
(:func:`use_packed_convs`), memory format and bf16 weights (:func:`prepare_for_inference`).

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

from facerestore.errors import ConfigError

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


class _Prepacked:
    """Forward of a convolution whose weights are laid out for oneDNN once, not on every call.

    A plain CPU ``conv2d`` / ``conv_transpose2d`` reorders its weight tensor into oneDNN's blocked layout on
    every call. For weight-heavy layers on few pixels that copy is the whole cost (GFRNet's 1024-channel
    4×4 layers at 8×8 … 1×1: 67 MB each, 22 ms reordered vs 0.2–3 ms prepacked on this CPU, docs/models.md).
    Here the weight is reordered on the first call (``mkldnn._reorder_convolution[_transpose]_weight``, the
    form PyTorch's own freezing pass uses) and kept beside it; it is packed again when the weight changes
    (dtype, storage or an in-place update such as ``load_state_dict``; weights created under
    ``inference_mode`` have no version counter, so only their dtype and storage are watched). The output keeps
    PyTorch's memory format (channels_last when the input or the weight is).

    The convolution's own forward runs whenever prepacking does not apply: gradients needed, a non-CPU
    device, or input and weight dtypes differing (under CPU autocast an fp32 input meets bf16 weights stored
    by :func:`cast_weights` and is cast to bf16 first, as autocast would).
    """

    _packed: torch.Tensor | None = None
    _packed_for: tuple | None = None

    def __getstate__(self) -> dict:  # copies and pickles leave the opaque packed tensor behind
        return {k: v for k, v in self.__dict__.items() if k not in ("_packed", "_packed_for")}

    def _packed_weight(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.weight
        key = (weight.dtype, weight.data_ptr(), None if weight.is_inference() else weight._version)
        if key != self._packed_for:
            if isinstance(self, nn.ConvTranspose2d):
                self._packed = torch.ops.mkldnn._reorder_convolution_transpose_weight(
                    weight.detach(), list(self.padding), list(self.output_padding), list(self.stride),
                    list(self.dilation), self.groups, list(x.shape))
            else:
                self._packed = torch.ops.mkldnn._reorder_convolution_weight(
                    weight.detach(), list(self.padding), list(self.stride), list(self.dilation), self.groups,
                    list(x.shape))
            self._packed_for = key
        return self._packed

    def forward(self, x: torch.Tensor, *args) -> torch.Tensor:
        weight = self.weight
        if (torch.is_autocast_enabled("cpu") and weight.dtype == torch.get_autocast_dtype("cpu")
                and x.dtype == torch.float32):
            x = x.to(weight.dtype)
        if (args or x.device.type != "cpu" or x.dtype != weight.dtype
                or x.dtype not in (torch.float32, torch.bfloat16) or (torch.is_grad_enabled() and weight.requires_grad)):
            return super().forward(x, *args)
        bias = None if self.bias is None else self.bias.detach().to(x.dtype)
        geometry = (list(self.stride), list(self.dilation), self.groups, "none", [], "")
        if isinstance(self, nn.ConvTranspose2d):
            out = torch.ops.mkldnn._convolution_transpose_pointwise(
                x, self._packed_weight(x), bias, list(self.padding), list(self.output_padding), *geometry)
        else:
            out = torch.ops.mkldnn._convolution_pointwise(x, self._packed_weight(x), bias, list(self.padding),
                                                          *geometry)
        return out if _channels_last(x) or _channels_last(weight) else out.contiguous()


def _channels_last(t: torch.Tensor) -> bool:
    return t.is_contiguous(memory_format=torch.channels_last) and not t.is_contiguous()


class PackedConv2d(_Prepacked, nn.Conv2d):
    """``nn.Conv2d`` with prepacked oneDNN weights (:class:`_Prepacked`)."""


class PackedConvTranspose2d(_Prepacked, nn.ConvTranspose2d):
    """``nn.ConvTranspose2d`` with prepacked oneDNN weights (:class:`_Prepacked`)."""


def use_packed_convs(model: nn.Module) -> nn.Module:
    """Turn every zero-padded ``Conv2d`` / ``ConvTranspose2d`` of ``model`` into its prepacked form, in place;
    returns ``model``. Only the class changes (``PackedConv2d`` is a ``Conv2d``): the weights are the same
    tensors, state-dict keys, :func:`cast_weights` and BatchNorm folding keep working. Reflection-padded or
    ``padding="same"`` convolutions stay as they are."""
    if not torch.backends.mkldnn.is_available():
        return model
    for module in model.modules():
        if type(module) in _PACKED and module.padding_mode == "zeros" and not isinstance(module.padding, str):
            module.__class__ = _PACKED[type(module)]
    return model


_PACKED = {nn.Conv2d: PackedConv2d, nn.ConvTranspose2d: PackedConvTranspose2d}


PRECISIONS = ("fp32", "bf16")


def prepare_for_inference(model: nn.Module, channels_last: bool = False, precision: str = "fp32") -> nn.Module:
    """Eval mode, BatchNorm folded, gradients off, convolution weights prepacked for oneDNN
    (:func:`use_packed_convs`), optionally channels_last weights, and for ``precision="bf16"`` conv/linear
    weights stored in bf16 (:func:`cast_weights`), in place; returns ``model``.

    Run the prepared model under ``torch.inference_mode()`` (with inputs in channels_last when asked), and a
    bf16 one under ``torch.autocast(device, dtype=torch.bfloat16)`` too.
    """
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    fold_batchnorm(model)
    use_packed_convs(model)
    model.requires_grad_(False)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    if precision == "bf16":
        cast_weights(model, torch.bfloat16)
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
