"""GFRNet's flow loss on WarpNet's sampling grid Φ (Li et al. 2018 §3.3, Eq. 9–11).

Φ is an absolute grid N×H×W×2 (x then y) in [-1, 1] with ``align_corners=True`` (pixel centres of the
corners at ±1), as :func:`facerestore.models.gfrnet.warp` samples it.

* Landmark loss (Eq. 9): Φ evaluated (bilinearly) at the target's 68 landmarks must equal the guide's
  landmarks, ``Σ_i (Φ_x(x_i, y_i) − x_i^g)² + (Φ_y(x_i, y_i) − y_i^g)²`` with every coordinate normalised to
  [-1, 1] as ``align_corners=True`` (``x → 2x / (W − 1) − 1``). Summed over the landmarks as Eq. 9 writes it,
  averaged over the batch.
* TV regulariser (Eq. 10): squared forward differences along x and y of both channels, each of the four
  terms a **sum** over pixels as Eq. 10's squared norms write it, with the paper's λ_TV = 1 (§4.2); summed,
  averaged over the batch. (A mean over pixels would divide it by H·W ≈ 65,000 at 256² and leave it
  negligible beside λ_lm = 10 on Eq. 9's sum over 68 points.) In the grid's normalised
  units a smooth warp costs about ``4·mean|∂f/∂u|²`` per term whatever the size (``u`` the normalised
  coordinate), neighbours differing by ε everywhere about ``H·W·ε²``. Our choice: on the *displacement*
  Φ − identity (the "flow field (f_x, f_y)" of the text), so the identity grid (no warp) costs 0; on Φ
  itself the identity grid would cost about 8 and the term would pull every grid toward a contraction.
"""
from __future__ import annotations

import torch

from facerestore.models.gfrnet import grid_at_points, normalize_points


def identity_grid(n: int, height: int, width: int, dtype: torch.dtype = torch.float32,
                  device: torch.device | str | None = None) -> torch.Tensor:
    """The grid that samples every pixel at itself: N×H×W×2 (x, y) in [-1, 1], ``align_corners=True``."""
    ys = torch.linspace(-1.0, 1.0, height, dtype=dtype, device=device)
    xs = torch.linspace(-1.0, 1.0, width, dtype=dtype, device=device)
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1)
    return grid.unsqueeze(0).expand(n, height, width, 2)


def landmark_loss(grid: torch.Tensor, landmarks: torch.Tensor, guide_landmarks: torch.Tensor) -> torch.Tensor:
    """Eq. 9: ``grid`` N×H×W×2, ``landmarks`` (target) and ``guide_landmarks`` N×K×2 in pixels (x, y)."""
    height, width = grid.shape[1:3]
    predicted = grid_at_points(grid, normalize_points(landmarks.to(grid.dtype), height, width))
    target = normalize_points(guide_landmarks.to(grid.dtype), height, width)
    return (predicted - target).pow(2).sum(dim=(1, 2)).mean()


def tv_loss(grid: torch.Tensor) -> torch.Tensor:
    """Eq. 10, sums over pixels, on the displacement ``grid − identity`` (see the module docstring); ``grid``
    N×H×W×2."""
    n, height, width, _ = grid.shape
    flow = grid - identity_grid(n, height, width, grid.dtype, grid.device)
    dx = flow[:, :, 1:] - flow[:, :, :-1]
    dy = flow[:, 1:] - flow[:, :-1]
    return (dx.pow(2).sum(dim=(1, 2)) + dy.pow(2).sum(dim=(1, 2))).sum(dim=1).mean()
