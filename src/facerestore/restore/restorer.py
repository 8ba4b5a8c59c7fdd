"""FaceRestorer: restore every face of a real photo with any registered method (the flow of facexlib's
``FaceRestoreHelper``: detect, align, restore, paste back — without its losses of alpha, 16-bit and batching).

Per photo: read (alpha and bit depth kept) → detect faces + 68 landmarks (one detector object reused) →
align each face at its own LR size → build the sample keys the method ``requires`` → restore the faces,
one batch per LR size → upscale the background (cv2 bicubic or Lanczos) → paste each face back through
``invert_affine`` with a feathered mask → re-attach the separately upscaled alpha, return to gray.

LR crop size (choices, documented in docs/restore.md):

* fixed ``hr_size`` and ``scale`` (FishFSRNet, Yun & Park): ``hr_size / scale``, as trained;
* ``scale`` None (UFVNet, SPARNet, GFRNet): the face's native resolution, i.e. the side in photo pixels of
  its template crop (template size over the similarity's scale), clamped to the method's ``native_lr_range``:
  UFVNet 8…128 (its default weights are trained on 8…128 px faces, factors 1…16), SPARNet 8…64 (1/16…8/16 of
  128, UFVNet §IV-A's MR8 sets), GFRNet 32…256 (s ∈ [1, 8] at 256, GFRNet §4.1);
* ``hr_size`` None (bicubic, SRCNN, VDSR, SRResNet, FSGN): ``face_size / scale`` when ``face_size`` is given,
  else the native resolution clamped to 8…128, and the output is ``scale`` times larger.

Every face gets its own LR size; faces of equal LR size share a model call. A face whose side in the output
photo (native × background scale) is more than ``max_squeeze`` × the face the method gives for it (a
fixed-size network's output, e.g. UFVNet's 128 px) would be enlarged after restoration (or shrunk before it):
it is not restored and keeps the bicubic background (``kept == "bicubic"``), the rule measured by
``benchmarks/bench_photo_real.py`` (docs/restore.md).
"""
from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import torch

from facerestore.degrade import imresize_torch
from facerestore.errors import ConfigError, ImageReadError
from facerestore.face.align import (
    align_face,
    estimate_similarity,
    invert_affine,
    native_size,
    template_68,
    transform_points,
    warp,
)
from facerestore.face.detect import DetectedFace, FaceDetector, default_detector, detect_faces, require_face
from facerestore.face.paste import paste_back
from facerestore.face.priors import component_masks
from facerestore.io import ImageInfo, ensure_not_input, from_float, read_image, split_alpha, to_float, write_image
from facerestore.methods import Method, build_method, check_method_options
from facerestore.models.inference import PRECISIONS, prepare_for_inference
from facerestore.restore.weights_cache import DEFAULT_METHOD, DEFAULT_SCALE, resolve_weights

FREE_SIZE_LR_RANGE = (8, 128)  # methods with hr_size None
BOX_LR_RANGE = (8, 256)  # generic SR methods on axis-aligned crops (Method.aligned_input False)
BOX_STEP = 8
MAX_SQUEEZE = 1.0  # faces above this times the largest restorable face keep bicubic (docs/restore.md)
BACKGROUNDS = {"bicubic": cv2.INTER_CUBIC, "lanczos": cv2.INTER_LANCZOS4}
DEVICES = ("cpu", "cuda", "mps")
BACKENDS = ("torch", "onnx")
SAMPLE_KEYS = frozenset({"lr", "lr_up", "masks", "guide"})  # what a photo gives (priors from landmarks)
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R BT.601, back to gray


