"""FaceRestorer on skimage's astronaut (a real face): sizes, alpha, 16-bit, gray, batching, paste-back
locality, LR crop sizes, weights resolution. References: cv2.resize (the plain upscale), the dlib detector's
own boxes, the alignment template, direct counts of model calls."""
from __future__ import annotations

import math
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from skimage import data

from facerestore.errors import ConfigError, WeightsError
from facerestore.face.align import template_68
from facerestore.face.detect import DlibDetector
from facerestore.face.align import native_size
from facerestore.restore.restorer import FaceRestorer
from facerestore.restore.weights_cache import UntrainedWarning, cache_dir, resolve_weights


class OnceDetector:
    """The real HOG detector, run once per distinct image (detection is not under test here)."""

    def __init__(self):
        self.inner, self.seen = DlibDetector(), {}

    def detect(self, image):
        key = (image.shape, image.dtype.str, image[::7, ::7].tobytes())
        if key not in self.seen:
            self.seen[key] = self.inner.detect(image)
        return self.seen[key]


@pytest.fixture(scope="module", autouse=True)
def _empty_weights_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FACERESTORE_HOME", str(tmp_path_factory.mktemp("empty_cache")))
        yield


@pytest.fixture(scope="module")
def detector() -> OnceDetector:
    return OnceDetector()


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return data.astronaut()


@pytest.fixture(scope="module")
def two_faces(astronaut) -> np.ndarray:
    return np.ascontiguousarray(np.concatenate([astronaut, astronaut[:, ::-1]], axis=1))


@pytest.fixture(scope="module")
def srcnn(detector) -> FaceRestorer:
    # The astronaut's face (164 px) is larger than SRCNN's largest LR crop (128): these tests are about the
    # photo's layout, so every face is restored (the size rules are tested in test_restore_sizes.py).
    with pytest.warns(UntrainedWarning):
        return FaceRestorer("srcnn", scale=2, detector=detector, allow_untrained=True, max_squeeze=math.inf)


def plain_upscale(image: np.ndarray, scale: int) -> np.ndarray:
    floats = image.astype(np.float32) / (65535.0 if image.dtype == np.uint16 else 255.0)
    height, width = image.shape[:2]
    up = cv2.resize(floats, (width * scale, height * scale), interpolation=cv2.INTER_CUBIC)
    return np.clip(up.reshape(height * scale, width * scale, -1), 0, 1)


def test_output_is_input_times_scale_with_the_face_restored_and_the_rest_plain(srcnn, astronaut):
    result = srcnn.restore(astronaut)
    assert result.image.shape == (1024, 1024, 3) and result.scale == 2.0 and result.bit_depth == 8
    assert len(result.faces) == 1
    reference = plain_upscale(astronaut, 2)
    # Far from the face (below the shoulders, photo rows >= 300) the output is the plain upscale exactly.
    np.testing.assert_array_equal(result.image[600:], reference[600:])
    # The eyes and mouth come from the (untrained) network, not from the background.
    x0, y0, x1, y1 = (result.faces[0].box * 2).astype(int)
    assert np.abs(result.image[y0:y1, x0:x1] - reference[y0:y1, x0:x1]).mean() > 0.02
    assert set(result.timings) == {"read", "detect", "align", "restore", "paste"}


def test_faces_of_a_photo_are_restored_in_one_model_call(srcnn, two_faces):
    calls = []
    handle = srcnn.method.register_forward_hook(lambda module, args, output: calls.append(output.shape[0]))
    try:
        batched = srcnn.restore(two_faces)
        assert calls == [2]
        srcnn.batch_size = 1
        single = srcnn.restore(two_faces)
        assert calls == [2, 1, 1]
    finally:
        srcnn.batch_size = None
        handle.remove()
    np.testing.assert_allclose(batched.image, single.image, atol=1e-5)
    centres = sorted(float(face.box[0] + face.box[2]) / 2 for face in batched.faces)
    assert centres[0] < 512 < centres[1]  # one face in each half


def test_alpha_is_upscaled_separately_and_kept(srcnn, astronaut):
    alpha = np.tile(np.linspace(0, 255, 512).round().astype(np.uint8)[:, None], (1, 512))
    result = srcnn.restore(np.dstack([astronaut, alpha]))
    assert result.image.shape == (1024, 1024, 4)
    expected = np.clip(cv2.resize(alpha.astype(np.float32) / 255, (1024, 1024), interpolation=cv2.INTER_CUBIC), 0, 1)
    np.testing.assert_allclose(result.image[..., 3], expected, atol=1e-6)
    assert len(result.faces) == 1


