"""``facerestore`` command line: thin argparse layer over the Python API.

Each subcommand lives in its own module of this package exposing ``register(subparsers)``,
which adds a parser whose ``func(args) -> int`` does the work. Errors derived from
:class:`facerestore.errors.FaceRestoreError` become one line on stderr (the API's keyword arguments named as
the CLI's flags, :data:`CLI_WORDS`) and a non-zero exit; warnings are one line each. Any other exception is a bug of ours: one line naming it, exit 70 (``FACERESTORE_DEBUG=1`` shows
the traceback).
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings

from facerestore.version import __version__
from facerestore.errors import FaceRestoreError

# The API's words in error messages and the command line's (the API speaks of keyword arguments, the CLI of flags).
CLI_WORDS = (("overwrite=True", "--overwrite"), ("weights=FILE", "--weights FILE"),
             ("bank=FILE.npz", "--exemplars FILE.npz"), ("detail_enhancement=False", "--option detail_enhancement=false"),
             ("face_size=N", "--face-size N"), ("allow_untrained=True", "--allow-untrained"),
             ("method=NAME", "--method NAME"))


def in_cli_words(message: str) -> str:
    for api, flag in CLI_WORDS:
        message = message.replace(api, flag)
    return message


# Subcommand modules (``facerestore.cli.<name>``) and their one-line help, in the order ``--help`` lists them.
# Import policy: a subcommand's module (and so torch, dlib, cv2) is imported only when that command runs or
# shows its own help; ``facerestore --help`` imports none of them.
COMMANDS = {
    "demo": "restore degraded synthetic faces and a real photo with the default model; write an HTML report",
    "restore": "restore every face of photos: detect, align, restore, paste back",
    "degrade": "make degraded (LR) images with a paper's degradation preset",
    "prepare": "detect, align and crop the faces of a photo folder into a data set folder",
    "train": "train a method from a recipe (configs/*.yaml)",
    "eval": "PSNR / SSIM / identity of a method on a benchmark; combine runs into one table",
    "metrics": "PSNR / SSIM / identity of restored images against ground truths",
    "convert": "convert an official checkpoint to facerestore safetensors",
    "export": "export a trained method to ONNX (checked by onnxruntime)",
    "serve": "a local web page and HTTP API that restore uploaded photos",
    "exemplars": "exemplar banks for Song et al.'s detail enhancement",
}


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser for ``argv``: the full parser of the command it names, a one-line entry for the others."""
    args = sys.argv[1:] if argv is None else argv
    chosen = next((a for a in args if not a.startswith("-")), None)
    parser = argparse.ArgumentParser(
        prog="facerestore",
        description="Face restoration toolkit: degrade, restore, train and evaluate face images.",
    )
    parser.add_argument("--version", action="version", version=f"facerestore {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, summary in COMMANDS.items():
        if name == chosen:
            importlib.import_module(f"facerestore.cli.{name}").register(subparsers)
        else:
            subparsers.add_parser(name, help=summary)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    warnings.showwarning = lambda message, *_, **__: print(
        f"facerestore {args.command}: warning: {message}", file=sys.stderr)
    try:
        return int(args.func(args) or 0)
    except FaceRestoreError as error:
        print(f"facerestore {args.command}: error: {in_cli_words(str(error))}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"facerestore {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # a bug, not the user's input: one line unless debugging
        if os.environ.get("FACERESTORE_DEBUG"):
            raise
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        print(f"facerestore {args.command}: internal error: {type(error).__name__}: {first} "
              "(please report it; FACERESTORE_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 70
