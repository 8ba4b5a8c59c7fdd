"""Named degradation presets, one per paper protocol.

Every preset takes an HR image (``HxWxC`` float32 in [0, 1]) and a ``numpy.random.Generator`` and
returns ``(outputs, params)``: ``outputs["lr"]`` is the network input (plus ``"lr_up"``, the bicubic
upsampling back to HR size, for ``gfrnet_general`` / ``ufv_multires``, and ``"hr_blur"`` for
``yun_x8``), all float32 clipped to [0, 1]; ``params`` holds the sampled values as JSON-ready numbers.
Every preset accepts ``scales``: the downscale factors (HR / LR) to draw from, overriding the paper's.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from facerestore.degrade.kernels import (
    as_generator,
    convolve,
    gaussian_blur,
    motion_kernel_bank,
    random_motion_kernel,
)
from facerestore.degrade.motion_flow import DEFAULT_MAX_LENGTH, blur_foreground, default_face_mask
from facerestore.degrade.noise import add_gaussian_noise, jpeg_compress
from facerestore.degrade.resize import imresize
from facerestore.errors import ConfigError
from facerestore.registry import Registry

Outputs = dict[str, np.ndarray]

# GFRNet §3.2 parameter sets: rho in {0, 1:0.1:3}, s in {1:0.1:8}, sigma in {0:1:7}, q in {0, 10:1:40}.
GFRNET_BLUR_SIGMAS = (0.0,) + tuple(round(1.0 + 0.1 * i, 1) for i in range(21))
GFRNET_SCALES = tuple(round(1.0 + 0.1 * i, 1) for i in range(71))
GFRNET_NOISE_SIGMAS = tuple(float(s) for s in range(8))
GFRNET_JPEG_QUALITIES = (0,) + tuple(range(10, 41))

# UFVNet §IV-A resolution sets, as rates r = LR size / HR size.
UFV_RATE_SETS = {
    "MR3": (1 / 8, 1 / 4, 1 / 2),
    "MR7": tuple(k / 16 for k in range(2, 9)),
    "MR8": tuple(k / 16 for k in range(1, 9)),
}


@dataclass(frozen=True)
class Preset:
    """A paper's degradation protocol: ``fn(hr, rng, **options) -> (outputs, params)``."""

    name: str
    section: str
    description: str
    outputs: tuple[str, ...]
    fn: Callable[..., tuple[Outputs, dict]]


def _pick(rng: np.random.Generator, values: Sequence, what: str):
    """One value drawn uniformly from a non-empty parameter set."""
    if len(values) == 0:
        raise ConfigError(f"the set of {what} values is empty")
    return values[int(rng.integers(len(values)))]


def _check_scales(scales: Sequence[float]) -> Sequence[float]:
    if any(not np.isfinite(s) or s <= 0 for s in scales):
        raise ConfigError(f"scales must be positive downscale factors, got {list(scales)}")
    return scales


def _down(img: np.ndarray, scale: float) -> np.ndarray:
    """MATLAB bicubic downscale by ``scale`` (no-op for 1)."""
    return img if scale == 1 else imresize(img, scale=1.0 / scale)


def _clip(img: np.ndarray) -> np.ndarray:
    """A new array clipped to [0, 1] (never aliases the caller's HR image)."""
    return np.clip(img, 0.0, 1.0)


def song_sr(hr: np.ndarray, rng: np.random.Generator, scales: Sequence[float] = (4,),
            sigma_range: tuple[float, float] = (1.4, 1.7)) -> tuple[Outputs, dict]:
    """Song et al. §4, SR task: Gaussian blur, then bicubic x4 downscaling.

    The paper gives the Gaussian's "variance" range as 1.4-1.7; we read it as the standard deviation
    sigma (the usual convention in face-hallucination data scripts), drawn uniformly.
    """
    scale = float(_pick(rng, _check_scales(scales), "scale"))
    sigma = float(rng.uniform(*sigma_range))
    lr = _down(gaussian_blur(hr, sigma), scale)
    return {"lr": _clip(lr)}, {"scale": scale, "blur_sigma": round(sigma, 6)}


def song_deblur(hr: np.ndarray, rng: np.random.Generator, scales: Sequence[float] = (4,),
                bank_seed: int | None = 0) -> tuple[Outputs, dict]:
    """Song et al. §4, deblurring task: one of the 200 bank motion kernels, then bicubic x4 downscaling.

    ``bank_seed=None`` samples a fresh kernel instead of using the fixed bank.
    """
    scale = float(_pick(rng, _check_scales(scales), "scale"))
    if bank_seed is None:
        kernel, params = random_motion_kernel(rng)
    else:
        bank = motion_kernel_bank(bank_seed)
        index = int(rng.integers(len(bank)))
        kernel = bank[index]
        params = {"bank_seed": int(bank_seed), "kernel_index": index, "kernel_size": int(kernel.shape[0])}
    lr = _down(convolve(hr, kernel), scale)
    return {"lr": _clip(lr)}, {"scale": scale, **params}


