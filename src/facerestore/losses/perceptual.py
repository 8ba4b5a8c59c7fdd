"""Perceptual loss: L1 (or L2) between VGG-19 activations of the prediction and the target (Johnson et al.;
used by Yun & Park Eq. 5 on Pool1–5). Weights from a local file only: the recipe's ``vgg19_weights`` or the
environment variable ``FACERESTORE_VGG19_WEIGHTS``, holding torchvision's ``vgg19`` state dict (e.g. its
ImageNet ``vgg19-dcbb9e9d.pth`` as it is, or the same tensors as ``.safetensors``; the forms read and the
``classifier.*`` tensors ignored: :func:`facerestore.models.vgg.load_vgg19`)."""
from __future__ import annotations

import os

import torch
from torch import nn

from facerestore.losses.pixel import pixel_loss
from facerestore.models.vgg import load_vgg19

WEIGHTS_ENV = "FACERESTORE_VGG19_WEIGHTS"
NO_VGG19 = (f"no VGG-19 weights: set vgg19_weights in the recipe (or {WEIGHTS_ENV}) to a local file of "
            "torchvision's vgg19 state dict, .pth or .safetensors")


class PerceptualLoss(nn.Module):
    """``Σ_l weight_l · criterion(φ_l(pred), φ_l(target))`` over VGG-19 layers ``layer_weights`` (name → weight)."""

    def __init__(self, vgg: nn.Module, layer_weights: dict[str, float], criterion: str = "l1"):
        super().__init__()
        self.vgg = vgg
        self.layer_weights = dict(layer_weights)
        self.criterion = pixel_loss(criterion)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        layers = list(self.layer_weights)
        fp = self.vgg(pred, layers)
        with torch.no_grad():
            ft = self.vgg(target, layers)
        return sum(w * self.criterion(fp[name], ft[name]) for name, w in self.layer_weights.items())


def perceptual_or_none(layer_weights: dict[str, float], weights_path: str | os.PathLike | None = None,
                       criterion: str = "l1") -> PerceptualLoss | None:
    """The perceptual loss on weights from ``weights_path`` (else ``$FACERESTORE_VGG19_WEIGHTS``).

    With no path at all the term is off: returns ``None`` (the objective lists it in its ``off_terms`` with
    :data:`NO_VGG19`, which the trainer prints when the stage starts). A path that does not exist raises
    :class:`WeightsError` naming it (a typo should not silently drop a loss term).
    """
    path = weights_path or os.environ.get(WEIGHTS_ENV)
    if not path:
        return None
    return PerceptualLoss(load_vgg19(path), layer_weights, criterion)
