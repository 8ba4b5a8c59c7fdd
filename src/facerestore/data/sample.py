"""The sample vocabulary shared by every data source, and the one function that builds a sample.

A sample is a dict of tensors (values float32 in [0, 1] unless stated); a method asks for the keys it
needs and only those priors are computed. Every source (synthetic, folder, CelebA, Helen, FFHQ,
identity folders) hands :func:`build_sample` an HR image, its landmarks and parsing map when known,
so a face gives the same sample whichever source it comes from.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import torch

from facerestore.degrade import PRESETS, apply_preset, imresize
from facerestore.errors import ConfigError
from facerestore.face import labels as L
from facerestore.face.priors import component_masks, face_mask, fish_parsing, parsing_map

SAMPLE_KEYS: Mapping[str, str] = {
    "hr": "3xHxW float32 [0,1]: the HR face",
    "lr": "3xhxw float32 [0,1]: the degraded input (h, w depend on the preset's scale)",
    "lr_up": "3xHxW float32 [0,1]: lr resized to HR size (MATLAB bicubic), fixed size for every scale",
    "hr_blur": "3xHxW float32 [0,1]: the blurred HR image (Yun & Park, preset yun_x8 only)",
    "landmarks": "68x2 float32: iBUG 300-W points, HR pixel coordinates (x, y)",
    "masks": "4xHxW float32 [0,1]: Song et al. component masks (brows, eyes, nose, mouth)",
    "face_mask": "1xHxW float32 [0,1]: Yun & Park face-region mask M_face (forehead included)",
    "parsing": "HxW int64: parsing labels of facerestore.face.labels",
    "parsing_skin": "3xhxw float32 [0,1]: FishFSRNet skin map at LR size",
    "guide": "3xHxW float32 [0,1]: GFRNet guide (same identity, frontal, eyes open)",
    "guide_landmarks": "68x2 float32: the guide's landmarks, HR pixel coordinates",
    "identity": "int64 scalar: identity id",
    "scale": "float32 scalar: HR size / LR size",
    "degradation": "dict: the preset's sampled parameters (collated as a list)",
}
_DEGRADED = frozenset({"lr", "lr_up", "hr_blur", "parsing_skin", "scale", "degradation"})
_FROM_LANDMARKS = frozenset({"landmarks", "masks", "face_mask"})
_DATA_STREAM = 0x44415441  # keeps sample generators apart from the synthetic renderer's streams


def sample_rng(seed: int, index: int) -> np.random.Generator:
    """The generator of sample ``index``: depends on ``(seed, index)`` only, never on worker or order."""
    return np.random.default_rng([seed & 0xFFFFFFFF, index & 0xFFFFFFFF, _DATA_STREAM])


def check_keys(keys: Iterable[str], preset: str | None, provided: Iterable[str] = ()) -> frozenset[str]:
    """Validate requested ``keys`` for a source that can also give ``provided`` (``identity``,
    ``guide``...); raises :class:`ConfigError` naming the key. Returns the keys as a frozenset."""
    keys = frozenset(keys)
    unknown = keys - set(SAMPLE_KEYS)
    if unknown:
        raise ConfigError(f"unknown sample keys {sorted(unknown)}; known: {sorted(SAMPLE_KEYS)}")
    if preset is not None and preset not in PRESETS:
        raise ConfigError(f"unknown degradation preset {preset!r}; choose one of {sorted(PRESETS)}")
    if preset is None and keys & _DEGRADED:
        raise ConfigError(f"keys {sorted(keys & _DEGRADED)} need a degradation preset")
    if "hr_blur" in keys and "hr_blur" not in PRESETS[preset].outputs:
        raise ConfigError(f"key 'hr_blur' needs a preset that blurs the HR image (yun_x8), not {preset!r}")
    missing = keys & {"identity", "guide", "guide_landmarks"} - set(provided)
    if missing:
        raise ConfigError(f"this data source cannot give {sorted(missing)}")
    return keys


def needs_landmarks(keys: Iterable[str], preset: str | None, has_parsing: bool = False) -> bool:
    """Whether building these keys needs the 68 landmarks (yun_x8 blurs the landmark face region;
    parsing maps come from landmarks unless the source has one)."""
    keys = set(keys)
    parsing_keys = keys & {"parsing", "parsing_skin"}
    return bool(keys & _FROM_LANDMARKS) or preset == "yun_x8" or bool(parsing_keys and not has_parsing)


def flip_face(image: np.ndarray, landmarks: np.ndarray | None = None, parsing: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Mirror an ``HxWxC`` face left-right with its landmarks (68-point mirror permutation) and
    parsing map (right/left labels swapped)."""
    width = image.shape[1]
    image = np.ascontiguousarray(image[:, ::-1])
    if landmarks is not None:
        landmarks = np.asarray(landmarks)[list(L.MIRROR_68)].copy()
        landmarks[:, 0] = width - 1 - landmarks[:, 0]
    if parsing is not None:
        parsing = np.asarray(L.MIRROR_LABELS, dtype=np.int64)[parsing[:, ::-1]]
    return image, landmarks, parsing


