"""Metric speed: medians over repeats, each with a ratio to a baseline measured in the same run.

* PSNR+SSIM on Y: our batched torch functions and our per-image numpy wrappers vs scikit-image
  (``rgb2ycbcr`` + ``peak_signal_noise_ratio`` + ``structural_similarity``), 16 images 128x128.
* The SSIM Gaussian filter in float64: separable 11x1 + 1x11 passes (ours) vs one 11x11 ``conv2d``.
* Fréchet distance of 2048-D statistics: ours (one ``eigh`` + a small ``eigvalsh``) vs the classic
  ``scipy.linalg.sqrtm(S1 @ S2)`` route (pytorch-fid, TTUR), with the difference of the two values.
* FID Inception-v3 features (random weights: speed only) and dlib identity, per image.

Run: ``.venv/bin/python benchmarks/bench_metrics.py`` (2 torch threads). Figures: docs/metrics.md.
"""
from __future__ import annotations

import statistics
import time

import numpy as np
import scipy.linalg
import skimage.color
import skimage.data
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from facerestore.metrics import DlibIdentity, psnr_y, psnr_y_torch, ssim_y, ssim_y_torch
from facerestore.metrics.fid import feature_statistics, frechet_distance
from facerestore.models.inception import FIDInceptionV3


def median_seconds(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_psnr_ssim(rng: np.random.Generator) -> None:
    gt = rng.random((16, 128, 128, 3)).astype(np.float32)
    pred = np.clip(gt + rng.normal(0, 0.05, gt.shape), 0, 1).astype(np.float32)
    pred_t, gt_t = (torch.from_numpy(a).permute(0, 3, 1, 2) for a in (pred, gt))

    def skimage_loop():
        for p, g in zip(pred, gt):
            yp = skimage.color.rgb2ycbcr(p.astype(np.float64))[..., 0]
            yg = skimage.color.rgb2ycbcr(g.astype(np.float64))[..., 0]
            peak_signal_noise_ratio(yg, yp, data_range=255.0)
            structural_similarity(yp, yg, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                  data_range=255.0)

    def numpy_loop():
        for p, g in zip(pred, gt):
            psnr_y(p, g)
            ssim_y(p, g)

    def torch_batch():
        psnr_y_torch(pred_t, gt_t)
        ssim_y_torch(pred_t, gt_t)

    baseline = median_seconds(skimage_loop, 5)
    print(f"PSNR+SSIM Y, 16 x 128x128: skimage {baseline * 1e3:.1f} ms (baseline)")
    for name, function in (("ours numpy, per image", numpy_loop), ("ours torch, batched", torch_batch)):
        seconds = median_seconds(function, 5)
        print(f"  {name}: {seconds * 1e3:.1f} ms, {baseline / seconds:.2f}x skimage")


def bench_ssim_filter() -> None:
    from facerestore.metrics.psnr_ssim import _gaussian_filter_valid

    image = torch.rand(16, 1, 128, 128, dtype=torch.float64)
    offsets = torch.arange(11, dtype=torch.float64) - 5
    line = torch.exp(-(offsets**2) / (2 * 1.5**2))
    window = torch.outer(line, line).div(line.sum() ** 2).view(1, 1, 11, 11)
    baseline = median_seconds(lambda: torch.nn.functional.conv2d(image, window), 7)
    ours = median_seconds(lambda: _gaussian_filter_valid(image), 7)
    print(f"SSIM Gaussian filter, float64 16x1x128x128: 11x11 conv2d {baseline * 1e3:.1f} ms (baseline), "
          f"separable {ours * 1e3:.1f} ms, {baseline / ours:.1f}x")


def bench_frechet(rng: np.random.Generator) -> None:
    for n in (500, 5000):  # N < 2048: singular covariances; N > 2048: full rank
        stats_a = feature_statistics(rng.normal(size=(n, 2048)))
        stats_b = feature_statistics(rng.normal(size=(n, 2048)) * 1.1 + 0.05)

        def sqrtm_route():
            covmean = scipy.linalg.sqrtm(stats_a[1] @ stats_b[1]).real
            diff = stats_a[0] - stats_b[0]
            return diff @ diff + np.trace(stats_a[1] + stats_b[1] - 2 * covmean)

        baseline = median_seconds(sqrtm_route, 3)
        ours = median_seconds(lambda: frechet_distance(*stats_a, *stats_b), 3)
        gap = abs(frechet_distance(*stats_a, *stats_b) - sqrtm_route())
        print(f"Frechet distance 2048-D, N={n}: scipy sqrtm {baseline:.2f} s (baseline), ours {ours:.2f} s, "
              f"{baseline / ours:.2f}x; |difference| {gap:.2e}")


def bench_networks(rng: np.random.Generator) -> None:
    network = FIDInceptionV3().eval()
    batch = torch.rand(8, 3, 299, 299)
    with torch.inference_mode():
        network(batch[:1])  # warm-up
        seconds = median_seconds(lambda: network(batch), 3)
    print(f"FID Inception-v3 features, batch 8 at 299x299: {seconds / 8 * 1e3:.0f} ms per image")
    identity = DlibIdentity()
    face = skimage.data.astronaut()[56:187, 155:286]
    seconds = median_seconds(lambda: identity.descriptor(face), 10)
    print(f"dlib identity descriptor, 131x131 aligned crop: {seconds * 1e3:.0f} ms per image")


def main() -> None:
    torch.set_num_threads(2)
    rng = np.random.default_rng(0)
    bench_psnr_ssim(rng)
    bench_ssim_filter()
    bench_frechet(rng)
    bench_networks(rng)


if __name__ == "__main__":
    main()