def test_sixteen_bit_input_gives_sixteen_bit_pixels(srcnn, astronaut):
    deep = astronaut.astype(np.uint16) * 257 + 100
    result = srcnn.restore(deep)
    pixels = result.pixels()
    assert result.bit_depth == 16 and pixels.dtype == np.uint16 and len(result.faces) == 1
    far = plain_upscale(deep, 2)[600:]
    np.testing.assert_array_equal(pixels[600:], np.rint(far * 65535).astype(np.uint16))
    assert np.unique(pixels[600:] % 257).size > 1  # not 8-bit values scaled up


def test_gray_stays_gray(srcnn, astronaut):
    gray = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)
    result = srcnn.restore(gray)
    assert result.image.shape == (1024, 1024, 1) and len(result.faces) == 1
    np.testing.assert_array_equal(result.image[600:], plain_upscale(gray, 2)[600:])


def test_photo_without_face_is_only_upscaled_with_a_warning(srcnn):
    coffee = cv2.resize(data.coffee(), (200, 150), interpolation=cv2.INTER_AREA)
    result = srcnn.restore(coffee)
    assert result.faces == [] and any("no face" in w for w in result.warnings)
    np.testing.assert_array_equal(result.image, plain_upscale(coffee, 2))


def test_bicubic_defaults_to_its_scale_and_aligned_input_is_restored_whole(detector, astronaut):
    restorer = FaceRestorer("bicubic", detector=detector)
    assert restorer.restore(astronaut).image.shape == (2048, 2048, 3)  # the method's scale, 4
    crop = astronaut[80:144, 180:244]  # a 64x64 square taken as an aligned face
    aligned = FaceRestorer("bicubic", aligned=True, detector=detector).restore(crop)
    assert aligned.image.shape == (256, 256, 3) and aligned.scale == 4.0
    np.testing.assert_array_equal(aligned.faces[0].crop, crop.astype(np.float32) / 255)
    np.testing.assert_allclose(aligned.image, aligned.faces[0].restored, atol=1e-6)
    np.testing.assert_array_equal(aligned.faces[0].landmarks, template_68(64))


def test_native_size_is_the_template_crop_side():
    for side in (24.0, 100.0, 333.0):
        angle = np.deg2rad(17)
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        points = (template_68(1000) + 0.5) * side / 1000 @ rotation.T + [40, 70]
        assert native_size(points) == pytest.approx(side, rel=1e-9)


def test_lr_crop_sizes_follow_each_method(detector):
    with pytest.warns(UntrainedWarning):
        sparnet = FaceRestorer("sparnet", detector=detector, allow_untrained=True)
    assert [sparnet.lr_size(n) for n in (3, 40.4, 500)] == [8, 40, 64]  # UFVNet §IV-A range 1/16..8/16 of 128
    assert sparnet.hr_size(40) == 128
    with pytest.warns(UntrainedWarning):
        fish = FaceRestorer("fishfsrnet", detector=detector, allow_untrained=True)
    assert fish.lr_size(500) == 16 and fish.hr_size(16) == 128
    sized = FaceRestorer("bicubic", face_size=96, detector=detector)
    assert sized.lr_size(500) == 24 and sized.hr_size(24) == 96
    free = FaceRestorer("bicubic", detector=detector)  # a generic SR method: axis-aligned crops up to 256 px
    assert free.lr_size(50.2) == 56 and free.lr_size(48) == 48 and free.lr_size(900) == 256  # whole 8-px steps
    assert free.hr_size(56) == 224


def test_invalid_options_are_refused(detector):
    with pytest.raises(ConfigError, match="face_size=N applies"), pytest.warns(UntrainedWarning):
        FaceRestorer("fishfsrnet", face_size=256, detector=detector, allow_untrained=True)
    with pytest.raises(ConfigError, match="precision"):
        FaceRestorer("bicubic", precision="fp8", detector=detector)
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="not available"):
            FaceRestorer("bicubic", device="cuda", detector=detector)


