"""``facerestore exemplars build``: make an exemplar bank (.npz) for Song et al.'s detail enhancement.

From a folder of aligned HR faces of one size (identity = sub-folder, or file name when flat), or with
``--synthetic N`` from N faces of the synthetic renderer (identities recorded, see
facerestore.methods.song.exemplar_bank).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from facerestore.cli import COMMANDS
from facerestore.errors import ConfigError, ImageWriteError
from facerestore.methods.song.exemplar_bank import bank_from_folder, synthetic_bank


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("exemplars", help=COMMANDS["exemplars"],
                                   description="Manage exemplar banks (aligned HR faces with identities).")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    build = actions.add_parser("build", help="build a bank from a folder of aligned faces or synthetic faces",
                               description="Build an exemplar bank .npz from DIR (aligned faces of one size; "
                                           "identity = sub-folder or file name) or from --synthetic N faces.")
    build.add_argument("folder", nargs="?", type=Path, metavar="DIR", help="folder of aligned HR faces")
    build.add_argument("-o", "--output", required=True, type=Path, help="bank file to write (.npz)")
    build.add_argument("--synthetic", type=int, metavar="N", help="render N synthetic faces instead of DIR")
    build.add_argument("--size", type=int, default=128, help="synthetic face size (default 128)")
    build.add_argument("--seed", type=int, default=0, help="synthetic set seed (default 0)")
    build.add_argument("--identities", type=int, metavar="M",
                       help="draw the synthetic faces from M people (default: every face a new person)")
    build.add_argument("--frontal", action="store_true",
                       help="synthetic faces in frontal pose with a neutral expression (Multi-PIE-like)")
    build.add_argument("--overwrite", action="store_true", help="replace an existing bank file")
    build.set_defaults(func=run_build)


def run_build(args: argparse.Namespace) -> int:
    if (args.folder is None) == (args.synthetic is None):
        raise ConfigError("give either DIR or --synthetic N", "exemplars build")
    if args.output.exists() and not args.overwrite:
        raise ImageWriteError("file exists; pass --overwrite to replace it", args.output)
    if args.synthetic is not None:
        bank = synthetic_bank(args.synthetic, args.size, args.seed, args.identities, args.frontal)
    else:
        bank = bank_from_folder(args.folder)
    bank.save(args.output, overwrite=args.overwrite)
    height, width = bank.size
    print(f"{args.output}: {len(bank)} faces of {width}x{height}, "
          f"{len(set(bank.identities.tolist()))} identities")
    return 0