def yun_x8(hr: np.ndarray, rng: np.random.Generator, scales: Sequence[float] = (8,),
           face_mask: np.ndarray | None = None,
           max_length: tuple[float, float] = DEFAULT_MAX_LENGTH) -> tuple[Outputs, dict]:
    """Yun & Park §4.1: motion-flow blur of the face foreground, then bicubic x8 (256 -> 32).

    ``face_mask`` is HxW (or 1xHxW, HxWx1) in [0, 1]; without one, :func:`default_face_mask` (a soft
    ellipse for aligned crops) is used. Also returns ``hr_blur``, the blurred HR image (the generator's
    second target).
    """
    scale = float(_pick(rng, _check_scales(scales), "scale"))
    if face_mask is None:
        mask, mask_source = default_face_mask(hr.shape[:2]), "default_ellipse"
    else:
        mask, mask_source = np.asarray(face_mask, dtype=np.float32).squeeze(), "given"
        if mask.shape != hr.shape[:2]:
            raise ConfigError(f"face_mask must be HxW (or 1xHxW / HxWx1) with HxW = {hr.shape[:2]}, "
                              f"got {np.shape(face_mask)}")
    hr_blur, params = blur_foreground(hr, mask, rng, max_length)
    hr_blur = _clip(hr_blur)
    return {"lr": _clip(_down(hr_blur, scale)), "hr_blur": hr_blur}, {
        "scale": scale, "face_mask": mask_source, **params}


def gfrnet_general(hr: np.ndarray, rng: np.random.Generator, scales: Sequence[float] = GFRNET_SCALES,
                   blur_sigmas: Sequence[float] = GFRNET_BLUR_SIGMAS,
                   noise_sigmas: Sequence[float] = GFRNET_NOISE_SIGMAS,
                   jpeg_qualities: Sequence[int] = GFRNET_JPEG_QUALITIES) -> tuple[Outputs, dict]:
    """GFRNet §3.2, Eq. 4: ``((I * k_rho) down_s + n_sigma)_JPEG_q``, then bicubic up to the HR size.

    Each parameter is drawn uniformly from its set. The noisy image is clipped to [0, 1] before JPEG
    (an 8-bit image), also when ``q = 0`` (no JPEG, no quantisation).
    """
    rho = float(_pick(rng, blur_sigmas, "blur sigma"))
    scale = float(_pick(rng, _check_scales(scales), "scale"))
    sigma = float(_pick(rng, noise_sigmas, "noise sigma"))
    quality = int(_pick(rng, jpeg_qualities, "JPEG quality"))
    lr = _down(gaussian_blur(hr, rho), scale)
    lr = jpeg_compress(_clip(add_gaussian_noise(lr, sigma, rng)), quality)
    lr_up = imresize(lr, size=hr.shape[:2])
    return {"lr": lr, "lr_up": _clip(lr_up)}, {
        "blur_sigma": rho, "scale": scale, "noise_sigma": sigma, "jpeg_quality": quality}


def ufv_multires(hr: np.ndarray, rng: np.random.Generator, rate_set: str = "MR8",
                 scales: Sequence[float] | None = None) -> tuple[Outputs, dict]:
    """UFVNet §IV-A: bicubic downscaling to ``r x`` the HR size, then bicubic back up to the HR size.

    ``rate_set`` names the paper's sets (MR3 = {1/8, 1/4, 1/2}, MR7 = {2..8}/16, MR8 = {1..8}/16);
    ``scales`` (downscale factors 1/r) replaces it when given.
    """
    if scales is None:
        if rate_set not in UFV_RATE_SETS:
            raise ConfigError(f"unknown UFVNet rate set {rate_set!r}; choose one of {sorted(UFV_RATE_SETS)}")
        rate = float(_pick(rng, UFV_RATE_SETS[rate_set], "rate"))
        source = rate_set
    else:
        rate = 1.0 / float(_pick(rng, _check_scales(scales), "scale"))
        source = "scales"
    lr = _clip(imresize(hr, scale=rate))
    lr_up = _clip(imresize(lr, size=hr.shape[:2]))
    return {"lr": lr, "lr_up": lr_up}, {"rate_set": source, "rate": round(rate, 6), "scale": round(1 / rate, 6)}


BLIND_MIX = (("ufv_multires", 0.5), ("gfrnet_general", 0.3), ("bicubic", 0.2))


