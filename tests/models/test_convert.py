"""``facerestore convert`` end to end on fake official checkpoints built from the JSON layouts: every
official tensor lands in exactly one of ours with the same shape, the file loads strictly into the model
named in its metadata, and bad inputs give one-line errors naming the file."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from facerestore.cli import main
from facerestore.models import build_model
from facerestore.models.convert import CONVERTERS

LAYOUTS = Path(__file__).resolve().parents[1] / "fixtures" / "official_checkpoint_layouts"

# converter name → (layout file, module that must provide ``convert_official``, registry model)
CASES = {
    "fishfsrnet-official": ("fishfsrnet_x8", "fishfsrnet"),
    "parsingnet-official": ("parsingnet", "parsingnet"),
    "sparnet-official": ("sparnet", "sparnet"),
    "sparnet-light-official": ("sparnet_light_attn3d", "sparnet"),
    "gfrnet-warpnet-official": ("gfrnet_warpnet", "gfrnet"),
}


def fake_checkpoint(layout: str) -> dict[str, torch.Tensor]:
    """Tensor ``i`` of the layout filled with the value ``i`` (BatchNorm counters as int64), so each one is
    recognisable after renaming."""
    tensors = json.loads((LAYOUTS / f"{layout}.json").read_text())["tensors"]
    return {name: torch.tensor(i) if name.endswith("num_batches_tracked") else torch.full(shape, float(i))
            for i, (name, shape) in enumerate(tensors)}


def run_cli(*args: str) -> int:
    return main(["convert", *map(str, args)])


def test_table_covers_every_official_layout():
    assert set(CONVERTERS) == set(CASES)
    assert {layout for layout, _ in CASES.values()} | {"fishfsrnet_x4"} == {p.stem for p in LAYOUTS.glob("*.json")}


@pytest.mark.parametrize("name", sorted(CASES))
def test_cli_converts_every_official_layout(name, tmp_path):
    official = fake_checkpoint(CASES[name][0])
    torch.save(official, tmp_path / "official.pth")
    out = tmp_path / "ours.safetensors"
    assert run_cli("--from", name, tmp_path / "official.pth", "-o", out) == 0
    ours = load_file(out)
    # A bijection: each official tensor appears once, with its shape (values identify the tensors).
    assert len(ours) == len(official)
    assert sorted(int(t.flatten()[0]) for t in ours.values() if t.numel()) == \
        sorted(int(t.flatten()[0]) for t in official.values() if t.numel())
    assert sorted(tuple(t.shape) for t in ours.values()) == sorted(tuple(t.shape) for t in official.values())
    with safe_open(out, "pt") as f:
        metadata = f.metadata()
    assert metadata["source"] == name
    if name == "fishfsrnet-official":  # the scale is detected from the tensors
        assert json.loads(metadata["options"]) == {"compat": "official", "scale": 8}
    model = build_model(metadata["model"], **json.loads(metadata["options"]))
    model.load_state_dict(ours, strict=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["official.pth", "ours.safetensors"]  # no temp files left


def test_fishfsrnet_x4_layout_is_detected_and_converts(tmp_path):
    torch.save(fake_checkpoint("fishfsrnet_x4"), tmp_path / "in.pth")
    assert run_cli("--from", "fishfsrnet-official", tmp_path / "in.pth", "-o", tmp_path / "out.safetensors") == 0
    with safe_open(tmp_path / "out.safetensors", "pt") as f:
        options = json.loads(f.metadata()["options"])
    assert options == {"compat": "official", "scale": 4}
    build_model("fishfsrnet", **options).load_state_dict(load_file(tmp_path / "out.safetensors"), strict=True)


def test_wrong_explicit_scale_is_reported_with_the_offending_keys(tmp_path, capsys):
    torch.save(fake_checkpoint("fishfsrnet_x8"), tmp_path / "x8.pth")
    out = tmp_path / "o.safetensors"
    code = run_cli("--from", "fishfsrnet-official", "--scale", "4", tmp_path / "x8.pth", "-o", out)
    err = capsys.readouterr().err
    assert code == 2 and str(tmp_path / "x8.pth") in err and "unexpected" in err
    assert not out.exists()


def test_nested_and_data_parallel_checkpoints_are_unwrapped(tmp_path):
    official = fake_checkpoint("parsingnet")
    torch.save({"epoch": 3, "state_dict": {f"module.{k}": v for k, v in official.items()}}, tmp_path / "in.pth")
    assert run_cli("--from", "parsingnet-official", tmp_path / "in.pth", "-o", tmp_path / "out.safetensors") == 0
    assert len(load_file(tmp_path / "out.safetensors")) == len(official)


def test_existing_output_needs_overwrite(tmp_path, capsys):
    torch.save(fake_checkpoint("parsingnet"), tmp_path / "in.pth")
    out = tmp_path / "out.safetensors"
    out.write_bytes(b"keep me")
    assert run_cli("--from", "parsingnet-official", tmp_path / "in.pth", "-o", out) == 2
    assert str(out) in capsys.readouterr().err and out.read_bytes() == b"keep me"
    assert run_cli("--from", "parsingnet-official", tmp_path / "in.pth", "-o", out, "--overwrite") == 0
    assert len(load_file(out)) == 36


@pytest.mark.parametrize("damage, expected", [
    (lambda sd: sd.pop("body.3.body.2.weight"), "missing: body.3.conv2.weight"),
    (lambda sd: sd.update({"extra.weight": torch.zeros(1)}), "unexpected: extra.weight"),
    (lambda sd: sd.update({"feature.0.bias": torch.zeros(4)}), "wrong shape: tail.bias (4,)"),
])
def test_mismatching_checkpoint_names_file_and_keys(damage, expected, tmp_path, capsys):
    official = fake_checkpoint("parsingnet")
    damage(official)
    torch.save(official, tmp_path / "bad.pth")
    assert run_cli("--from", "parsingnet-official", tmp_path / "bad.pth", "-o", tmp_path / "o.safetensors") == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "bad.pth") in err and expected in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == [tmp_path / "bad.pth"]


@pytest.mark.parametrize("content", [b"", b"not a checkpoint", None])
def test_unreadable_or_code_carrying_files_are_refused(content, tmp_path, capsys):
    path = tmp_path / "in.pth"
    if content is None:  # pickles an arbitrary object: refused by weights_only loading
        torch.save({"args": argparse.Namespace(lr=1), "params": fake_checkpoint("parsingnet")}, path)
    else:
        path.write_bytes(content)
    assert run_cli("--from", "parsingnet-official", path, "-o", tmp_path / "o.safetensors") == 2
    assert str(path) in capsys.readouterr().err


def test_missing_input_and_misplaced_scale(tmp_path, capsys):
    assert run_cli("--from", "parsingnet-official", tmp_path / "nope.pth", "-o", tmp_path / "o.safetensors") == 2
    assert str(tmp_path / "nope.pth") in capsys.readouterr().err
    torch.save(fake_checkpoint("parsingnet"), tmp_path / "in.pth")
    assert run_cli("--from", "parsingnet-official", "--scale", "8", tmp_path / "in.pth", "-o", tmp_path / "o") == 2
    assert "--scale" in capsys.readouterr().err
