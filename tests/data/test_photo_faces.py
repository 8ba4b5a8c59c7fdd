"""The base of the photo data sets (:class:`facerestore.data.PhotoFaces`): a new data set written as constants +
annotation parsing + ``record()`` gets the split check, the landmark cache and the sample pipeline of the shipped
ones; and the data-source registry behind ``build_source``."""
from __future__ import annotations

import json
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest
import torch

from facerestore.data import (DATA_SOURCES, CelebAFaces, FFHQFaces, FolderFaces, HelenFaces, IdentityPairs,
                              MixedSources, PhotoFaces, PhotoPatches, RealValFaces, SyntheticFaces)
from facerestore.data.base import FaceRecord
from facerestore.errors import ConfigError
from facerestore.face.align import template_68
from facerestore.face.detect import DetectedFace
from facerestore.io import write_image
from facerestore.registry import Registry


class TinyFaces(PhotoFaces, title="Tiny", splits=("train", "test"), cache_prefix="tiny_"):
    """A made-up layout: ``root/faces.json`` maps each aligned face file to its split and, optionally, its 68
    points (file pixels). Nothing but constants, the parsing of that file and ``record()``."""

    def __init__(self, root, split="train", size=64, preset="fish_x4", keys=("lr", "hr"), seed=0, flip=0.0,
                 preset_options=None, *, detector=None, cache_dir=None):
        super().__init__(root, size, preset, keys, seed, flip, preset_options, split, detector, cache_dir)
        entries = json.loads((self.root / "faces.json").read_text())
        self.entries = [(self.root / name, entry.get("landmarks")) for name, entry in sorted(entries.items())
                        if split == "all" or entry["split"] == split]

    def __len__(self) -> int:
        return len(self.entries)

    def record(self, index: int) -> FaceRecord:
        path, points = self.entries[index]
        hr, side = self.load_aligned(path)
        landmarks = None
        if self.wants_landmarks():
            landmarks = self.landmarks_for(path, hr, None if points is None else np.array(points), side)
        return FaceRecord(hr, landmarks)


class TemplateDetector:
    """Finds the canonical template face in any image, counting its calls (to check the cache)."""

    def __init__(self):
        self.calls = 0

    def detect(self, image):
        self.calls += 1
        side = image.shape[0]
        return [DetectedFace(np.array([0.0, 0.0, side - 1.0, side - 1.0]), 1.0, template_68(side))]


@pytest.fixture
def tiny_root(tmp_path):
    """Three 128 px synthetic faces: a (train, with points), b (train, without), c (test, with points)."""
    root = tmp_path / "tiny"
    root.mkdir()
    faces = SyntheticFaces(128, 3, seed=4, preset=None, keys={"hr"})
    entries = {}
    for index, (name, split, with_points) in enumerate([("a.png", "train", True), ("b.png", "train", False),
                                                         ("c.png", "test", True)]):
        record = faces.record(index)
        write_image(root / name, record.hr)
        entries[name] = {"split": split, **({"landmarks": record.landmarks.tolist()} if with_points else {})}
    (root / "faces.json").write_text(json.dumps(entries))
    return root


def test_a_data_set_over_the_base_is_constants_parsing_and_record(tiny_root):
    detector = TemplateDetector()
    train = TinyFaces(tiny_root, "train", 64, preset=None, keys={"hr", "landmarks"}, detector=detector)
    assert len(train) == 2 and len(TinyFaces(tiny_root, "all", keys={"hr"})) == 3
    assert train.root == tiny_root and train.split == "train"
    # Given points are rescaled to the HR size (pixel centres); missing ones are detected once and cached.
    given = np.array(json.loads((tiny_root / "faces.json").read_text())["a.png"]["landmarks"])
    np.testing.assert_allclose(train[0]["landmarks"].numpy(), (given + 0.5) / 2 - 0.5, atol=1e-5)
    np.testing.assert_allclose(train[1]["landmarks"].numpy(), template_68(64), atol=1e-5)
    assert (tiny_root / ".facerestore_cache" / "tiny_64" / "b.png.npy").is_file() and detector.calls == 1
    again = TinyFaces(tiny_root, "train", 64, preset=None, keys={"hr", "landmarks"}, detector=detector)
    assert torch.equal(again[1]["landmarks"], train[1]["landmarks"]) and detector.calls == 1
    # The base's split check, with the data set's title.
    with pytest.raises(ConfigError, match=r"^Tiny split must be one of \('train', 'test', 'all'\), got 'val'$"):
        TinyFaces(tiny_root, "val")
    # Pickles to DataLoader workers.
    copy = pickle.loads(pickle.dumps(train))
    assert torch.equal(copy[0]["hr"], train[0]["hr"])