def blind_mix(hr: np.ndarray, rng: np.random.Generator, mix: Sequence[Sequence] = BLIND_MIX,
              rate_set: str = "MR8", scales: Sequence[float] = GFRNET_SCALES) -> tuple[Outputs, dict]:
    """The bundled default's blind training mix (not one paper's protocol): each face draws one component
    with the given probabilities, ``ufv_multires`` (UFVNet §IV-A, the ``rate_set`` rates), ``gfrnet_general``
    (GFRNet Eq. 4 with ``scales``) or ``bicubic`` (clean MATLAB bicubic down by a factor of ``scales``, then
    up). Outputs ``lr`` and ``lr_up``; ``params["component"]`` names the component drawn."""
    names = [str(name) for name, _ in mix]
    weights = np.array([float(weight) for _, weight in mix])
    unknown = set(names) - {"ufv_multires", "gfrnet_general", "bicubic"}
    if unknown or not len(names) or (weights < 0).any() or weights.sum() <= 0:
        raise ConfigError(f"blind_mix needs components among ufv_multires, gfrnet_general, bicubic with "
                          f"non-negative weights, got {list(mix)}")
    component = names[int(rng.choice(len(names), p=weights / weights.sum()))]
    if component == "gfrnet_general":
        outputs, params = gfrnet_general(hr, rng, scales=scales)
    else:
        options = {"rate_set": rate_set} if component == "ufv_multires" else {"scales": scales}
        outputs, params = ufv_multires(hr, rng, **options)
    return outputs, {"component": component, **params}


def _fish(factor: int) -> Callable[..., tuple[Outputs, dict]]:
    def fish(hr: np.ndarray, rng: np.random.Generator, scales: Sequence[float] = (factor,)) -> tuple[Outputs, dict]:
        scale = float(_pick(rng, _check_scales(scales), "scale"))
        return {"lr": _clip(_down(hr, scale))}, {"scale": scale}

    fish.__doc__ = f"FishFSRNet §IV-B: bicubic x{factor} downscaling (128 -> {128 // factor})."
    return fish


PRESETS: Registry[Preset] = Registry("degradation preset")
for _preset in (
    Preset("song_sr", "Song et al. 2019 §4", "Gaussian blur sigma in [1.4, 1.7], bicubic x4", ("lr",), song_sr),
    Preset("song_deblur", "Song et al. 2019 §4", "motion kernel from a bank of 200, bicubic x4", ("lr",),
           song_deblur),
    Preset("yun_x8", "Yun & Park §4.1", "motion-flow blur of the face foreground, bicubic x8",
           ("lr", "hr_blur"), yun_x8),
    Preset("gfrnet_general", "Li et al. 2018 (GFRNet) §3.2, Eq. 4",
           "Gaussian blur, bicubic down 1-8, AWGN 0-7, JPEG 10-40 or none, bicubic up", ("lr", "lr_up"),
           gfrnet_general),
    Preset("ufv_multires", "Peng et al. (UFVNet) §IV-A", "bicubic down to r x HR (MR3/MR7/MR8), bicubic up",
           ("lr", "lr_up"), ufv_multires),
    Preset("blind_mix", "the bundled default (docs/training.md)",
           "ufv_multires MR8 0.5, gfrnet_general 0.3, clean bicubic x1-8 0.2", ("lr", "lr_up"), blind_mix),
    *(Preset(f"fish_x{f}", "Wang et al. (FishFSRNet) §IV-B", f"bicubic x{f} (128 -> {128 // f})", ("lr",),
             _fish(f)) for f in (4, 8, 16)),
):
    PRESETS.add(_preset.name, _preset)


def list_presets() -> list[str]:
    """Preset names, sorted."""
    return PRESETS.names()


def apply_preset(
    name: str, hr: np.ndarray, rng: np.random.Generator | int | None, **options
) -> tuple[Outputs, dict]:
    """Degrade ``hr`` (``HxWxC`` float32 in [0, 1]) with preset ``name``.

    Returns ``(outputs, params)``; ``params`` starts with ``{"preset": name}`` and is JSON-serialisable.
    Raises :class:`ConfigError` for an unknown preset, option or malformed image.
    """
    fn = PRESETS.get(name).fn
    hr = np.asarray(hr, dtype=np.float32)
    if hr.ndim != 3 or hr.shape[2] not in (1, 3):
        raise ConfigError(f"preset {name} expects an HxWxC image with C = 1 or 3, got shape {hr.shape}")
    try:
        inspect.signature(fn).bind(hr, rng, **options)
    except TypeError as error:
        raise ConfigError(f"preset {name}: {error}") from None
    outputs, params = fn(hr, as_generator(rng), **options)
    return outputs, {"preset": name, **params}
