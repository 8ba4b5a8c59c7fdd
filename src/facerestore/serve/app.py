"""The ASGI app of ``facerestore serve``: Starlette on uvicorn (Starlette rather than FastAPI: four endpoints need
no schema layer, and it adds two small packages, ``starlette`` and ``python-multipart``, instead of pydantic).

* ``POST /restore`` — multipart form: ``image`` (the file), optional ``scale``, ``method`` (the served method or
  ``bicubic``), ``only_center_face``, ``format`` (``png``/``jpg``/``webp``; default the input's, else PNG),
  ``strict``; the restored photo. ``?report=1``: JSON with the faces, boxes, sizes and timings instead.
* ``GET /health`` — JSON: method, workers, restorations running and waiting.
* ``GET /`` — one page: upload or drop a photo, a progress indicator, before/after with a slider, download.

Bad input is a 4xx JSON ``{"error": ...}``, never a 500: not an image (400), a bad option (400), an upload over
``max_upload_mb`` (413, refused from its Content-Length before reading when it has one), an image over
``max_megapixels`` (413, refused from its header before decoding), no face with ``strict`` (422). At most
``workers`` restorations run at once, each with its own :class:`FaceRestorer` (the model is loaded once per
worker, torch threads split between them); at most ``queue`` more wait, others get 503. Nothing is written to
disk but the upload spool files of the multipart parser, which are closed (removed) with the request.
"""
from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from facerestore.errors import FaceRestoreError, ImageReadError, ImageTooLargeError
from facerestore.io import encode_image, read_image

PAGE = Path(__file__).with_name("page.html")
FORMATS = {"png": (".png", "image/png"), "jpg": (".jpg", "image/jpeg"), "webp": (".webp", "image/webp")}
_INPUT_FORMATS = {"JPEG": "jpg", "WEBP": "webp"}


@dataclass(frozen=True)
class Limits:
    workers: int = 1
    queue: int = 8
    max_megapixels: float = 25.0
    max_upload_mb: float = 20.0


class Pool:
    """``workers`` restorers, one per concurrent restoration; a bounded number of requests may wait for one."""

    def __init__(self, make: Callable[[], object], limits: Limits):
        self.restorers = [make() for _ in range(limits.workers)]
        self.free: asyncio.Queue | None = None
        self.limits, self.waiting, self.running = limits, 0, 0

    async def run(self, work: Callable[[object], object]):
        if self.free is None:  # created inside the server's event loop
            self.free = asyncio.Queue()
            for restorer in self.restorers:
                self.free.put_nowait(restorer)
        if self.free.empty() and self.waiting >= self.limits.queue:
            raise Busy()
        self.waiting += 1
        try:
            restorer = await self.free.get()
        finally:
            self.waiting -= 1
        self.running += 1
        try:
            return await asyncio.to_thread(work, restorer)
        finally:
            self.running -= 1
            self.free.put_nowait(restorer)


class Busy(Exception):
    """Every worker is busy and the queue is full."""