def test_the_base_gives_the_samples_of_a_folder_of_the_same_faces(tiny_root, tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a.png").write_bytes((tiny_root / "a.png").read_bytes())
    np.save(folder / "a.npy", np.array(json.loads((tiny_root / "faces.json").read_text())["a.png"]["landmarks"]))
    keys = {"hr", "lr", "landmarks", "parsing", "scale"}
    tiny = TinyFaces(tiny_root, "train", 64, preset="fish_x4", keys=keys, seed=9, flip=0.5)
    reference = FolderFaces(folder, 64, preset="fish_x4", keys=keys, seed=9, flip=0.5)
    for epoch in range(3):
        rng_a, rng_b = np.random.default_rng([9, epoch]), np.random.default_rng([9, epoch])
        a, b = tiny.sample(0, rng_a), reference.sample(0, rng_b)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_the_shipped_photo_sets_are_photo_faces_with_their_constants():
    for cls in (CelebAFaces, FFHQFaces, FolderFaces, HelenFaces, IdentityPairs, RealValFaces):
        assert issubclass(cls, PhotoFaces)
    assert (CelebAFaces.title, tuple(CelebAFaces.splits), CelebAFaces.cache_prefix) == (
        "CelebA", ("train", "val", "test"), "celeba_")
    assert (HelenFaces.title, tuple(HelenFaces.splits), HelenFaces.cache_prefix) == ("Helen", ("train", "test"), "helen_")
    assert (FFHQFaces.title, tuple(FFHQFaces.splits), FFHQFaces.cache_prefix) == ("FFHQ", ("train", "val"), "ffhq_")
    assert (IdentityPairs.cache_prefix, FolderFaces.cache_prefix, RealValFaces.cache_prefix) == ("identity_", "", "")
    assert not FolderFaces.splits and not IdentityPairs.splits


def test_a_local_registry_binds_options_of_a_photo_set(tiny_root):
    sources = Registry("data source")
    sources.register("tiny")(TinyFaces)
    assert len(sources.build("tiny", tiny_root, split="test", keys=["hr"])) == 1
    with pytest.raises(ConfigError, match=r"^data source tiny: got an unexpected keyword argument 'nope'$"):
        sources.build("tiny", tiny_root, nope=1)


# ------------------------------------------------------------------------------------ registry
def test_the_registry_names_every_data_source():
    assert DATA_SOURCES.names() == ["celeba", "ffhq", "folder", "helen", "identity", "photos", "real_val", "synthetic"]
    assert {name: DATA_SOURCES.get(name) for name in DATA_SOURCES} == {
        "synthetic": SyntheticFaces, "folder": FolderFaces, "celeba": CelebAFaces, "helen": HelenFaces,
        "ffhq": FFHQFaces, "identity": IdentityPairs, "photos": PhotoPatches, "real_val": RealValFaces}


def test_build_source_errors_are_one_line_config_errors(tmp_path):
    from facerestore.train.datasets import build_source

    keys = frozenset({"hr", "lr"})
    valid = "['celeba', 'ffhq', 'folder', 'helen', 'identity', 'photos', 'real_val', 'synthetic', 'mix']"
    for source in ("nope", None, ["synthetic"]):
        with pytest.raises(ConfigError, match="^" + re.escape(f"data source must be one of {valid}, got {source!r}")):
            build_source({"source": source} if source is not None else {}, keys)
    with pytest.raises(ConfigError, match=r"^data source synthetic: got an unexpected keyword argument 'bogus'$"):
        build_source({"source": "synthetic", "count": 2, "bogus": 3}, keys)
    with pytest.raises(ConfigError, match=r"^data source folder: missing a required argument: 'root'$"):
        build_source({"source": "folder"}, keys)
    with pytest.raises(ConfigError, match=r"^data source celeba: got an unexpected keyword argument 'nope'$"):
        build_source({"source": "celeba", "root": str(tmp_path), "nope": 1}, keys)
    with pytest.raises(ConfigError, match=r"^data source synthetic: keys come from the method's objective"):
        build_source({"source": "synthetic", "keys": ["hr"]}, keys)
    # The keys come from the objective; cache, batch_size and crop are not the class's options.
    built = build_source({"source": "synthetic", "count": 2, "preset": "fish_x4", "cache": True, "crop": 32}, keys)
    assert isinstance(built, SyntheticFaces) and built.keys == keys and len(built) == 2
    mix = build_source({"source": "mix", "parts": [{"source": "synthetic", "count": 2, "preset": "fish_x4"}] * 2},
                       keys)
    assert isinstance(mix, MixedSources) and len(mix) == 4


def test_importing_the_data_package_stays_light():
    code = ("import sys, facerestore.data as d; assert 'DATA_SOURCES' in dir(d); "
            "print(any(m == 'torch' or m.startswith('torch.') for m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
