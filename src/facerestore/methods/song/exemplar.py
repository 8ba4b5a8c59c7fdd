"""Song et al. §3.2.1, exemplar regression: K-NN patch search (Eq. 1) and ridge regression (Eq. 4–6).

Conventions (the paper leaves them open; Algorithm 1 lines 5–9):
- Matching and the regression weights use the luma Y = 0.299 R + 0.587 G + 0.114 B (BT.601) of the
  [0, 1] images; the output patches H̄ of Eq. 6 are the exemplars' RGB patches, so R is in colour.
- The patch "centred on p" of an even size P spans p - P//2 … p + P - 1 - P//2 in each axis; the
  search window of radius r spans offsets -r … r in each axis around the same position (§3.2.1).
- Image borders: the base and the exemplars are reflect-padded, so every pixel has a full patch and
  a full search window.
- NCC uses the patches' standard deviations floored at ``STD_FLOOR`` (flat patches get NCC ≈ 0).

Speed: the distance of Eq. 1 is only needed through argmin over offsets and K-smallest over
exemplars for each pixel, which are unchanged by a positive per-pixel scale and a per-pixel shift.
Multiplying D by ``P²·σ_B(p)`` and dropping ``α·P²·σ_B(p)`` gives

    D̃ = (1-α)·σ_B·S|B-E| - α·S(B·E)/σ_E + α·P²·μ_B·μ_E/σ_E,

where S is a P×P box sum. On the CPU (float32) the whole search — exemplar luma and statistics, the two box
sums per exemplar and offset, D̃, argmin, top-K — is one numba kernel working band by band in cache
(:mod:`facerestore.methods.song.exemplar_search`), and the regression reads its patches through a numba gather
from the unpadded exemplars. On a GPU (and the float64 search) tensor operations do the same: per exemplar chunk and
offset two box sums (of B·E and |B-E|, by binary doubling) and three fused multiply-adds over all pixels,
with μ_E, σ_E box sums of each exemplar and reused buffers (a ``Workspace``), and patches from an
overlapping view of the reflect-padded exemplars. Eq. 5 is solved for ≥ 256 pixels (whole image rows) in
one batched call, and the patches of Eq. 6 are overlap-averaged with ``fold``. Measurements:
docs/song_detail_enhancement.md.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from facerestore.methods.song.guided_filter import Workspace, box_sum

LUMA_WEIGHTS = (0.299, 0.587, 0.114)
STD_FLOOR = 1e-3
_PLANE_ELEMENTS = 1 << 18   # elements per exemplar chunk in the torch search loop (measured best of 2^14…2^20)
_MERGE_ROWS = 64            # exemplars pooled before each top-K merge
_REGRESSION_PIXELS = 256    # pixels per chunk of the regression (its gathered patches stay cache-sized)


@dataclass(frozen=True)
class Matches:
    """The K best exemplar patches of every pixel (§3.2.1), each (K, H, W) int64.

    ``exemplar`` indexes the exemplar set; ``dy``, ``dx`` are the search offsets in [-r, r].
    """

    exemplar: torch.Tensor
    dy: torch.Tensor
    dx: torch.Tensor


def to_unit(images: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """uint8 pixels to [0, 1]; floating pixels (already in [0, 1]) cast to ``dtype``."""
    if images.dtype == torch.uint8:
        return images.to(dtype) / 255
    return images.to(dtype)


def luma(rgb: torch.Tensor) -> torch.Tensor:
    """BT.601 luma of channels-last RGB (…, 3) → (…)."""
    r, g, b = rgb.unbind(-1)
    return r * LUMA_WEIGHTS[0] + g * LUMA_WEIGHTS[1] + b * LUMA_WEIGHTS[2]


def _reflect_index(n: int, before: int, after: int, device: torch.device) -> torch.Tensor:
    """Indices of a reflect padding (edge pixel not repeated) of a length-``n`` axis, any pad size."""
    i = torch.arange(-before, n + after, device=device)
    if n == 1:
        return torch.zeros_like(i)
    period = 2 * (n - 1)
    i = torch.remainder(i, period)
    return torch.where(i < n, i, period - i)


def reflect_pad(x: torch.Tensor, before: int, after: int, dims: tuple[int, int] = (-2, -1)) -> torch.Tensor:
    """Reflect-pad two axes (height, width) of ``x`` by ``before`` / ``after`` (any dtype, any pad size)."""
    for dim in dims:
        n = x.shape[dim]
        if max(before, after) < n:    # mirrored slices: copies whole rows, several times faster than a gather
            mirrored = [x.narrow(dim, 1, before).flip(dim), x, x.narrow(dim, n - 1 - after, after).flip(dim)]
            x = torch.cat(mirrored, dim)
        else:
            x = x.index_select(dim, _reflect_index(n, before, after, x.device))
    return x


def _padded_indices(exemplars: torch.Tensor, patch: int, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Image row / column of every row / column of the exemplars reflect-padded by the patch margin plus
    ``radius`` (int64), for the numba kernels, which read the unpadded exemplars through them."""
    return tuple(_reflect_index(n, *_margins(patch, radius), torch.device("cpu")).numpy()
                 for n in exemplars.shape[1:3])


