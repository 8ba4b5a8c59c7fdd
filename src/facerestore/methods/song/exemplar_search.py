"""Song et al. §3.2.1: the K-NN patch search (Eq. 1) and the regression's patch gathering as CPU kernels (numba).

Same quantity as the torch path of :func:`facerestore.methods.song.exemplar.match_patches`: per pixel, exemplar
and search offset the reduced distance

    D̃ = (1-α)·σ_B·S|B-E| - α·S(B·E)/σ_E + α·P²·μ_B·μ_E/σ_E        (S: P×P box sum),

its argmin over the offsets (first offset on ties) and the K smallest over the exemplars (earlier exemplar on
ties). The torch path makes ≈30 memory passes per exemplar·offset (products, box sums, distance, argmin are
separate tensor operations); here each band of image rows is handled by one thread from the exemplar's
pixels to the top-K, with its buffers in cache:

0. per exemplar: its luma over the band (read through reflected row / column indices: no padded copy of
   the bank) and μ_E, σ_E at every window position (box sums of E and E²);
1. per offset: products B·E and |B-E| of the band's rows plus the patch margin;
2. vertical P-row sums, sliding down the band (each output row adds the entering row and subtracts the
   leaving one; restarted for every band and offset, so the rounding does not accumulate over the image);
3. horizontal P-column sums by binary doubling over the whole band as one flat row, vectorised;
4. D̃, the running argmin over offsets, and after the last offset an insertion into the pixel's K best.

Bands are a fixed number of rows (:data:`BAND_ROWS`), so results do not depend on the number of threads.
The patch size is a compile-time constant of the search kernel (one kernel per size, :func:`search_kernel`):
with it every box-sum loop vectorises. numba compiles on first use (≈ 10–30 s per patch size and exemplar
dtype) and caches on disk (next to this file, else numba's user cache; ``NUMBA_CACHE_DIR`` to choose).
"""
from __future__ import annotations

import functools
import os
import threading

import numba
import numpy as np
import torch

# numba's OpenMP layer, beside torch's OpenMP runtime, ran the search 8× slower here (2.7–3.8 s against
# 0.34 s at 128×128 / 200 exemplars, one thread, loaded machine) and ignored set_num_threads; the workqueue
# layer does neither. It must not be entered from two Python threads at once: calls go through a lock.
if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "workqueue"
_CALLS = threading.Lock()


def run(kernel, *args) -> None:
    """Call a kernel of this module on as many threads as torch uses, one call at a time."""
    with _CALLS:
        numba.set_num_threads(max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS)))
        kernel(*args)


BAND_ROWS = 32  # image rows per task: the band's product planes (≈ 2 × 51 × 340 floats at 320×240) stay in L2


@numba.njit(cache=True, inline="always")
def _take(out: np.ndarray, part: np.ndarray, size: int, width: int, done: int) -> int:
    """Add the partial sums of ``width`` into ``out`` when ``size`` has that bit; the width now covered."""
    if size & width:
        if done == 0:
            out[:] = part[:out.shape[0]]
        else:
            shifted = part[done:done + out.shape[0]]
            for j in range(out.shape[0]):
                out[j] += shifted[j]
        return done + width
    return done


@numba.njit(cache=True, inline="always")
def _window_sums(src: np.ndarray, size: int, out: np.ndarray, parts: np.ndarray) -> None:
    """``out[j] = src[j] + … + src[j + size - 1]`` for every ``j < len(out)``, by binary doubling: partial sums
    of width 2, 4, …, 64 in the rows of ``parts``, the set bits of ``size`` (< 128) combined. Written out
    level by level with constant shifts, and ``size`` is a compile-time constant of the kernel: then every
    loop vectorises (a loop over the levels with variable shifts ran 3–6× slower)."""
    n = src.shape[0]
    w2, w4, w8, w16, w32, w64 = parts[0], parts[1], parts[2], parts[3], parts[4], parts[5]
    done = _take(out, src, size, 1, 0)
    if size >= 2:
        for j in range(n - 1):
            w2[j] = src[j] + src[j + 1]
        done = _take(out, w2, size, 2, done)
    if size >= 4:
        for j in range(n - 3):
            w4[j] = w2[j] + w2[j + 2]
        done = _take(out, w4, size, 4, done)
    if size >= 8:
        for j in range(n - 7):
            w8[j] = w4[j] + w4[j + 4]
        done = _take(out, w8, size, 8, done)
    if size >= 16:
        for j in range(n - 15):
            w16[j] = w8[j] + w8[j + 8]
        done = _take(out, w16, size, 16, done)
    if size >= 32:
        for j in range(n - 31):
            w32[j] = w16[j] + w16[j + 16]
        done = _take(out, w32, size, 32, done)
    if size >= 64:
        for j in range(n - 63):
            w64[j] = w32[j] + w32[j + 32]
        _take(out, w64, size, 64, done)


