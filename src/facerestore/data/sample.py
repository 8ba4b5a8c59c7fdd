"""The sample vocabulary shared by every data source, and the one function that builds a sample.

A sample is a dict of tensors (values float32 in [0, 1] unless stated); a method asks for the keys it
needs and only those priors are computed. Every source (synthetic, folder, CelebA, Helen, FFHQ,
identity folders) hands :func:`build_sample` an HR image, its landmarks and parsing map when known,
so a face gives the same sample whichever source it comes from.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from dataclasses import dataclass

import cv2
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
    "masks": "4xHxW float32 [0,1]: Song et al. component masks (brows, eyes, nose, mouth), from the landmarks "
             "a detector would find on lr_up (preset option mask_landmarks)",
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


# ---------------------------------------------------------------- Song et al.: 320×240 faces and mask landmarks
#
# Two sample options, given in a data spec's ``preset_options`` (the one mapping every source hands to
# build_sample) and taken out before the preset runs:
#   frame: [H, W]            Song et al. §4's faces are 320 × 240; read as height × width (portrait, see
#                            frame_face). None: the source's faces as they are.
#   mask_landmarks: MODE     where the ``masks`` key's landmarks come from (Song §3.1 detects them on the
#                            bicubic-upsampled degraded input): "gt" (the source's landmarks), "detected"
#                            (the project's dlib detector on ``lr_up``), "perturbed" (the source's landmarks
#                            moved as the detector errs, LANDMARK_ERRORS), "auto" (default: "perturbed" under
#                            a preset with a measured error model, else "gt").

SAMPLE_OPTIONS = ("frame", "mask_landmarks")
MASK_LANDMARKS = ("auto", "gt", "detected", "perturbed")
INNER = tuple(range(17, 68))   # brows, nose, eyes, mouth: the landmarks the component masks are made of
PARTS = (L.RIGHT_BROW, L.LEFT_BROW, L.NOSE, L.RIGHT_EYE, L.LEFT_EYE, L.MOUTH)
PART_NAMES = ("right brow", "left brow", "nose", "right eye", "left eye", "mouth")


def frame_face(image: np.ndarray, landmarks: np.ndarray | None, parsing: np.ndarray | None,
               frame: Sequence[int]) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """A face of ``frame`` = (height, width) from a larger one: area-resized to the frame's height, then the
    width cropped around the face (the mean x of its inner landmarks, kept inside the image).

    Song et al. §4: "the resolution of the ground truth images ... is 320 × 240"; the paper says no more. We read
    it as height 320 × width 240: a portrait face crop (SFH [57], whose Multi-PIE setting Song follows, works
    with 320-row, 240-column faces) — the synthetic faces are square, so a 512 render resized to 320 × 320
    loses only background at the sides. A resized image is rounded back to 8-bit levels (as the synthetic
    source's faces are); landmarks follow (pixel-centre convention), parsing maps are resized nearest.
    An image shorter than the frame, or too narrow once resized, is a ConfigError (no upsampled faces).
    """
    if (not isinstance(frame, (list, tuple)) or len(frame) != 2
            or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0 for v in frame)):
        raise ConfigError(f"frame must be [height, width] in pixels, got {frame!r}", "preset_options.frame")
    height, width = (int(v) for v in frame)
    rows, cols = image.shape[:2]
    if (rows, cols) == (height, width):
        return image, landmarks, parsing
    factor = height / rows
    resized_cols = int(round(cols * factor))
    if factor > 1 or resized_cols < width:
        raise ConfigError(f"frame {height}x{width} (height x width) needs faces at least {height} px tall and "
                          f"{width} px wide once resized, got {rows}x{cols} (synthetic faces: size 512 for 320x240)",
                          "preset_options.frame")
    if landmarks is not None:
        landmarks = np.asarray(landmarks, dtype=np.float64)
    if factor != 1:
        image = cv2.resize(np.ascontiguousarray(image), (resized_cols, height), interpolation=cv2.INTER_AREA)
        image = (np.rint(np.clip(image, 0.0, 1.0) * 255.0) / 255.0).astype(np.float32)
        if landmarks is not None:
            landmarks = (landmarks + 0.5) * np.array([resized_cols / cols, height / rows]) - 0.5
        if parsing is not None:
            pick_rows = np.minimum(((np.arange(height) + 0.5) * rows / height).astype(np.int64), rows - 1)
            pick_cols = np.minimum(((np.arange(resized_cols) + 0.5) * cols / resized_cols).astype(np.int64), cols - 1)
            parsing = parsing[pick_rows[:, None], pick_cols[None, :]]
    centre = landmarks[list(INNER), 0].mean() if landmarks is not None else (resized_cols - 1) / 2
    left = int(np.clip(round(centre - (width - 1) / 2), 0, resized_cols - width))
    image = np.ascontiguousarray(image[:, left:left + width])
    if landmarks is not None:
        landmarks = (landmarks - np.array([left, 0.0])).astype(np.float32)
    if parsing is not None:
        parsing = np.ascontiguousarray(parsing[:, left:left + width])
    return image, landmarks, parsing


@dataclass(frozen=True)
class ErrorComponent:
    """One kind of detection (``weight``: its share of the detections). Per face: an affine map of the GT inner
    landmarks about their centroid, ``A = I + [[a, b], [c, d]]`` and a shift ``(x, y)`` px, drawn jointly as
    ``affine_mean + L z`` (``affine_chol``: the lower-triangular L, row by row; the detector's errors of scale and
    position are strongly correlated: a face found smaller is also found higher); then a shift of each part of
    :data:`PARTS` (``part_mean`` / ``part_std``: (x, y) px), then each point's own jitter (``point_std``: (x, y) px
    per part); Gaussians, means included (the detector's systematic errors)."""

    weight: float
    affine_mean: tuple[float, ...]
    affine_chol: tuple[tuple[float, ...], ...]
    part_mean: tuple[tuple[float, float], ...]
    part_std: tuple[tuple[float, float], ...]
    point_std: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class LandmarkErrorModel:
    """How the project's detector (dlib HOG + 68-point predictor, :func:`facerestore.face.detect.detect_faces`,
    face nearest the centre) misplaces the inner landmarks (:data:`INNER`) of ``preset``-degraded, bicubic-upsampled
    faces, fitted to real detections by ``benchmarks/song_table4.py --measure``: a mixture of
    :class:`ErrorComponent` (the usual detections, and gross ones whose error is far above the median).

    Pixels of ``frame`` (height, width) faces whose mean eye distance (eye centre to eye centre) is
    ``eye_distance``; a sample is scaled by its own eye distance over it. ``faces`` degraded faces were measured,
    the detector found ``detected``; ``deviation`` is their mean |detected − GT| over the inner landmarks (px),
    the "mask deviation" of Song et al.'s Table 4.
    """

    preset: str
    frame: tuple[int, int]
    eye_distance: float
    faces: int
    detected: int
    deviation: float
    components: tuple[ErrorComponent, ...]


# Measured 2026-12-04 on the 2-core AMD EPYC CPU machine (dlib 19.x HOG, auto upsampling) by
#   OMP_NUM_THREADS=1 .venv/bin/python benchmarks/song_table4.py --measure --measure-count 200
# (synthetic faces of seed 11, split train; 128: size 128; 320x240: size 512 with frame [320, 240]).
LANDMARK_ERRORS: tuple[LandmarkErrorModel, ...] = (
    # @@MEASURED@@
)


def eye_distance(landmarks: np.ndarray) -> float:
    """Distance between the two eye centres (mean of each eye's six points), px."""
    pts = np.asarray(landmarks, dtype=np.float64)
    return float(np.hypot(*(pts[list(L.LEFT_EYE)].mean(axis=0) - pts[list(L.RIGHT_EYE)].mean(axis=0))))


def landmark_error_model(preset: str | None, landmarks: np.ndarray) -> LandmarkErrorModel | None:
    """The measured model of ``preset`` whose faces' eye distance is nearest this face's (in ratio), or None."""
    models = [m for m in LANDMARK_ERRORS if m.preset == preset]
    if not models:
        return None
    distance = eye_distance(landmarks)
    return min(models, key=lambda m: abs(np.log(max(distance, 1e-6) / m.eye_distance)))


def perturb_landmarks(landmarks: np.ndarray, model: LandmarkErrorModel, rng: np.random.Generator,
                      strength: float = 1.0) -> np.ndarray:
    """``landmarks`` (68, 2) moved as ``model``'s detector would find them; every error (means included) times
    ``strength`` (0: unchanged). The draws depend on ``rng`` only (always as many), so one generator state at
    several strengths gives one error pattern at several sizes (Table 4). Jaw points take the affine map only."""
    pts = np.asarray(landmarks, dtype=np.float64)
    factor = eye_distance(pts) / model.eye_distance
    weights = np.array([c.weight for c in model.components])
    pick = min(int(np.searchsorted(np.cumsum(weights) / weights.sum(), rng.random(), side="right")),
               len(weights) - 1)
    component = model.components[pick]
    affine_z, part_z = rng.standard_normal(6), rng.standard_normal((len(PARTS), 2))
    jitter = rng.standard_normal((len(INNER), 2))
    chol = np.zeros((6, 6))
    for row, values in enumerate(component.affine_chol):
        chol[row, :len(values)] = values
    affine = (np.asarray(component.affine_mean) + chol @ affine_z) * strength
    parts = np.asarray(component.part_mean) + np.asarray(component.part_std) * part_z
    centre = pts[list(INNER)].mean(axis=0)
    out = (pts - centre) @ (np.eye(2) + affine[:4].reshape(2, 2)).T + centre + affine[4:] * factor
    offset = np.zeros_like(pts)
    for part, shift, spread in zip(PARTS, parts, np.asarray(component.point_std)):
        index = list(part)
        offset[index] = shift + spread * jitter[[i - INNER[0] for i in index]]
    return (out + offset * strength * factor).astype(np.float32)


def mask_deviation(landmarks: np.ndarray, truth: np.ndarray) -> float:
    """Mean distance (px) between the inner landmarks of two faces: the masks' deviation (Song Table 4)."""
    diff = np.asarray(landmarks, np.float64)[list(INNER)] - np.asarray(truth, np.float64)[list(INNER)]
    return float(np.hypot(diff[:, 0], diff[:, 1]).mean())


def detect_landmarks(image: np.ndarray) -> np.ndarray | None:
    """The 68 landmarks the project's detector finds on ``image`` (HxWx3 [0, 1]; the face nearest the centre),
    or None when it finds no face."""
    from facerestore.face.detect import detect_faces   # dlib loads only when detection is asked for

    faces = detect_faces(image, only_center=True)
    return faces[0].landmarks.astype(np.float32) if faces else None


def mask_landmarks(mode: str, landmarks: np.ndarray, lr_up: np.ndarray | None, preset: str | None,
                   rng: np.random.Generator) -> np.ndarray:
    """The landmarks the component masks are drawn from under ``mode`` (:data:`MASK_LANDMARKS`).

    "detected": the detector on ``lr_up`` (the degraded input upsampled, as Song §3.1); where it finds no face
    the perturbed landmarks stand in (the measured model is of the faces it does find), and the source's
    landmarks where the preset has no model. Without a preset (no degraded input) every mode gives the source's
    landmarks.
    """
    if mode == "gt" or preset is None:
        return landmarks
    if mode == "detected" and lr_up is not None:
        found = detect_landmarks(lr_up)
        if found is not None:
            return found
    model = landmark_error_model(preset, landmarks)
    if model is None:
        if mode == "perturbed":
            raise ConfigError(f"no measured landmark error model for preset {preset!r} (measured: "
                              f"{sorted({m.preset for m in LANDMARK_ERRORS})}); use mask_landmarks: detected or gt",
                              "preset_options.mask_landmarks")
        return landmarks
    return perturb_landmarks(landmarks, model, rng)


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
    to the LR size (Wang et al. §IV-A). ``preset_options`` may also hold the sample options ``frame`` (the face
    resized and cropped to (height, width) first: :func:`frame_face`) and ``mask_landmarks`` (where the ``masks``
    key's landmarks come from: :func:`mask_landmarks`; its draws use a third stream of ``rng``); the ``landmarks``
    key always holds the source's (ground-truth) landmarks.
    """
    keys = frozenset(keys)
    augment_rng, degrade_rng = rng.spawn(2)
    options = dict(preset_options or {})
    frame = options.pop("frame", None)
    mask_mode = options.pop("mask_landmarks", "auto")
    if mask_mode not in MASK_LANDMARKS:
        raise ConfigError(f"mask_landmarks must be one of {', '.join(MASK_LANDMARKS)}, got {mask_mode!r}",
                          "preset_options.mask_landmarks")
    if frame is not None:
        hr, landmarks, parsing = frame_face(np.asarray(hr, dtype=np.float32), landmarks, parsing, frame)
        if guide is not None:
            guide, guide_landmarks, _ = frame_face(np.asarray(guide, dtype=np.float32), guide_landmarks, None, frame)
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
    lr_up = None
    if preset is not None:
        if preset == "yun_x8" and region is not None:
            options.setdefault("face_mask", region)
        outputs, params = apply_preset(preset, hr, degrade_rng, **options)
        lr = outputs["lr"]
        if "lr" in keys:
            sample["lr"] = _chw(lr)
        if "lr_up" in keys or ("masks" in keys and mask_mode == "detected"):
            lr_up = outputs["lr_up"] if "lr_up" in outputs else np.clip(imresize(lr, size=(height, width)), 0, 1)
        if "lr_up" in keys:
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
    if "masks" in keys:  # Song §3.1: landmarks as found on the degraded input (mask_landmarks)
        points = mask_landmarks(mask_mode, landmarks, lr_up, preset, rng.spawn(1)[0])
        sample["masks"] = torch.from_numpy(component_masks(points, (height, width)))
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
