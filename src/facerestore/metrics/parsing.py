"""Face parsing accuracy (FishFSRNet Table IV): the share of pixels whose skin / not-skin label the predicted
parsing map gets right. The paper does not define "accuracy"; our choice: pixel accuracy of the skin map, both
maps binarised at 0.5 (the map is skin 1, everything else 0, fractional only on area-averaged borders), over all
pixels of the LR-size map, first channel (the three are equal)."""
from __future__ import annotations

import torch

SKIN_THRESHOLD = 0.5


def skin_accuracy(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-face pixel accuracy (N) of predicted parsing maps against ``parsing_skin`` targets, both N×C×h×w."""
    if predicted.shape != target.shape:
        raise ValueError(f"parsing maps differ in shape: {tuple(predicted.shape)} and {tuple(target.shape)}")
    agree = (predicted[:, 0] >= SKIN_THRESHOLD) == (target[:, 0] >= SKIN_THRESHOLD)
    return agree.float().mean(dim=(1, 2))