def _chw(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(np.transpose(image, (2, 0, 1)), dtype=np.float32))


def build_sample(
    hr: np.ndarray,
    landmarks: np.ndarray | None,
    parsing: np.ndarray | None,
    keys: Iterable[str],
    preset: str | None,
    rng: np.random.Generator,
    *,
    preset_options: Mapping | None = None,
    flip: float = 0.0,
    guide: np.ndarray | None = None,
    guide_landmarks: np.ndarray | None = None,
    identity: int | None = None,
) -> dict:
    """Build the sample dict (keys of :data:`SAMPLE_KEYS` requested in ``keys``) from one HR face.

    ``hr`` HxWx3 float32 in [0, 1]; ``landmarks`` (68, 2) HR pixels (needed for masks, face_mask and
    landmark-made parsing, see :func:`needs_landmarks`); ``parsing`` HxW int64 when the source has one
    (else it is drawn from the landmarks). ``rng`` is split into an augmentation stream and a
    degradation stream, so turning ``flip`` on does not change the sampled degradations. ``flip`` is
    the probability of mirroring the face (and the guide) left-right. With preset ``yun_x8`` the motion
    blur hits the landmark face region (Yun & Park §4.1 blur the face foreground, here the
    :func:`face_mask` with forehead). ``parsing_skin`` is FishFSRNet's map made at HR and area-averaged
    to the LR size (Wang et al. §IV-A).
    """
    keys = frozenset(keys)
    augment_rng, degrade_rng = rng.spawn(2)
    hr = np.asarray(hr, dtype=np.float32)
    height, width = hr.shape[:2]
    if flip and augment_rng.random() < flip:
        hr, landmarks, parsing = flip_face(hr, landmarks, parsing)
        if guide is not None:
            guide, guide_landmarks, _ = flip_face(guide, guide_landmarks)
    region = None
    if landmarks is not None and ("face_mask" in keys or preset == "yun_x8"):
        region = face_mask(landmarks, (height, width), forehead=True)
    if parsing is None and keys & {"parsing", "parsing_skin"}:
        parsing = parsing_map(landmarks, (height, width))

    sample: dict = {}
    if preset is not None:
        options = dict(preset_options or {})
        if preset == "yun_x8" and region is not None:
            options.setdefault("face_mask", region)
        outputs, params = apply_preset(preset, hr, degrade_rng, **options)
        lr = outputs["lr"]
        if "lr" in keys:
            sample["lr"] = _chw(lr)
        if "lr_up" in keys:
            lr_up = outputs["lr_up"] if "lr_up" in outputs else np.clip(imresize(lr, size=(height, width)), 0, 1)
            sample["lr_up"] = _chw(lr_up)
        if "hr_blur" in keys:
            sample["hr_blur"] = _chw(outputs["hr_blur"])
        if "parsing_skin" in keys:
            sample["parsing_skin"] = torch.from_numpy(fish_parsing(parsing, lr.shape[:2]))
        if "scale" in keys:
            sample["scale"] = torch.tensor(params.get("scale", width / lr.shape[1]), dtype=torch.float32)
        if "degradation" in keys:
            sample["degradation"] = params
    if "hr" in keys:
        sample["hr"] = _chw(hr)
    if "landmarks" in keys:
        sample["landmarks"] = torch.from_numpy(np.asarray(landmarks, dtype=np.float32).copy())
    if "masks" in keys:
        sample["masks"] = torch.from_numpy(component_masks(landmarks, (height, width)))
    if "face_mask" in keys:
        sample["face_mask"] = torch.from_numpy(region[None].copy())
    if "parsing" in keys:
        sample["parsing"] = torch.from_numpy(np.asarray(parsing, dtype=np.int64).copy())
    if "guide" in keys:
        sample["guide"] = _chw(guide)
    if "guide_landmarks" in keys:
        sample["guide_landmarks"] = torch.from_numpy(np.asarray(guide_landmarks, dtype=np.float32).copy())
    if "identity" in keys:
        sample["identity"] = torch.tensor(identity, dtype=torch.int64)
    return sample


