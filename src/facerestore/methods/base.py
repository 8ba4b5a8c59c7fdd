"""A *method* binds a paper's networks to the sample keys they read (see ``facerestore.data`` for the
vocabulary) and to the value range they work in, so that one evaluator and one restorer serve every paper.

``restore(sample)`` takes a batched sample (dict of tensors in [0, 1]) holding at least ``requires`` and returns
the restored faces N×3×H×W in [0, 1]. ``hr_size`` is the output size the method is trained for (``None``: any)
and ``scale`` the LR → HR factor it expects (``None``: any input resolution).
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import ClassVar

import torch
from torch import nn

from facerestore.degrade import imresize_torch
from facerestore.errors import ConfigError, WeightsError
from facerestore.methods.metadata import WeightsInfo, read_weights_info
from facerestore.methods.options import check_options
from facerestore.models.weights import check_shapes, load_weights_file
from facerestore.registry import Registry


def to_signed(x: torch.Tensor) -> torch.Tensor:
    """[0, 1] → [-1, 1], the range of the SPARNet/UFVNet/GFRNet/Yun & Park networks."""
    return x * 2 - 1


def from_signed(y: torch.Tensor) -> torch.Tensor:
    return (y + 1) / 2


def bicubic_residual(net_output: torch.Tensor, lr: torch.Tensor, scale: float) -> torch.Tensor:
    """``net_output`` + the MATLAB-bicubic ×``scale`` upsampling of ``lr``: the ``residual`` option of methods
    whose paper has no global skip (CPU quick recipes only; the last conv starts at zero, :func:`zero_conv_`)."""
    return net_output + imresize_torch(lr, scale=scale)


def zero_conv_(conv: nn.Conv2d) -> None:
    """Zero a convolution's weights and bias, so that a residual method starts as its bicubic input."""
    nn.init.zeros_(conv.weight)
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)


class Method(nn.Module):
    """Base class: subclasses set ``name`` and ``requires`` and implement :meth:`restore`.

    ``network``: the registered model whose builder receives the constructor's ``**options`` (checked by
    :func:`facerestore.methods.options.check_options`). ``weights_of``: the method whose weights files this one
    loads (Song et al.'s method runs the weights FSGN training writes). ``runtime_options``: options that are
    not part of the weights (data such as an exemplar bank), never stored in a file's metadata.
    ``options``: the build options, set by :func:`build_method`. Facts the photo pipeline reads:
    ``learned`` (False: no weights file to look for), ``native_lr_range`` (the LR sides a method with a fixed
    output and no fixed scale restores; None: 8 … ``hr_size``), ``returns_warped_guide`` (it has
    ``warped_guide(sample)``, GFRNet), ``aligned_input`` (False: a generic SR network without a face prior,
    which the photo pipeline runs on an axis-aligned crop of the photo's own pixel grid).
    """

    name: ClassVar[str]
    requires: ClassVar[frozenset[str]]
    network: ClassVar[str | None] = None
    weights_of: ClassVar[str | None] = None
    runtime_options: ClassVar[frozenset[str]] = frozenset()
    learned: ClassVar[bool] = True
    native_lr_range: ClassVar[tuple[int, int] | None] = None
    returns_warped_guide: ClassVar[bool] = False
    aligned_input: ClassVar[bool] = True
    options: dict

    def __init__(self, hr_size: int | None = None, scale: float | None = None):
        super().__init__()
        self.hr_size = hr_size
        self.scale = scale
        self.options = {}

    def restore(self, sample: Mapping[str, torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError

    @classmethod
    def inference_options(cls, options: Mapping) -> dict:
        """Build options of the test-time method for weights trained with ``options`` (the same, unless the
        method has parts that only training uses)."""
        return dict(options)

    def forward(self, sample: Mapping[str, torch.Tensor]) -> torch.Tensor:
        missing = self.requires - set(sample)
        if missing:
            raise ConfigError(f"method {self.name} needs sample keys {sorted(missing)} (has {sorted(sample)})")
        return self.restore(sample).clamp(0, 1)

    def load_weights(self, path: str | os.PathLike, strict: bool = True) -> "Method":
        """Load a state dict of this method (as written by training) from ``path``; a tensor of another shape
        is a :class:`WeightsError` naming it and both shapes."""
        tensors = load_weights_file(path)
        check_shapes(self.state_dict(), tensors, path, f"method {self.name} {describe_options(self.options)}")
        result = self.load_state_dict(tensors, strict=False)
        if strict and (result.missing_keys or result.unexpected_keys):
            raise WeightsError(
                f"does not match method {self.name}: missing {result.missing_keys[:5]}, "
                f"unexpected {result.unexpected_keys[:5]}", path)
        return self


METHODS: Registry[type[Method]] = Registry("method")


def register_method(cls: type[Method]) -> type[Method]:
    """Class decorator: register a method under its ``name``."""
    METHODS.add(cls.name, cls)
    return cls


def describe_options(options: Mapping) -> str:
    return "(" + ", ".join(f"{k}={v!r}" for k, v in sorted(options.items())) + ")" if options else "(defaults)"


def method_class(name: str) -> type[Method]:
    return METHODS.get(name)


def check_method_options(name: str, options: Mapping) -> None:
    """:class:`ConfigError` when method ``name`` does not take ``options`` (names and types), before building."""
    check_options(name, method_class(name), options)


def options_from_weights(info: WeightsInfo, path: str | os.PathLike, name: str | None,
                         options: Mapping) -> tuple[str, dict]:
    """Method name and options for a file's :class:`WeightsInfo`: the file's, with the explicit ``options``
    added; an explicit ``name`` or option that contradicts the file is a :class:`ConfigError` saying which
    value the file holds."""
    if name is None:
        name = info.method
    elif (method_class(name).weights_of or name) != info.method:
        raise ConfigError(f"{path} holds weights of method {info.method}, not {name}: drop method=NAME (the "
                          "file names its method) or pass weights of that method")
    for key, value in options.items():
        if key in info.options and info.options[key] != value:
            raise ConfigError(f"{path} holds {info.method} weights with {key}={info.options[key]!r}; the "
                              f"option {key}={value!r} contradicts it (drop it: the file sets the options)")
    return name, {**info.options, **options}


def build_method(name: str | None = None, weights: str | os.PathLike | None = None, **options) -> Method:
    """Method ``name`` built with ``options``, its weights loaded from ``weights`` when given.

    A weights file with facerestore metadata sets the method and its options (``name`` may then be None;
    explicit values must agree with the file's); a file without it (an official checkpoint, an older run)
    needs ``name`` and the options it was made with. Options are checked against the method's signature
    before anything is built."""
    info = read_weights_info(weights) if weights is not None else None
    if info is not None:
        name, options = options_from_weights(info, weights, name, options)
    if name is None:
        raise ConfigError(f"{weights}: no facerestore metadata in this weights file; name its method (method=NAME)"
                          if weights is not None else "no method given")
    check_method_options(name, options)
    cls = method_class(name)
    method = cls(**options)
    method.options = {k: v for k, v in options.items() if k not in cls.runtime_options}
    return method.load_weights(weights) if weights is not None else method


def list_methods() -> list[str]:
    return METHODS.names()
