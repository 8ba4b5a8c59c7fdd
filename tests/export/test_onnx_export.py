"""ONNX export (``facerestore export``, :mod:`facerestore.export.onnx`): every exportable registered network
matches PyTorch under onnxruntime (batch 1 and 3), the refusals name their reason, and the photo pipeline runs
the graph (``restore --onnx``) as it runs the PyTorch method."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from facerestore.cli import main
from facerestore.errors import ConfigError, WeightsError
from facerestore.methods import build_method, list_methods
from facerestore.methods.base import method_class
from facerestore.methods.options import option_parameters

pytest.importorskip("onnxruntime")
from facerestore.export.onnx import NOT_EXPORTABLE, OnnxMethod, compare_with_torch, export_onnx  # noqa: E402

TINY = {"width": 0.0625, "channels": 8}


def tiny(name: str):
    params = option_parameters(method_class(name))
    torch.manual_seed(0)
    method = build_method(name, **{k: v for k, v in TINY.items() if k in params}).eval()
    with torch.no_grad():  # trained-looking weights: zero-initialised tails would hide most of the graph
        for parameter in method.parameters():
            parameter.add_(0.01 * torch.randn_like(parameter))
    return method


@pytest.mark.parametrize("name", [n for n in list_methods() if n not in NOT_EXPORTABLE])
def test_every_exportable_network_matches_pytorch_in_onnxruntime(name, tmp_path):
    method = tiny(name)
    path = export_onnx(method, tmp_path / f"{name}.onnx", dynamic_batch=True)
    assert compare_with_torch(path, method, batches=(1, 3)) < 1e-4
    runtime = OnnxMethod(path)
    assert runtime.name == name and runtime.requires == method.requires
    assert runtime.hr_size == (method.hr_size or round(32 * (method.scale or 1)))


def test_refusals_name_the_reason(tmp_path):
    with pytest.raises(ConfigError, match="song cannot be exported to ONNX: its exemplar detail enhancement is numba"):
        export_onnx(build_method("song", detail_enhancement=False), tmp_path / "s.onnx")
    with pytest.raises(ConfigError, match=r"gfrnet needs opset >= 16 \(grid_sample\), got 15"):
        export_onnx(tiny("gfrnet"), tmp_path / "g.onnx", opset=15)
    with pytest.raises(ConfigError, match="fishfsrnet restores 16-px inputs only"):
        export_onnx(tiny("fishfsrnet"), tmp_path / "f.onnx", lr_size=32)
    (tmp_path / "bad.onnx").write_bytes(b"not a graph")
    with pytest.raises(WeightsError, match="bad.onnx: cannot be loaded by onnxruntime"):
        OnnxMethod(tmp_path / "bad.onnx")


def test_a_fixed_batch_graph_runs_a_batch_face_by_face(tmp_path):
    method = tiny("ufvnet")
    path = export_onnx(method, tmp_path / "u.onnx", lr_size=16)
    runtime = OnnxMethod(path)
    assert (runtime.lr_size, runtime.hr_size, runtime.dynamic_batch) == (16, 128, False)
    assert compare_with_torch(path, method, batches=(1, 2)) < 1e-4


def test_cli_export_then_restore_with_the_graph(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FACERESTORE_HOME", str(tmp_path / "home"))
    from facerestore.assets import astronaut_path
    from facerestore.restore import FaceRestorer
    from facerestore.restore.weights_cache import BUNDLED, BUNDLED_DIR

    weights = BUNDLED_DIR / BUNDLED["edsr"][4]  # the bundled EDSR x4: a free-size method, small and fast
    graph = tmp_path / "default.onnx"
    assert main(["export", "--weights", str(weights), "-o", str(graph), "--dynamic-batch"]) == 0
    assert "onnxruntime vs PyTorch max |diff|" in capsys.readouterr().out
    assert main(["export", "--weights", str(weights), "-o", str(graph)]) == 2  # exists
    assert "--overwrite" in capsys.readouterr().err

    photo = astronaut_path()
    # the graph takes 32-px faces: the PyTorch method at the same size (face_size 128 = 32 x 4)
    torch_result = FaceRestorer(weights=weights, face_size=128, max_squeeze=float("inf")).restore(photo)
    onnx_result = FaceRestorer(backend="onnx", onnx_path=graph, max_squeeze=float("inf")).restore(photo)
    assert len(onnx_result.faces) == len(torch_result.faces) == 1
    np.testing.assert_allclose(onnx_result.faces[0].restored, torch_result.faces[0].restored, atol=1e-4)
    assert np.abs(onnx_result.image - torch_result.image).max() < 1e-3

    out = tmp_path / "out"
    assert main(["restore", "-i", str(photo), "-o", str(out), "--onnx", str(graph)]) == 0
    assert (out / "restored_imgs" / "astronaut.png").is_file()
    assert main(["restore", "-i", str(photo), "-o", str(tmp_path / "o2"), "--onnx", str(graph),
                 "--weights", str(weights)]) == 2
    assert "--onnx: the graph holds the method, its weights and options; drop --weights" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="runs on the CPU in fp32"):
        FaceRestorer(backend="onnx", onnx_path=graph, precision="bf16")
