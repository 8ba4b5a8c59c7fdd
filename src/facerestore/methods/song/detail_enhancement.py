"""Song et al. (2019) §3.2, exemplar-based detail enhancement of the FSGN base image (Algorithm 1, lines 5–12).

1. K-NN patch search (Eq. 1) in HR exemplar faces of other people      → facerestore.methods.song.exemplar
2. Ridge regression (Eq. 4–5) and the regression image R (Eq. 6)       → facerestore.methods.song.exemplar
3. Detail transfer: Ī^R = GF(Ī guided by R), R^R = GF(R guided by R),
   output = Ī^R + (R − R^R)                                             → facerestore.methods.song.guided_filter

On the CPU in float32 the search and the regression's patch gather are numba kernels
(:mod:`facerestore.methods.song.exemplar_search`); on other devices and dtypes every step is torch tensor code without
loops over pixels, so it runs on the base image's device.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from facerestore.errors import ConfigError
from facerestore.methods.song.exemplar import luma, match_patches, regress
from facerestore.methods.song.guided_filter import guided_filter


@dataclass(frozen=True)
class DetailEnhancementConfig:
    """Options of the detail enhancement; defaults from the paper where it gives them.

    patch_size: P, the patch side (Table 2: 20). num_candidates: K (Table 3: 5). alpha: the NCC weight
    of Eq. 1 (0.5). ridge_lambda: λ of Eq. 4, ``None`` = P², the number of pixels in a patch (§3.2.1).
    Where the paper is silent or ambiguous (choices measured in docs/song_detail_enhancement.md):
    - ridge_lambda ``None``: λ = "the number of pixels in an input patch" (§3.2.1) counted on the 0–255
      pixel scale, i.e. P²/255² for our [0, 1] pixels. Taken literally on [0, 1] pixels (λ = P²) it
      shrinks F to about half and the enhancement gains ~0 dB on synthetic faces.
    - search_radius: r, offsets -r…r in each axis; 2 (a 5×5 search window).
    - guide_radius / guide_eps: the guided filter's window radius and ε (He et al.): 1 and 1e-3, the
      best of a small sweep on blurred synthetic faces.
    """

    patch_size: int = 20
    num_candidates: int = 5
    search_radius: int = 2
    alpha: float = 0.5
    ridge_lambda: float | None = None
    guide_radius: int = 1
    guide_eps: float = 1e-3

    def __post_init__(self) -> None:
        checks = {
            "patch_size": self.patch_size >= 1,
            "num_candidates": self.num_candidates >= 1,
            "search_radius": self.search_radius >= 0,
            "alpha": 0.0 <= self.alpha <= 1.0,
            "ridge_lambda": self.ridge_lambda is None or self.ridge_lambda >= 0,
            "guide_radius": self.guide_radius >= 0,
            "guide_eps": self.guide_eps > 0,
        }
        for name, ok in checks.items():
            if not ok:
                raise ConfigError(f"invalid value {getattr(self, name)!r}", f"detail_enhancement.{name}")

    @property
    def lam(self) -> float:
        """λ of Eq. 4 for [0, 1] pixels (P² pixels on the 0–255 scale unless set)."""
        return self.patch_size ** 2 / 255 ** 2 if self.ridge_lambda is None else float(self.ridge_lambda)


@dataclass(frozen=True)
class DetailEnhancementResult:
    """``output`` the enhanced image and ``regression`` the regression image R, both (3, H, W)."""

    output: torch.Tensor
    regression: torch.Tensor


def enhance_details(base: torch.Tensor, exemplars: torch.Tensor,
                    config: DetailEnhancementConfig = DetailEnhancementConfig()) -> DetailEnhancementResult:
    """Enhance the base image Ī (3, H, W) in [0, 1] with exemplar faces (N, H, W, 3), uint8 or [0, 1].

    The exemplars must be aligned HR faces of the same size as the base and must not show the input's
    person (ExemplarBank.exemplars(exclude_identity=...)). Computes in ``base.dtype`` (float32 or
    float64) on ``base.device``; the output is not clipped (Algorithm 1 line 12 adds a detail layer).
    """
    if base.ndim != 3 or base.shape[0] != 3 or not base.is_floating_point():
        raise ConfigError(f"base image must be a floating (3, H, W) tensor, got {tuple(base.shape)} "
                          f"{base.dtype}", "detail_enhancement.base")
    if exemplars.ndim != 4 or exemplars.shape[1:] != (base.shape[1], base.shape[2], 3):
        raise ConfigError(f"exemplars must be (N, {base.shape[1]}, {base.shape[2]}, 3) to match the base image, "
                          f"got {tuple(exemplars.shape)}", "detail_enhancement.exemplars")
    if exemplars.shape[0] < config.num_candidates:
        raise ConfigError(f"{exemplars.shape[0]} exemplar(s) for K = {config.num_candidates} candidates",
                          "detail_enhancement.num_candidates")
    exemplars = exemplars.to(base.device)
    base_y = luma(base.permute(1, 2, 0))
    matches = match_patches(base_y, exemplars, patch=config.patch_size, radius=config.search_radius,
                            k=config.num_candidates, alpha=config.alpha)
    regression = regress(base_y, exemplars, matches, patch=config.patch_size, radius=config.search_radius,
                         ridge_lambda=config.lam)
    base_filtered = guided_filter(base, regression, config.guide_radius, config.guide_eps)   # line 10
    regression_smooth = guided_filter(regression, regression, config.guide_radius, config.guide_eps)  # 11
    return DetailEnhancementResult(output=base_filtered + regression - regression_smooth,  # line 12
                                   regression=regression)
