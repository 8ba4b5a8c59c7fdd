"""``facerestore serve [--host 127.0.0.1] [--port 8000] [--weights FILE] [--workers N] [--max-megapixels M]``: the
web page and HTTP API of :mod:`facerestore.serve.app` on uvicorn."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from facerestore.cli import COMMANDS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve", help=COMMANDS["serve"],
        description="Serve GET / (a page: upload a photo, see it before/after), POST /restore (multipart 'image' "
                    "-> the restored photo; ?report=1 -> JSON) and GET /health with the default model or --weights.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--weights", type=Path, help="weights file (default: the default model's)")
    parser.add_argument("--onnx", type=Path, metavar="MODEL.onnx", help="serve an exported graph with onnxruntime")
    parser.add_argument("--workers", type=int, default=1, help="restorations at once, one model each (default 1)")
    parser.add_argument("--queue", type=int, default=8, help="requests that may wait for a worker; more get 503")
    parser.add_argument("--max-megapixels", type=float, default=25.0, help="larger images are refused (413)")
    parser.add_argument("--max-upload-mb", type=float, default=20.0, help="larger uploads are refused (413)")
    parser.add_argument("--allow-untrained", action="store_true", help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch
    import uvicorn

    from facerestore.errors import ConfigError
    from facerestore.restore import FaceRestorer
    from facerestore.serve.app import Limits, create_app

    if args.workers < 1 or args.queue < 0 or args.max_megapixels <= 0 or args.max_upload_mb <= 0:
        raise ConfigError("--workers must be >= 1, --queue >= 0, --max-megapixels and --max-upload-mb > 0")
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // args.workers))
    backend = {} if args.onnx is None else {"backend": "onnx", "onnx_path": args.onnx}

    def make():
        return FaceRestorer(None, args.weights, allow_untrained=args.allow_untrained, **backend)

    app = create_app(make, Limits(args.workers, args.queue, args.max_megapixels, args.max_upload_mb),
                     make_bicubic=lambda: FaceRestorer("bicubic"))
    print(f"facerestore serve: http://{args.host}:{args.port}/ ({args.workers} worker(s))", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
