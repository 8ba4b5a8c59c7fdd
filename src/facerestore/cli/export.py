"""``facerestore export --weights FILE -o model.onnx [--opset N] [--dynamic-batch] [--lr-size N]``: a trained
method as an ONNX graph (:mod:`facerestore.export.onnx`), checked against PyTorch with onnxruntime."""
from __future__ import annotations

import argparse
from pathlib import Path

from facerestore.cli import COMMANDS
from facerestore.cli.options import method_spec

TOLERANCE = 1e-4  # largest |onnxruntime - PyTorch| accepted on random inputs


def register(subparsers: argparse._SubParsersAction) -> None:
    from facerestore.export.onnx import DEFAULT_OPSET

    parser = subparsers.add_parser(
        "export", help=COMMANDS["export"],
        description="Write the test-time network of a weights file as an ONNX graph (method and options from the "
                    "file's metadata, or --method/--option for files without it), then run it with onnxruntime "
                    f"on random inputs and compare with PyTorch (at most {TOLERANCE:g}).")
    parser.add_argument("--weights", type=Path, required=True, metavar="FILE", help="weights file (.safetensors)")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--method", help="method name, for files without facerestore metadata")
    what.add_argument("--config", type=Path, metavar="RECIPE", help="take the method and its options from a recipe")
    parser.add_argument("--option", action="append", default=[], metavar="K=V", help="method option; repeatable")
    parser.add_argument("-o", "--output", type=Path, required=True, help="ONNX file to write")
    parser.add_argument("--opset", type=int, default=DEFAULT_OPSET, help=f"ONNX opset (default {DEFAULT_OPSET})")
    parser.add_argument("--dynamic-batch", action="store_true", help="a free batch axis (default: batch 1)")
    parser.add_argument("--lr-size", type=int, metavar="N",
                        help="input side for methods that take any size (default 32; fixed-size methods: theirs)")
    parser.add_argument("--overwrite", action="store_true", help="replace the output file")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from facerestore.errors import ConfigError
    from facerestore.export.onnx import compare_with_torch, export_onnx
    from facerestore.methods import build_method
    from facerestore.methods.deploy import inference_method
    from facerestore.methods.metadata import read_weights_info

    name, options = method_spec(args)
    method = inference_method(build_method(name, weights=args.weights, **options))
    path = export_onnx(method, args.output, read_weights_info(args.weights), opset=args.opset,
                       dynamic_batch=args.dynamic_batch, lr_size=args.lr_size, overwrite=args.overwrite)
    difference = compare_with_torch(path, method, batches=(1, 3) if args.dynamic_batch else (1,))
    if difference > TOLERANCE:
        path.unlink()
        raise ConfigError(f"onnxruntime differs from PyTorch by {difference:.2e} (> {TOLERANCE:g}); file removed",
                          args.output)
    print(f"{path}: {method.name} {method.options}, opset {args.opset}, "
          f"{'dynamic batch' if args.dynamic_batch else 'batch 1'}; onnxruntime vs PyTorch max |diff| "
          f"{difference:.1e}; {path.stat().st_size / 2**20:.1f} MB")
    return 0