@dataclass(frozen=True)
class RestoredFace:
    """One face: detector ``box`` (x0, y0, x1, y1) and ``score`` (None for ``aligned`` input), (68, 2)
    ``landmarks`` in photo pixels (the template's for aligned input, in crop pixels), the 2x3 photo→crop
    ``matrix``, the LR ``crop`` fed to the method and the ``restored`` face (both HxWx3 float32 RGB in
    [0, 1]), its ``native`` size (photo pixels, :func:`native_size`), and GFRNet's ``warped_guide`` when
    asked for. A face ``kept`` at ``"bicubic"`` (``reason`` says why) was not restored: the output keeps the
    upscaled background there, ``crop`` is the face at its native size and ``restored`` that crop upscaled
    like the background (for viewing)."""

    box: np.ndarray | None
    score: float | None
    landmarks: np.ndarray
    matrix: np.ndarray
    crop: np.ndarray
    restored: np.ndarray
    native: float
    warped_guide: np.ndarray | None = None
    kept: str | None = None
    reason: str | None = None


@dataclass
class RestoreResult:
    """A restored photo: ``image`` (H·scale × W·scale × C float32 in [0, 1], C as the input: gray stays
    gray, alpha kept), the input's ``bit_depth`` (8 or 16), the background ``scale``, the input's
    ``input_size`` (width, height), the ``faces``,
    ``timings`` in seconds per stage (read, detect, align, restore, paste) and ``warnings``."""

    image: np.ndarray
    bit_depth: int
    scale: float
    input_size: tuple[int, int]
    faces: list[RestoredFace]
    source: str | None = None
    info: ImageInfo | None = None
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def pixels(self) -> np.ndarray:
        """``image`` as uint8 or uint16 (the input's bit depth), RGB(A) or gray(+alpha) as the input."""
        return from_float(self.image, self.bit_depth)

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write the restored photo atomically with the input's bit depth and alpha (PNG/TIFF keep both; a
        format that cannot hold them is an :class:`ImageWriteError` naming the file); never replaces an
        existing file unless ``overwrite``, nor the input photo."""
        path = Path(path)
        if self.source is not None:
            ensure_not_input(path, [self.source])
        return write_image(path, self.pixels(), overwrite=overwrite, bit_depth=self.bit_depth)


@dataclass(frozen=True)
class _Aligned:
    """A face ready for the method: ``crop``, photo→crop ``matrix``, landmarks in crop pixels (``points``),
    ``native`` size, and the ``reason`` it keeps bicubic (None: restored)."""

    crop: np.ndarray
    matrix: np.ndarray
    points: np.ndarray
    native: float
    reason: str | None


def kept_warning(faces: list[RestoredFace]) -> str | None:
    """One line for a photo whose faces were (partly) kept at bicubic, else None."""
    kept = [index for index, face in enumerate(faces) if face.kept]
    if not kept:
        return None
    names = ", ".join(f"{index:02d}" for index in kept)
    return (f"{len(kept)} of {len(faces)} face(s) kept at bicubic (face {names}: "
            f"{faces[kept[0]].reason}; --max-squeeze)")



def _resize_matrix(factor: float) -> np.ndarray:
    """2x3 map of an image resized by ``factor`` (pixel-centre convention of cv2.resize)."""
    shift = 0.5 * factor - 0.5
    return np.array([[factor, 0.0, shift], [0.0, factor, shift]])


def box_crop(rgb: np.ndarray, landmarks: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``size``-px square of the photo's own pixel grid centred where the aligned template crop of the face
    is (whole-pixel offsets, mirrored outside the photo), and its photo→crop matrix (a translation)."""
    matrix = estimate_similarity(landmarks, template_68(size))
    centre = transform_points(np.array([[(size - 1) / 2, (size - 1) / 2]]), invert_affine(matrix))[0]
    x0, y0 = (np.floor(centre - (size - 1) / 2 + 0.5)).astype(int)
    translation = np.array([[1.0, 0.0, -float(x0)], [0.0, 1.0, -float(y0)]])
    return warp(rgb, translation, size), translation


def _onnx_method(path: str | os.PathLike, method: str | None, weights, options: Mapping, device: str,
                 precision: str) -> Method:
    """The onnxruntime method of an exported graph; what only the PyTorch backend takes is refused by name."""
    from facerestore.export.onnx import OnnxMethod

    if weights is not None or options:
        raise ConfigError("an ONNX graph holds its weights and options: give no weights=/options with onnx_path")
    if device != "cpu" or precision != "fp32":
        raise ConfigError("the ONNX backend runs on the CPU in fp32 (onnxruntime's CPU provider)")
    built = OnnxMethod(path)
    if method is not None and method != built.name:
        raise ConfigError(f"method {method} given, but the ONNX graph is {built.name}", path)
    return built


