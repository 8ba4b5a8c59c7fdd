"""Load test of ``facerestore serve`` on 127.0.0.1: ``--requests`` (200) concurrent uploads of a real photo (the
NASA astronaut downscaled to 128x128, one face the network restores) mixed with ``--malformed`` (50) bad uploads (random bytes, a truncated PNG, a
missing field, an oversized image), all sent at once from ``--clients`` threads. Reports throughput, p50/p95
latency of the restored responses, the server's peak RSS, and checks that every good upload got 200 (a decodable
image of the right size) or 503 (the JSON busy error), every bad one a 4xx JSON error, and that /health answers
afterwards. Bounded: ``--timeout`` seconds per request.

    .venv/bin/python benchmarks/bench_serve.py [--workers 2] [--queue 32] [--requests 200] [--malformed 50]
"""
from __future__ import annotations

import argparse
import io
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image

from facerestore.assets import astronaut_path

def _small_photo() -> bytes:
    """The astronaut area-downscaled to 128 px: its 41 px face is 82 px in a x2 output, within UFVNet's 128 px,
    so the default network runs on it (at 512 px the face would keep bicubic and the network never run)."""
    buffer = io.BytesIO()
    with Image.open(astronaut_path()) as image:
        image.convert("RGB").resize((128, 128), Image.BOX).save(buffer, format="PNG")
    return buffer.getvalue()


PHOTO = _small_photo()


def multipart(fields: dict[str, bytes | str]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        if isinstance(value, bytes):
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{name}.png"\r\n'
                         f"Content-Type: application/octet-stream\r\n\r\n".encode() + value + b"\r\n")
        else:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def send(url: str, fields: dict, timeout: float) -> tuple[int, bytes, float]:
    body, kind = multipart(fields)
    request = urllib.request.Request(url + "restore", data=body, headers={"Content-Type": kind}, method="POST")
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read(), time.perf_counter() - start
    except urllib.error.HTTPError as error:
        return error.code, error.read(), time.perf_counter() - start


def bad_uploads(count: int) -> list[dict]:
    rng = random.Random(0)
    big = io.BytesIO()
    Image.new("RGB", (6000, 5000)).save(big, format="PNG")  # 30 MP > the 25 MP default
    kinds = [{"image": bytes(rng.randrange(256) for _ in range(2000))}, {"image": PHOTO[: len(PHOTO) // 3]},
             {"scale": "2"}, {"image": big.getvalue()}, {"image": PHOTO, "scale": "nan"}]
    return [kinds[i % len(kinds)] for i in range(count)]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--queue", type=int, default=32)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--malformed", type=int, default=50)
    parser.add_argument("--clients", type=int, default=250)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--weights", type=Path)
    args = parser.parse_args()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "facerestore", "serve", "--port", str(port), "--workers", str(args.workers),
               "--queue", str(args.queue)] + (["--weights", str(args.weights)] if args.weights else [])
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                health = json.loads(urllib.request.urlopen(url + "health", timeout=2).read())
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    print(server.stdout.read() if server.poll() is not None else "", file=sys.stderr)
                    raise SystemExit("the server did not start")
                time.sleep(0.2)
        jobs = [("good", {"image": PHOTO, "scale": "2"}) for _ in range(args.requests)] + [("bad", f) for f in bad_uploads(args.malformed)]
        random.Random(1).shuffle(jobs)
        start = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            results = list(pool.map(lambda job: (job[0], *send(url, job[1], args.timeout)), jobs))
        elapsed = time.perf_counter() - start
        problems = []
        good = [(s, body, t) for kind, s, body, t in results if kind == "good"]
        for status, body, _ in good:
            if status == 200:
                with Image.open(io.BytesIO(body)) as image:
                    if image.size != (256, 256):
                        problems.append(f"200 with a {image.size} image")
            elif status != 503 or "busy" not in json.loads(body)["error"]:
                problems.append(f"good upload got {status}: {body[:100]!r}")
        for kind, status, body, _ in results:
            if kind == "bad" and not (400 <= status < 500 and "error" in json.loads(body)):
                problems.append(f"bad upload got {status}: {body[:100]!r}")
        after = json.loads(urllib.request.urlopen(url + "health", timeout=10).read())
        latencies = sorted(t for s, _, t in good if s == 200)
        served = len(latencies)
        print(f"server: {health['method']}, {args.workers} worker(s), queue {args.queue}, {os.cpu_count()} CPUs")
        print(f"{len(jobs)} requests at once ({args.requests} photos, {args.malformed} malformed) in {elapsed:.1f} s: "
              f"{served} restored (200), {sum(s == 503 for s, _, _ in good)} busy (503), "
              f"{sum(400 <= s < 500 for k, s, _, _ in results if k == 'bad')} of {args.malformed} malformed refused (4xx)")
        if latencies:
            p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
            print(f"throughput {served / elapsed:.2f} restored photos/s; latency p50 {statistics.median(latencies):.2f} s, "
                  f"p95 {p95:.2f} s")
        print(f"server peak RSS {peak_rss_mb(server.pid):.0f} MB; health afterwards: {after['status']}")
        print("checks: " + ("all responses as expected" if not problems else f"{len(problems)} problems, e.g. {problems[0]}"))
        return 1 if problems or after["status"] != "ok" else 0
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    sys.exit(main())
