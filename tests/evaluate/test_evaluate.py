"""facerestore.evaluate and ``facerestore eval``: scores against direct skimage / formula references,
determinism, combined tables, trained weights, SPEC errors and output-folder protection."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from facerestore.cli import main
from facerestore.data import SyntheticFaces
from facerestore.degrade import imresize
from facerestore.errors import ConfigError
from facerestore.evaluate import combine, evaluate, parse_spec, read_scores
from facerestore.evaluate.benchmark import BENCHMARK_SEED, BENCHMARKS
from facerestore.io import write_image
from facerestore.methods import build_method
from facerestore.metrics import PCAIdentity
from facerestore.models.inference import prepare_for_inference
from facerestore.models.weights import save_weights_file


def _y(image: np.ndarray) -> np.ndarray:
    """MATLAB rgb2ycbcr luma of HxWx3 RGB in [0, 1], on the [0, 255] scale (written out, not imported)."""
    return 16.0 + 65.481 * image[..., 0] + 128.553 * image[..., 1] + 24.966 * image[..., 2]


def _reference(outputs: list[np.ndarray], truths: list[np.ndarray]) -> tuple[float, float]:
    """Mean PSNR / SSIM on Y by skimage."""
    psnr = [peak_signal_noise_ratio(_y(t.astype(np.float64)), _y(o.astype(np.float64)), data_range=255)
            for o, t in zip(outputs, truths)]
    ssim = [structural_similarity(_y(t.astype(np.float64)), _y(o.astype(np.float64)), data_range=255,
                                  gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
            for o, t in zip(outputs, truths)]
    return float(np.mean(psnr)), float(np.mean(ssim))


def _test_faces(preset: str, count: int, keys=("lr", "hr")) -> list[dict]:
    faces = SyntheticFaces(128, count, BENCHMARK_SEED, preset, keys, split="test")
    return [faces[i] for i in range(count)]


def _hwc(tensor: torch.Tensor) -> np.ndarray:
    return tensor.permute(1, 2, 0).numpy()


def _eval(tmp_path, name: str, *args: str) -> int:
    return main(["eval", *args, "--identity", "none", "--out", str(tmp_path / name)])


def test_bicubic_scores_equal_direct_skimage_computation():
    result = evaluate(build_method("bicubic"), parse_spec("synthetic-fish-x8").with_count(3), batch_size=2)
    samples = _test_faces("fish_x8", 3)
    outputs = [np.clip(imresize(_hwc(s["lr"]), size=(128, 128)), 0, 1) for s in samples]
    psnr, ssim = _reference(outputs, [_hwc(s["hr"]) for s in samples])
    (score,) = result.scores
    assert (score.method, score.data, score.condition, score.count) == ("bicubic", "synthetic-fish-x8", "x8", 3)
    assert score.psnr == pytest.approx(psnr, abs=1e-3)
    assert score.ssim == pytest.approx(ssim, abs=1e-5)
    assert score.identity is None


def test_benchmark_faces_are_held_out_from_training_faces():
    test = SyntheticFaces(128, 2, BENCHMARK_SEED, None, ("hr",), split="test")
    train = SyntheticFaces(128, 2, BENCHMARK_SEED, None, ("hr",), split="train")
    for i in range(2):
        assert not torch.equal(test[i]["hr"], train[i]["hr"])
    assert all(b.root is None for b in BENCHMARKS.values())


def test_multi_resolution_benchmark_has_a_row_per_rate_and_their_mean():
    result = evaluate(build_method("bicubic"), parse_spec("synthetic-mr8").with_count(1))
    labels = [s.condition for s in result.scores]
    assert labels == [f"{k}/16" for k in range(1, 9)] + ["all"]
    psnr = [s.psnr for s in result.scores]
    assert psnr[:8] == sorted(psnr[:8])  # bicubic gets better as the input resolution grows
    assert psnr[8] == pytest.approx(np.mean(psnr[:8]))
    assert result.grid.shape == (8 * 128, 4 * 128, 3)  # LR | bicubic | output | GT of the one face per rate


def test_eval_output_is_deterministic(tmp_path):
    for name in ("a", "b"):
        assert _eval(tmp_path, name, "--method", "bicubic", "--data", "synthetic-song-deblur", "--count", "2") == 0
    for file in ("scores.csv", "results.md", "results.csv", "run.json", "grid.png"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes(), file


def test_combining_two_runs_gives_one_table_with_two_rows(tmp_path):
    assert _eval(tmp_path, "bicubic", "--method", "bicubic", "--data", "synthetic-fish-x4", "--count", "2") == 0
    assert _eval(tmp_path, "vdsr", "--method", "vdsr", "--option", "depth=3", "--option", "channels=8",
                 "--data", "synthetic-fish-x4", "--count", "2", "--allow-untrained") == 0
    assert main(["eval", "--combine", str(tmp_path / "bicubic"), str(tmp_path / "vdsr"),
                 "--out", str(tmp_path / "both")]) == 0
    with open(tmp_path / "both" / "results.csv", newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["method", "x4 PSNR", "x4 SSIM"]
    assert [row[0] for row in rows[1:]] == ["bicubic", "vdsr"]
    bicubic = read_scores(tmp_path / "bicubic")[0]
    assert float(rows[1][1]) == bicubic.psnr
    markdown = (tmp_path / "both" / "results.md").read_text()
    assert markdown.count("| bicubic |") == 2 and markdown.count("| vdsr |") == 2  # PSNR and SSIM tables
    with pytest.raises(ConfigError, match="--label"):
        combine([tmp_path / "bicubic", tmp_path / "both"])


def test_saved_weights_load_and_an_identity_network_scores_as_its_input(tmp_path):
    method = build_method("vdsr", depth=3, channels=8)
    state = {k: v.clone() for k, v in method.state_dict().items()}
    last = max(k for k in state if k.endswith(".weight"))
    state[last].zero_()
    state[last.replace("weight", "bias")].zero_()  # VDSR is residual: output = lr_up exactly
    weights = save_weights_file(state, tmp_path / "identity_vdsr.safetensors")
    assert _eval(tmp_path, "run", "--method", "vdsr", "--weights", str(weights), "--option", "depth=3",
                 "--option", "channels=8", "--data", "synthetic-fish-x16", "--count", "2") == 0
    (score,) = read_scores(tmp_path / "run")
    samples = _test_faces("fish_x16", 2, ("lr_up", "hr"))
    psnr, ssim = _reference([_hwc(s["lr_up"]) for s in samples], [_hwc(s["hr"]) for s in samples])
    assert score.psnr == pytest.approx(psnr, abs=1e-4)
    assert score.ssim == pytest.approx(ssim, abs=1e-6)
    untrained = ("--method", "vdsr", "--option", "depth=3", "--option", "channels=8", "--data", "synthetic-fish-x16",
                 "--count", "2")
    assert _eval(tmp_path, "refused", *untrained) == 2  # random weights are never scored silently
    assert _eval(tmp_path, "random", *untrained, "--allow-untrained") == 0
    assert read_scores(tmp_path / "random")[0].psnr != pytest.approx(psnr, abs=1e-2)


def test_pca_identity_is_the_cosine_of_the_projections():
    faces = SyntheticFaces(128, 6, 0, None, ("hr",))
    pca = PCAIdentity.fit([_hwc(faces[i]["hr"]) for i in range(6)])
    result = evaluate(build_method("bicubic"), parse_spec("synthetic-fish-x8").with_count(2), identity=pca)
    cosines = []
    for s in _test_faces("fish_x8", 2):
        a = (_y(np.clip(imresize(_hwc(s["lr"]), size=(128, 128)), 0, 1)).ravel() - pca.mean) @ pca.components.T
        b = (_y(_hwc(s["hr"]).astype(np.float64)).ravel() - pca.mean) @ pca.components.T
        cosines.append(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
    (score,) = result.scores
    assert (score.identity_measure, score.identity) == ("pca", pytest.approx(np.mean(cosines), abs=1e-5))


def test_folder_spec_with_two_presets_scores_the_same_faces_as_the_benchmark(tmp_path):
    faces = SyntheticFaces(128, 2, BENCHMARK_SEED, None, ("hr",), split="test")
    for i in range(2):
        write_image(tmp_path / f"face{i}.png", _hwc(faces[i]["hr"]))
    data = parse_spec(f"folder:{tmp_path}:fish_x4,fish_x8")
    scores = evaluate(build_method("bicubic"), data).scores
    assert [(s.condition, s.count) for s in scores] == [("fish_x4", 2), ("fish_x8", 2), ("all", 4)]
    benchmark = evaluate(build_method("bicubic"), parse_spec("synthetic-fish-x8").with_count(2)).scores[0]
    assert scores[1].psnr == pytest.approx(benchmark.psnr, abs=1e-9)


def test_scales_option_gives_one_row_per_scale(tmp_path):
    data = parse_spec("synthetic-fish-x8").with_scales([2, 4]).with_count(1)
    scores = evaluate(build_method("bicubic"), data).scores
    assert [s.condition for s in scores] == ["x2", "x4", "all"]
    assert scores[0].psnr > scores[1].psnr


@pytest.mark.parametrize("spec, message", [
    ("synthetic-fish-x5", "benchmark name"),
    ("celeba", "synthetic-mr8"),
    ("folder:", "folder path is empty"),
    ("folder:/faces:not_a_preset", "unknown degradation preset"),
])
def test_bad_spec_is_a_config_error_naming_the_choices(spec, message):
    with pytest.raises(ConfigError, match=message):
        parse_spec(spec)


def test_bad_spec_on_the_command_line_exits_2_with_one_line(tmp_path, capsys):
    assert _eval(tmp_path, "x", "--method", "bicubic", "--data", "nowhere") == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("facerestore eval: error: --data 'nowhere'") and "\n" not in error


def test_method_for_another_scale_is_a_config_error():
    with pytest.raises(ConfigError, match="scale"):
        evaluate(build_method("srresnet", scale=4), parse_spec("synthetic-fish-x8").with_count(1))
    with pytest.raises(ConfigError, match="HR size 256"):
        evaluate(build_method("sparnet"), parse_spec("synthetic-yun-x8").with_count(1))


def test_output_folder_is_not_overwritten_without_overwrite(tmp_path, capsys):
    args = ["--method", "bicubic", "--data", "synthetic-fish-x16", "--count", "1"]
    assert _eval(tmp_path, "run", *args) == 0
    before = (tmp_path / "run" / "scores.csv").read_bytes()
    (tmp_path / "run" / "scores.csv").write_bytes(before + b"# marker\n")
    capsys.readouterr()
    assert _eval(tmp_path, "run", *args) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (tmp_path / "run" / "scores.csv").read_bytes() == before + b"# marker\n"
    assert _eval(tmp_path, "run", *args, "--overwrite") == 0
    assert (tmp_path / "run" / "scores.csv").read_bytes() == before


def test_bf16_evaluation_stores_the_weights_in_bf16_and_scores_close_to_fp32(tmp_path):
    torch.manual_seed(0)
    weights = save_weights_file(build_method("vdsr", depth=3, channels=8).state_dict(), tmp_path / "vdsr.safetensors")
    options = ("--method", "vdsr", "--weights", str(weights), "--option", "depth=3", "--option", "channels=8",
               "--data", "synthetic-fish-x4", "--count", "2")
    for precision in ("fp32", "bf16"):
        assert _eval(tmp_path, precision, *options, "--precision", precision) == 0
        assert json.loads((tmp_path / precision / "run.json").read_text())["precision"] == precision
    fp32, bf16 = read_scores(tmp_path / "fp32")[0], read_scores(tmp_path / "bf16")[0]
    assert fp32.psnr != bf16.psnr and abs(fp32.psnr - bf16.psnr) < 0.05


def test_prepare_for_inference_in_bf16_keeps_normalisation_in_fp32():
    method = prepare_for_inference(build_method("ufvnet", width=0.125), precision="bf16")
    dtypes = {type(m).__name__: p.dtype for m in method.modules() for p in m.parameters(recurse=False)}
    assert dtypes["PackedConv2d"] == dtypes["Linear"] == torch.bfloat16
    assert dtypes["BatchNorm2d"] == torch.float32  # pre-activation BatchNorms cannot be folded
    with pytest.raises(ConfigError, match="precision"):
        prepare_for_inference(build_method("bicubic"), precision="fp16")


def test_fid_column_from_local_inception_weights(tmp_path, capsys):
    from safetensors.torch import save_file

    from facerestore.models import build_model

    torch.manual_seed(0)
    weights = tmp_path / "inception.safetensors"
    save_file({k: v.contiguous() for k, v in build_model("fid_inception_v3").state_dict().items()}, str(weights))
    assert _eval(tmp_path, "fid", "--method", "bicubic", "--data", "synthetic-fish-x8", "--count", "3",
                 "--inception-weights", str(weights)) == 0
    (score,) = read_scores(tmp_path / "fid")
    assert score.fid is not None and score.fid > 0
    assert "FID" in (tmp_path / "fid" / "results.md").read_text()
    assert json.loads((tmp_path / "fid" / "run.json").read_text())["fid"] is True
    assert _eval(tmp_path, "nofile", "--method", "bicubic", "--data", "synthetic-fish-x8", "--count", "2",
                 "--inception-weights", str(tmp_path / "missing.pth")) != 0  # a clear error, before any work
    assert "missing.pth" in capsys.readouterr().err and not (tmp_path / "nofile").exists()


def test_the_ufvnet_test_sets_mr3_mr7_mr8_hold_their_rates():
    rates = {name: [c.options["scales"][0] for c in parse_spec(name).conditions]
             for name in ("synthetic-mr3", "synthetic-mr7", "synthetic-mr8")}
    assert rates["synthetic-mr3"] == [8.0, 4.0, 2.0]  # 1/8, 1/4, 1/2 of 128
    assert rates["synthetic-mr7"] == [16 / k for k in range(2, 9)]
    assert rates["synthetic-mr8"] == [16 / k for k in range(1, 9)]