def _check_device(device: str) -> torch.device:
    kind = device.split(":")[0]
    if kind not in DEVICES:
        raise ConfigError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)}")
    available = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}[kind]
    if not available:
        raise ConfigError(f"device {device!r} is not available with this torch build ({torch.__version__}); "
                          "use --device cpu")
    return torch.device(device)


class FaceRestorer:
    """Restore the faces of photos with one method (see the module docstring for the flow).

    ``method``: a registered name; None takes it from the weights file's metadata, else UFVNet, the default.
    ``weights``: a file, else ``<method>.safetensors`` in the cache folder, else the bundled weights
    (:mod:`facerestore.restore.weights_cache`); a method without them is refused unless ``allow_untrained``.
    ``scale``: background factor (default: the method's scale, else 2). ``face_size``: HR crop size for
    methods without a fixed one. ``aligned``: inputs are already aligned face crops (our 68-point template),
    restored whole. ``batch_size``: most faces per model call (None: all faces of one LR size at once).
    ``max_squeeze``: a face whose output side is more than this times the method's face for it keeps the bicubic
    background (:meth:`keep_reason`)
    (``math.inf``: every face is restored).
    ``precision="bf16"``: conv/linear weights stored in bfloat16, run under bf16 autocast. ``options`` (a
    mapping, e.g. the CLI's ``--option`` values) and ``method_options`` go to the method's constructor.
    ``backend="onnx"`` with ``onnx_path``: the graph of ``facerestore export`` run by onnxruntime (CPU, fp32); its
    fixed LR size is every face's (:mod:`facerestore.export.onnx`).
    """

    def __init__(self, method: str | None = None, weights: str | os.PathLike | None = None, *, device: str = "cpu",
                 scale: float | None = None, face_size: int | None = None, aligned: bool = False,
                 only_center_face: bool = False, batch_size: int | None = None, max_squeeze: float = MAX_SQUEEZE,
                 background: Literal["bicubic", "lanczos"] = "bicubic", precision: Literal["fp32", "bf16"] = "fp32",
                 detector: FaceDetector | None = None, allow_untrained: bool = False,
                 options: Mapping | None = None, backend: Literal["torch", "onnx"] = "torch",
                 onnx_path: str | os.PathLike | None = None, **method_options):
        self.device = _check_device(device)
        if backend not in BACKENDS:
            raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
        if (backend == "onnx") != (onnx_path is not None):
            raise ConfigError("backend='onnx' runs the graph of onnx_path=FILE.onnx, and onnx_path needs backend='onnx'")
        if background not in BACKGROUNDS:
            raise ConfigError(f"background must be one of {', '.join(BACKGROUNDS)}, got {background!r}")
        if precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        if scale is not None and scale <= 0:
            raise ConfigError(f"scale must be positive, got {scale}")
        if batch_size is not None and batch_size < 1:
            raise ConfigError(f"batch size must be at least 1, got {batch_size}")
        if not max_squeeze > 0:
            raise ConfigError(f"--max-squeeze must be positive, got {max_squeeze}")
        all_options = {**(options or {}), **method_options}
        if backend == "onnx":
            built = _onnx_method(onnx_path, method, weights, all_options, device, precision)
            self.weights, self.untrained = built.path, False
        else:
            if method is not None or weights is None:
                check_method_options(method or DEFAULT_METHOD, all_options)
            # the bundled weights of the scale asked for (EDSR ships x2 / x4 / x8)
            self.weights = resolve_weights(method, weights, scale=all_options.get("scale") or scale,
                                           allow_untrained=allow_untrained)
            if self.weights is None:
                method = method or DEFAULT_METHOD
            built = build_method(method, self.weights, **all_options)
            self.untrained = self.weights is None and built.learned
        method = built.name
        unknown = built.requires - SAMPLE_KEYS
        if unknown:
            raise ConfigError(f"method {method} needs {sorted(unknown)}, which photo restoration cannot provide")
        if face_size is not None and (built.hr_size is not None or face_size < 1):
            raise ConfigError(f"face_size=N applies to methods without a fixed output size (N positive), not "
                              f"{method} (hr_size {built.hr_size}) with {face_size}")
        self.method: Method = (built if backend == "onnx" else
                               prepare_for_inference(built, channels_last=True, precision=precision).to(self.device))
        self.name = method
        self.scale = scale
        self.face_size = face_size
        self.aligned = aligned
        self.only_center_face = only_center_face
        self.batch_size = batch_size
        self.max_squeeze = float(max_squeeze)
        self.interpolation = BACKGROUNDS[background]
        self.bf16 = precision == "bf16"
        self.detector = detector or default_detector()
        self._guide: tuple[str, torch.Tensor] | None = None
        # A generic SR network (no face prior, any size) restores an axis-aligned crop of the photo's own grid:
        # no warp before it, and pasting back at an integer scale is a pixel copy (no resampling loss).
        self.box_crops = (not aligned and face_size is None and self.method.hr_size is None
                          and not self.method.aligned_input)

    # --- sizes -------------------------------------------------------------------------------------------
    def lr_size(self, native: float) -> int:
        """LR crop side for a face whose native crop side is ``native`` photo pixels (module docstring)."""
        hr_size, scale = self.method.hr_size, self.method.scale
        if hr_size is not None and scale is not None:
            return max(1, round(hr_size / scale))
        if hr_size is None and self.face_size is not None:
            return max(1, round(self.face_size / scale))
        if self.box_crops:
            # the whole face (never below native), in steps of BOX_STEP px so that faces of about one size share
            # a model call
            return int(np.clip(BOX_STEP * math.ceil(native / BOX_STEP - 1e-6), *BOX_LR_RANGE))
        low, high = FREE_SIZE_LR_RANGE if hr_size is None else self.method.native_lr_range or (8, hr_size)
        return int(np.clip(round(native), low, high))

    def hr_size(self, lr_size: int) -> int:
        """Side of the restored face for an LR crop of ``lr_size``."""
        return self.method.hr_size or max(1, math.ceil(lr_size * self.method.scale - 1e-9))

    def largest_face(self) -> int:
        """Largest native face side the method restores without shrinking it: the network's output side
        (``hr_size``, else ``face_size``), else the largest LR crop of a free-size method."""
        return (self.method.hr_size or self.face_size
                or (BOX_LR_RANGE if self.box_crops else FREE_SIZE_LR_RANGE)[1])

    def keep_reason(self, native: float, scale: float) -> str | None:
        """Why a face of ``native`` px keeps the bicubic background, None to restore it: it is more than
        ``max_squeeze`` × :meth:`largest_face` (the method would shrink it), or its side in the output photo
        (``native × scale``) is more than ``max_squeeze`` times the face the method gives for it (a fixed-size
        network's output, else its LR crop × the method's scale), so the restored face would be enlarged after
        restoration; either way it would come out softer than the background."""
        limit = self.largest_face()
        if native > self.max_squeeze * limit:
            return (f"{native:.0f} px face > {self.max_squeeze:g} x {limit} px, the largest that {self.name} restores "
                    "without shrinking it")
        side, out = native * scale, self.hr_size(self.lr_size(native))
        if side <= self.max_squeeze * out:
            return None
        return (f"the face is {side:.0f} px in the output, more than {self.max_squeeze:g} x the {out} px {self.name} "
                "restores it at")

    # --- inputs ------------------------------------------------------------------------------------------
    @staticmethod
    def _load(image: np.ndarray | str | os.PathLike) -> tuple[np.ndarray, np.ndarray, ImageInfo | None, str | None]:
        """(stored pixels for detection, float HxWxC in [0, 1], info, source name)."""
        if isinstance(image, (str, os.PathLike)):
            pixels, info = read_image(image)
            return pixels, to_float(pixels), info, os.fspath(image)
        pixels = np.asarray(image)
        pixels = pixels[..., None] if pixels.ndim == 2 else pixels
        if pixels.ndim != 3 or pixels.shape[2] not in (1, 2, 3, 4):
            raise ImageReadError(f"expected an HxW or HxWxC image with C in 1..4, got shape {pixels.shape}", "<array>")
        floats = pixels.astype(np.float32) if np.issubdtype(pixels.dtype, np.floating) else to_float(pixels)
        return pixels, floats, None, None

    def prepare_guide(self, guide: np.ndarray | str | os.PathLike) -> torch.Tensor:
        """GFRNet's guide (§3.1): the largest face of the guide photo aligned like the restored faces, at
        ``hr_size``, 1×3×H×W in [0, 1]; an ``aligned`` guide is resized whole. A file's result is cached."""
        key = os.fspath(guide) if isinstance(guide, (str, os.PathLike)) else None
        if key is not None and self._guide is not None and self._guide[0] == key:
            return self._guide[1]
        pixels, floats, _, source = self._load(guide)
        rgb = self._rgb(split_alpha(floats)[0])
        size = self.method.hr_size or self.face_size
        if size is None:
            raise ConfigError(f"method {self.name} has no fixed face size for a guide; pass face_size")
        if self.aligned:
            crop = warp(rgb, _resize_matrix(size / rgb.shape[1]), size)
        else:
            face = require_face(detect_faces(split_alpha(pixels)[0], self.detector, only_largest=True), source)[0]
            crop, _ = align_face(rgb, face.landmarks, size)
        tensor = torch.from_numpy(np.clip(crop, 0, 1).transpose(2, 0, 1).copy())[None]
        if key is not None:
            self._guide = (key, tensor)
        return tensor

    @staticmethod
    def _rgb(color: np.ndarray) -> np.ndarray:
        return np.repeat(color, 3, axis=2) if color.shape[2] == 1 else color

    # --- the pipeline ------------------------------------------------------------------------------------
    def restore(self, image: np.ndarray | str | os.PathLike,
                guide: np.ndarray | str | os.PathLike | torch.Tensor | None = None,
                save_warped_guide: bool = False) -> RestoreResult:
        """Restore every face of ``image`` (a path, or HxW / HxWxC uint8, uint16 or float [0, 1] pixels in RGB(A)
        order as :func:`facerestore.io.read_image` gives them, not OpenCV's BGR).

        ``guide``: GFRNet's reference photo (path, pixels or :meth:`prepare_guide`'s tensor).
        ``save_warped_guide``: also return GFRNet's warped guide per face (one more forward pass).
        A photo without faces gives the upscaled photo and a warning; faces kept at bicubic give one
        warning (:func:`kept_warning`). Raises ImageReadError for an unreadable file, NoFaceError for a
        guide photo without a face."""
        timings: dict[str, float] = {}
        start = time.perf_counter()
        pixels, floats, info, source = self._load(image)
        color, alpha = split_alpha(floats)
        rgb = self._rgb(color)
        timings["read"] = time.perf_counter() - start
        warnings: list[str] = []

        start = time.perf_counter()
        if self.aligned:
            if rgb.shape[0] != rgb.shape[1]:
                raise ImageReadError(f"an aligned face must be square, this one is {rgb.shape[1]}x{rgb.shape[0]}",
                                     source or "<array>")
            detected: list[DetectedFace] | None = None
        else:
            detected = detect_faces(split_alpha(pixels)[0], self.detector, only_center=self.only_center_face)
            if not detected:
                warnings.append("no face found: the photo is only upscaled")
        timings["detect"] = time.perf_counter() - start

        start = time.perf_counter()
        scale = self._scale(rgb.shape[1])
        aligned = self._align(rgb, detected, scale)
        timings["align"] = time.perf_counter() - start

        start = time.perf_counter()
        restored, warped = self._restore_faces(aligned, guide, save_warped_guide, scale)
        timings["restore"] = time.perf_counter() - start

        start = time.perf_counter()
        out = self._compose(color, alpha, aligned, restored, scale)
        timings["paste"] = time.perf_counter() - start

        faces = [RestoredFace(box=None if detected is None else detected[i].box,
                              score=None if detected is None else detected[i].score,
                              landmarks=face.points if detected is None else detected[i].landmarks,
                              matrix=face.matrix, crop=face.crop, restored=restored[i], native=face.native,
                              warped_guide=warped[i], kept="bicubic" if face.reason else None, reason=face.reason)
                 for i, face in enumerate(aligned)]
        note = kept_warning(faces)
        if note:
            warnings.append(note)
        bit_depth = info.bit_depth if info else (16 if pixels.dtype == np.uint16 else 8)
        return RestoreResult(image=out, bit_depth=bit_depth, scale=scale,
                             input_size=(rgb.shape[1], rgb.shape[0]), faces=faces, source=source, info=info,
                             timings=timings, warnings=warnings)

    def _align(self, rgb: np.ndarray, detected: list[DetectedFace] | None, scale: float) -> list[_Aligned]:
        """Each face at its own LR size (a face kept at bicubic: at its native size)."""
        if detected is None:  # aligned input: the whole image is the face
            native = float(rgb.shape[1])
            reason = self.keep_reason(native, scale)
            size = rgb.shape[1] if reason else self.lr_size(native)
            matrix = _resize_matrix(size / rgb.shape[1])
            return [_Aligned(np.clip(warp(rgb, matrix, size), 0, 1), matrix, template_68(size), native, reason)]
        faces = []
        for face in detected:
            native = native_size(face.landmarks)
            reason = self.keep_reason(native, scale)
            size = max(1, round(native)) if reason else self.lr_size(native)
            if self.box_crops and reason is None:
                crop, matrix = box_crop(rgb, face.landmarks, size)
            else:
                crop, matrix = align_face(rgb, face.landmarks, size)
            faces.append(_Aligned(np.clip(crop, 0, 1), matrix, transform_points(face.landmarks, matrix), native,
                                  reason))
        return faces

    def _restore_faces(self, faces: list[_Aligned], guide: np.ndarray | str | os.PathLike | torch.Tensor | None,
                       save_warped_guide: bool, scale: float) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
        """Restored faces, one batch per LR size (a kept face: its crop upscaled like the background), and
        warped guides (None unless asked for)."""
        restored: list = [self._upscale(face.crop, scale) if face.reason else None for face in faces]
        warped: list[np.ndarray | None] = [None] * len(faces)
        groups: dict[int, list[int]] = {}
        for index, face in enumerate(faces):
            if face.reason is None:
                groups.setdefault(face.crop.shape[0], []).append(index)
        if groups and "guide" in self.method.requires:  # once for all groups
            if guide is None:
                raise ConfigError(f"method {self.name} needs a guide photo of the same person (--guide)")
            guide = guide if isinstance(guide, torch.Tensor) else self.prepare_guide(guide)
        with_guide = save_warped_guide and self.method.returns_warped_guide
        for indices in groups.values():
            sample = self._sample([faces[i].crop for i in indices], [faces[i].points for i in indices], guide)
            outputs = self._run(sample, self.method)
            guides = self._run(sample, self.method.warped_guide) if with_guide else [None] * len(indices)
            for index, output, warped_guide in zip(indices, outputs, guides):
                restored[index], warped[index] = output, warped_guide
        return restored, warped

    def _sample(self, crops: list[np.ndarray], landmarks: list[np.ndarray],
                guide: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """The keys the method requires, for a batch of crops of one size (priors from the landmarks in crop
        pixels; ``guide``: :meth:`prepare_guide`'s tensor)."""
        lr = torch.from_numpy(np.stack(crops).transpose(0, 3, 1, 2).copy())
        lr_size = lr.shape[-1]
        hr_size = self.hr_size(lr_size)
        sample = {"lr": lr}
        requires = self.method.requires
        if "lr_up" in requires:
            sample["lr_up"] = imresize_torch(lr, size=(hr_size, hr_size)).clamp(0, 1)
        if "masks" in requires:  # Song §3.1, rendered at HR size from the crop's landmarks
            sample["masks"] = torch.from_numpy(np.stack(
                [component_masks(points, hr_size, scale=hr_size / lr_size) for points in landmarks]))
        if "guide" in requires:
            sample["guide"] = guide.expand(lr.shape[0], -1, -1, -1)
        return {key: sample[key] for key in requires}

    @torch.inference_mode()
    def _run(self, sample: Mapping[str, torch.Tensor], function) -> np.ndarray:
        """``function`` (the method, or GFRNet's warped guide) on the sample in batches of ``batch_size``;
        N×H×W×3 float32 in [0, 1]."""
        count = next(iter(sample.values())).shape[0]
        step = self.batch_size or count
        outputs = []
        for first in range(0, count, step):
            batch = {k: v[first:first + step].to(self.device).contiguous(memory_format=torch.channels_last)
                     for k, v in sample.items()}
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
                outputs.append(function(batch).float().clamp(0, 1).cpu())
        return torch.cat(outputs).permute(0, 2, 3, 1).numpy()

    def _upscale(self, image: np.ndarray, scale: float) -> np.ndarray:
        """``image`` resized by ``scale`` with the background's filter, clipped to [0, 1]."""
        side = max(1, round(image.shape[0] * scale))
        return np.clip(cv2.resize(image, (side, side), interpolation=self.interpolation), 0, 1)

    def _scale(self, width: int) -> float:
        """Background factor: ``scale``; else for aligned input the restored face's size over the input's, at
        least 1 (the crop's resolution is kept); else the method's scale, else 2."""
        if self.scale is not None:
            return float(self.scale)
        if self.aligned:
            return max(1.0, self.hr_size(self.lr_size(width)) / width)
        return float(self.method.scale or DEFAULT_SCALE)

    def _compose(self, color: np.ndarray, alpha: np.ndarray | None, faces: list[_Aligned],
                 restored: list[np.ndarray], scale: float) -> np.ndarray:
        """Upscaled background with the restored faces (not the kept ones) pasted back, alpha re-attached;
        HxWxC float32 in [0, 1]."""
        height, width = color.shape[:2]
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        out = np.clip(cv2.resize(color, size, interpolation=self.interpolation).reshape(size[1], size[0], -1), 0, 1)
        if self.aligned and faces[0].reason is None:  # the face is the whole image
            out = cv2.resize(restored[0], size, interpolation=cv2.INTER_AREA if scale < 1 else self.interpolation)
            out = out.reshape(size[1], size[0], 3)
            if color.shape[2] == 1:
                out = out @ _LUMA[:, None]
        elif not self.aligned:
            for face, image in zip(faces, restored):
                if face.reason is None:
                    out = self._paste(out, image, face.matrix, face.crop.shape[0], scale)
        out = np.clip(out, 0, 1)
        if alpha is not None:
            alpha_up = cv2.resize(alpha, size, interpolation=self.interpolation).reshape(size[1], size[0], 1)
            out = np.concatenate([out, np.clip(alpha_up, 0, 1)], axis=2)
        return np.ascontiguousarray(out, dtype=np.float32)

    @staticmethod
    def _paste(out: np.ndarray, face: np.ndarray, matrix: np.ndarray, lr_size: int, scale: float) -> np.ndarray:
        """Paste one restored face back with a feathered mask (facexlib style). A face more than 1.25× finer
        than the background is first area-downsized to its scale (warpAffine does not prefilter when it
        minifies, which would alias)."""
        face_scale = face.shape[0] / lr_size
        ratio = math.sqrt(abs(float(np.linalg.det(matrix[:, :2])))) * face_scale / scale  # face px per output px
        if ratio > 1.25:
            side = max(1, round(face.shape[0] / ratio))
            face = cv2.resize(face, (side, side), interpolation=cv2.INTER_AREA)
            face_scale = side / lr_size
        if out.shape[2] == 1:
            face = face @ _LUMA[:, None]
        return paste_back(out, face, invert_affine(matrix, upscale=scale, face_scale=face_scale), mask="feather")