class BadRequest(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _flag(value: str | None, name: str) -> bool:
    if value in (None, "", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise BadRequest(400, f"{name} must be true or false, got {value!r}")


def _scale(value: str | None) -> float | None:
    if value in (None, ""):
        return None
    try:
        scale = float(value)
    except ValueError:
        raise BadRequest(400, f"scale must be a number, got {value!r}") from None
    if not 1.0 <= scale <= 8.0 or not math.isfinite(scale):
        raise BadRequest(400, f"scale must be between 1 and 8, got {value}")
    return scale


def _report(result) -> dict:
    height, width = result.image.shape[:2]
    return {"size": list(result.input_size), "output_size": [width, height], "scale": result.scale,
            "faces": [{"box": None if f.box is None else [round(float(v), 1) for v in f.box], "score": f.score,
                       "native_size": round(float(f.native), 1), "restored_size": int(f.restored.shape[0]),
                       "kept": f.kept, "reason": f.reason} for f in result.faces],
            "timings": {k: round(v, 4) for k, v in result.timings.items()}, "warnings": result.warnings}


def create_app(make_restorer: Callable[[], object], limits: Limits = Limits(),
               make_bicubic: Callable[[], object] | None = None) -> Starlette:
    """The app; ``make_restorer`` builds one :class:`FaceRestorer` per worker, ``make_bicubic`` the
    ``method=bicubic`` one (default: none offered)."""
    pool = Pool(make_restorer, limits)
    bicubic = Pool(make_bicubic, Limits(1, limits.queue, limits.max_megapixels, limits.max_upload_mb)) \
        if make_bicubic is not None else None
    served = pool.restorers[0].name
    max_bytes = int(limits.max_upload_mb * 2**20)

    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse(PAGE.read_text(encoding="utf-8").replace("{{METHOD}}", served))

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "method": served, "workers": limits.workers, "running": pool.running,
                             "waiting": pool.waiting, "queue": limits.queue})

    async def restore(request: Request) -> Response:
        form = None
        try:
            length = request.headers.get("content-length")
            if length is not None and length.isdigit() and int(length) > max_bytes + 65536:
                raise BadRequest(413, f"upload too large: {int(length) / 2**20:.1f} MB > {limits.max_upload_mb:g} MB")
            try:
                form = await request.form(max_files=1, max_fields=16, max_part_size=max_bytes)
            except Exception as error:  # multipart errors: malformed body, a part over the limit
                message = str(error) or type(error).__name__
                raise BadRequest(413 if "size" in message.lower() else 400, f"bad upload: {message}") from None
            upload = form.get("image")
            if upload is None or isinstance(upload, str):
                raise BadRequest(400, "no file in the form field 'image'")
            data = await upload.read(max_bytes + 1)
            if len(data) > max_bytes:
                raise BadRequest(413, f"upload too large: over {limits.max_upload_mb:g} MB")
            try:  # refused from the header, before decoding, above the pixel limit
                pixels, info = read_image(data, max_pixels=int(limits.max_megapixels * 1e6))
            except ImageTooLargeError as error:
                raise BadRequest(413, f"image too large: {error.width}x{error.height} = "
                                      f"{error.width * error.height / 1e6:.1f} MP > {limits.max_megapixels:g} MP") from None
            except ImageReadError as error:
                raise BadRequest(400, f"not an image ({error.reason})") from None
            scale = _scale(form.get("scale"))
            center = _flag(form.get("only_center_face"), "only_center_face")
            strict = _flag(form.get("strict"), "strict")
            chosen = form.get("format") or _INPUT_FORMATS.get(info.format, "png")
            if chosen not in FORMATS:
                raise BadRequest(400, f"format must be one of {', '.join(FORMATS)}, got {chosen!r}")
            method = form.get("method") or served
            target = pool if method == served else bicubic if method == "bicubic" and bicubic else None
            if target is None:
                raise BadRequest(400, f"method must be {served}" + (" or bicubic" if bicubic else "")
                                 + f", got {method!r}")

            def work(restorer):
                old = restorer.scale, restorer.only_center_face
                restorer.scale, restorer.only_center_face = scale if scale is not None else old[0], center
                try:
                    return restorer.restore(pixels)
                finally:
                    restorer.scale, restorer.only_center_face = old

            result = await target.run(work)
            if strict and not result.faces:
                raise BadRequest(422, "no face found (strict)")
            if request.query_params.get("report") in ("1", "true"):
                return JSONResponse(_report(result))
            extension, media = FORMATS[chosen]
            output = result.pixels()
            if output.shape[2] in (2, 4) and chosen == "jpg":
                output = output[..., :-1]
            body = encode_image(output, extension, bit_depth=8 if chosen != "png" else None)
            headers = {"X-Faces": str(len(result.faces)),
                       "X-Timings": json.dumps({k: round(v, 3) for k, v in result.timings.items()})}
            return Response(body, media_type=media, headers=headers)
        except BadRequest as error:
            return _error(error.status, str(error))
        except Busy:
            return _error(503, f"busy: {limits.workers} restoration(s) running and {limits.queue} waiting; retry later")
        except FaceRestoreError as error:
            return _error(400, error.reason)
        finally:
            if form is not None:
                await form.close()

    return Starlette(routes=[Route("/", page), Route("/health", health), Route("/restore", restore, methods=["POST"])])

