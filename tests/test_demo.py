"""The README's main job: ``facerestore demo`` writes a complete report and refuses to clobber one."""
from __future__ import annotations

import csv

from facerestore.cli import main


def test_demo_writes_report_and_protects_it(tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["demo", "-o", str(out), "--count", "2", "--presets", "fish_x8", "song_deblur"]) == 0
    assert "report written" in capsys.readouterr().out
    for name in ("index.html", "metrics.csv", "metrics.md", "grid_fish_x8.png", "grid_song_deblur.png"):
        assert (out / name).stat().st_size > 0
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert [r["preset"] for r in rows] == ["fish_x8", "song_deblur"]
    # x8 bicubic on 128 px faces: clearly degraded but far from noise.
    assert all(15.0 < float(r["psnr_y"]) < 35.0 and 0.2 < float(r["ssim_y"]) < 0.99 for r in rows)

    before = (out / "metrics.csv").read_bytes()
    assert main(["demo", "-o", str(out), "--count", "1", "--presets", "fish_x4"]) != 0
    assert "--overwrite" in capsys.readouterr().err
    assert (out / "metrics.csv").read_bytes() == before
    assert main(["demo", "-o", str(out), "--count", "1", "--presets", "fish_x4", "--overwrite"]) == 0
