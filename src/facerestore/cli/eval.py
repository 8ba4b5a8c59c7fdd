"""``facerestore eval``: score a method on a benchmark or folder, or combine earlier runs into one table.

    facerestore eval --method NAME [--weights FILE] [--option K=V ...] --data SPEC [--scales S ...]
                     [--count N] [--identity dlib|pca|none] [--precision fp32|bf16]
                     [--fid [--inception-weights FILE]] [--out DIR] [--overwrite]
    facerestore eval --combine RUN_DIR ... --out DIR [--overwrite]

Writes ``results.md`` / ``results.csv`` (methods as rows), ``scores.csv`` (read by ``--combine``), ``grid.png``
(LR | bicubic | output | GT) and ``run.json`` (every setting), and prints the table. See ``docs/evaluation.md``.
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path


from facerestore.cli import COMMANDS
from facerestore.cli.options import method_spec
from facerestore.errors import ConfigError
from facerestore.models.inference import PRECISIONS, prepare_for_inference

IDENTITY_CHOICES = ("dlib", "pca", "none")


def register(subparsers: argparse._SubParsersAction) -> None:
    from facerestore.evaluate.benchmark import BENCHMARKS, list_benchmarks

    parser = subparsers.add_parser(
        "eval", help=COMMANDS["eval"],
        description="Run a method (or bicubic) over a synthetic benchmark or a folder of aligned faces and write "
                    "a Markdown + CSV table per scale / preset and a comparison grid; or combine runs.",
        epilog="benchmarks (--data):\n" + "\n".join(
            f"  {name:22s} {BENCHMARKS[name].protocol}" for name in list_benchmarks())
        + "\n  BENCHMARK:random-guide a GFRNet pair benchmark, each face given another person's guide (Ours(R), "
          "GFRNet §4.5); e.g. synthetic-gfrnet-x8:random-guide"
        + "\n  real-val[:COND,...]    real photos shipped by Python packages (validation only; 'make real-val'), "
          "aligned 128 crops: bicubic x4, x8, gfrnet_general (GFRNet Eq. 4); e.g. real-val:x4"
        + "\n  folder:PATH[:PRESET[,PRESET...]]  aligned faces of a folder (default preset fish_x8)",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--method", help="registered method name (bicubic, fishfsrnet, ufvnet, fsgn, ...); default: "
                                       "the one the --weights file names")
    what.add_argument("--config", type=Path, metavar="RECIPE", help="take the method and its options from a recipe")
    what.add_argument("--combine", type=Path, nargs="+", metavar="RUN_DIR", help="eval folders to combine")
    parser.add_argument("--weights", type=Path, metavar="FILE",
                        help="the method's weights (safetensors / .pt); a facerestore file sets the method and options "
                             "(default: $FACERESTORE_HOME/<method>.safetensors, else the bundled weights)")
    parser.add_argument("--allow-untrained", action="store_true",
                        help="score a method that has no weights file on its random weights (testing)")
    parser.add_argument("--option", action="append", default=[], metavar="K=V",
                        help="method option (YAML value), e.g. scale=4; repeatable")
    parser.add_argument("--label", help="the method's row name in tables (default: the method name)")
    parser.add_argument("--data", help="benchmark name, real-val[:COND,...] or folder:PATH[:PRESET[,PRESET...]] (see below)")
    parser.add_argument("--scales", type=float, nargs="+", metavar="S",
                        help="downscale factors (HR / LR), one row each, replacing the data's own")
    parser.add_argument("--count", type=int, metavar="N", help="faces per condition (default: 100 / whole folder)")
    parser.add_argument("--size", type=int, metavar="N", help="HR size of folder faces (default: the method's, or 128)")
    parser.add_argument("--identity", choices=IDENTITY_CHOICES, default="dlib",
                        help="identity similarity: dlib descriptors (default), Song et al.'s PCA, or none")
    parser.add_argument("--pca", type=Path, metavar="FILE",
                        help="fitted PCA (.npz) for --identity pca (default on synthetic data: fit on training faces)")
    parser.add_argument("--fid", action="store_true",
                        help="also FID of outputs against ground truths (Inception weights from --inception-weights "
                             "or $FACERESTORE_INCEPTION_WEIGHTS; nothing is downloaded)")
    parser.add_argument("--inception-weights", type=Path, metavar="FILE",
                        help="pytorch-fid Inception-v3 weights (.pth / .safetensors); implies --fid")
    parser.add_argument("--crop", type=int, default=0, metavar="N", help="border pixels left out of PSNR / SSIM")
    parser.add_argument("--batch-size", type=int, default=8, metavar="N")
    parser.add_argument("--device", default="cpu", help="torch device (cpu, cuda, ...)")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32",
                        help="bf16: conv/linear weights in bfloat16 under bf16 autocast (default fp32)")
    parser.add_argument("--out", type=Path, help="output folder (default: eval/<label>_<data>)")
    parser.add_argument("--overwrite", action="store_true", help="replace the results of an earlier run in --out")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.combine:
        return _combine(args)
    if args.method is None and args.config is None and args.weights is None:
        raise ConfigError("give --method NAME, --weights FILE, --config RECIPE or --combine RUN_DIR ...")
    if args.data is None:
        raise ConfigError("--data SPEC is required (a benchmark name or folder:PATH[:PRESET])")
    return _evaluate(args)


def _combine(args: argparse.Namespace) -> int:
    from facerestore.evaluate import combine, markdown_table, write_outputs

    if args.out is None:
        raise ConfigError("--combine needs --out DIR")
    scores = combine(args.combine)
    write_outputs(args.out, scores, title="Combined evaluation: " + ", ".join(map(str, args.combine)),
                  overwrite=args.overwrite)
    print(markdown_table(scores), end="")
    print(f"wrote {args.out}")
    return 0


def _identity(args: argparse.Namespace, data):
    from facerestore.evaluate.benchmark import fit_identity_pca
    from facerestore.metrics import DlibIdentity, PCAIdentity

    if args.pca is not None and args.identity != "pca":
        raise ConfigError("--pca applies to --identity pca only")
    if args.identity == "dlib":
        return DlibIdentity()
    if args.identity == "pca":
        return PCAIdentity.load(args.pca) if args.pca is not None else fit_identity_pca(data)
    return None


def _fid_features(args: argparse.Namespace):
    from facerestore.metrics.fid import InceptionFeatures

    if not (args.fid or args.inception_weights):
        return None
    return InceptionFeatures(args.inception_weights, batch_size=args.batch_size, device=args.device)


def _evaluate(args: argparse.Namespace) -> int:
    from facerestore.version import __version__
    from facerestore.evaluate import evaluate, parse_spec, write_outputs
    from facerestore.evaluate.tables import check_output_folder, markdown_table
    from facerestore.methods import build_method, check_method_options
    from facerestore.restore.weights_cache import resolve_weights

    name, options = method_spec(args)
    if name is not None:
        check_method_options(name, options)
    weights = resolve_weights(name, args.weights, allow_untrained=args.allow_untrained)
    if weights is not None and args.weights is None:
        print(f"facerestore eval: using the weights {weights}", file=sys.stderr)
    built = build_method(name, weights=weights, **options)
    name = built.name
    method = prepare_for_inference(built, precision=args.precision)
    data = parse_spec(args.data, args.size or (method.hr_size if args.data.startswith("folder:") else None))
    data = data.with_scales(args.scales or ()).with_count(args.count)
    label = args.label or name
    out = args.out or Path("eval") / re.sub(r"[^A-Za-z0-9._-]+", "_", f"{label}_{args.data}").strip("_")
    check_output_folder(out, args.overwrite)  # before the (long) run
    start = time.perf_counter()
    result = evaluate(method, data, label=label, batch_size=args.batch_size, identity=_identity(args, data),
                      crop_border=args.crop, device=args.device, progress=True, bf16=args.precision == "bf16",
                      fid=_fid_features(args))
    seconds = time.perf_counter() - start
    meta = {"method": name, "label": label, "options": built.options, "weights": None if weights is None else
            str(weights), "data": data.name, "protocol": data.protocol, "size": data.size, "count": data.count,
            "seed": data.seed, "conditions": [[c.label, c.preset, dict(c.options)] for c in data.conditions],
            "identity": args.identity, "pca": None if args.pca is None else str(args.pca), "crop": args.crop,
            "batch_size": args.batch_size, "precision": args.precision,
            "fid": bool(args.fid or args.inception_weights), "inception_weights": None if args.inception_weights
            is None else str(args.inception_weights), "facerestore": __version__}
    write_outputs(out, result.scores, title=f"{label} on {data.name}", grid=result.grid, meta=meta,
                  overwrite=args.overwrite)
    print(markdown_table(result.scores), end="")
    faces = sum(s.count for s in result.scores if s.condition != "all")
    print(f"wrote {out} ({faces} faces in {seconds:.1f} s)")
    return 0
