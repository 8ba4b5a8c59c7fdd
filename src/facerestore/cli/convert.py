"""``facerestore convert --from NAME IN.pth -o OUT.safetensors``: official checkpoint → our safetensors."""
from __future__ import annotations

import argparse

from facerestore.cli import COMMANDS
from facerestore.errors import ConfigError
from facerestore.models.convert import CONVERTERS, convert_checkpoint


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "convert", help=COMMANDS["convert"],
        description="Read an official PyTorch checkpoint (tensors only), rename its tensors to ours, verify them "
                    "by a strict load into the matching network, and write a .safetensors file.")
    parser.add_argument("--from", dest="source_format", required=True, choices=sorted(CONVERTERS),
                        help="which official layout IN is")
    parser.add_argument("input", metavar="IN", help="official checkpoint (.pth/.pt)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT", help="safetensors file to write")
    parser.add_argument("--scale", type=int, choices=(4, 8),
                        help="fishfsrnet-official only: the checkpoint's scale (default: detected from its tensors)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.scale is not None and args.source_format != "fishfsrnet-official":
        raise ConfigError("--scale applies to --from fishfsrnet-official only")
    options = {} if args.scale is None else {"scale": args.scale}
    conversion = convert_checkpoint(args.source_format, args.input, args.output, overwrite=args.overwrite, **options)
    print(f"{args.output}: {len(conversion.state_dict)} tensors for {conversion.model} {conversion.options}")
    return 0
