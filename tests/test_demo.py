"""The README's main job: ``facerestore demo`` trains (once) or loads the default model, writes a complete
report against bicubic, and refuses to clobber one."""
from __future__ import annotations

import csv
import shutil

import pytest

from facerestore.cli import main
from facerestore.demo import DEFAULT_RECIPE, demo_model

# The committed UFVNet quick recipe, shrunk to a few iterations of a very narrow network.
TINY = ["--set", "method.options.width=0.0625", "--set", "stages.0.iterations=2", "--set", "stages.1.iterations=2",
        "--set", "data.train.count=4", "--set", "data.val.count=1", "--set", "train.progress=false",
        "--set", "data.num_workers=0"]


@pytest.fixture()
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("FACERESTORE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_demo_trains_once_reports_and_protects_the_report(tmp_path, home, capsys):
    out = tmp_path / "report"
    assert main(["demo", "-o", str(out), "--count", "2", "--presets", "fish_x8", "ufv_multires", *TINY]) == 0
    printed = capsys.readouterr().out
    assert "quick-training ufvnet" in printed and "report written" in printed
    assert (home / "demo" / "ufvnet_quick" / "final.safetensors").is_file()
    for name in ("index.html", "metrics.csv", "metrics.md", "grid_fish_x8.png", "grid_ufv_multires.png"):
        assert (out / name).stat().st_size > 0
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert [(r["preset"], r["method"].split()[0]) for r in rows] == [
        ("fish_x8", "bicubic"), ("fish_x8", "ufvnet"), ("ufv_multires", "bicubic"), ("ufv_multires", "ufvnet")]
    # x8 on 128 px faces: clearly degraded but far from noise; the residual network starts from bicubic.
    assert all(15.0 < float(r["psnr_y"]) < 40.0 and 0.2 < float(r["ssim_y"]) < 0.99 for r in rows)
    assert "ufvnet" in (out / "index.html").read_text()

    before = (out / "metrics.csv").read_bytes()
    assert main(["demo", "-o", str(out), "--count", "1", "--presets", "fish_x4", *TINY]) != 0
    captured = capsys.readouterr()
    assert "--overwrite" in captured.err and "earlier demo" in captured.out  # second run: no training
    assert (out / "metrics.csv").read_bytes() == before
    assert main(["demo", "-o", str(out), "--count", "1", "--presets", "fish_x4", "--overwrite", *TINY]) == 0


def test_demo_prefers_bundled_weights_of_the_same_recipe(tmp_path, home):
    overrides = [v for v in TINY if v != "--set"]
    messages: list[str] = []
    demo_model(DEFAULT_RECIPE, overrides, log=messages.append)  # trains into $FACERESTORE_HOME/demo
    bundled = tmp_path / "bundled"
    shutil.copytree(home / "demo" / "ufvnet_quick", bundled / "ufvnet_quick")
    model = demo_model(DEFAULT_RECIPE, overrides, bundled=bundled, log=messages.append)
    assert "bundled" in messages[-1] and "bundled" in model.label
    # Another recipe (here: without the residual) never reuses weights trained for a different one.
    other = demo_model(DEFAULT_RECIPE, [*overrides, "method.options.residual=false"], bundled=bundled,
                       log=messages.append)
    assert "quick-training" in messages[-1] and "quick-trained" in other.label


def test_demo_names_a_missing_recipe(tmp_path, home, capsys):
    assert main(["demo", "-o", str(tmp_path / "r"), "--recipe", str(tmp_path / "nope.yaml")]) != 0
    assert "nope.yaml" in capsys.readouterr().err
