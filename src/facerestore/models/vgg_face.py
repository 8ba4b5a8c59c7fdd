"""VGG-Face (Parkhi, Vedaldi & Zisserman, "Deep Face Recognition", BMVC 2015): the VGG-16-shaped
face-recognition network whose conv-4 features give GFRNet's perceptual term (Li et al. 2018 §3.3, Eq. 5).

**Weights layout** (what a file must hold; :func:`load_vgg_face`): the 13 convolutions of the released
Caffe / Torch model under their Caffe layer names, ``conv1_1.weight`` (64×3×3×3), ``conv1_1.bias``,
``conv1_2.*``, ``conv2_1.*``, ``conv2_2.*``, ``conv3_1.*`` … ``conv3_3.*``, ``conv4_1.*`` … ``conv4_3.*``,
``conv5_1.*`` … ``conv5_3.bias`` (512): 26 tensors, 14,714,688 values, the blobs as they are (Caffe's
out×in×kh×kw order is PyTorch's). Such a state dict loads without renaming, so there is no converter entry.
``fc6``, ``fc7``, ``fc8`` (the identity classifier) are not built and their tensors are ignored; any other
missing or extra tensor is a :class:`WeightsError`. Files are read as safetensors or through
``torch.load(weights_only=True)`` (:func:`facerestore.models.weights.load_weights_file`).

**Input** (the released model's preprocessing, applied inside :meth:`VGGFace.features`): an RGB image in
[0, 1] is scaled to [0, 255], the mean (R, G, B) = (129.1863, 104.7624, 93.5940) of the released model is
subtracted and the channels are reordered to **BGR**, the Caffe order ``conv1_1`` was trained on; no division
by a standard deviation. A file converted from a variant that takes RGB input needs ``conv1_1.weight``
reversed along dim 1 first. The network was trained on 224×224 crops; being convolutional up to ``pool5`` it
takes any size (GFRNet's 256×256 faces are not resized: our choice, §3.3 does not say).
"""
from __future__ import annotations

import os
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from facerestore.errors import WeightsError
from facerestore.models.registry import register_model
from facerestore.models.weights import load_weights_file, preview_keys

# VGG-16 (configuration D): 3×3 conv widths per block, a 2×2 max-pool after each block.
BLOCKS = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))
MEAN_RGB = (129.1863, 104.7624, 93.5940)  # of the released model, on [0, 255]
CLASSIFIER_PREFIXES = ("fc6.", "fc7.", "fc8.")


def layer_names() -> list[str]:
    """Feature layers in order: ``conv1_1, relu1_1, conv1_2, relu1_2, pool1, …, conv5_3, relu5_3, pool5``."""
    names = []
    for block, widths in enumerate(BLOCKS, start=1):
        for index in range(1, len(widths) + 1):
            names += [f"conv{block}_{index}", f"relu{block}_{index}"]
        names.append(f"pool{block}")
    return names


class VGGFace(nn.Module):
    """VGG-Face up to ``pool5`` (see the module docstring); ``forward(x)`` → pool5 features N×512×H/32×W/32."""

    def __init__(self):
        super().__init__()
        channels = 3
        for block, widths in enumerate(BLOCKS, start=1):
            for index, width in enumerate(widths, start=1):
                self.add_module(f"conv{block}_{index}", nn.Conv2d(channels, width, 3, padding=1))
                channels = width
        self.names = layer_names()
        self.register_buffer("mean", torch.tensor(MEAN_RGB).view(1, 3, 1, 1), persistent=False)

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        """RGB [0, 1] → the released model's input: ×255, minus the mean colour, RGB → BGR."""
        return (x * 255.0 - self.mean).flip(1)

    def features(self, x: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
        """{layer: activation} for ``layers`` (names of :func:`layer_names`); ``x`` N×3×H×W RGB in [0, 1]."""
        wanted = set(layers)
        if not wanted <= set(self.names):
            raise ValueError(f"unknown VGG-Face layers {sorted(wanted - set(self.names))}; choose from {self.names}")
        out: dict[str, torch.Tensor] = {}
        x = self.preprocess(x)
        for name in self.names:  # stops after the deepest layer asked for
            if len(out) == len(wanted):
                break
            kind = name[:4]
            x = getattr(self, name)(x) if kind == "conv" else F.relu(x) if kind == "relu" else F.max_pool2d(x, 2, 2)
            if name in wanted:
                out[name] = x
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x, ["pool5"])["pool5"]


@register_model("vgg_face")
def build_vgg_face() -> VGGFace:
    """VGG-Face's 13 convolutions (Parkhi et al. 2015), random weights; :func:`load_vgg_face` reads a file."""
    return VGGFace()


def load_vgg_face(path: str | os.PathLike) -> VGGFace:
    """VGG-Face with the weights of ``path`` (the layout of the module docstring; ``fc6``–``fc8`` ignored),
    frozen and in eval mode. :class:`WeightsError` naming the file on a missing, extra or mis-shaped tensor."""
    tensors = {k: v for k, v in load_weights_file(path).items() if not k.startswith(CLASSIFIER_PREFIXES)}
    model = VGGFace()
    expected = model.state_dict()
    missing, unexpected = sorted(set(expected) - set(tensors)), sorted(set(tensors) - set(expected))
    misshaped = sorted(k for k in set(expected) & set(tensors) if expected[k].shape != tensors[k].shape)
    if missing or unexpected or misshaped:
        problems = [f"{label}: {preview_keys(keys)}" for label, keys in
                    (("missing", missing), ("unexpected", unexpected), ("wrong shape", misshaped)) if keys]
        raise WeightsError("is not a VGG-Face state dict (conv1_1.weight … conv5_3.bias): " + "; ".join(problems),
                           path)
    model.load_state_dict({k: v.float() for k, v in tensors.items()}, strict=True)
    return model.eval().requires_grad_(False)