_UNCROPPABLE = frozenset({"landmarks", "guide", "guide_landmarks"})


def crop_sample(sample: dict, size: int, rng: np.random.Generator) -> dict:
    """A random ``size``×``size`` window of an HR-sized sample (training patches, as BasicSR's ``gt_size``).

    HR-sized images (``hr``, ``lr_up``, ``masks``, ``face_mask``, ``hr_blur``, ``parsing``) take the window;
    LR-sized ones (``lr``, ``parsing_skin``) the matching window divided by the scale, so the corner is drawn
    on the LR grid. Points (landmarks, the guide) cannot be cropped: asking for them is an error.
    """
    asked = _UNCROPPABLE & set(sample)
    if asked:
        raise ConfigError(f"data.crop cannot crop the keys {sorted(asked)}: train on whole faces")
    height, width = sample["hr"].shape[-2:]
    lr = sample.get("lr")
    factor = height // lr.shape[-2] if lr is not None else 1
    if size > min(height, width) or size % factor:
        raise ConfigError(f"data.crop {size} must be at most the HR size {height} and a multiple of the scale {factor}")
    top = int(rng.integers(0, (height - size) // factor + 1)) * factor
    left = int(rng.integers(0, (width - size) // factor + 1)) * factor
    out = {}
    for key, value in sample.items():
        if isinstance(value, torch.Tensor) and value.dim() >= 2 and value.shape[-2:] == (height, width):
            value = value[..., top:top + size, left:left + size]
        elif isinstance(value, torch.Tensor) and value.dim() >= 2 and value.shape[-2] * factor == height:
            value = value[..., top // factor:(top + size) // factor, left // factor:(left + size) // factor]
        out[key] = value.contiguous() if isinstance(value, torch.Tensor) else value
    return out


def collate_samples(batch: Sequence[dict]) -> dict:
    """``DataLoader`` collate: stacks every tensor key, keeps ``degradation`` as a list of dicts.

    Tensors of one key must share a shape: with a variable-scale preset (``ufv_multires``,
    ``gfrnet_general``) ask for ``lr_up`` + ``scale`` (always HR size) instead of ``lr``.
    """
    out: dict = {}
    for key in batch[0]:
        values = [sample[key] for sample in batch]
        if key == "degradation":
            out[key] = values
            continue
        shapes = {tuple(v.shape) for v in values}
        if len(shapes) > 1:
            raise ConfigError(f"cannot batch key {key!r}: shapes differ {sorted(shapes)}; with a variable-scale "
                              "preset use 'lr_up' and 'scale' (HR size) instead of 'lr' / 'parsing_skin', "
                              "or batch_size=1")
        out[key] = torch.stack(values)
    return out
