"""Song et al. (IJCV 2019): FSGN on the bicubic-upsampled LR face and the four component masks (§3.1), and the
whole method ``song``: the FSGN base image enhanced with details of exemplar faces (§3.2, Algorithm 1).

Face sizes: the paper's faces are 320 × 240 (§4; height × width, see
:func:`facerestore.data.sample.frame_face`). Both methods take ``hr_size`` as one side (square faces) or as
``(height, width)``; ``face_size`` holds the (height, width) pair. ``Method.hr_size``, which the square-only
machinery reads (the photo pipeline's crops, ONNX export, the evaluation's size check), stays the side of a
square face and is None for a rectangular one (FSGN is fully convolutional: any size; ``song`` checks its base
image against the bank's faces itself).
"""
from __future__ import annotations

import os
from collections.abc import Mapping

import torch

from facerestore.errors import ConfigError
from facerestore.methods.base import Method, register_method
from facerestore.models import build_model
from facerestore.methods.song.detail_enhancement import DetailEnhancementConfig, enhance_details
from facerestore.methods.song.exemplar_bank import ExemplarBank


def face_size(hr_size: int | tuple[int, int] | list[int] | None) -> tuple[int, int] | None:
    """``hr_size`` (one side, or ``(height, width)``) as ``(height, width)``; None stays None."""
    if hr_size is None:
        return None
    pair = (hr_size, hr_size) if isinstance(hr_size, int) and not isinstance(hr_size, bool) else hr_size
    if (not isinstance(pair, (tuple, list)) or len(pair) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in pair)):
        raise ConfigError(f"hr_size must be a positive side or [height, width], got {hr_size!r}", "hr_size")
    return int(pair[0]), int(pair[1])


@register_method
class FSGNMethod(Method):
    """FSGN base image (Table 5 row ``BLD+M`` by default; ``variant`` selects B, BL, BL+M)."""

    name = "fsgn"
    requires = frozenset({"lr_up", "masks"})

    def __init__(self, variant: str = "BLD+M", scale: float = 4, hr_size: int | tuple[int, int] | None = None,
                 channels: int = 64):
        self.face_size = face_size(hr_size)
        square = self.face_size is not None and self.face_size[0] == self.face_size[1]
        super().__init__(hr_size=self.face_size[0] if square else None, scale=scale)
        self.net = build_model("fsgn", variant=variant, channels=channels)

    def restore(self, sample: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.net(sample["lr_up"], sample["masks"] if self.net.use_masks else None)


@register_method
class SongMethod(FSGNMethod):
    """Song et al.'s method: FSGN base image Ī (§3.1) → exemplar-based detail enhancement (§3.2).

    Its weights are FSGN's (the same ``net.*`` state dict: a ``fsgn`` training run's file loads as is); the
    detail enhancement has no learned parameters. ``bank``: an :class:`ExemplarBank` or its ``.npz`` file of
    aligned HR faces of *other* people than the inputs (§3.2.1), whose face size (height, width; square or
    not, e.g. the paper's 320 × 240) is the method's output size (``face_size``; ``hr_size``, when given, must
    equal it). ``patch``, ``k``, ``radius``, ``alpha``, ``ridge_lambda``, ``guide_radius``, ``guide_eps``:
    :class:`DetailEnhancementConfig` (P, K, search radius, Eq. 1 α, Eq. 4 λ, guided filter). Ablation
    (Table 5, BLD+M vs BLD+M+DE): ``detail_enhancement=False`` returns the base image alone (no bank needed).

    Choices (the paper does not say): the base image is clipped to [0, 1], the range of an image, before its
    details are enhanced; the enhanced output is clipped to [0, 1] (``Method.forward``), since Algorithm 1
    line 12 adds a detail layer that can leave the range. Faces of a batch are enhanced one by one.
    """

    name = "song"
    weights_of = "fsgn"
    runtime_options = frozenset({"bank"})

    def __init__(self, bank: str | os.PathLike | ExemplarBank | None = None, patch: int = 20, k: int = 5,
                 radius: int = 2, alpha: float = 0.5, ridge_lambda: float | None = None, guide_radius: int = 1,
                 guide_eps: float = 1e-3, detail_enhancement: bool = True, variant: str = "BLD+M",
                 scale: float = 4, hr_size: int | tuple[int, int] | None = None, channels: int = 64):
        self.detail_enhancement = bool(detail_enhancement)
        if self.detail_enhancement and bank is None:
            raise ConfigError("method song needs an exemplar bank (bank=FILE.npz, `facerestore exemplars build`) "
                              "or detail_enhancement=False", "song.bank")
        self.bank = bank if isinstance(bank, ExemplarBank) or bank is None else ExemplarBank.load(bank)
        if self.bank is not None:
            asked = face_size(hr_size)
            if asked not in (None, self.bank.size):
                raise ConfigError(f"the bank holds {self.bank.size[0]}x{self.bank.size[1]} (height x width) faces; "
                                  f"method song restores faces of the bank's size (hr_size {hr_size})", "song.bank")
            hr_size = self.bank.size
        super().__init__(variant=variant, scale=scale, hr_size=hr_size, channels=channels)
        self.config = DetailEnhancementConfig(patch_size=patch, num_candidates=k, search_radius=radius, alpha=alpha,
                                              ridge_lambda=ridge_lambda, guide_radius=guide_radius,
                                              guide_eps=guide_eps)
        # Not a buffer: the bank is data, not part of the weights file.
        self._exemplars = None if self.bank is None else torch.from_numpy(self.bank.images)

    def restore(self, sample: Mapping[str, torch.Tensor]) -> torch.Tensor:
        base = super().restore(sample)
        if not self.detail_enhancement:
            return base
        if tuple(base.shape[-2:]) != self.bank.size:
            raise ConfigError(f"base image {tuple(base.shape[-2:])} and exemplar faces {self.bank.size} (height, "
                              "width) differ in size", "song.bank")
        exemplars = self._exemplars.to(base.device)
        return torch.stack([enhance_details(face, exemplars, self.config).output for face in base.clamp(0, 1)])
