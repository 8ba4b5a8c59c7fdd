"""``facerestore restore`` on a folder mixing a good photo, broken files (truncated, empty, text), RGBA,
16-bit, gray and face-less images; exit codes, output layout, report.json, no overwriting. Method bicubic
(no weights needed); inputs are a 256x256 crop of skimage's astronaut (a real face) in several layouts."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from skimage import data

from facerestore.cli import main
from facerestore.io import read_image, write_image


@pytest.fixture(autouse=True)
def _empty_weights_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FACERESTORE_HOME", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def face() -> np.ndarray:
    return np.ascontiguousarray(data.astronaut()[20:276, 100:356])


@pytest.fixture(scope="module")
def coffee() -> np.ndarray:
    return cv2.resize(data.coffee(), (160, 120), interpolation=cv2.INTER_AREA)


@pytest.fixture
def mixed(tmp_path, face, coffee):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    write_image(folder / "good.png", face)
    alpha = np.tile(np.linspace(0, 255, 256).round().astype(np.uint8), (256, 1))[..., None]
    write_image(folder / "rgba.png", np.concatenate([face, alpha], axis=2))
    write_image(folder / "deep.png", face.astype(np.uint16) * 257)
    write_image(folder / "sub" / "gray.png", cv2.cvtColor(face, cv2.COLOR_RGB2GRAY))
    write_image(folder / "noface.jpg", coffee)
    png = (folder / "good.png").read_bytes()
    (folder / "truncated.png").write_bytes(png[: len(png) // 2])
    (folder / "empty.png").write_bytes(b"")
    (folder / "text.jpg").write_text("not an image\n")
    return folder


def restore(*args: str) -> int:
    return main(["restore", *args])


def report_of(out) -> dict:
    return json.loads((out / "report.json").read_text())


def test_mixed_folder_is_processed_and_broken_files_are_reported(mixed, tmp_path, face, capsys):
    out = tmp_path / "out"
    assert restore("-i", str(mixed), "-o", str(out), "--method", "bicubic", "--scale", "2") == 1
    report = report_of(out)
    status = {r["input"].split("/in/")[1]: r for r in report["images"]}
    assert {k: r["status"] for k, r in status.items()} == {
        "good.png": "ok", "rgba.png": "ok", "deep.png": "ok", "sub/gray.png": "ok", "noface.jpg": "no_face",
        "truncated.png": "error", "empty.png": "error", "text.jpg": "error"}
    assert "empty" in status["empty.png"]["error"] and "text.jpg" in status["text.jpg"]["error"]
    assert report["summary"] == {"images": 8, "restored": 5, "skipped": 0, "failed": 3, "without_face": 1,
                                 "faces": 4, "skipped_folders": []}
    err = capsys.readouterr().err
    assert "3 failed" in err
    # every photo's warnings reach the console once (not only report.json)
    assert sum("noface.jpg: no face found" in line for line in err.splitlines()) == 1
    text = (out / "report.json").read_text()
    assert text.count("\n") < 200  # landmarks and boxes one line per face, not one number per line

    good = status["good.png"]
    assert good["size"] == [256, 256] and good["output_size"] == [512, 512] and good["faces_found"] == 1
    assert len(good["faces"][0]["landmarks"]) == 68 and set(good["timings"]) >= {"detect", "restore", "paste"}
    for key in ("crop", "restored", "cmp"):
        assert (out / good["faces"][0][key]).is_file()
    restored_face, _ = read_image(out / good["faces"][0]["restored"])
    cmp, _ = read_image(out / good["faces"][0]["cmp"])
    assert cmp.shape == (restored_face.shape[0], 2 * restored_face.shape[1], 3)

    pixels, info = read_image(out / "restored_imgs" / "good.png")
    assert pixels.shape == (512, 512, 3) and info.bit_depth == 8

    pixels, info = read_image(out / "restored_imgs" / "rgba.png")
    assert pixels.shape == (512, 512, 4)
    alpha = np.tile(np.linspace(0, 1, 256, dtype=np.float32), (256, 1))
    expected = np.clip(cv2.resize(np.round(alpha * 255) / 255, (512, 512), interpolation=cv2.INTER_CUBIC), 0, 1)
    assert np.abs(pixels[..., 3].astype(np.float32) - expected * 255).max() <= 0.5 + 1e-3

    pixels, info = read_image(out / "restored_imgs" / "deep.png")
    assert pixels.dtype == np.uint16 and info.bit_depth == 16 and pixels.shape == (512, 512, 3)

    pixels, info = read_image(out / "restored_imgs" / "sub" / "gray.png")
    assert pixels.shape == (512, 512, 1)
    assert (out / "cropped_faces" / "sub" / "gray_00.png").is_file()

    noface = status["noface.jpg"]
    assert noface["faces"] == [] and any("no face" in w for w in noface["warnings"])
    pixels, info = read_image(out / "restored_imgs" / "noface.jpg")
    assert pixels.shape == (240, 320, 3) and info.format == "JPEG"


def test_face_less_photo_exits_zero_unless_strict(tmp_path, face, coffee, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    write_image(folder / "a.png", face)
    write_image(folder / "b.png", coffee)
    assert restore("-i", str(folder / "*.png"), "-o", str(tmp_path / "out"), "--method", "bicubic") == 0
    assert sorted(p.name for p in (tmp_path / "out" / "restored_imgs").iterdir()) == ["a.png", "b.png"]
    pixels, _ = read_image(tmp_path / "out" / "restored_imgs" / "b.png")
    assert pixels.shape == (480, 640, 3)  # bicubic's own scale, 4
    assert restore("-i", str(folder / "b.png"), "-o", str(tmp_path / "strict"), "--method", "bicubic",
                   "--strict") == 1
    assert f"--strict: no face found in 1 photo(s): {folder / 'b.png'}" in capsys.readouterr().err


def test_earlier_outputs_inside_the_input_are_skipped_and_the_same_folder_is_named(tmp_path, face, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    write_image(folder / "a.png", face)
    assert restore("-i", str(folder), "-o", str(folder / "restored"), "--method", "bicubic", "--scale", "2") == 0
    capsys.readouterr()
    assert restore("-i", str(folder), "-o", str(folder / "restored2"), "--method", "bicubic", "--scale", "2") == 0
    err = capsys.readouterr().err
    assert "skipped 1 folder(s) holding an earlier facerestore run" in err and "1 image(s): 1 restored" in err
    assert sorted(p.name for p in (folder / "restored2" / "restored_imgs").iterdir()) == ["a.png"]
    assert report_of(folder / "restored2")["summary"]["skipped_folders"] == [str(folder / "restored")]
    assert restore("-i", str(folder), "-o", str(folder), "--method", "bicubic") == 2
    assert "the output folder (-o) is the input folder" in capsys.readouterr().err


def test_skip_existing_continues_an_interrupted_run(tmp_path, face, coffee, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a", "b", "c"):
        write_image(folder / f"{name}.png", face if name != "c" else coffee)
    out = tmp_path / "out"
    args = ["-i", str(folder), "-o", str(out), "--method", "bicubic", "--scale", "2"]
    assert restore(*args) == 0
    (out / "report.json").unlink()  # as after Ctrl-C: outputs of finished photos, no report
    (out / "restored_imgs" / "b.png").unlink()  # b was interrupted before its photo was written
    kept = (out / "restored_imgs" / "a.png").stat().st_mtime_ns
    capsys.readouterr()
    assert restore(*args) == 1  # without the flag: the finished photos fail on existing files
    assert restore(*args, "--skip-existing") == 0
    assert "3 image(s): 1 restored, 2 skipped (done before), 0 failed" in capsys.readouterr().err
    assert (out / "restored_imgs" / "a.png").stat().st_mtime_ns == kept and (out / "restored_imgs" / "b.png").is_file()
    status = {r["input"].rsplit("/", 1)[1]: r["status"] for r in report_of(out)["images"]}
    assert status == {"a.png": "skipped", "b.png": "ok", "c.png": "skipped"}
    assert restore(*args, "--skip-existing", "--overwrite") == 2


def test_options_a_method_does_not_take_are_refused_in_cli_words(tmp_path, face, capsys):
    source = tmp_path / "face.png"
    write_image(source, face)
    bank = tmp_path / "bank.npz"
    bank.write_bytes(b"")
    assert restore("-i", str(source), "-o", str(tmp_path / "o1"), "--method", "bicubic", "--exemplars", str(bank)) == 2
    assert "--exemplars applies to song" in capsys.readouterr().err
    assert restore("-i", str(source), "-o", str(tmp_path / "o2"), "--method", "bicubic", "--guide", str(source)) == 2
    assert "--guide applies to methods that read a reference photo (gfrnet), not bicubic" in capsys.readouterr().err
    assert not (tmp_path / "o1").exists()


def test_restore_takes_the_method_from_a_recipe(tmp_path, face):
    source = tmp_path / "face.png"
    write_image(source, face)
    recipe = tmp_path / "r.yaml"
    recipe.write_text("name: r\nmethod: {name: bicubic, options: {}}\ndata: {train: {source: synthetic}}\n"
                      "stages: [{name: s, objective: pixel, iterations: 1}]\n")
    assert restore("-i", str(source), "-o", str(tmp_path / "out"), "--config", str(recipe), "--scale", "2") == 0
    assert report_of(tmp_path / "out")["method"] == "bicubic"


def test_existing_outputs_are_kept_unless_overwrite(tmp_path, face, capsys):
    source = tmp_path / "face.png"
    write_image(source, face)
    out = tmp_path / "out"
    args = ["-i", str(source), "-o", str(out), "--method", "bicubic", "--scale", "2", "--suffix", "_r"]
    assert restore(*args) == 0
    written = out / "restored_imgs" / "face_r.png"
    before = written.stat().st_mtime_ns
    assert restore(*args) == 2 and "--overwrite" in capsys.readouterr().err
    (out / "report.json").unlink()
    assert restore(*args) == 1  # the images themselves are not replaced
    assert written.stat().st_mtime_ns == before and (out / "restored_faces" / "face_00_r.png").is_file()
    assert restore(*args, "--overwrite") == 0
    assert source.read_bytes() == (tmp_path / "face.png").read_bytes()


def test_method_without_weights_is_refused_naming_the_cache_path(tmp_path, face, capsys):
    source = tmp_path / "face.png"
    write_image(source, face)
    assert restore("-i", str(source), "-o", str(tmp_path / "out"), "--method", "srcnn") == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "cache" / "srcnn.safetensors") in err
    assert "pass --weights FILE" in err and "weights=FILE" not in err  # the CLI speaks of its flags
    from facerestore.errors import WeightsError
    from facerestore.restore import FaceRestorer
    with pytest.raises(WeightsError, match="pass weights=FILE") as error:  # the API of its arguments
        FaceRestorer("srcnn")
    assert "--" not in str(error.value)


def test_aligned_crops_and_jpg_output(tmp_path, face):
    source = tmp_path / "crop.png"
    write_image(source, face[40:104, 80:144])
    out = tmp_path / "out"
    assert restore("-i", str(source), "-o", str(out), "--method", "bicubic", "--aligned", "--ext", "jpg") == 0
    pixels, info = read_image(out / "restored_imgs" / "crop.jpg")
    assert pixels.shape == (256, 256, 3) and info.format == "JPEG"
    assert report_of(out)["images"][0]["faces"][0]["box"] is None


def test_restore_result_saves_atomically_with_the_inputs_depth_and_alpha(tmp_path, face):
    from facerestore.errors import ImageWriteError
    from facerestore.restore import FaceRestorer

    alpha = np.full(face.shape[:2] + (1,), 200, np.uint8)
    source = write_image(tmp_path / "rgba16.png", (np.concatenate([face, alpha], axis=2).astype(np.uint16) * 257))
    result = FaceRestorer("bicubic", scale=2).restore(source)
    saved = result.save(tmp_path / "out.png")
    pixels, info = read_image(saved)
    assert pixels.shape == (512, 512, 4) and pixels.dtype == np.uint16 and info.bit_depth == 16
    with pytest.raises(ImageWriteError, match="exists"):
        result.save(saved)
    with pytest.raises(ImageWriteError):
        result.save(source, overwrite=True)  # never onto the input
    with pytest.raises(ImageWriteError, match="out.jpg"):
        result.save(tmp_path / "out.jpg")  # JPEG holds neither 16 bits nor alpha
    assert not (tmp_path / "out.jpg").exists()
