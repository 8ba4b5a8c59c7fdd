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

where S is a P×P box sum. Per exemplar and search offset this is two box sums (of B·E and |B-E|,
by binary doubling) and three fused multiply-adds over all pixels at once; μ_E, σ_E are box sums
of each exemplar computed once; every buffer of that loop is reused (a ``Workspace``). Eq. 5 is solved
for ≥ 256 pixels (whole image rows) in one batched call, and the patches of Eq. 6 are overlap-averaged with
``fold``. Measurements: docs/song_detail_enhancement.md.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from facerestore.restore.guided_filter import Workspace, box_sum

LUMA_WEIGHTS = (0.299, 0.587, 0.114)
STD_FLOOR = 1e-3
_PLANE_ELEMENTS = 1 << 18   # elements per exemplar chunk in the search loop (measured best of 2^14…2^20)
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
    """Reflect-pad two axes (height, width) of ``x`` by ``before`` / ``after`` (any dtype)."""
    dy, dx = dims
    iy = _reflect_index(x.shape[dy], before, after, x.device)
    ix = _reflect_index(x.shape[dx], before, after, x.device)
    return x.index_select(dy, iy).index_select(dx, ix)


def _margins(patch: int, radius: int) -> tuple[int, int]:
    """Reflect padding (before, after) giving every pixel its patch plus a search window of ``radius``."""
    return patch // 2 + radius, patch - 1 - patch // 2 + radius


