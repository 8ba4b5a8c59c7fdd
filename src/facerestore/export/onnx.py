"""ONNX export of a method's network (``facerestore export``) and the onnxruntime method that runs it
(``FaceRestorer(backend="onnx")``, ``restore --onnx``).

The graph takes the method's sample keys as named inputs (``lr`` N×3×h×w, ``lr_up`` / ``guide`` N×3×H×W,
``masks`` N×4×H×W) and returns the restored face N×3×H×W in [0, 1]. Shapes are fixed at one LR size (the
MATLAB-bicubic weight matrices of that size become constants; UFVNet's any-size input is exported per size,
default 32 px); ``dynamic_batch`` frees the batch axis. The TorchScript exporter (``dynamo=False``) is used: it
needs no ``onnxscript`` and writes opsets 11-20. Metadata (``facerestore.*`` as in the weights files, plus the LR
and HR sizes) travels in the model's ``metadata_props``.

Not exportable: Song et al.'s method (its exemplar detail enhancement is numba code over a bank, not a network:
export ``fsgn``, its FSGN, and run the detail enhancement in Python); GFRNet needs opset >= 16 (``grid_sample``).
"""
from __future__ import annotations

import io
import json
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from facerestore.errors import ConfigError, WeightsError
from facerestore.io.atomic import write_bytes_atomic
from facerestore.methods.base import Method
from facerestore.methods.metadata import WeightsInfo

DEFAULT_OPSET = 17
MIN_OPSET = {"gfrnet": 16}  # grid_sample
NOT_EXPORTABLE = {"song": "its exemplar detail enhancement is numba code over an exemplar bank, not a network: "
                          "export fsgn (the same weights) and run the detail enhancement in Python"}
DEFAULT_LR_SIZE = 32  # for methods without a fixed one (UFVNet, SRCNN ...): a x4 face of 128
OUTPUT = "restored"
_META = "facerestore."


class MethodGraph(nn.Module):
    """``method`` as a module of positional tensors (``keys`` order), the form the exporter traces."""

    def __init__(self, method: Method, keys: Sequence[str]):
        super().__init__()
        self.method, self.keys = method, tuple(keys)

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        return self.method(dict(zip(self.keys, tensors)))


def graph_sizes(method: Method, lr_size: int | None = None) -> tuple[int, int]:
    """(LR side, HR side) of the exported graph: the method's own, else ``lr_size`` (default 32) × its scale."""
    if method.hr_size is not None and method.scale is not None:
        own = max(1, round(method.hr_size / method.scale))
        if lr_size not in (None, own):
            raise ConfigError(f"--lr-size {lr_size}: method {method.name} restores {own}-px inputs only")
        return own, method.hr_size
    lr = DEFAULT_LR_SIZE if lr_size is None else int(lr_size)
    if lr < 1:
        raise ConfigError(f"--lr-size must be positive, got {lr}")
    return lr, method.hr_size or round(lr * (method.scale or 1))


