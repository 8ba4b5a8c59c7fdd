"""Box sums and the guided filter (He et al., "Guided Image Filtering", ECCV 2010 / TPAMI 2013), in torch.

Used by Song et al.'s detail enhancement (§3.2.2, Algorithm 1 lines 10–12) and by its patch matching
(§3.2.1), whose NCC and mean-absolute-difference terms are box sums over every patch position.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


class Workspace:
    """Named scratch tensors reused across calls (a loop of box sums allocates nothing after its first pass).

    Fresh tensors of a few MB each come from the OS through ``mmap`` and are zero-filled page by page; in the
    patch search that cost more than the additions themselves.
    """

    def __init__(self) -> None:
        self._buffers: dict[str, torch.Tensor] = {}

    def get(self, name: str, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor:
        """An uninitialised tensor of ``shape`` with ``like``'s dtype and device, the same one on every call."""
        count = math.prod(shape)
        buffer = self._buffers.get(name)
        if buffer is None or buffer.dtype != like.dtype or buffer.device != like.device or buffer.numel() < count:
            buffer = torch.empty(count, dtype=like.dtype, device=like.device)
            self._buffers[name] = buffer
        return buffer[:count].view(tuple(shape))


def window_sum(x: torch.Tensor, size: int, dim: int, out: torch.Tensor | None = None,
               workspace: Workspace | None = None, tag: str = "") -> torch.Tensor:
    """Sums of ``size`` consecutive elements along ``dim`` at every valid start (length ``n - size + 1``).

    Binary doubling: partial sums of width 1, 2, 4, … are built by adding shifted copies and the
    set bits of ``size`` are combined, i.e. ``floor(log2 size) + popcount(size) - 1`` vectorised
    additions instead of ``size - 1`` (no cumulative sums: their rounding grows with the image size,
    and ``torch.cumsum`` runs at a fraction of an addition's speed on CPU). The widest partial sum is
    computed only where the result reads it, straight into ``out``. With ``workspace`` the other
    partial sums live in its buffers named ``tag0``, ``tag1``, … (reused from call to call).
    """
    n = x.shape[dim]
    if size < 1 or size > n:
        raise ValueError(f"window of {size} does not fit a dimension of {n}")
    length = n - size + 1
    shape = list(x.shape)
    if out is None:
        shape[dim] = length
        out = torch.empty(shape, dtype=x.dtype, device=x.device)
    top = 1 << (size.bit_length() - 1)
    if top == 1:
        return out.copy_(x)
    kept, pinned, partial, name, width = [], set(), x, None, 1
    while True:
        if size & width:                      # a piece of the result: its buffer must survive
            kept.append((partial, width))
            pinned.add(name)
        if 2 * width == top:
            torch.add(partial.narrow(dim, 0, length), partial.narrow(dim, width, length), out=out)
            break
        count = partial.shape[dim] - width
        shape[dim] = count
        name = next(f"{tag}{i}" for i in range(len(pinned) + 2) if f"{tag}{i}" not in pinned | {name})
        target = (torch.empty(shape, dtype=x.dtype, device=x.device) if workspace is None
                  else workspace.get(name, tuple(shape), x))
        torch.add(partial.narrow(dim, 0, count), partial.narrow(dim, width, count), out=target)
        partial, width = target, 2 * width
    start = top
    for piece, piece_width in kept:
        out.add_(piece.narrow(dim, start, length))
        start += piece_width
    return out


def box_sum(x: torch.Tensor, height: int, width: int | None = None, out: torch.Tensor | None = None,
            workspace: Workspace | None = None) -> torch.Tensor:
    """Valid ``height × width`` box sums over the last two dimensions: (…, H, W) → (…, H-h+1, W-w+1).

    Rows first, then columns; with ``workspace`` every intermediate is a reused buffer (see :func:`window_sum`).
    """
    width = height if width is None else width
    rows_shape = x.shape[:-1] + (x.shape[-1] - width + 1,)
    rows = None if workspace is None else workspace.get("box_rows", rows_shape, x)
    rows = window_sum(x, width, -1, out=rows, workspace=workspace, tag="box_w")
    return window_sum(rows, height, -2, out=out, workspace=workspace, tag="box_h")


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
