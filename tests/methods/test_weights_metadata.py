"""Self-describing weight files: metadata written by training, methods built from a file alone, options checked
before building, and one line on stderr (never a traceback) for every wrong option or weights file."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from facerestore.cli import main
from facerestore.errors import ConfigError, WeightsError
from facerestore.io import write_image
from facerestore.methods import build_method
from facerestore.methods.metadata import WeightsInfo, info_for_recipe, read_weights_info
from facerestore.models.weights import save_weights_file

TINY = {"width": 0.125, "residual": True, "space_to_depth": True, "anchor_decoders": False}


@pytest.fixture(scope="module")
def synthetic_photo(tmp_path_factory):
    path = tmp_path_factory.mktemp("photo") / "photo.png"
    write_image(path, np.full((32, 32, 3), 128, np.uint8))
    return path


def _write(method, path, info: WeightsInfo | None = None):
    save_weights_file(method.state_dict(), path, metadata=None if info is None else info.to_metadata())
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("weights")
    torch.manual_seed(0)
    ufv = build_method("ufvnet", **TINY)
    other_width = build_method("ufvnet", **{**TINY, "width": 0.25})
    srcnn = build_method("srcnn")
    text = root / "notes.safetensors"
    text.write_text("not a weights file\n")
    text_pt = root / "notes.pt"
    text_pt.write_text("not a checkpoint\n")
    state = root / "s0_00000010_state.pt"
    torch.save({"optimizer": {"state": {}, "param_groups": []}, "iteration": 10, "stage": 0}, state)
    folder = root / "a_folder"
    folder.mkdir()
    return {
        "ufv": _write(ufv, root / "ufv.safetensors", WeightsInfo("ufvnet", TINY, recipe="tiny", hr_size=128)),
        "ufv_bare": _write(ufv, root / "ufv_bare.safetensors"),
        "wide_bare": _write(other_width, root / "wide_bare.safetensors"),
        "srcnn": _write(srcnn, root / "srcnn.safetensors", WeightsInfo("srcnn", {}, hr_size=None, scale=4)),
        "text": text, "text_pt": text_pt, "state": state, "folder": folder, "missing": root / "missing.safetensors",
    }


def test_method_is_built_from_the_file_alone(files):
    method = build_method(weights=files["ufv"])
    assert method.name == "ufvnet" and method.options == TINY
    reference = build_method("ufvnet", **TINY)
    reference.load_weights(files["ufv_bare"])
    for key, value in reference.state_dict().items():
        assert torch.equal(method.state_dict()[key], value)


def test_explicit_values_must_agree_with_the_file(files):
    with pytest.raises(ConfigError, match=r"holds weights of method ufvnet, not srcnn: drop method=NAME") as error:
        build_method("srcnn", weights=files["ufv"])
    assert "--" not in str(error.value)  # the API's words; the CLI says --method (cli.CLI_WORDS)
    with pytest.raises(ConfigError, match=r"width=0.125; the option width=0.25 contradicts it"):
        build_method("ufvnet", weights=files["ufv"], width=0.25)
    assert build_method("ufvnet", weights=files["ufv"], residual=True).options == TINY  # agreeing is fine


def test_mismatched_tensor_is_named_with_both_shapes(files):
    with pytest.raises(WeightsError, match=r"wide_bare.safetensors: tensor \S+ has shape \(\d+, .*\) in the file but "
                                           r"\(\d+, .*\) in method ufvnet"):
        build_method("ufvnet", weights=files["wide_bare"], **TINY)


def test_options_are_checked_before_building():
    with pytest.raises(ConfigError, match=r"no option 'scale'; valid: anchor_decoders, hr_size, num_anchors"):
        build_method("ufvnet", scale=4)
    with pytest.raises(ConfigError, match=r"residual must be bool, got 'maybe'"):
        build_method("ufvnet", residual="maybe")
    with pytest.raises(ConfigError, match=r"width must be float, got True"):
        build_method("ufvnet", width=True)
    assert build_method("srcnn", scale=3).scale == 3  # the method's own and its network's options both pass


def test_training_writes_the_recipe_into_every_weights_file(tmp_path):
    config = {"name": "tiny_recipe", "method": {"name": "ufvnet", "options": dict(TINY)},
              "data": {"train": {"preset": "blind_mix", "preset_options": {}}}}
    info = info_for_recipe(config, 128, None)
    path = save_weights_file(build_method("ufvnet", **TINY).state_dict(), tmp_path / "w.safetensors",
                             metadata=info.to_metadata())
    read = read_weights_info(path)
    assert read == info and read.recipe == "tiny_recipe" and len(read.recipe_sha256) == 64
    assert read.degradation == {"preset": "blind_mix", "options": {}} and read.version
    mixed = {**config, "data": {"train": {"source": "mix", "parts": [
        {"source": "synthetic", "preset": "blind_mix"}, {"source": "photos", "preset": "fish_x4"}]}}}
    assert info_for_recipe(mixed, 128, None).degradation == {"mix": [
        {"source": "synthetic", "preset": "blind_mix", "options": {}},
        {"source": "photos", "preset": "fish_x4", "options": {}}]}


WRONG = [
    (["--option", "scale=4"], "no option 'scale'"),
    (["--option", "residual=maybe"], "residual must be bool"),
    (["--option", "colour=1"], "no option 'colour'"),
    (["--option", "width"], "--option expects KEY=VALUE"),
    (["--weights", "{srcnn}", "--method", "ufvnet"], "holds weights of method srcnn, not ufvnet: drop --method NAME"),
    (["--weights", "{ufv}", "--option", "width=0.5"], "contradicts it"),
    (["--weights", "{wide_bare}", "--method", "ufvnet", "--option", "width=0.125", "--option", "residual=true",
      "--option", "space_to_depth=true", "--option", "anchor_decoders=false"], "has shape"),
    (["--weights", "{ufv_bare}"], "no facerestore metadata in this weights file; name its method (--method NAME)"),
    (["--weights", "{text}", "--method", "ufvnet"], "cannot be read as safetensors"),
    (["--weights", "{text_pt}", "--method", "ufvnet"], "cannot be read as a tensors-only PyTorch checkpoint"),
    (["--weights", "{state}", "--method", "ufvnet"], "no state dict found"),
    (["--weights", "{folder}", "--method", "ufvnet"], "is not a file"),
    (["--weights", "{missing}"], "no such weights file"),
]


@pytest.mark.parametrize("command", ["restore", "eval"])
@pytest.mark.parametrize("arguments, message", WRONG)
def test_cli_gives_one_line_for_every_wrong_option_or_file(command, arguments, message, files, tmp_path, capsys,
                                                           synthetic_photo):
    arguments = [a.format(**files) for a in arguments]
    if command == "restore":
        argv = ["restore", "-i", str(synthetic_photo), "-o", str(tmp_path / "out"), *arguments]
    else:
        argv = ["eval", "--data", "synthetic-fish-x4", "--count", "1", "--identity", "none",
                "--out", str(tmp_path / "eval"), *arguments]
    if "--method" not in arguments and "--weights" not in arguments:
        argv += ["--method", "ufvnet"]
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and message in err and "Traceback" not in err