def test_weights_come_from_a_path_or_the_absolute_cache(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FACERESTORE_HOME", "models")
    assert cache_dir() == tmp_path / "models" and cache_dir().is_absolute()
    with pytest.raises(WeightsError, match="srcnn") as error:
        resolve_weights("srcnn")
    assert error.value.path == str(tmp_path / "models" / "srcnn.safetensors")
    with pytest.warns(UntrainedWarning):
        assert resolve_weights("srcnn", allow_untrained=True) is None
    assert resolve_weights("bicubic") is None
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "srcnn.safetensors").write_bytes(b"x")
    assert resolve_weights("srcnn") == tmp_path / "models" / "srcnn.safetensors"
    with pytest.raises(WeightsError, match="no such weights file"):
        resolve_weights("srcnn", tmp_path / "missing.safetensors")
    monkeypatch.delenv("FACERESTORE_HOME")
    assert cache_dir() == cache_dir().home() / ".cache" / "facerestore"


def test_weights_file_is_loaded(tmp_path, detector):
    with pytest.warns(UntrainedWarning):
        trained = FaceRestorer("srcnn", detector=detector, allow_untrained=True)
    with torch.no_grad():
        for parameter in trained.method.parameters():
            parameter.fill_(0.01)
    save_file({k: v.contiguous() for k, v in trained.method.state_dict().items()}, tmp_path / "srcnn.safetensors")
    loaded = FaceRestorer("srcnn", tmp_path / "srcnn.safetensors", detector=detector)
    assert loaded.weights == tmp_path / "srcnn.safetensors" and not loaded.untrained
    assert all(torch.all(p == 0.01) for p in loaded.method.parameters())


def test_importing_facerestore_does_not_load_the_pipeline():
    code = ("import sys, facerestore; assert 'torch' not in sys.modules and 'dlib' not in sys.modules; "
            "facerestore.FaceRestorer; assert 'torch' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def _capture_samples(restorer: FaceRestorer) -> list[dict]:
    samples = []
    restorer.method.register_forward_pre_hook(lambda module, args: samples.append(dict(args[0])))
    return samples


def test_fsgn_gets_component_masks_from_the_detected_landmarks(detector, astronaut):
    with pytest.warns(UntrainedWarning):
        fsgn = FaceRestorer("fsgn", face_size=128, detector=detector, allow_untrained=True, max_squeeze=math.inf)
    samples = _capture_samples(fsgn)
    result = fsgn.restore(astronaut)
    masks = samples[0]["masks"]
    assert masks.shape == (1, 4, 128, 128) and result.faces[0].restored.shape[:2] == (128, 128)
    rows = torch.arange(128, dtype=torch.float32)[:, None]
    centre_row = [float((m * rows).sum() / m.sum()) for m in masks[0]]  # brows, eyes, nose, mouth
    assert centre_row == sorted(centre_row)  # top to bottom, as on an upright face
    # The aligned crop puts the eyes where the template has them (Song §3.1 masks follow the landmarks).
    eyes_template = template_68(128)[36:48, 1].mean()
    assert abs(centre_row[1] - eyes_template) < 4


def test_gfrnet_takes_an_aligned_guide_and_returns_the_warped_guide(detector, astronaut):
    with pytest.warns(UntrainedWarning):
        # scale 1.5: the 164 px face is 246 px in the output, within GFRNet's 256 px (at 2 it would keep bicubic)
        gfrnet = FaceRestorer("gfrnet", detector=detector, allow_untrained=True, scale=1.5)
    with pytest.raises(ConfigError, match="guide"):
        gfrnet.restore(astronaut)
    samples = _capture_samples(gfrnet)
    guide = np.ascontiguousarray(astronaut[:, ::-1])  # the same person, another view
    result = gfrnet.restore(astronaut, guide=guide, save_warped_guide=True)
    assert samples[0]["guide"].shape == (1, 3, 256, 256) and samples[0]["lr_up"].shape == (1, 3, 256, 256)
    face = result.faces[0]
    assert face.restored.shape[:2] == (256, 256)
    assert face.warped_guide is not None and face.warped_guide.shape[:2] == (256, 256)
    # The guide is aligned like the target: the template is symmetric, so the mirrored photo's face aligns to
    # the mirror image of the target's aligned face (compared on the face, the central half of the crop).
    target_up = samples[0]["lr_up"][0].mean(0)[64:192, 64:192]
    aligned_guide = samples[0]["guide"][0].mean(0)[64:192, 64:192]
    mirrored_error = float((target_up.flip(-1) - aligned_guide).abs().mean())
    assert mirrored_error < 0.05
    assert mirrored_error < float((target_up - aligned_guide).abs().mean()) / 2
