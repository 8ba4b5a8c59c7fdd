"""VGG-19 feature extractor (Simonyan & Zisserman, configuration E) for perceptual losses.

The ``features`` module has torchvision's layout and state-dict names (``features.0.weight`` …
``features.34.bias``), so torchvision's ImageNet ``vgg19`` weights load as they are; the classifier is not
built (its tensors in the file are ignored). Weights come only from a local file (never downloaded):
:func:`load_vgg19` reads ``.safetensors`` and ``torch.save`` state dicts, of the whole model or of its
``features`` alone (:func:`torchvision_features`).
"""
from __future__ import annotations

import os

import torch
from torch import nn

from facerestore.errors import WeightsError
from facerestore.models.weights import check_shapes, load_weights_file

# Configuration E: channels of each 3×3 conv, "M" a 2×2 max-pool.
VGG19_CONFIG = (64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
                512, 512, 512, 512, "M")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def layer_names() -> list[str]:
    """Names of the ``features`` layers in order: ``conv1_1, relu1_1, …, pool1, conv2_1, …, pool5``."""
    names, block, index = [], 1, 1
    for item in VGG19_CONFIG:
        if item == "M":
            names.append(f"pool{block}")
            block, index = block + 1, 1
        else:
            names += [f"conv{block}_{index}", f"relu{block}_{index}"]
            index += 1
    return names


class VGG19Features(nn.Module):
    """``forward(x, layers)``: x N×3×H×W in [0, 1] (ImageNet-normalised inside) → {layer name: activation}."""

    def __init__(self):
        super().__init__()
        modules: list[nn.Module] = []
        channels = 3
        for item in VGG19_CONFIG:
            if item == "M":
                modules.append(nn.MaxPool2d(2, 2))
            else:
                modules += [nn.Conv2d(channels, item, 3, padding=1), nn.ReLU()]
                channels = item
        self.features = nn.Sequential(*modules)
        self.names = layer_names()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor, layers: list[str]) -> dict[str, torch.Tensor]:
        unknown = set(layers) - set(self.names)
        if unknown:
            raise ValueError(f"unknown VGG-19 layers {sorted(unknown)}")
        last = max(self.names.index(name) for name in layers)
        out: dict[str, torch.Tensor] = {}
        x = (x - self.mean) / self.std
        for name, module in zip(self.names[:last + 1], self.features):
            x = module(x)
            if name in layers:
                out[name] = x
        return out


def torchvision_features(tensors: dict[str, torch.Tensor], path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The ``features.*`` tensors of a torchvision VGG-19 state dict, whichever of its forms ``tensors`` has:

    * the whole model's state dict (``torchvision.models.vgg19(...).state_dict()``, as torchvision's ImageNet
      file ``vgg19-dcbb9e9d.pth`` holds it): ``features.0.weight`` … ``features.34.bias`` and
      ``classifier.{0,3,6}.{weight,bias}``; the classifier is dropped;
    * the state dict of its ``features`` module alone (``vgg19().features.state_dict()``): ``0.weight`` …
      ``34.bias``, given the ``features.`` prefix;
    * either one nested under a key such as ``state_dict`` or with DataParallel's ``module.`` prefix (undone
      by :func:`facerestore.models.weights.load_torch_state_dict`).

    A BatchNorm VGG (``vgg19_bn``: ``features.1.running_mean`` …) has other indices and is refused."""
    if any(".running_mean" in name for name in tensors):
        raise WeightsError("holds BatchNorm statistics: a vgg19_bn file, not torchvision's vgg19 (no BatchNorm) "
                           "that L_vgg expects", path)
    if not any(name.startswith("features.") for name in tensors) and \
            all(name.split(".", 1)[0].isdigit() for name in tensors):
        tensors = {f"features.{name}": value for name, value in tensors.items()}
    return {name: value for name, value in tensors.items() if name.startswith("features.")}


def load_vgg19(path: str | os.PathLike) -> VGG19Features:
    """VGG-19 features with torchvision-format weights from ``path``: ``.safetensors``, or a tensors-only PyTorch
    file (``torch.save`` of a state dict, read with ``weights_only=True``: a pickled whole ``nn.Module`` is
    refused; save its ``state_dict()``), in any form of :func:`torchvision_features` (``classifier.*`` tensors
    are ignored). Frozen, in eval mode. :class:`WeightsError` names the file."""
    tensors = torchvision_features(load_weights_file(path), path)
    model = VGG19Features()
    check_shapes(model.state_dict(), tensors, path, "torchvision's VGG-19")
    result = model.load_state_dict(tensors, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise WeightsError(f"is not a torchvision VGG-19: missing {result.missing_keys[:4]}, "
                           f"unexpected {result.unexpected_keys[:4]}", path)
    return model.eval().requires_grad_(False)
