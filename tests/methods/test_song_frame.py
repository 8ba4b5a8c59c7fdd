"""Song et al. §4's 320×240 faces (height × width): the data's ``frame`` option, the paper recipes at that size
(the quick ones stay 128×128), rectangular exemplar banks, and the Table 3 sweep's K values."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from facerestore.data import SyntheticFaces
from facerestore.data.sample import frame_face
from facerestore.errors import ConfigError
from facerestore.face import labels as L
from facerestore.methods.song.exemplar_bank import synthetic_bank
from facerestore.synth import render_face
from facerestore.train.config import load_config
from facerestore.train.datasets import build_source

ROOT = Path(__file__).resolve().parents[2]
PAPER_RECIPES = ("fsgn_sr", "fsgn_deblur", "fsgn_ablation_b", "fsgn_ablation_bl", "fsgn_ablation_bl_m",
                 "fsgn_ablation_bld_m")


def test_frame_face_resizes_to_the_height_and_crops_the_width_around_the_face():
    face = render_face(0, 2, 512)
    image, points, parsing = frame_face(face.image, face.landmarks, face.parsing, (320, 240))
    assert image.shape == (320, 240, 3) and parsing.shape == (320, 240) and points.shape == (68, 2)
    np.testing.assert_array_equal(np.rint(image * 255) / 255, image)           # 8-bit levels, as stored faces
    assert abs(points[17:, 0].mean() - 119.5) <= 0.5 + 1e-3                     # the face in the middle
    for eye, label in ((L.RIGHT_EYE, L.RIGHT_EYE_LABEL), (L.LEFT_EYE, L.LEFT_EYE_LABEL)):
        x, y = np.round(points[list(eye)].mean(axis=0)).astype(int)
        assert parsing[y, x] == label                                           # landmarks follow the pixels
    assert frame_face(image, points, parsing, (320, 240))[0] is image          # already framed: unchanged
    with pytest.raises(ConfigError, match="at least 320 px tall"):
        frame_face(render_face(0, 2, 128).image, None, None, (320, 240))
    with pytest.raises(ConfigError, match="height, width"):
        frame_face(face.image, None, None, 320)


def test_framed_samples_are_320_by_240_with_an_80_by_60_input():
    keys = {"hr", "lr", "lr_up", "masks", "landmarks", "parsing"}
    sample = SyntheticFaces(512, 1, 0, "song_deblur", keys, preset_options={"frame": [320, 240]})[0]
    shapes = {key: tuple(value.shape) for key, value in sample.items()}
    assert shapes == {"hr": (3, 320, 240), "lr": (3, 80, 60), "lr_up": (3, 320, 240), "masks": (4, 320, 240),
                      "landmarks": (68, 2), "parsing": (320, 240)}


def test_paper_recipes_train_on_320x240_faces_and_the_quick_ones_on_128():
    for name in PAPER_RECIPES:
        config = load_config(ROOT / "configs" / "fsgn" / f"{name}.yaml")
        for split in ("train", "val"):
            spec = config["data"][split]
            assert spec["size"] == 512 and spec["preset_options"] == {"frame": [320, 240]}, (name, split)
    train = load_config(ROOT / "configs" / "fsgn" / "fsgn_sr.yaml")["data"]["train"]
    sample = build_source({**train, "count": 1}, frozenset({"hr", "lr", "lr_up", "masks"}))[0]
    assert sample["hr"].shape == (3, 320, 240) and sample["lr"].shape == (3, 80, 60)
    for name in ("fsgn_sr_quick", "fsgn_deblur_quick"):
        config = load_config(ROOT / "configs" / "fsgn" / f"{name}.yaml")
        assert config["data"]["train"]["size"] == 128 and "preset_options" not in config["data"]["train"]


def test_table_5_recipes_name_their_column():
    for name in PAPER_RECIPES[2:]:
        text = (ROOT / "configs" / "fsgn" / f"{name}.yaml").read_text()
        assert "Deblur column" in text and "averages blurred and non-blurred" not in text, name


def test_a_synthetic_bank_can_hold_320x240_faces_framed_like_the_data():
    bank = synthetic_bank(2, 512, seed=4, frame=(320, 240))
    assert bank.images.shape == (2, 320, 240, 3) and bank.size == (320, 240)
    face = render_face(4, 1, 512)
    expected = frame_face(face.image, face.landmarks, None, (320, 240))[0]
    assert np.abs(bank.images[1] / 255.0 - expected).max() <= 1 / 255 + 1e-6


def _sweep():
    spec = importlib.util.spec_from_file_location("sweep", ROOT / "benchmarks" / "sweep_detail_enhancement.py")
    sweep = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sweep)
    return sweep


def test_the_table_3_sweep_uses_the_paper_s_candidate_numbers():
    assert _sweep().CANDIDATES == (3, 4, 5, 6, 7)


def test_the_sweep_scores_a_320x240_run_on_benchmark_faces_framed_alike(tmp_path):
    from facerestore.train.config import save_config

    sweep = _sweep()
    for recipe, shape in (("fsgn_sr", (3, 320, 240)), ("fsgn_sr_quick", (3, 128, 128))):
        run = tmp_path / recipe
        run.mkdir()
        save_config(load_config(ROOT / "configs" / "fsgn" / f"{recipe}.yaml"), run / "config.yaml")
        data = sweep._data(run, 1)
        assert data.count == 1 and data.conditions[0].preset == "song_sr"
        assert tuple(data.dataset(data.conditions[0], {"hr"})[0]["hr"].shape) == shape