@numba.njit(cache=True, inline="always")
def _box_sums(src: np.ndarray, rows: int, size: int, col: np.ndarray, out: np.ndarray, parts: np.ndarray) -> None:
    """``out[i·C + j]`` = sum of ``src[i:i+size, j:j+size]`` for ``i < rows``, ``j ≤ C - size`` (C = src's
    columns; the other entries are windows across a row's end, never read). Vertical sums slide down
    ``col`` (flat, ≥ rows·C; each row adds the entering source row and subtracts the leaving one), horizontal
    sums run over the whole band as one flat row (:func:`_window_sums`)."""
    cols = src.shape[1]
    flat = col[:rows * cols]
    sums = flat.reshape((rows, cols))
    top = sums[0]
    top[:] = src[0]
    for t in range(1, size):
        s_row = src[t]
        for j in range(cols):
            top[j] += s_row[j]
    for i in range(1, rows):
        s_in, s_out, above, now = src[i + size - 1], src[i - 1], sums[i - 1], sums[i]
        for j in range(cols):
            now[j] = above[j] + (s_in[j] - s_out[j])
    _window_sums(flat, size, out[:rows * cols - size + 1], parts)


MAX_PATCH = 127


@functools.lru_cache(maxsize=None)
def search_kernel(patch: int):
    """The search kernel for one patch size P (a compile-time constant of it; compiled on first use, cached on
    disk by numba). Call it as ``kernel(base_pad, weight_sad, weight_mean, exemplars, unit, pad_rows, pad_cols,
    std_floor, alpha, radius, top_value, top_exemplar, top_offset)``:

    ``base_pad`` (H+P-1)×(W+P-1) luma of the reflect-padded base; ``weight_sad`` = (1-α)·σ_B and
    ``weight_mean`` = α·P²·μ_B, H×W, float32. ``exemplars`` N×H×W×3 RGB, uint8 or float32, divided by
    ``unit`` (float32: 255 or 1) into [0, 1];
    ``pad_rows`` / ``pad_cols`` the image row / column of every row / column of an exemplar reflect-padded
    by the patch margin plus ``radius`` (int64). Fills ``top_*`` (K×H×W: distance float32, exemplar and
    offset ``dy·(2r+1) + dx`` of the window int64) with the K best of every pixel, in place.
    """
    if not 1 <= patch <= MAX_PATCH:
        raise ValueError(f"patch size {patch} outside 1…{MAX_PATCH}")
    npx = patch * patch

    @numba.njit(parallel=True, cache=True)
    def kernel(base_pad, weight_sad, weight_mean, exemplars, unit, pad_rows, pad_cols, std_floor, alpha, radius,
               top_value, top_exemplar, top_offset):
        height, width = weight_sad.shape
        pad_w = base_pad.shape[1]
        side = 2 * radius + 1
        k = top_value.shape[0]
        luma_r, luma_g, luma_b = np.float32(0.299), np.float32(0.587), np.float32(0.114)
        top_value[:] = np.inf
        bands = (height + BAND_ROWS - 1) // BAND_ROWS
        for band in numba.prange(bands):
            y0 = band * BAND_ROWS
            rows = min(BAND_ROWS, height - y0)
            span = rows + patch - 1
            ex_rows, ex_cols = span + 2 * radius, pad_w + 2 * radius        # the exemplar's padded band
            stat_rows, stat_cols = rows + 2 * radius, width + 2 * radius    # patch positions of the window
            ex_luma = np.empty((ex_rows, ex_cols), np.float32)
            ex_square = np.empty((ex_rows, ex_cols), np.float32)
            col_a = np.empty(stat_rows * ex_cols, np.float32)
            col_b = np.empty(stat_rows * ex_cols, np.float32)
            box_a = np.empty(stat_rows * ex_cols - patch + 1, np.float32)
            box_b = np.empty(stat_rows * ex_cols - patch + 1, np.float32)
            parts = np.empty((6, stat_rows * ex_cols), np.float32)
            scaled_inv_std = np.empty((stat_rows, stat_cols), np.float32)
            mean_over_std = np.empty((stat_rows, stat_cols), np.float32)
            prod = np.empty((span, pad_w), np.float32)
            diff = np.empty((span, pad_w), np.float32)
            best = np.empty((rows, width), np.float32)
            best_offset = np.empty((rows, width), np.int64)
            for n in range(exemplars.shape[0]):
                # 0. the exemplar's luma over the band and its patch statistics at every window position
                for a in range(ex_rows):
                    source = exemplars[n, pad_rows[y0 + a]]
                    for b in range(ex_cols):
                        pixel = source[pad_cols[b]]
                        value = ((np.float32(pixel[0]) / unit) * luma_r + (np.float32(pixel[1]) / unit) * luma_g
                                 + (np.float32(pixel[2]) / unit) * luma_b)
                        ex_luma[a, b] = value
                        ex_square[a, b] = value * value
                _box_sums(ex_luma, stat_rows, patch, col_a, box_a, parts)
                _box_sums(ex_square, stat_rows, patch, col_b, box_b, parts)
                for a in range(stat_rows):
                    sums, squares = box_a[a * ex_cols:a * ex_cols + stat_cols], box_b[a * ex_cols:a * ex_cols + stat_cols]
                    s_inv, m_over_s = scaled_inv_std[a], mean_over_std[a]
                    for b in range(stat_cols):
                        mean = sums[b] / npx
                        inv_std = 1 / np.sqrt(max(squares[b] / npx - mean * mean, std_floor * std_floor))
                        s_inv[b] = alpha * inv_std
                        m_over_s[b] = mean * inv_std
                best[:] = np.inf
                for o in range(side * side):
                    oy = o // side
                    ox = o - oy * side
                    for i in range(span):          # 1. products of the band's rows and the patch margin
                        b_row = base_pad[y0 + i]
                        e_row = ex_luma[i + oy, ox:ox + pad_w]
                        p_row = prod[i]
                        d_row = diff[i]
                        for j in range(pad_w):
                            p_row[j] = b_row[j] * e_row[j]
                            d_row[j] = abs(b_row[j] - e_row[j])
                    _box_sums(prod, rows, patch, col_a, box_a, parts)   # 2.–3. box sums
                    _box_sums(diff, rows, patch, col_b, box_b, parts)
                    for i in range(rows):          # 4. distance, argmin over offsets
                        y = y0 + i
                        s_prod = box_a[i * pad_w:i * pad_w + width]
                        s_diff = box_b[i * pad_w:i * pad_w + width]
                        w_sad = weight_sad[y]
                        w_mean = weight_mean[y]
                        s_inv = scaled_inv_std[i + oy, ox:ox + width]
                        m_over_s = mean_over_std[i + oy, ox:ox + width]
                        b_val = best[i]
                        b_off = best_offset[i]
                        for j in range(width):
                            d = s_diff[j] * w_sad[j]
                            d -= s_inv[j] * s_prod[j]
                            d += m_over_s[j] * w_mean[j]
                            current = b_val[j]
                            b_off[j] = o if d < current else b_off[j]
                            b_val[j] = min(d, current)
                for i in range(rows):              # 4. … and insertion into the K best
                    y = y0 + i
                    for j in range(width):
                        d = best[i, j]
                        if d < top_value[k - 1, y, j]:
                            slot = k - 1
                            while slot > 0 and top_value[slot - 1, y, j] > d:
                                top_value[slot, y, j] = top_value[slot - 1, y, j]
                                top_exemplar[slot, y, j] = top_exemplar[slot - 1, y, j]
                                top_offset[slot, y, j] = top_offset[slot - 1, y, j]
                                slot -= 1
                            top_value[slot, y, j] = d
                            top_exemplar[slot, y, j] = n
                            top_offset[slot, y, j] = best_offset[i, j]

    return kernel


@numba.njit(parallel=True, cache=True)
def gather_patches(exemplars: np.ndarray, pad_rows: np.ndarray, pad_cols: np.ndarray, which: np.ndarray,
                   top: np.ndarray, left: np.ndarray, out: np.ndarray) -> None:
    """``out[p, i]`` = the P×P×3 patch of exemplar ``which[p, i]`` whose top-left corner is (``top``,
    ``left``)[p, i] in padded coordinates, read from the unpadded N×H×W×3 ``exemplars`` through the padded →
    image index maps ``pad_rows`` / ``pad_cols`` (reflect padding, as in the search)."""
    count, k = which.shape
    patch = out.shape[2]
    for p in numba.prange(count):
        for i in range(k):
            image = exemplars[which[p, i]]
            t, l = top[p, i], left[p, i]
            for a in range(patch):
                source = image[pad_rows[t + a]]
                target = out[p, i, a]
                for b in range(patch):
                    pixel = source[pad_cols[l + b]]
                    target[b, 0] = pixel[0]
                    target[b, 1] = pixel[1]
                    target[b, 2] = pixel[2]