def example_inputs(method: Method, lr_size: int, hr_size: int, batch: int = 1, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random inputs of the graph's shapes (values in [0, 1]; masks in {0, 1})."""
    generator = torch.Generator().manual_seed(seed)
    shapes = {"lr": (3, lr_size, lr_size), "lr_up": (3, hr_size, hr_size), "guide": (3, hr_size, hr_size),
              "masks": (4, hr_size, hr_size)}
    unknown = sorted(set(method.requires) - set(shapes))
    if unknown:
        raise ConfigError(f"method {method.name} reads {unknown}, which the ONNX export cannot build")
    inputs = {key: torch.rand((batch, *shapes[key]), generator=generator) for key in sorted(method.requires)}
    if "masks" in inputs:
        inputs["masks"] = (inputs["masks"] > 0.5).float()
    return inputs


def export_onnx(method: Method, path: str | os.PathLike, info: WeightsInfo | None = None, *,
                opset: int = DEFAULT_OPSET, dynamic_batch: bool = False, lr_size: int | None = None,
                overwrite: bool = False) -> Path:
    """Write ``method`` (eval mode, fp32) as an ONNX graph to ``path`` atomically; see the module docstring."""
    import onnx

    if method.name in NOT_EXPORTABLE:
        raise ConfigError(f"method {method.name} cannot be exported to ONNX: {NOT_EXPORTABLE[method.name]}")
    if opset < MIN_OPSET.get(method.name, 11):
        raise ConfigError(f"method {method.name} needs opset >= {MIN_OPSET[method.name]} (grid_sample), got {opset}")
    path = Path(path)
    if path.exists() and not overwrite:
        raise WeightsError("exists; pass overwrite=True to replace it", path)
    lr, hr = graph_sizes(method, lr_size)
    inputs = example_inputs(method, lr, hr)
    keys = list(inputs)
    axes = {name: {0: "batch"} for name in [*keys, OUTPUT]} if dynamic_batch else None
    buffer = io.BytesIO()
    method = method.eval().float()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about Python ints taken from shapes (fixed sizes)
        torch.onnx.export(MethodGraph(method, keys), tuple(inputs.values()), buffer, dynamo=False,
                          opset_version=opset, input_names=keys, output_names=[OUTPUT], dynamic_axes=axes)
    model = onnx.load_from_string(buffer.getvalue())
    info = info or WeightsInfo(method.name, dict(method.options), hr_size=method.hr_size, scale=method.scale)
    values = {**info.to_metadata(), _META + "lr_size": str(lr), _META + "onnx_hr_size": str(hr),
              _META + "dynamic_batch": json.dumps(dynamic_batch)}
    for key, value in values.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    return write_bytes_atomic(path, model.SerializeToString(), overwrite=overwrite, error=WeightsError)


def compare_with_torch(path: str | os.PathLike, method: Method, batches: Sequence[int] = (1,)) -> float:
    """Largest |onnxruntime − PyTorch| over random inputs of each batch size."""
    runtime = OnnxMethod(path)
    worst = 0.0
    for batch in batches:
        inputs = example_inputs(method, runtime.lr_size, runtime.hr_size, batch=batch, seed=batch)
        with torch.no_grad():
            expected = method.eval()(inputs)
        worst = max(worst, float((runtime(inputs) - expected).abs().max()))
    return worst


class OnnxMethod(Method):
    """A method run by onnxruntime (CPU) from an exported graph: ``name``, ``options`` and sizes from its metadata;
    ``requires`` its input names. A graph without a dynamic batch runs one face per call."""

    name = "onnx"
    requires = frozenset()

    def __init__(self, path: str | os.PathLike, threads: int | None = None):
        try:
            import onnxruntime
        except ImportError:
            raise ConfigError("the ONNX backend needs onnxruntime: pip install -e '.[onnx]'") from None
        path = Path(path)
        if not path.is_file():
            raise WeightsError("no such ONNX file", path)
        options = onnxruntime.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
        try:
            self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own untyped errors for bad files
            raise WeightsError(f"cannot be loaded by onnxruntime ({str(error).splitlines()[0][:200]})", path) from None
        meta = self.session.get_modelmeta().custom_metadata_map
        if _META + "method" not in meta:
            raise WeightsError("not a facerestore ONNX export (no facerestore metadata)", path)
        self.lr_size, hr_size = int(meta[_META + "lr_size"]), int(meta[_META + "onnx_hr_size"])
        super().__init__(hr_size=hr_size, scale=hr_size / self.lr_size)
        self.name = meta[_META + "method"]
        self.options = json.loads(meta[_META + "options"])
        self.requires = frozenset(i.name for i in self.session.get_inputs())
        self.dynamic_batch = json.loads(meta.get(_META + "dynamic_batch", "false"))
        self.path = path

    def restore(self, sample: Mapping[str, torch.Tensor]) -> torch.Tensor:
        feeds = {key: sample[key].detach().float().cpu().numpy() for key in self.requires}
        batch = next(iter(feeds.values())).shape[0]
        if self.dynamic_batch or batch == 1:
            outputs = self.session.run([OUTPUT], feeds)[0]
        else:
            outputs = np.concatenate([self.session.run([OUTPUT], {k: v[i:i + 1] for k, v in feeds.items()})[0]
                                      for i in range(batch)])
        return torch.from_numpy(outputs)
