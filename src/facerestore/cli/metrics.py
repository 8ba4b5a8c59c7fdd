"""``facerestore metrics --pred DIR --gt DIR``: mean PSNR / SSIM (Y channel) and identity similarity.

Prints one table of means and optionally writes a CSV (one row per image, then a ``mean`` row).
Files without counterpart, unreadable files and size mismatches are listed on stderr with the file
name; the pairs that could be scored are still reported, and the exit code is then 1.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from facerestore.cli import COMMANDS
from facerestore.errors import ConfigError, ImageWriteError
from facerestore.metrics.folders import IdentityFn, evaluate_folders, write_csv
from facerestore.metrics.identity import DlibIdentity, PCAIdentity


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "metrics", help=COMMANDS["metrics"],
        description="Pair the images of two folders by file name stem and report mean PSNR and SSIM on the "
                    "Y channel (MATLAB BT.601, as the papers' tables) and optionally identity similarity.")
    parser.add_argument("--pred", required=True, type=Path, help="folder of restored images")
    parser.add_argument("--gt", required=True, type=Path, help="folder of ground-truth images")
    parser.add_argument("--crop", type=int, default=0, metavar="N", help="pixels cropped from each border (default 0)")
    parser.add_argument("--csv", type=Path, metavar="FILE", help="write per-image scores and the mean here")
    parser.add_argument("--identity", choices=("dlib", "pca", "none"), default="none",
                        help="identity similarity: dlib face descriptors (whole image = aligned face), "
                             "Song et al.'s PCA projection (needs --pca), or none (default)")
    parser.add_argument("--pca", type=Path, metavar="FILE", help="fitted PCA (.npz) for --identity pca")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --csv file")
    parser.set_defaults(func=run)


def _identity(args: argparse.Namespace) -> IdentityFn | None:
    if args.identity == "pca":
        if args.pca is None:
            raise ConfigError("--identity pca needs --pca FILE (a PCAIdentity saved as .npz)")
        return PCAIdentity.load(args.pca).similarity
    if args.pca is not None:
        raise ConfigError("--pca applies to --identity pca only")
    return DlibIdentity().similarity if args.identity == "dlib" else None


def run(args: argparse.Namespace) -> int:
    if args.crop < 0:
        raise ConfigError(f"--crop must be >= 0, got {args.crop}")
    if args.csv is not None and args.csv.exists() and not args.overwrite:
        raise ImageWriteError("file exists; pass --overwrite to replace it", args.csv)
    report = evaluate_folders(args.pred, args.gt, crop_border=args.crop, identity=_identity(args))
    mean = report.mean()
    columns = [("pairs", f"{len(report.scores)}"), ("PSNR (dB)", f"{mean.psnr:.4f}"), ("SSIM", f"{mean.ssim:.4f}")]
    if mean.identity is not None:
        columns.append((f"identity ({args.identity})", f"{mean.identity:.4f}"))
    widths = [max(len(head), len(value)) for head, value in columns]
    print("  ".join(head.ljust(width) for (head, _), width in zip(columns, widths)).rstrip())
    print("  ".join(value.ljust(width) for (_, value), width in zip(columns, widths)).rstrip())
    if args.csv is not None:
        write_csv(args.csv, report, overwrite=args.overwrite)
    for problem in report.problems:
        print(f"facerestore metrics: error: {problem}", file=sys.stderr)
    return 1 if report.problems else 0
