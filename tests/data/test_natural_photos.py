"""Natural photographs as training texture (``facerestore.data.natural_photos``): fetching from Debian packages
with checksums (a fake download, no network), the ``photos`` patch source, and ``mix`` / ``real_val`` data specs."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facerestore.data import MixedSources, PhotoPatches, SyntheticFaces
from facerestore.data.natural_photos import (ATTRIBUTION_FILE, NaturalPhoto, apt_download, fetch_natural_photos,
                                             load_manifest)
from facerestore.data.downloads import FetchError
from facerestore.data.real_val import INDEX_FILE, RealValFaces
from facerestore.errors import ConfigError
from facerestore.train.datasets import build_source

KEYS = frozenset({"hr", "lr", "lr_up", "scale"})


def photo_file(path: Path, seed: int, size=(300, 240)) -> Path:
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


@pytest.fixture
def package(tmp_path):
    """An extracted fake package holding two photos, and their manifest entries."""
    root = tmp_path / "extracted" / "fake-wallpapers"
    (root / "usr/share/backgrounds").mkdir(parents=True)
    entries = []
    for k, name in enumerate(("Lake.png", "Hill.png")):
        path = photo_file(root / "usr/share/backgrounds" / name, k)
        entries.append(NaturalPhoto("fake-wallpapers", f"usr/share/backgrounds/{name}",
                                    hashlib.sha256(path.read_bytes()).hexdigest(), "CC0-1.0", "Someone", name[:-4]))
    return root, entries


def test_the_manifest_lists_38_photographs_with_licences_and_unique_names():
    photos = load_manifest()
    assert len(photos) == 38 and len({p.name for p in photos}) == 38
    assert all(len(p.sha256) == 64 and p.license and p.package for p in photos)
    assert {p.package for p in photos} == {"lomiri-wallpapers-16.04", "lomiri-wallpapers-20.04", "mate-backgrounds",
                                           "plasma-workspace-wallpapers"}
    assert not {"umang", "Altai", "Kay", "Volna"} & {p.title for p in photos}  # renders are left out


def test_fetch_checks_keeps_and_attributes(tmp_path, package):
    extracted, entries = package
    calls = []

    def download(packages, folder):
        calls.append(list(packages))
        return {"fake-wallpapers": extracted}

    out = fetch_natural_photos(tmp_path / "photos", entries, download=download)
    assert sorted(p.name for p in out.iterdir()) == [ATTRIBUTION_FILE, "Hill.png", "Lake.png"]
    assert "| Lake.png | Someone | CC0-1.0 | fake-wallpapers |" in (out / ATTRIBUTION_FILE).read_text()
    fetch_natural_photos(out, entries, download=lambda *a: pytest.fail("downloaded files already present"))
    assert calls == [["fake-wallpapers"]]

    (out / "Hill.png").write_bytes(b"damaged")  # a wrong file is fetched again
    fetch_natural_photos(out, entries, download=download)
    assert hashlib.sha256((out / "Hill.png").read_bytes()).hexdigest() == entries[1].sha256


def test_fetch_refuses_a_changed_or_missing_member(tmp_path, package):
    extracted, entries = package
    changed = [NaturalPhoto(**{**entries[0].__dict__, "sha256": "0" * 64})]
    with pytest.raises(FetchError, match=r"usr/share/backgrounds/Lake\.png: SHA-256 [0-9a-f]{64} differs"):
        fetch_natural_photos(tmp_path / "a", changed, download=lambda *a: {"fake-wallpapers": extracted})
    missing = [NaturalPhoto(**{**entries[0].__dict__, "member": "usr/share/none.jpg"})]
    with pytest.raises(FetchError, match="no member usr/share/none.jpg in the package fake-wallpapers"):
        fetch_natural_photos(tmp_path / "b", missing, download=lambda *a: {"fake-wallpapers": extracted})
    assert not (tmp_path / "a" / "Lake.png").exists()


def test_apt_download_without_apt_get_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(FetchError, match="apt-get not found: the natural photos come from Debian packages"):
        apt_download(["mate-backgrounds"], tmp_path)


def test_photo_patches_are_box_downscaled_windows_and_deterministic(tmp_path):
    for k in range(2):
        photo_file(tmp_path / f"p{k}.png", 10 + k, size=(400, 320))
    patches = PhotoPatches(tmp_path, size=64, count=6, seed=3, preset="fish_x4", keys=KEYS)
    again = PhotoPatches(tmp_path, size=64, count=6, seed=3, preset="fish_x4", keys=KEYS)
    reduced = [np.asarray(Image.open(tmp_path / f"p{k}.png").reduce(f)) for k in range(2) for f in (2, 3, 4)]
    for index in range(6):
        patch = patches.record(index).hr
        assert patch.shape == (64, 64, 3) and np.array_equal(patch, again.record(index).hr)
        target = np.rint(patch * 255).astype(np.uint8)
        assert any(_contains(image, target) for image in reduced)
    sample = patches[2]
    assert sample["hr"].shape == (3, 64, 64) and sample["lr"].shape == (3, 16, 16)
    assert not np.array_equal(patches.record(0).hr, patches.record(1).hr)


def _contains(image: np.ndarray, window: np.ndarray) -> bool:
    rows, cols = np.nonzero((image[:-63, :-63] == window[0, 0]).all(axis=2))
    return any(np.array_equal(image[r:r + 64, c:c + 64], window) for r, c in zip(rows, cols))


def test_photo_patches_refuse_face_keys_small_photos_and_a_missing_folder(tmp_path):
    photo_file(tmp_path / "p.png", 0, size=(200, 160))
    with pytest.raises(ConfigError, match="has no faces"):
        PhotoPatches(tmp_path, size=32, keys={"hr", "lr", "masks"})
    with pytest.raises(ConfigError, match="has no faces"):
        PhotoPatches(tmp_path, size=32, preset="yun_x8", keys={"hr", "lr"})
    with pytest.raises(Exception, match="smaller than the 64-px patch"):
        PhotoPatches(tmp_path, size=64, count=4, keys=KEYS, downscale=(3, 3)).record(0)
    with pytest.raises(ConfigError, match="make photos"):
        PhotoPatches(tmp_path / "absent", keys=KEYS)


def test_a_mix_routes_each_index_to_its_part(tmp_path):
    photo_file(tmp_path / "p.png", 0, size=(400, 320))
    faces = SyntheticFaces(128, count=2, seed=1, preset="fish_x4", keys=KEYS)
    patches = PhotoPatches(tmp_path, size=128, count=3, seed=1, preset="fish_x4", keys=KEYS, downscale=(2, 2))
    mix = MixedSources([faces, patches])
    assert len(mix) == 5
    assert np.array_equal(mix.record(1).hr, faces.record(1).hr)
    assert np.array_equal(mix.record(4).hr, patches.record(2).hr)
    rng = lambda: np.random.default_rng(0)  # noqa: E731
    assert np.array_equal(mix.sample(3, rng())["lr"].numpy(), patches.sample(1, rng())["lr"].numpy())
    with pytest.raises(ConfigError, match="different sample keys"):
        MixedSources([faces, PhotoPatches(tmp_path, size=128, count=1, keys={"hr", "lr"})])


def test_mix_and_real_val_data_specs(tmp_path, monkeypatch):
    photo_file(tmp_path / "p.png", 0, size=(400, 320))
    spec = {"source": "mix", "parts": [{"source": "synthetic", "count": 2, "preset": "fish_x4"},
                                       {"source": "photos", "root": str(tmp_path), "count": 2, "preset": "fish_x4"}]}
    assert len(build_source(spec, KEYS)) == 4
    with pytest.raises(ConfigError, match="mix takes one key, parts"):
        build_source({"source": "mix", "parts": [], "count": 3}, KEYS)

    monkeypatch.setenv("FACERESTORE_HOME", str(tmp_path / "home"))
    with pytest.raises(ConfigError, match="make real-val"):
        build_source({"source": "real_val"}, KEYS)
    folder = tmp_path / "home" / "real_val" / "aligned128"
    folder.mkdir(parents=True)
    photo_file(folder / "face_0.png", 1, size=(128, 128))
    (folder.parent / INDEX_FILE).write_text(json.dumps({"faces": []}))
    real = build_source({"source": "real_val", "preset": "fish_x8"}, KEYS)
    assert isinstance(real, RealValFaces) and len(real) == 1 and real[0]["lr"].shape == (3, 16, 16)
