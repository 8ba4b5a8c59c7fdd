"""The comparison grid of evaluation runs and training validation: rows of LR (nearest) | bicubic | output | GT."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def comparison_grid(lr: torch.Tensor, bicubic: torch.Tensor, output: torch.Tensor, gt: torch.Tensor) -> np.ndarray:
    """N rows of [LR nearest-upsampled | bicubic | output | GT] → (N·H)×(4·W)×3 float32 in [0, 1]."""
    size = gt.shape[-2:]
    lr_big = F.interpolate(lr.float(), size=size, mode="nearest")
    rows = torch.cat([lr_big, bicubic.float(), output.float(), gt.float()], dim=3).clamp(0, 1)  # N×3×H×4W
    return torch.cat(list(rows), dim=1).permute(1, 2, 0).cpu().numpy()
