"""Box sums and the guided filter (He et al., "Guided Image Filtering", ECCV 2010 / TPAMI 2013), in torch.

Used by Song et al.'s detail enhancement (§3.2.2, Algorithm 1 lines 10–12) and by its patch matching
(§3.2.1), whose NCC and mean-absolute-difference terms are box sums over every patch position.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def window_sum(x: torch.Tensor, size: int, dim: int) -> torch.Tensor:
    """Sums of ``size`` consecutive elements along ``dim`` at every valid start (length ``n - size + 1``).

    Binary doubling: partial sums of width 1, 2, 4, … are built by adding shifted copies and the
    set bits of ``size`` are combined, i.e. ``floor(log2 size) + popcount(size) - 1`` vectorised
    additions instead of ``size - 1`` (no cumulative sums: their rounding grows with the image size).
    """
    if size < 1 or size > x.shape[dim]:
        raise ValueError(f"window of {size} does not fit a dimension of {x.shape[dim]}")
    length = x.shape[dim] - size + 1
    result, partial, start, width, remaining = None, x, 0, 1, size
    while True:
        if remaining & 1:
            piece = partial.narrow(dim, start, length)
            result = piece if result is None else result + piece
            start += width
        remaining >>= 1
        if not remaining:
            return result
        count = partial.shape[dim] - width
        partial = partial.narrow(dim, 0, count) + partial.narrow(dim, width, count)
        width *= 2


def box_sum(x: torch.Tensor, height: int, width: int | None = None) -> torch.Tensor:
    """Valid ``height × width`` box sums over the last two dimensions: (…, H, W) → (…, H-h+1, W-w+1)."""
    return window_sum(window_sum(x, height if width is None else width, -1), height, -2)


def _box_mean(x: torch.Tensor, radius: int, count: torch.Tensor) -> torch.Tensor:
    """Mean over the (2r+1)² window clipped to the image (He et al.'s ``f_mean`` with its N normaliser)."""
    size = 2 * radius + 1
    return box_sum(F.pad(x, (radius, radius, radius, radius)), size) / count


def _window_count(height: int, width: int, radius: int, like: torch.Tensor) -> torch.Tensor:
    """Number of in-image pixels in each clipped (2r+1)² window: outer product of the 1-D counts."""
    def counts(n: int) -> torch.Tensor:
        i = torch.arange(n, device=like.device)
        return (torch.clamp(i + radius, max=n - 1) - torch.clamp(i - radius, min=0) + 1).to(like.dtype)
    return counts(height)[:, None] * counts(width)[None, :]


def guided_filter(source: torch.Tensor, guide: torch.Tensor, radius: int, eps: float) -> torch.Tensor:
    """Guided filter of ``source`` by ``guide`` (He et al. 2010, Algorithm 1), channel by channel.

    Shapes (…, H, W), equal. Each channel of ``source`` is filtered with the same channel of ``guide``
    as a grey guide: ``a = cov(I, p) / (var(I) + eps)``, ``b = mean(p) - a·mean(I)``,
    ``q = mean(a)·I + mean(b)`` with means over (2r+1)² windows clipped at the borders.
    """
    if source.shape != guide.shape:
        raise ValueError(f"guided_filter: source {tuple(source.shape)} and guide {tuple(guide.shape)} differ")
    count = _window_count(source.shape[-2], source.shape[-1], radius, source)
    mean_i = _box_mean(guide, radius, count)
    mean_p = _box_mean(source, radius, count)
    var_i = _box_mean(guide * guide, radius, count) - mean_i * mean_i
    cov_ip = _box_mean(guide * source, radius, count) - mean_i * mean_p
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    return _box_mean(a, radius, count) * guide + _box_mean(b, radius, count)
