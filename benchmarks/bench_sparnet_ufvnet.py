"""CPU forward time of SPARNet, SPARNet-Light-Attn3D and UFVNet (test-time network): plain eval forward
against the inference path of :mod:`facerestore.models.inference` (BatchNorm folded, channels_last) in fp32
and bf16 autocast. Medians after warm-up (variants interleaved round-robin), ratios against the plain fp32
forward measured in the same run. CPU time (all threads of the process) is printed beside wall time: on a
shared machine it stays close to the work done while wall time grows with the other processes.

    .venv/bin/python benchmarks/bench_sparnet_ufvnet.py [--threads 2] [--runs 9] [--batch 1]
"""
from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from facerestore.models import build_model
from facerestore.models.inference import prepare_for_inference

CASES = {  # model name → (build options, input size)
    "sparnet": ({}, 128),
    "sparnet_light_attn3d": ({}, 128),
    "ufvnet": ({"anchor_decoders": False}, 16),
}


def _interleaved_medians(variants: list[tuple], runs: int) -> list[tuple[float, float, torch.Tensor]]:
    """Median wall and CPU seconds (all threads) and the output of every (model, input, bf16) variant, run
    round-robin so that a change of machine load during the measurement hits every variant alike; two
    warm-up rounds."""
    walls: list[list[float]] = [[] for _ in variants]
    cpus: list[list[float]] = [[] for _ in variants]
    outputs: list[torch.Tensor] = [torch.empty(0)] * len(variants)
    with torch.inference_mode():
        for round_ in range(runs + 2):
            for i, (model, x, bf16) in enumerate(variants):
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                    wall, cpu = time.perf_counter(), time.process_time()
                    outputs[i] = model(x)
                    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                if round_ >= 2:
                    walls[i].append(wall)
                    cpus[i].append(cpu)
    return [(statistics.median(w), statistics.median(c), out.float()) for w, c, out in zip(walls, cpus, outputs)]


def _gflop(model: torch.nn.Module, x: torch.Tensor) -> float:
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        model(x)
    return counter.get_total_flops() / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--batch", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {args.threads} threads, batch {args.batch}, median of {args.runs}")
    print(f"{'model':22s} {'variant':16s} {'wall ms':>8s} {'×plain':>7s} {'CPU ms':>8s} {'×plain':>7s} "
          f"{'GFLOP/s':>8s} {'max|Δ|':>9s}")
    for name, (options, size) in CASES.items():
        plain = build_model(name, **options).eval()
        x = torch.rand(args.batch, 3, size, size) * 2 - 1
        gflop = _gflop(plain, x)
        folded = prepare_for_inference(copy.deepcopy(plain))
        channels_last = prepare_for_inference(copy.deepcopy(plain), channels_last=True)
        x_cl = x.contiguous(memory_format=torch.channels_last)
        variants = {
            "plain fp32": (plain, x, False),
            "folded fp32": (folded, x, False),
            "folded+CL fp32": (channels_last, x_cl, False),
            "folded bf16": (folded, x, True),
            "folded+CL bf16": (channels_last, x_cl, True),
        }
        results = _interleaved_medians(list(variants.values()), args.runs)
        base_wall, base_cpu, reference = results[0]
        for label, (wall, cpu, out) in zip(variants, results):
            print(f"{name:22s} {label:16s} {wall * 1e3:8.1f} {base_wall / wall:7.2f} {cpu * 1e3:8.1f} "
                  f"{base_cpu / cpu:7.2f} {gflop / wall:8.1f} {(out - reference).abs().max().item():9.2e}")
        print(f"{name:22s} {gflop:.2f} GFLOP per forward (input {size}×{size})")


if __name__ == "__main__":
    main()
