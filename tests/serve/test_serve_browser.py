"""The page of ``facerestore serve`` in headless Chromium (Debian's ``chromium`` and ``chromium-driver``, driven by
Selenium; ``make test`` installs them with apt-get where it can): upload a photo, wait for the result, check that
the restored image appears at the right size. Skipped, with the reason, where no browser is installed."""
from __future__ import annotations

import shutil
import socket
import threading
import time

import pytest

pytest.importorskip("uvicorn")
webdriver = pytest.importorskip("selenium.webdriver")
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER),
                                reason="no chromium/chromedriver (Debian: apt-get install chromium chromium-driver)")


@pytest.fixture
def server():
    import uvicorn

    from facerestore.restore import FaceRestorer
    from facerestore.serve.app import Limits, create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(lambda: FaceRestorer("bicubic", scale=2), Limits())
    instance = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not instance.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    instance.should_exit = True
    thread.join(10)


def test_upload_restore_and_see_the_result(server, tmp_path):
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from facerestore.assets import astronaut_path

    options = Options()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        browser.get(server)
        assert "facerestore" in browser.title
        browser.find_element(By.ID, "file").send_keys(str(astronaut_path()))
        WebDriverWait(browser, 60).until(lambda b: "restored:" in b.find_element(By.ID, "status").text
                                         or "error" in b.find_element(By.ID, "status").text)
        assert browser.find_element(By.ID, "status").text == "1 face(s) restored: 1024x1024"
        size = browser.execute_script("const i = document.getElementById('after'); return [i.naturalWidth, i.naturalHeight];")
        assert size == [1024, 1024]
        assert browser.find_element(By.ID, "download").get_attribute("href").startswith("blob:")
        assert browser.find_element(By.ID, "compare").is_displayed()
    finally:
        browser.quit()
