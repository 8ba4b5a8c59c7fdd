"""FishFSRNet's ParsingNet loss (Wang et al. Eq. 2): ``‖P − Y‖₁`` between the predicted parsing map P and the
ground-truth simplified parsing map Y (``parsing_skin``, 3 channels at LR size), averaged over elements."""
from __future__ import annotations

import torch

from facerestore.losses.pixel import l1_loss


def parsing_l1(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Eq. 2 on N×3×h×w maps in [0, 1] (mean absolute error)."""
    if pred.dim() != 4 or pred.shape[1] != 3:
        raise ValueError(f"parsing maps are N×3×h×w, got {tuple(pred.shape)}")
    return l1_loss(pred, target)
