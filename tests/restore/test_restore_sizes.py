"""The photo pipeline's size rules on skimage's astronaut (a real face, native size 164 px): every face is
restored at its own LR size, a face larger than the network's output keeps the bicubic background (and is
reported), ``--aligned`` keeps the crop's resolution; the detector options and the automatic upsampling.
Methods: bicubic (no weights), the tiny ×8 network of tests/fixtures/tiny_method.py (128 px output) and a small
untrained UFVNet."""
from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data
from tiny_method import TinySR

from facerestore.cli import main
from facerestore.errors import ConfigError
from facerestore.face.detect import AUTO_SHORT_SIDE, DlibDetector, auto_upsample, parse_upsample
from facerestore.io import read_image, write_image
from facerestore.restore.restorer import FaceRestorer

ASTRONAUT_NATIVE = 164  # the face's template crop side in the 512 px photo


@pytest.fixture(autouse=True)
def _empty_weights_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FACERESTORE_HOME", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return data.astronaut()


@pytest.fixture(scope="module")
def two_sizes(astronaut) -> np.ndarray:
    """A 560x400 photo with the astronaut at 0.7 (face ~115 px) and at 0.35 (face ~58 px)."""
    photo = np.full((400, 560, 3), 128, np.uint8)
    photo[20:380, :360] = cv2.resize(astronaut, (360, 360), interpolation=cv2.INTER_AREA)
    photo[100:280, 370:550] = cv2.resize(astronaut, (180, 180), interpolation=cv2.INTER_AREA)
    return photo


def untrained(method: str, **options) -> FaceRestorer:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return FaceRestorer(method, allow_untrained=True, **options)


def plain_upscale(image: np.ndarray, scale: int) -> np.ndarray:
    height, width = image.shape[:2]
    up = cv2.resize(image.astype(np.float32) / 255, (width * scale, height * scale), interpolation=cv2.INTER_CUBIC)
    return np.clip(up, 0, 1)


def test_two_faces_of_different_sizes_get_their_own_lr_crops(two_sizes):
    restorer = FaceRestorer("bicubic", scale=4)
    calls = []
    restorer.method.register_forward_hook(lambda module, args, output: calls.append(tuple(args[0]["lr"].shape)))
    result = restorer.restore(two_sizes)
    assert len(result.faces) == 2
    crops = sorted(face.crop.shape[0] for face in result.faces)
    natives = sorted(face.native for face in result.faces)
    assert crops == [8 * math.ceil(n / 8) for n in natives] and natives[1] > 1.7 * natives[0]
    assert sorted(call[-1] for call in calls) == crops and all(call[0] == 1 for call in calls)  # one call per size
    assert sorted(face.restored.shape[0] for face in result.faces) == [4 * c for c in crops]  # native x scale
    assert not any(face.kept for face in result.faces)


def test_ufvnet_takes_faces_of_8_to_128_px_at_their_own_size():
    ufvnet = FaceRestorer("ufvnet")  # the bundled default
    assert [ufvnet.lr_size(n) for n in (3, 40.4, 100, 127.6, 500)] == [8, 40, 100, 128, 128]
    assert ufvnet.hr_size(40) == 128 and ufvnet.largest_face() == 128


def test_a_face_larger_than_the_network_output_keeps_bicubic_and_is_reported(astronaut):
    tiny = untrained(TinySR.name, scale=2)
    result = tiny.restore(astronaut)
    face = result.faces[0]
    assert face.kept == "bicubic" and f"{ASTRONAUT_NATIVE} px" in face.reason and "128 px" in face.reason
    np.testing.assert_array_equal(result.image, plain_upscale(astronaut, 2))  # the background's own pixels
    assert face.crop.shape[0] == ASTRONAUT_NATIVE and face.restored.shape[0] == 2 * ASTRONAUT_NATIVE
    assert sum("kept at bicubic" in w for w in result.warnings) == 1
    restored = untrained(TinySR.name, scale=2, max_squeeze=math.inf).restore(astronaut)
    assert restored.faces[0].kept is None and restored.faces[0].crop.shape[0] == 16
    assert np.abs(restored.image - result.image).max() > 0.1
    lenient = untrained(TinySR.name, scale=2, max_squeeze=2.6).restore(astronaut)  # 164 x 2 <= 2.6 x 128
    assert lenient.faces[0].kept is None
    with pytest.raises(ConfigError, match="max-squeeze"):
        FaceRestorer("bicubic", max_squeeze=0)


def test_a_face_that_the_output_would_enlarge_keeps_bicubic(astronaut):
    """UFVNet's output is 128 px: the astronaut's face downscaled x4 (41 px) is 164 px in a x4 output, so the
    restored face would be enlarged 1.28x and come out softer; a 32 px face at x4, or the 41 px one at x3, fits."""
    ufvnet = FaceRestorer("ufvnet", scale=4)
    small = cv2.resize(astronaut, (128, 128), interpolation=cv2.INTER_AREA)
    face = ufvnet.restore(small).faces[0]
    assert face.kept == "bicubic" and "px in the output, more than 1 x the 128 px ufvnet" in face.reason
    assert ufvnet.keep_reason(41, 4) is not None and ufvnet.keep_reason(32, 4) is None
    assert ufvnet.keep_reason(41, 3) is None and ufvnet.keep_reason(129, 1) is not None


