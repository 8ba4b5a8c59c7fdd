"""onnxruntime (CPU) against the tuned PyTorch path (``prepare_for_inference``: folded BatchNorm, prepacked
oneDNN weights, fp32) on the same network, inputs and thread count: batch 1 and 8, median wall and CPU time of
the same run, and the largest |difference| of the outputs. Default: the bundled default weights.

    .venv/bin/python benchmarks/bench_onnx.py [--weights FILE] [--lr-size 32] [--threads 2] [--repeats 10]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import measure  # noqa: E402

from facerestore.export.onnx import OnnxMethod, example_inputs, export_onnx  # noqa: E402
from facerestore.methods import build_method  # noqa: E402
from facerestore.methods.deploy import inference_method  # noqa: E402
from facerestore.methods.metadata import read_weights_info  # noqa: E402
from facerestore.models.inference import prepare_for_inference  # noqa: E402
from facerestore.restore.weights_cache import DEFAULT_METHOD, resolve_weights  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", type=Path, help="weights file (default: the default model's)")
    parser.add_argument("--lr-size", type=int, help="input side for any-size methods (default 32)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    weights = args.weights or resolve_weights(DEFAULT_METHOD)
    method = inference_method(build_method(weights=weights))
    tuned = prepare_for_inference(inference_method(build_method(weights=weights)), channels_last=True)
    with tempfile.TemporaryDirectory() as folder:
        path = export_onnx(method, Path(folder) / "model.onnx", read_weights_info(weights), dynamic_batch=True,
                           lr_size=args.lr_size)
        runtime = OnnxMethod(path, threads=args.threads)
        print(f"{weights.name}: {method.name} {method.options}, LR {runtime.lr_size} -> HR {runtime.hr_size}, "
              f"torch {torch.__version__}, {args.threads} threads, median of {args.repeats}")
        print("| batch | PyTorch tuned wall / CPU (ms) | onnxruntime wall / CPU (ms) | onnxruntime / PyTorch | max abs diff |")
        print("|---:|---:|---:|---:|---:|")
        for batch in (1, 8):
            inputs = example_inputs(method, runtime.lr_size, runtime.hr_size, batch=batch)
            with torch.inference_mode():
                expected = tuned(inputs)
                base = measure(lambda: tuned(inputs), args.repeats)
            difference = float((runtime(inputs) - expected).abs().max())
            onnx = measure(lambda: runtime(inputs), args.repeats)
            print(f"| {batch} | {base.wall_s * 1e3:.1f} / {base.cpu_s * 1e3:.1f} | {onnx.wall_s * 1e3:.1f} / "
                  f"{onnx.cpu_s * 1e3:.1f} | {onnx.wall_s / base.wall_s:.2f} | {difference:.1e} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
