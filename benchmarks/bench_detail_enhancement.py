"""Speed of Song et al.'s detail enhancement (facerestore.methods.song.detail_enhancement).

Prints median wall and CPU (process) seconds of ``enhance_details`` for the issue's two targets
(128×128 with 200 exemplars; 320×240 with 2,184) and for each search radius; the patch search alone by
the CPU kernel (numba, the default on the CPU) against the torch tensor-operation search (the GPU path) at
128×128; and the speed-up over the straightforward per-pixel reference of tests/methods/test_detail_enhancement.py
on a tiny input, all measured in the same run. Timing does not depend on the pixel values, so exemplars
are random uint8. ``--threads`` sets torch's threads, which the numba kernels follow.

    .venv/bin/python benchmarks/bench_detail_enhancement.py [--threads 2] [--repeat 3] [--skip-large]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "methods"))
from test_detail_enhancement import _reference_enhance  # noqa: E402

from facerestore.methods.song import exemplar  # noqa: E402
from facerestore.methods.song.detail_enhancement import DetailEnhancementConfig, enhance_details  # noqa: E402


def _inputs(height: int, width: int, count: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    base = torch.rand(3, height, width, generator=gen)
    exemplars = torch.randint(0, 256, (count, height, width, 3), generator=gen, dtype=torch.uint8)
    return base, exemplars


def _time(fn, repeat: int) -> tuple[float, float]:
    """Median wall and CPU seconds over ``repeat`` runs after one warm-up."""
    fn()
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-large", action="store_true", help="leave out the 320×240 / 2,184 case")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s)")

    base, exemplars = _inputs(24, 24, 8)
    tiny = DetailEnhancementConfig(patch_size=6, num_candidates=3, search_radius=1)
    ref_wall, _ = _time(lambda: _reference_enhance(base.double().numpy(), exemplars.double().numpy() / 255, tiny), 1)
    vec_wall, _ = _time(lambda: enhance_details(base, exemplars, tiny), args.repeat)
    print(f"tiny 24x24, N=8, P=6, r=1: reference {ref_wall:.3f} s, vectorised {vec_wall * 1e3:.2f} ms, "
          f"speed-up x{ref_wall / vec_wall:.0f}")

    base, exemplars = _inputs(128, 128, 200)
    config = DetailEnhancementConfig()
    base_pad = exemplar.reflect_pad(exemplar.luma(base.permute(1, 2, 0)), *exemplar._margins(config.patch_size, 0))
    weights = exemplar.base_weights(base_pad, config.patch_size, config.alpha)
    search = [lambda function=function: function(base_pad, weights, exemplars, config.patch_size,
                                                 config.search_radius, config.num_candidates, config.alpha)
              for function in (exemplar._fused_search, exemplar._torch_search)]
    (fused, _), (tensor_ops, _) = (_time(fn, args.repeat) for fn in search)
    print(f"search 128x128, N=200, r=2: CPU kernel {fused:.3f} s, torch ops {tensor_ops:.3f} s, "
          f"speed-up x{tensor_ops / fused:.1f}")

    cases = [(128, 128, 200, r, args.repeat) for r in (2, 1, 0)]
    if not args.skip_large:
        cases += [(240, 320, 2184, r, 1) for r in (2, 1, 0)]
    for height, width, count, radius, repeat in cases:
        base, exemplars = _inputs(height, width, count)
        config = DetailEnhancementConfig(search_radius=radius)
        wall, cpu = _time(lambda: enhance_details(base, exemplars, config), repeat)
        print(f"{width}x{height}, N={count}, P=20, K=5, r={radius}: wall {wall:.2f} s, CPU {cpu:.2f} s")


if __name__ == "__main__":
    main()
