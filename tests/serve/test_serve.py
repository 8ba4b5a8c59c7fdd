"""The HTTP API of ``facerestore serve`` (:mod:`facerestore.serve.app`) with an in-process client: every endpoint,
every refusal (4xx JSON, never 500), the bounded pool (503 when full). Bicubic restorers keep it fast."""
from __future__ import annotations

import asyncio
import io
import threading

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("starlette")
pytest.importorskip("httpx")
from starlette.testclient import TestClient  # noqa: E402

from facerestore.assets import astronaut_path  # noqa: E402
from facerestore.restore import FaceRestorer  # noqa: E402
from facerestore.serve.app import Busy, Limits, Pool, create_app  # noqa: E402

PHOTO = astronaut_path().read_bytes()  # 512 x 512, one face


def client(**limits) -> TestClient:
    return TestClient(create_app(lambda: FaceRestorer("bicubic", scale=2), Limits(**limits),
                                 make_bicubic=lambda: FaceRestorer("bicubic", scale=3)), raise_server_exceptions=False)


def post(api: TestClient, data: bytes = PHOTO, name: str = "photo.png", query: str = "", **fields):
    return api.post("/restore" + query, files={"image": (name, data, "application/octet-stream")}, data=fields)


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((height, width, 3), 90, np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_health_page_and_a_restored_photo():
    api = client()
    health = api.get("/health").json()
    assert health == {"status": "ok", "method": "bicubic", "workers": 1, "running": 0, "waiting": 0, "queue": 8}
    page = api.get("/")
    assert page.status_code == 200 and "bicubic" in page.text and 'type="file"' in page.text
    response = post(api)
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert response.headers["x-faces"] == "1"
    with Image.open(io.BytesIO(response.content)) as image:
        assert image.size == (1024, 1024)
    jpeg = post(api, format="jpg", scale="4")
    assert jpeg.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(jpeg.content)) as image:
        assert image.size == (2048, 2048) and image.format == "JPEG"
    other = post(api, method="bicubic", only_center_face="true")
    assert other.status_code == 200


def test_the_report_is_json_with_faces_and_timings():
    report = post(client(), query="?report=1").json()
    assert report["size"] == [512, 512] and report["output_size"] == [1024, 1024] and len(report["faces"]) == 1
    assert len(report["faces"][0]["box"]) == 4 and {"detect", "restore", "paste"} <= set(report["timings"])


@pytest.mark.parametrize("fields, data, status, message", [
    ({}, b"not an image at all", 400, "not an image"),
    ({}, b"", 400, "not an image"),
    ({"scale": "big"}, PHOTO, 400, "scale must be a number"),
    ({"scale": "20"}, PHOTO, 400, "scale must be between 1 and 8"),
    ({"format": "gif"}, PHOTO, 400, "format must be one of png, jpg, webp"),
    ({"method": "gfrnet"}, PHOTO, 400, "method must be bicubic"),
    ({"strict": "maybe"}, PHOTO, 400, "strict must be true or false"),
    ({"strict": "true"}, png(64, 48), 422, "no face found"),
])
def test_bad_requests_are_4xx_json_naming_the_problem(fields, data, status, message):
    response = post(client(), data, **fields)
    assert response.status_code == status and message in response.json()["error"]


def test_size_limits_refuse_before_decoding():
    api = client(max_megapixels=0.1, max_upload_mb=0.5)
    big = post(api, png(400, 300))  # 0.12 MP
    assert big.status_code == 413 and "400x300 = 0.1 MP > 0.1 MP" in big.json()["error"]
    heavy = post(api, PHOTO + b"\0" * 600_000)
    assert heavy.status_code == 413 and "upload too large" in heavy.json()["error"]
    missing = api.post("/restore", data={"scale": "2"})
    assert missing.status_code == 400 and "no file in the form field 'image'" in missing.json()["error"]
    garbage = api.post("/restore", content=b"--x\r\nbroken", headers={"content-type": "multipart/form-data; boundary=x"})
    assert 400 <= garbage.status_code < 500
    assert api.get("/health").json()["status"] == "ok"


def test_the_pool_runs_workers_at_once_queues_a_bounded_number_and_refuses_the_rest():
    release = threading.Event()

    class Slow:
        name = "slow"

        def __init__(self):
            self.calls = 0

    async def scenario():
        pool = Pool(Slow, Limits(workers=1, queue=1))

        def work(restorer):
            restorer.calls += 1
            release.wait(5)
            return restorer.calls

        first = asyncio.ensure_future(pool.run(work))
        await asyncio.sleep(0.05)
        second = asyncio.ensure_future(pool.run(work))  # waits in the queue
        await asyncio.sleep(0.05)
        assert (pool.running, pool.waiting) == (1, 1)
        with pytest.raises(Busy):
            await pool.run(work)  # the queue is full
        release.set()
        assert sorted(await asyncio.gather(first, second)) == [1, 2]
        assert (pool.running, pool.waiting) == (0, 0)

    asyncio.run(scenario())