def match_patches(base_y: torch.Tensor, exemplars: torch.Tensor, *, patch: int, radius: int, k: int,
                  alpha: float) -> Matches:
    """K-NN patch search of §3.2.1 with the distance of Eq. 1, for every pixel of the base image.

    base_y (H, W) luma in [0, 1] (its dtype is the compute dtype); exemplars (N, H, W, 3) RGB, uint8
    or floating in [0, 1]. For each exemplar the best patch in the search window is kept, then the K
    exemplars with the smallest distance.
    """
    height, width = base_y.shape
    npx = patch * patch
    side = 2 * radius + 1
    before, after = _margins(patch, 0)
    base_pad = reflect_pad(base_y, before, after)
    mean_b = box_sum(base_pad, patch) / npx
    std_b = torch.sqrt(torch.clamp(box_sum(base_pad * base_pad, patch) / npx - mean_b * mean_b,
                                   min=STD_FLOOR ** 2))
    weight_sad = (1 - alpha) * std_b
    weight_mean = alpha * npx * mean_b
    chunk = max(1, _PLANE_ELEMENTS // base_pad.numel())
    pool = _TopK(k, chunk * (_MERGE_ROWS // chunk + 1), base_y)
    work = Workspace()
    for start in range(0, exemplars.shape[0], chunk):
        ex_y = luma(to_unit(exemplars[start:start + chunk], base_y.dtype))
        ex_pad = reflect_pad(ex_y, before + radius, after + radius)
        mean_e = box_sum(ex_pad, patch) / npx
        inv_std_e = torch.rsqrt(torch.clamp(box_sum(ex_pad * ex_pad, patch) / npx - mean_e * mean_e,
                                            min=STD_FLOOR ** 2))
        scaled_inv_std = alpha * inv_std_e
        mean_over_std = mean_e * inv_std_e
        planes = (ex_y.shape[0], height, width)
        pair = work.get("pair", (ex_y.shape[0], 2) + base_pad.shape, base_y)
        sums = work.get("sums", (ex_y.shape[0], 2, height, width), base_y)
        best, dist, closer, offset = (work.get(name, planes, base_y) for name in ("best", "dist", "closer",
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
        pool.add(best, torch.arange(start, start + ex_y.shape[0], device=base_y.device), offset.long())
    exemplar, offset = pool.result()
    return Matches(exemplar=exemplar, dy=offset // side - radius, dx=offset % side - radius)


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
        if torch.isinf(self.values[:self.k]).any():
            raise ValueError(f"fewer exemplars than K = {self.k}")
        return self.exemplar[:self.k].clone(), self.offset[:self.k].clone()


def regress(base_y: torch.Tensor, exemplars: torch.Tensor, matches: Matches, *, patch: int, radius: int,
            ridge_lambda: float) -> torch.Tensor:
    """Regression image R of §3.2.1: Eq. 5 for every pixel in one batched solve, Eq. 6, overlap average.

    F_p = (H_pᵀ H_p + λ 1)⁻¹ H_pᵀ I_p with H_p the K matched exemplar patches (luma, P² × K) and I_p the
    base patch; R_p = Σ_i F_p^i H̄_p^i with the RGB patches H̄. Returns (3, H, W) in ``base_y.dtype``.
    """
    k, height, width = matches.exemplar.shape
    dtype, device = base_y.dtype, base_y.device
    used, slot = torch.unique(matches.exemplar, return_inverse=True)
    before, after = _margins(patch, radius)
    source = reflect_pad(exemplars.index_select(0, used), before, after, dims=(1, 2)).contiguous()
    pad_h, pad_w = source.shape[1:3]
    # Overlapping view: row j holds the P consecutive RGB pixels starting at flat pixel j; patches are
    # gathered in the bank's dtype and the uint8 scale 1/255 is applied to the small K×K systems instead.
    rows = source.reshape(-1).as_strided((source.numel() // 3 - patch + 1, 3 * patch), (3, 1))
    scale = 1 / 255 if source.dtype == torch.uint8 else 1.0
    weights = torch.tensor(LUMA_WEIGHTS, dtype=dtype, device=device)
    base_pad = reflect_pad(base_y, *_margins(patch, 0))
    canvas = torch.zeros((3,) + base_pad.shape, dtype=dtype, device=device)
    ridge = ridge_lambda * torch.eye(k, dtype=dtype, device=device)
    patch_rows = torch.arange(patch, device=device) * pad_w
    step = max(1, _REGRESSION_PIXELS // width)
    for y0 in range(0, height, step):
        y1 = min(height, y0 + step)
        count = (y1 - y0) * width
        ys = torch.arange(y0, y1, device=device)[:, None]
        xs = torch.arange(width, device=device)[None, :]
        top = ys + radius + matches.dy[:, y0:y1]
        left = xs + radius + matches.dx[:, y0:y1]
        first = (slot[:, y0:y1] * pad_h + top) * pad_w + left                  # (K, rows, W)
        index = (first.permute(1, 2, 0)[..., None] + patch_rows).reshape(-1)  # (pixels, K, P rows)
        hr = rows.index_select(0, index).to(dtype).view(count, k, patch * patch, 3)
        h_y = (hr @ weights).mul_(scale)                                       # luma, (pixels, K, P²)
        base_patch = F.unfold(base_pad[None, None, y0:y1 + patch - 1], patch)[0].T[..., None]
        gram = h_y @ h_y.transpose(1, 2) + ridge
        coef = torch.linalg.solve(gram, h_y @ base_patch).mul_(scale)         # Eq. 5, (pixels, K, 1)
        out = coef.transpose(1, 2) @ hr.view(count, k, -1)                     # Eq. 6, (pixels, 1, P²·3)
        columns = out.view(count, patch * patch, 3).permute(2, 1, 0).reshape(1, 3 * patch * patch, count)
        canvas[:, y0:y1 + patch - 1] += F.fold(columns, (y1 - y0 + patch - 1, base_pad.shape[1]), patch)[0]
    lo = patch // 2
    return canvas[:, lo:lo + height, lo:lo + width] / _cover_count(height, width, patch, base_y)


def _cover_count(height: int, width: int, patch: int, like: torch.Tensor) -> torch.Tensor:
    """How many in-image patch centres cover each pixel (the overlap-averaging denominator)."""
    def counts(n: int) -> torch.Tensor:
        t = torch.arange(n, device=like.device) + patch // 2   # pixel position on the padded canvas
        return (torch.clamp(t, max=n - 1) - torch.clamp(t - patch + 1, min=0) + 1).to(like.dtype)
    return counts(height)[:, None] * counts(width)[None, :]
