"""Baseline methods of the comparison tables: bicubic, SRCNN, VDSR (on ``lr_up``), SRResNet and EDSR (on ``lr``)."""
from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F

from facerestore.degrade import imresize_torch
from facerestore.errors import ConfigError
from facerestore.methods.base import Method, bicubic_residual, from_signed, register_method, to_signed, zero_conv_
from facerestore.models import build_model


@register_method
class BicubicMethod(Method):
    """Bicubic upsampling to the HR size (or by ``scale``). ``kernel="matlab"`` (default): MATLAB's ``imresize``
    (a = −0.5), the kernel every network here reads its input through, so no method gains from a kernel
    difference; ``kernel="pytorch"``: ``F.interpolate(mode="bicubic")`` (a = −0.75, sharper), the other kernel's
    row of a table (``eval --method bicubic --option kernel=pytorch``)."""

    name = "bicubic"
    requires = frozenset({"lr"})
    learned = False
    aligned_input = False
    KERNELS = ("matlab", "pytorch")

    def __init__(self, scale: float = 4, hr_size: int | None = None, kernel: str = "matlab"):
        super().__init__(hr_size=hr_size, scale=scale)
        if kernel not in self.KERNELS:
            raise ConfigError(f"bicubic kernel must be one of {', '.join(self.KERNELS)}, got {kernel!r}")
        self.kernel = kernel

    def restore(self, sample: Mapping[str, torch.Tensor]) -> torch.Tensor:
        lr = sample["lr"]
        size = tuple(sample["hr"].shape[-2:]) if "hr" in sample else None
        if self.kernel == "pytorch":
            target = size or tuple(max(1, round(n * self.scale)) for n in lr.shape[-2:])
            return F.interpolate(lr, size=target, mode="bicubic", align_corners=False)
        return imresize_torch(lr, size=size) if size else imresize_torch(lr, scale=self.scale)


class _OnUpsampled(Method):
    """A network that refines the bicubic-upsampled input ``lr_up`` (SRCNN, VDSR)."""

    requires = frozenset({"lr_up"})
    aligned_input = False

    def __init__(self, scale: float = 4, hr_size: int | None = None, **options):
        super().__init__(hr_size=hr_size, scale=scale)
        self.net = build_model(self.name, **options)

    def restore(self, sample: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.net(sample["lr_up"])


@register_method
class SRCNNMethod(_OnUpsampled):
    name = "srcnn"
    network = "srcnn"


@register_method
class VDSRMethod(_OnUpsampled):
    name = "vdsr"
    network = "vdsr"


@register_method
class SRResNetMethod(Method):
    """SRResNet on ``lr``; ``residual`` (not in Ledig et al.; CPU quick recipe) adds the bicubic upsampling."""

    name = "srresnet"
    requires = frozenset({"lr"})
    aligned_input = False
    network = "srresnet"

    def __init__(self, scale: int = 4, hr_size: int | None = None, residual: bool = False, **options):
        super().__init__(hr_size=hr_size, scale=scale)
        self.net = build_model("srresnet", scale=scale, **options)
        self.residual = residual
        if residual:
            zero_conv_(self.net.tail)

    def restore(self, sample: Mapping[str, torch.Tensor]) -> torch.Tensor:
        out = self.net(sample["lr"])
        return bicubic_residual(out, sample["lr"], self.scale) if self.residual else out


@register_method
class EDSRMethod(Method):
    """EDSR-baseline (Lim et al. 2017 §3) on ``lr``, ×``scale``; the network adds the bicubic upsampling itself
    (not in EDSR, see :mod:`facerestore.models.edsr`)."""

    name = "edsr"
    requires = frozenset({"lr"})
    aligned_input = False
    network = "edsr"

    def __init__(self, scale: int = 4, hr_size: int | None = None, **options):
        super().__init__(hr_size=hr_size, scale=scale)
        self.net = build_model("edsr", scale=scale, **options)

    def restore(self, sample: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.net(sample["lr"])


@register_method
class SPARNetMethod(Method):
    """SPARNet (Chen et al.), UFVNet's strongest one-resolution comparison: ``lr_up`` at 128×128 in [-1, 1]."""

    name = "sparnet"
    requires = frozenset({"lr_up"})
    native_lr_range = (8, 64)  # 1/16 … 8/16 of 128, UFVNet §IV-A's MR8 rates

    def __init__(self, variant: str = "sparnet", hr_size: int = 128, scale: float | None = None, width: float = 1.0,
                 residual: bool = False):
        super().__init__(hr_size=hr_size, scale=scale)
        self.net = build_model(variant, width=width, residual=residual)

    def restore(self, sample: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return from_signed(self.net(to_signed(sample["lr_up"])))