def _margins(patch: int, radius: int) -> tuple[int, int]:
    """Reflect padding (before, after) giving every pixel its patch plus a search window of ``radius``."""
    return patch // 2 + radius, patch - 1 - patch // 2 + radius


def match_patches(base_y: torch.Tensor, exemplars: torch.Tensor, *, patch: int, radius: int, k: int,
                  alpha: float) -> Matches:
    """K-NN patch search of §3.2.1 with the distance of Eq. 1, for every pixel of the base image.

    base_y (H, W) luma in [0, 1] (its dtype is the compute dtype); exemplars (N, H, W, 3) RGB, uint8
    or floating in [0, 1]. For each exemplar the best patch in the search window is kept, then the K
    exemplars with the smallest distance. float32 on the CPU runs the fused kernel of
    :mod:`facerestore.methods.song.exemplar_search`; other devices and dtypes the torch loop below.
    """
    if exemplars.shape[0] < k:
        raise ValueError(f"fewer exemplars than K = {k}")
    base_pad = reflect_pad(base_y, *_margins(patch, 0))
    weights = base_weights(base_pad, patch, alpha)
    search = _fused_search if base_y.device.type == "cpu" and base_y.dtype == torch.float32 else _torch_search
    exemplar, offset = search(base_pad, weights, exemplars, patch, radius, k, alpha)
    side = 2 * radius + 1
    return Matches(exemplar=exemplar, dy=offset // side - radius, dx=offset % side - radius)


def base_weights(base_pad: torch.Tensor, patch: int, alpha: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The base image's factors of D̃ (module docstring): (1-α)·σ_B and α·P²·μ_B at every pixel, (H, W) each,
    from the base reflect-padded by the patch margin."""
    npx = patch * patch
    mean_b = box_sum(base_pad, patch) / npx
    std_b = torch.sqrt(torch.clamp(box_sum(base_pad * base_pad, patch) / npx - mean_b * mean_b,
                                   min=STD_FLOOR ** 2))
    return (1 - alpha) * std_b, alpha * npx * mean_b


def _exemplar_stats(exemplars: torch.Tensor, like: torch.Tensor, patch: int, radius: int,
                    alpha: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Reflect-padded luma of a chunk of exemplars and its α/σ_E and μ_E/σ_E at every window position."""
    npx = patch * patch
    before, after = _margins(patch, radius)
    ex_pad = reflect_pad(luma(to_unit(exemplars, like.dtype)), before, after)
    mean_e = box_sum(ex_pad, patch) / npx
    inv_std_e = torch.rsqrt(torch.clamp(box_sum(ex_pad * ex_pad, patch) / npx - mean_e * mean_e,
                                        min=STD_FLOOR ** 2))
    return ex_pad, alpha * inv_std_e, mean_e * inv_std_e


def _fused_search(base_pad: torch.Tensor, weights: tuple[torch.Tensor, torch.Tensor], exemplars: torch.Tensor,
                  patch: int, radius: int, k: int, alpha: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(exemplar, offset) of the K best per pixel, each (K, H, W) int64, by the numba kernel (which also
    computes the exemplars' luma and statistics, band by band)."""
    from facerestore.methods.song.exemplar_search import run, search_kernel

    shape = (k,) + tuple(weights[0].shape)
    value = np.empty(shape, dtype=np.float32)
    exemplar, offset = np.zeros(shape, dtype=np.int64), np.zeros(shape, dtype=np.int64)
    rows, cols = _padded_indices(exemplars, patch, radius)
    pixels = exemplars if exemplars.dtype == torch.uint8 else exemplars.to(torch.float32)
    run(search_kernel(patch), base_pad.contiguous().numpy(), *(w.contiguous().numpy() for w in weights),
        pixels.contiguous().numpy(), np.float32(255 if pixels.dtype == torch.uint8 else 1), rows, cols,
        STD_FLOOR, alpha, radius, value, exemplar, offset)
    return torch.from_numpy(exemplar), torch.from_numpy(offset)


def _torch_search(base_pad: torch.Tensor, weights: tuple[torch.Tensor, torch.Tensor], exemplars: torch.Tensor,
                  patch: int, radius: int, k: int, alpha: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(exemplar, offset) of the K best per pixel, each (K, H, W) int64, by tensor operations (any device)."""
    weight_sad, weight_mean = weights
    height, width = weight_sad.shape
    side = 2 * radius + 1
    chunk = max(1, _PLANE_ELEMENTS // base_pad.numel())
    pool = _TopK(k, chunk * (_MERGE_ROWS // chunk + 1), weight_sad)
    work = Workspace()
    for start in range(0, exemplars.shape[0], chunk):
        ex_pad, scaled_inv_std, mean_over_std = _exemplar_stats(exemplars[start:start + chunk], base_pad, patch,
                                                                radius, alpha)
        count = ex_pad.shape[0]
        planes = (count, height, width)
        pair = work.get("pair", (count, 2) + base_pad.shape, base_pad)
        sums = work.get("sums", (count, 2, height, width), base_pad)
        best, dist, closer, offset = (work.get(name, planes, base_pad) for name in ("best", "dist", "closer",
                                                                                      "offset"))
        for o in range(side * side):
            oy, ox = divmod(o, side)
            window = ex_pad[:, oy:oy + base_pad.shape[0], ox:ox + base_pad.shape[1]]
            torch.mul(window, base_pad, out=pair[:, 0])
            torch.sub(window, base_pad, out=pair[:, 1]).abs_()
            box_sum(pair, patch, out=sums, workspace=work)
            at = (slice(None), slice(oy, oy + height), slice(ox, ox + width))
            target = best if o == 0 else dist
            torch.mul(sums[:, 1], weight_sad, out=target)
            target.addcmul_(scaled_inv_std[at], sums[:, 0], value=-1)
            target.addcmul_(mean_over_std[at], weight_mean)
            if o == 0:
                offset.zero_()
            else:   # offsets come in increasing order, so max(offset, o·[closer]) is the argmin;
                torch.lt(dist, best, out=closer)   # strict "<": the first offset wins ties
                torch.maximum(offset, closer.mul_(o), out=offset)
                torch.minimum(best, dist, out=best)
        pool.add(best, torch.arange(start, start + count, device=base_pad.device), offset.long())
    return pool.result()


class _TopK:
    """Running K smallest distances per pixel: candidates are pooled and merged with one ``topk``."""

    def __init__(self, k: int, capacity: int, like: torch.Tensor):
        shape = (k + capacity,) + tuple(like.shape)
        self.k = k
        self.values = torch.full(shape, float("inf"), dtype=like.dtype, device=like.device)
        self.exemplar = torch.zeros(shape, dtype=torch.int64, device=like.device)
        self.offset = torch.zeros(shape, dtype=torch.int64, device=like.device)
        self.filled = k

    def add(self, values: torch.Tensor, exemplar: torch.Tensor, offset: torch.Tensor) -> None:
        if self.filled + values.shape[0] > self.values.shape[0]:
            self._merge()
        rows = slice(self.filled, self.filled + values.shape[0])
        self.values[rows] = values
        self.exemplar[rows] = exemplar[:, None, None]
        self.offset[rows] = offset
        self.filled += values.shape[0]

    def _merge(self) -> None:
        used = slice(0, self.filled)
        values, order = torch.topk(self.values[used], self.k, dim=0, largest=False)
        self.exemplar[:self.k] = self.exemplar[used].gather(0, order)
        self.offset[:self.k] = self.offset[used].gather(0, order)
        self.values[:self.k] = values
        self.filled = self.k

    def result(self) -> tuple[torch.Tensor, torch.Tensor]:
        self._merge()
        return self.exemplar[:self.k].clone(), self.offset[:self.k].clone()


def regress(base_y: torch.Tensor, exemplars: torch.Tensor, matches: Matches, *, patch: int, radius: int,
            ridge_lambda: float) -> torch.Tensor:
    """Regression image R of §3.2.1: Eq. 5 for every pixel in one batched solve, Eq. 6, overlap average.

    F_p = (H_pᵀ H_p + λ 1)⁻¹ H_pᵀ I_p with H_p the K matched exemplar patches (luma, P² × K) and I_p the
    base patch; R_p = Σ_i F_p^i H̄_p^i with the RGB patches H̄. Returns (3, H, W) in ``base_y.dtype``.
    """
    k, height, width = matches.exemplar.shape
    dtype, device = base_y.dtype, base_y.device
    gather = (_kernel_gather if device.type == "cpu" and exemplars.device.type == "cpu" else _strided_gather)(
        exemplars, matches, patch, radius)
    # Patches are gathered in the bank's dtype and the uint8 scale 1/255 is applied to the small K×K systems.
    scale = 1 / 255 if exemplars.dtype == torch.uint8 else 1.0
    weights = torch.tensor(LUMA_WEIGHTS, dtype=dtype, device=device)
    base_pad = reflect_pad(base_y, *_margins(patch, 0))
    canvas = torch.zeros((3,) + base_pad.shape, dtype=dtype, device=device)
    ridge = ridge_lambda * torch.eye(k, dtype=dtype, device=device)
    step = max(1, _REGRESSION_PIXELS // width)
    for y0 in range(0, height, step):
        y1 = min(height, y0 + step)
        count = (y1 - y0) * width
        hr = gather(y0, y1).to(dtype).view(count, k, patch * patch, 3)
        h_y = (hr @ weights).mul_(scale)                                       # luma, (pixels, K, P²)
        base_patch = F.unfold(base_pad[None, None, y0:y1 + patch - 1], patch)[0].T[..., None]
        gram = h_y @ h_y.transpose(1, 2) + ridge
        coef = torch.linalg.solve(gram, h_y @ base_patch).mul_(scale)         # Eq. 5, (pixels, K, 1)
        out = coef.transpose(1, 2) @ hr.view(count, k, -1)                     # Eq. 6, (pixels, 1, P²·3)
        columns = out.view(count, patch * patch, 3).permute(2, 1, 0).reshape(1, 3 * patch * patch, count)
        canvas[:, y0:y1 + patch - 1] += F.fold(columns, (y1 - y0 + patch - 1, base_pad.shape[1]), patch)[0]
    lo = patch // 2
    return canvas[:, lo:lo + height, lo:lo + width] / _cover_count(height, width, patch, base_y)


def _window_corners(matches: Matches, y0: int, y1: int, radius: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Top-left corners (K, rows, W) of the matched patches of image rows ``y0 … y1 - 1``, in the coordinates of
    the exemplars reflect-padded by ``_margins(patch, radius)``."""
    device = matches.dy.device
    top = torch.arange(y0, y1, device=device)[:, None] + radius + matches.dy[:, y0:y1]
    left = torch.arange(matches.dx.shape[-1], device=device)[None, :] + radius + matches.dx[:, y0:y1]
    return top, left


def _strided_gather(exemplars: torch.Tensor, matches: Matches, patch: int, radius: int):
    """Patch gatherer in torch (any device): the used exemplars reflect-padded once, then an overlapping view
    whose row j holds the P consecutive RGB pixels from flat pixel j, indexed by every patch row.
    Returns ``gather(y0, y1)`` → (pixels, K, P·P·3) in the exemplars' dtype."""
    used, slot = torch.unique(matches.exemplar, return_inverse=True)
    source = reflect_pad(exemplars.index_select(0, used), *_margins(patch, radius), dims=(1, 2)).contiguous()
    pad_h, pad_w = source.shape[1:3]
    rows = source.reshape(-1).as_strided((source.numel() // 3 - patch + 1, 3 * patch), (3, 1))
    patch_rows = torch.arange(patch, device=source.device) * pad_w

    def gather(y0: int, y1: int) -> torch.Tensor:
        top, left = _window_corners(matches, y0, y1, radius)
        first = (slot[:, y0:y1] * pad_h + top) * pad_w + left                   # (K, rows, W)
        index = (first.permute(1, 2, 0)[..., None] + patch_rows).reshape(-1)   # (pixels, K, P rows)
        return rows.index_select(0, index).view(-1, slot.shape[0], patch * patch * 3)

    return gather


def _kernel_gather(exemplars: torch.Tensor, matches: Matches, patch: int, radius: int):
    """Patch gatherer on the CPU (numba, :func:`exemplar_search.gather_patches`): reads the matched patches
    straight from the unpadded exemplars through reflected row / column indices (padding a 2,184-face bank
    took longer than the regression itself). Same contract as :func:`_strided_gather`."""
    from facerestore.methods.song.exemplar_search import gather_patches, run

    k = matches.exemplar.shape[0]
    pad_rows, pad_cols = _padded_indices(exemplars, patch, radius)
    pixels = exemplars.contiguous().numpy()

    def gather(y0: int, y1: int) -> torch.Tensor:
        top, left = _window_corners(matches, y0, y1, radius)
        which, top, left = (t.permute(1, 2, 0).reshape(-1, k).contiguous().numpy()
                            for t in (matches.exemplar[:, y0:y1], top, left))
        out = np.empty((which.shape[0], k, patch, patch, 3), dtype=pixels.dtype)
        run(gather_patches, pixels, pad_rows, pad_cols, which, top, left, out)
        return torch.from_numpy(out).view(-1, k, patch * patch * 3)

    return gather


def _cover_count(height: int, width: int, patch: int, like: torch.Tensor) -> torch.Tensor:
    """How many in-image patch centres cover each pixel (the overlap-averaging denominator)."""
    def counts(n: int) -> torch.Tensor:
        t = torch.arange(n, device=like.device) + patch // 2   # pixel position on the padded canvas
        return (torch.clamp(t, max=n - 1) - torch.clamp(t - patch + 1, min=0) + 1).to(like.dtype)
    return counts(height)[:, None] * counts(width)[None, :]
