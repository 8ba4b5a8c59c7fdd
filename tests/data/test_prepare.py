"""``facerestore prepare`` end to end on real photos (skimage's astronaut as PNG and JPEG), a face-less
photo (coffee) and broken files: the report, the crops, resumability, workers, and SRC untouched."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
from skimage import data as skdata
from skimage.transform import SimilarityTransform, warp

from facerestore.cli import main
from facerestore.data import FolderFaces
from facerestore.data.prepare import REPORT_FILE, output_stems
from facerestore.face import labels as L
from facerestore.face.align import template_5, template_68
from facerestore.face.detect import detect_faces
from facerestore.io import read_image, write_image

BROKEN = {"coffee.png": "no_face", "empty.jpg": "unreadable", "notes.png": "unreadable",
          "sub/truncated.jpg": "unreadable"}


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file under ``folder``: (content hash, modification time in ns)."""
    return {p.relative_to(folder).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("photos")
    (src / "sub").mkdir()
    write_image(src / "astronaut.png", skdata.astronaut())
    write_image(src / "sub" / "astronaut.jpg", skdata.astronaut(), jpeg_quality=92)
    write_image(src / "coffee.png", skdata.coffee())
    jpeg = (src / "sub" / "astronaut.jpg").read_bytes()
    (src / "sub" / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (src / "empty.jpg").write_bytes(b"")
    (src / "notes.png").write_text("not an image\n")
    return src


@pytest.fixture(scope="module")
def first_run(source, tmp_path_factory):
    dst = tmp_path_factory.mktemp("out") / "faces"
    before = snapshot(source)
    code = main(["prepare", str(source), str(dst), "--size", "128", "--priors"])
    return dst, code, before


def test_report_lists_every_failure_and_the_rest_is_written(first_run, capsys):
    dst, code, _ = first_run
    assert code == 1
    report = json.loads((dst / REPORT_FILE).read_text())
    assert {f["file"]: f["kind"] for f in report["failed"]} == BROKEN
    assert all(f["reason"] for f in report["failed"])
    assert (report["images"], report["written"], report["skipped"]) == (6, 2, 0)
    for stem in ("astronaut", "sub/astronaut"):
        for suffix in (".png", ".npy", "_parsing.png", "_masks.npz"):
            assert (dst / f"{stem}{suffix}").is_file()
    assert not list(dst.rglob("coffee*")) and not list(dst.rglob(".*.tmp"))


def test_failures_are_reported_on_stderr(source, tmp_path, capsys):
    main(["prepare", str(source), str(tmp_path / "out")])
    err = capsys.readouterr().err
    for name in BROKEN:
        assert name in err
    assert "2 written, 0 already done, 4 failed of 6" in err


def test_crops_are_centred_with_the_eyes_on_the_template(first_run):
    dst, _, _ = first_run
    photo = skdata.astronaut()
    original = detect_faces(photo)[0].landmarks
    for stem in ("astronaut", "sub/astronaut"):
        crop, _ = read_image(dst / f"{stem}.png")
        assert crop.shape == (128, 128, 3) and crop.dtype == np.uint8
        # Detected again on the crop (an independent look at the written pixels): eye centres on the template.
        points = detect_faces(crop)[0].landmarks
        eyes = np.stack([points[list(L.RIGHT_EYE)].mean(axis=0), points[list(L.LEFT_EYE)].mean(axis=0)])
        assert np.abs(eyes - template_5(128)[:2]).max() < 3.0
        assert abs(points[:, 0].mean() - 63.5) < 4.0
    # The PNG crop against skimage's warp of the photo by the least-squares similarity to the template.
    transform = SimilarityTransform.from_estimate(original, template_68(128))
    expected = warp(photo / 255.0, transform.inverse, output_shape=(128, 128), order=3, mode="reflect")
    crop = read_image(dst / "astronaut.png")[0] / 255.0
    assert np.abs(crop - expected)[8:-8, 8:-8].mean() < 0.02
    np.testing.assert_allclose(np.load(dst / "astronaut.npy"), transform(original), atol=0.05)


def test_priors_match_the_written_landmarks(first_run):
    dst, _, _ = first_run
    points = np.load(dst / "astronaut.npy")
    parsing = read_image(dst / "astronaut_parsing.png")[0][..., 0]
    masks = np.load(dst / "astronaut_masks.npz")
    assert masks["components"].shape == (4, 128, 128) and masks["face"].shape == (128, 128)
    for eye, label in ((L.RIGHT_EYE, L.RIGHT_EYE_LABEL), (L.LEFT_EYE, L.LEFT_EYE_LABEL)):
        x, y = np.round(points[list(eye)].mean(axis=0)).astype(int)
        assert parsing[y, x] == label and masks["components"][1, y, x] > 128
    x, y = np.round(points[30]).astype(int)
    assert masks["face"][y, x] == 255 and parsing[y, x] == L.NOSE_LABEL


def test_source_is_never_modified(source, first_run):
    _, _, before = first_run
    assert snapshot(source) == before


def test_second_run_skips_finished_outputs_and_leaves_them_untouched(source, first_run):
    dst, _, _ = first_run
    outputs = {k: v for k, v in snapshot(dst).items() if k != REPORT_FILE}
    assert main(["prepare", str(source), str(dst), "--size", "128", "--priors"]) == 1  # the broken files remain
    report = json.loads((dst / REPORT_FILE).read_text())
    assert (report["written"], report["skipped"], len(report["failed"])) == (0, 2, 4)
    assert {k: v for k, v in snapshot(dst).items() if k != REPORT_FILE} == outputs


def test_an_interrupted_output_is_redone(source, tmp_path):
    dst = tmp_path / "out"
    main(["prepare", str(source), str(dst)])
    crop_time = (dst / "astronaut.png").stat().st_mtime_ns
    (dst / "astronaut.npy").unlink()  # the landmarks file is written last: its absence means unfinished
    os.utime(dst / "astronaut.png", ns=(crop_time - 10**9, crop_time - 10**9))
    main(["prepare", str(source), str(dst)])
    report = json.loads((dst / REPORT_FILE).read_text())
    assert (report["written"], report["skipped"]) == (1, 1)
    assert (dst / "astronaut.npy").is_file() and (dst / "astronaut.png").stat().st_mtime_ns > crop_time - 10**9


def test_two_workers_give_identical_results(source, first_run, tmp_path):
    dst, _, _ = first_run
    assert main(["prepare", str(source), str(tmp_path / "par"), "--priors", "--workers", "2"]) == 1
    one, two = snapshot(dst), snapshot(tmp_path / "par")
    assert one.keys() == two.keys()
    assert all(one[k][0] == two[k][0] for k in one if k != REPORT_FILE)
    assert json.loads((dst / REPORT_FILE).read_text())["failed"] == \
        json.loads((tmp_path / "par" / REPORT_FILE).read_text())["failed"]


def test_prepared_folder_reads_back_as_a_data_set(first_run):
    dst, _, _ = first_run
    faces = FolderFaces(dst, 128, preset="fish_x8", keys={"hr", "lr", "landmarks", "parsing"})
    assert len(faces) == 2
    sample = faces[0]
    np.testing.assert_array_equal(sample["landmarks"].numpy(), np.load(dst / "astronaut.npy"))
    np.testing.assert_array_equal(sample["parsing"].numpy(), read_image(dst / "astronaut_parsing.png")[0][..., 0])


@pytest.mark.parametrize("where", ["same", "inside"])
def test_destination_inside_the_source_is_refused(source, where, capsys):
    before = snapshot(source)
    dst = source if where == "same" else source / "crops"
    assert main(["prepare", str(source), str(dst)]) == 2
    assert "inside SRC" in capsys.readouterr().err
    assert snapshot(source) == before


def test_resuming_with_another_size_is_refused(source, first_run, capsys):
    dst, _, _ = first_run
    assert main(["prepare", str(source), str(dst), "--size", "256"]) == 2
    assert "128px crops" in capsys.readouterr().err


def test_inputs_sharing_a_stem_get_distinct_outputs(tmp_path):
    files = [tmp_path / "a.jpg", tmp_path / "a.png", tmp_path / "b.png"]
    assert [p.as_posix() for p in output_stems(tmp_path, files)] == ["a_jpg", "a_png", "b"]


def test_all_faces_writes_one_crop_per_face_and_the_default_says_what_it_dropped(tmp_path, capsys):
    src = tmp_path / "two"
    src.mkdir()
    face = skdata.astronaut()[:300, 80:380]
    write_image(src / "pair.png", np.concatenate([face, face[:, ::-1]], axis=1))  # two people side by side
    largest = tmp_path / "largest"
    assert main(["prepare", str(src), str(largest), "--size", "64"]) == 0
    err = capsys.readouterr().err
    assert "pair.png: 2 faces found, the largest kept (--all-faces keeps every face)" in err
    assert "2 face(s) found, 1 kept" in err
    assert json.loads((largest / REPORT_FILE).read_text())["faces"] == {"pair.png": {"found": 2, "kept": 1}}
    assert sorted(p.name for p in largest.iterdir()) == sorted(["pair.png", "pair.npy", REPORT_FILE])

    every = tmp_path / "every"
    assert main(["prepare", str(src), str(every), "--size", "64", "--all-faces"]) == 0
    assert {p.name for p in every.iterdir()} == {"pair_0.png", "pair_0.npy", "pair_1.png", "pair_1.npy",
                                                 "pair_faces.json", REPORT_FILE}
    centres = [np.load(every / f"pair_{k}.npy").mean(axis=0) for k in range(2)]
    np.testing.assert_allclose(centres[0], centres[1], atol=3.0)  # both aligned to the template
    first, _ = read_image(every / "pair_0.png")
    second, _ = read_image(every / "pair_1.png")
    assert not np.array_equal(first, second)
    capsys.readouterr()
    assert main(["prepare", str(src), str(every), "--size", "64", "--all-faces"]) == 0
    assert "0 written, 1 already done" in capsys.readouterr().err
    (every / "pair_1.npy").unlink()  # an interrupted photo is done again
    assert main(["prepare", str(src), str(every), "--size", "64", "--all-faces"]) == 0
    assert (every / "pair_1.npy").is_file()
