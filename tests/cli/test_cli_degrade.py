"""``facerestore degrade``: files written, params.jsonl, bad files reported, per-image seeds
independent of order and of the other files."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facerestore.cli import main


def _save(path: Path, rng: np.random.Generator, size: int = 64, channels: int = 3) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((rng.random((size, size, channels)) * 255).astype(np.uint8)).save(path)


def _records(folder: Path) -> dict[str, dict]:
    lines = (folder / "params.jsonl").read_text().splitlines()
    return {r["file"]: r for r in map(json.loads, lines)}


@pytest.fixture
def inputs(tmp_path, rng) -> Path:
    folder = tmp_path / "in"
    _save(folder / "a.png", rng)
    _save(folder / "sub" / "b.png", rng, channels=4)  # alpha is dropped
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    (folder / "notes.txt").write_text("ignored: not an image extension")
    return folder


def test_folder_writes_outputs_and_reports_bad_files(inputs, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["degrade", "-i", str(inputs), "-o", str(out), "--preset", "gfrnet_general", "--seed", "5"])
    assert code == 1
    assert "broken.jpg" in capsys.readouterr().err
    records = _records(out)
    assert set(records) == {"a.png", "sub/b.png"}
    for key, record in records.items():
        lr = np.asarray(Image.open(out / record["outputs"]["lr"]))
        lr_up = np.asarray(Image.open(out / record["outputs"]["lr_up"]))
        side = int(np.ceil(64 / record["params"]["scale"] - 1e-9))
        assert lr.shape == (side, side, 3) and lr_up.shape == (64, 64, 3)
        assert record["params"]["preset"] == "gfrnet_general"
    assert (out / "sub" / "b_lr.png").is_file()


def test_results_do_not_depend_on_the_other_files(inputs, tmp_path):
    main(["degrade", "-i", str(inputs), "-o", str(tmp_path / "all"), "--preset", "song_deblur", "--seed", "9"])
    alone = tmp_path / "alone"
    shutil.copy(inputs / "a.png", tmp_path / "a.png")
    code = main(["degrade", "-i", str(tmp_path / "a.png"), "-o", str(alone), "--preset", "song_deblur",
                 "--seed", "9"])
    assert code == 0
    assert _records(alone)["a.png"]["params"] == _records(tmp_path / "all")["a.png"]["params"]
    assert (alone / "a_lr.png").read_bytes() == (tmp_path / "all" / "a_lr.png").read_bytes()
    main(["degrade", "-i", str(tmp_path / "a.png"), "-o", str(tmp_path / "other"), "--preset", "song_deblur",
          "--seed", "10"])
    assert _records(tmp_path / "other")["a.png"]["rng_entropy"][0] == 10
    assert _records(tmp_path / "other")["a.png"]["params"] != _records(alone)["a.png"]["params"]


def test_scale_option_and_existing_outputs(tmp_path, rng, capsys):
    _save(tmp_path / "face.png", rng)
    out = tmp_path / "out"
    args = ["degrade", "-i", str(tmp_path / "face.png"), "-o", str(out), "--preset", "fish_x8", "--scale", "2"]
    assert main(args) == 0
    assert np.asarray(Image.open(out / "face_lr.png")).shape == (32, 32, 3)
    assert main(args) == 2  # params.jsonl exists: refused without --overwrite
    assert "--overwrite" in capsys.readouterr().err
    assert main(args + ["--overwrite"]) == 0


def test_skip_existing_continues_and_earlier_runs_inside_the_input_are_left_out(tmp_path, rng, capsys):
    folder = tmp_path / "faces"
    for name in ("a", "b", "c"):
        _save(folder / f"{name}.png", rng)
    out = tmp_path / "out"
    args = ["degrade", "-i", str(folder), "-o", str(out), "--preset", "fish_x8"]
    assert main(args) == 0
    lines = (out / "params.jsonl").read_text().splitlines()
    (out / "params.jsonl").write_text("\n".join(lines[:2]) + "\n" + lines[2][:20])  # cut while writing c's line
    kept = (out / "a_lr.png").stat().st_mtime_ns
    capsys.readouterr()
    assert main(args + ["--skip-existing"]) == 0
    assert "3 file(s): 1 degraded, 2 skipped (done before), 0 failed" in capsys.readouterr().err
    assert (out / "a_lr.png").stat().st_mtime_ns == kept
    assert sorted(_records(out)) == ["a.png", "b.png", "c.png"]
    # an output folder written inside the input is not read again as input
    inner = ["degrade", "-i", str(folder), "-o", str(folder / "lr"), "--preset", "fish_x8"]
    assert main(inner) == 0 and main(["degrade", "-i", str(folder), "-o", str(tmp_path / "o2"), "--preset",
                                      "fish_x8"]) == 0
    assert "skipped 1 folder(s) holding an earlier facerestore run" in capsys.readouterr().err
    assert sorted(_records(tmp_path / "o2")) == ["a.png", "b.png", "c.png"]