def test_cli_reports_kept_faces_and_warns_once_per_photo(tmp_path, astronaut, capsys):
    source = tmp_path / "in"
    source.mkdir()
    write_image(source / "a.png", cv2.resize(astronaut, (1024, 1024), interpolation=cv2.INTER_CUBIC))  # 328 px
    write_image(source / "b.png", cv2.resize(astronaut, (256, 256), interpolation=cv2.INTER_AREA))  # face 82 px
    out = tmp_path / "out"
    assert main(["restore", "-i", str(source), "-o", str(out), "--method", "bicubic", "--scale", "2"]) == 0
    err = capsys.readouterr().err
    assert err.count("kept at bicubic") == 1 and "a.png" in err
    report = json.loads((out / "report.json").read_text())
    faces = {Path(r["input"]).name: r["faces"][0] for r in report["images"]}
    assert faces["a.png"]["kept"] == "bicubic" and "256 px" in faces["a.png"]["reason"]  # the box crops' limit
    assert faces["a.png"]["native_size"] == pytest.approx(2 * ASTRONAUT_NATIVE, abs=2)
    assert faces["b.png"]["kept"] is None and faces["b.png"]["reason"] is None
    assert faces["b.png"]["restored_size"] == 4 * faces["b.png"]["crop_size"]  # bicubic's x4 at native size
    assert (out / faces["a.png"]["restored"]).is_file()


def test_aligned_crop_keeps_its_resolution(tmp_path, astronaut):
    crop = np.ascontiguousarray(astronaut[20:276, 100:356])
    ufvnet = FaceRestorer("ufvnet", aligned=True)  # the bundled default
    result = ufvnet.restore(crop)
    assert result.image.shape == (256, 256, 3) and result.scale == 1.0 and result.faces[0].kept == "bicubic"
    np.testing.assert_array_equal(result.image, crop.astype(np.float32) / 255)
    small = ufvnet.restore(cv2.resize(crop, (64, 64), interpolation=cv2.INTER_AREA))
    assert small.image.shape == (128, 128, 3) and small.faces[0].kept is None  # up to the network's 128
    source = tmp_path / "crop.png"
    write_image(source, crop)
    out = tmp_path / "out"
    assert main(["restore", "-i", str(source), "-o", str(out), "--method", TinySR.name, "--allow-untrained",
                 "--aligned", "--scale", "2"]) == 0
    pixels, _ = read_image(out / "restored_imgs" / "crop.png")
    assert pixels.shape == (512, 512, 3)  # 256 x 2, not 128 resized


@pytest.mark.parametrize("command", ["restore", "prepare"])
@pytest.mark.parametrize("flags, message", [(["--detector", "foo"], "--detector"),
                                             (["--upsample", "x"], "--upsample"),
                                             (["--upsample", "-1"], "--upsample")])
def test_bad_detector_options_are_one_line_errors(tmp_path, astronaut, capsys, command, flags, message):
    source = tmp_path / "in"
    source.mkdir()
    write_image(source / "a.png", astronaut)
    paths = ["-i", str(source), "-o", str(tmp_path / "out")] if command == "restore" else [str(source),
                                                                                           str(tmp_path / "out")]
    assert main([command, *paths, *flags, *(["--method", "bicubic"] if command == "restore" else [])]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "error" in err[0]


def test_detector_options_reach_the_detector(tmp_path, astronaut):
    source = tmp_path / "in"
    source.mkdir()
    write_image(source / "a.png", cv2.resize(astronaut, (160, 160), interpolation=cv2.INTER_AREA))
    for upsample, found in (("1", 0), ("auto", 1)):
        out = tmp_path / f"out_{upsample}"
        assert main(["prepare", str(source), str(out), "--upsample", upsample]) == (0 if found else 1)
        report = json.loads((out / "prepare_report.json").read_text())
        assert report["written"] == found and report["upsample"] == (upsample if upsample == "auto" else 1)
    assert parse_upsample("auto") is None and parse_upsample("3") == 3


def test_small_images_are_upsampled_once_more_for_detection(astronaut):
    assert AUTO_SHORT_SIDE == 400
    assert auto_upsample((399, 2000)) == 2 and auto_upsample((400, 400, 3)) == 1 and auto_upsample((2000, 50)) == 2
    small = cv2.resize(astronaut, (160, 160), interpolation=cv2.INTER_AREA)  # face box ~28 px: too small for x1
    detector = DlibDetector()
    assert detector.upsampling(small) == 2 and detector.upsampling(astronaut) == 1
    assert DlibDetector(upsample=1).detect(small) == [] and len(detector.detect(small)) == 1
    assert DlibDetector(upsample=0).upsampling(small) == 0


def test_a_generic_sr_method_restores_an_axis_aligned_crop_pasted_back_without_resampling(astronaut):
    """bicubic, SRCNN, VDSR, SRResNet and EDSR have no face prior: the pipeline runs them on the photo's own pixel
    grid (a translated crop, no rotation) and, at the method's own scale, pastes the output back pixel for pixel.
    With PyTorch's bicubic (the background's kernel, a = -0.75) the pasted face is the background itself."""
    restorer = FaceRestorer("bicubic", scale=2, options={"scale": 2, "kernel": "pytorch"})
    assert restorer.box_crops and not FaceRestorer("ufvnet").box_crops
    result = restorer.restore(astronaut)
    face = result.faces[0]
    assert face.kept is None and face.crop.shape[0] == 8 * math.ceil(face.native / 8)
    assert np.allclose(face.matrix[:, :2], np.eye(2)) and np.all(face.matrix[:, 2] == np.round(face.matrix[:, 2]))
    x0, y0 = (-face.matrix[:, 2]).astype(int)
    side = face.crop.shape[0]
    inner = slice(2 * y0 + 40, 2 * (y0 + side) - 40), slice(2 * x0 + 40, 2 * (x0 + side) - 40)
    assert np.abs(result.image[inner] - plain_upscale(astronaut, 2)[inner]).max() < 1e-4
