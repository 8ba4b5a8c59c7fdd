#!/usr/bin/env bash
# Headless Chromium for the page test (tests/test_serve_browser.py): Debian's chromium and chromium-driver, with
# apt-get where it is available and we may use it; otherwise a one-line note, and that test skips with its reason.
set -u
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then exit 0; fi
if ! command -v apt-get >/dev/null || [ "$(id -u)" != 0 ]; then
    echo "note: chromium not installed (needs root and apt-get); the browser test will be skipped" >&2; exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium chromium-driver >/dev/null 2>&1; } \
    || echo "note: apt-get could not install chromium; the browser test will be skipped" >&2
exit 0
