"""``facerestore train CONFIG.yaml [--resume auto|PATH] [--device cpu|cuda|mps] [--set key=value ...] [--out DIR]
[--overwrite]``.

Under ``torchrun --nproc_per_node N -m facerestore train ...`` every rank runs this command (DDP)."""
from __future__ import annotations

import argparse
from pathlib import Path

from facerestore.cli import COMMANDS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train", help=COMMANDS["train"],
                                   description="Train a method from a YAML recipe; all its stages run in order.")
    parser.add_argument("config", help="recipe YAML file (configs/*.yaml)")
    parser.add_argument("--resume", metavar="auto|PATH",
                        help="continue from the newest checkpoint in --out (auto) or from a *_state.pt file")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "mps"))
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a recipe key (dotted path, YAML value), e.g. stages.0.iterations=10")
    parser.add_argument("--out", help="run folder (default: runs/<recipe name>)")
    parser.add_argument("--overwrite", action="store_true",
                        help="clear a finished or partial run in --out first (without it, such a folder is refused)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from facerestore.train import Trainer, load_config  # imports torch: only when training

    config = load_config(args.config, args.overrides)
    out = Path(args.out) if args.out else Path("runs") / config["name"]
    Trainer(config, out, device=args.device, resume=args.resume, overwrite=args.overwrite).run()
    return 0
