"""Embedded synthetic face world: the project's default data for training, tests and the demo.

Faces are drawn from a parametric 3-D 68-point face (identity.py, geometry.py), posed and projected
like an aligned FFHQ/CelebA crop, and painted with procedural textures (render.py composing outlines.py,
raster.py, paint.py and lighting.py; textures.py).
Everything is deterministic in ``(seed, index)``; identity parameters depend on ``(seed, identity)``
only, so photos of one identity share them (GFRNet guide/target pairs, Li et al. 2018 Sec. 3).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..errors import ConfigError
from .geometry import project_face
from .identity import (Expression, Identity, Pose, Scene, identity_of, pair_rng, photo_rng, sample_identity,
                       sample_scene)
from .render import render_image

SIZES = (128, 256, 512)

__all__ = ["SIZES", "Expression", "Pose", "SynthFace", "identity_of", "render_face", "render_pair"]


@dataclass(frozen=True)
class SynthFace:
    """One rendered face.

    image (H, W, 3) float32 RGB in [0, 1]; landmarks (68, 2) float32 iBUG order, output pixel coordinates
    (pixel centres at integers); parsing (H, W) int64 labels of facerestore.face.labels; identity id;
    params: the identity and scene parameters that produced it (plain dict).
    """

    image: np.ndarray
    landmarks: np.ndarray
    parsing: np.ndarray
    identity: int
    params: dict


def _render(ident: Identity, scene: Scene, size: int) -> SynthFace:
    if size not in SIZES:
        raise ConfigError(f"synthetic face size must be one of {SIZES}, got {size}", "synth.size")
    geo = project_face(ident, scene, size)
    image, parsing = render_image(geo, ident, scene, size)
    return SynthFace(image=image, landmarks=geo.landmarks, parsing=parsing, identity=ident.identity,
                     params=_params(ident, scene))


def _params(ident: Identity, scene: Scene) -> dict:
    """Plain-dict copy of the parameters (dataclasses.asdict is slow enough to matter here)."""
    scene_dict = dict(vars(scene), pose=dict(vars(scene.pose)), expression=dict(vars(scene.expression)))
    return {"identity": dict(vars(ident)), "scene": scene_dict}


def render_face(seed: int, index: int, size: int = 128, *, identity: int | None = None,
                pose: Pose | None = None, expression: Expression | None = None) -> SynthFace:
    """Face ``index`` of the synthetic set ``seed``.

    ``identity`` defaults to ``index`` (every sample a new person); use ``identity_of`` to draw from a
    fixed number of people. ``pose`` / ``expression`` override the sampled ones.
    """
    scene = sample_scene(photo_rng(seed, index))
    if pose is not None:
        scene = replace(scene, pose=pose)
    if expression is not None:
        scene = replace(scene, expression=expression)
    return _render(sample_identity(seed, index if identity is None else identity), scene, size)


def render_pair(seed: int, identity: int, size: int = 128, pair_index: int = 0) -> tuple[SynthFace, SynthFace]:
    """GFRNet (guide, target): a frontal, eyes-open, neutral guide and a freely posed target of one person."""
    ident = sample_identity(seed, identity)
    guide = _render(ident, sample_scene(pair_rng(seed, identity, pair_index, 0), frontal=True), size)
    target = _render(ident, sample_scene(pair_rng(seed, identity, pair_index, 1)), size)
    return guide, target
