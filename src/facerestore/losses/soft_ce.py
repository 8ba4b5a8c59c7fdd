"""UFVNet weight-regressor loss (Peng et al. Eq. 12): cross-entropy between the Eq. 4 soft target weights
W_GT and the regressor's softmax weights W, ``−Σ_k W_GT[k] · log W[k]``, averaged over the batch.

Eq. 12 writes ``L_CE(W_GT − W)``; we read it as the usual cross-entropy with soft labels (the only reading
that is a function of the two distributions and is minimised at W = W_GT up to the targets' entropy).
"""
from __future__ import annotations

import torch


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """``logits`` N×K (before softmax), ``targets`` N×K rows summing to 1 → scalar mean cross-entropy."""
    if logits.shape != targets.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and targets {tuple(targets.shape)} differ in shape")
    return -(targets * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()
