"""Parameters of a synthetic face: who (identity) and how it was photographed (scene).

Identity parameters are drawn from ``(seed, identity)`` alone, so every photo of one identity shares
them; scene parameters (pose, expression, lighting, background, framing) are drawn per photo.
Lengths are in face units: half the face width (jaw point 0 to 16 is 2 units), y down, origin at the
midpoint between the eye centres.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .textures import NUM_IRIS_SPRITES

_IDENTITY_STREAM = 1
_SCENE_STREAM = 2
_ASSIGN_STREAM = 3

SKIN_TONES = np.array([  # sRGB, light to dark
    (0.96, 0.80, 0.69), (0.92, 0.72, 0.60), (0.84, 0.62, 0.48),
    (0.72, 0.50, 0.36), (0.55, 0.37, 0.25), (0.38, 0.25, 0.17)], np.float32)
HAIR_COLOURS = np.array([  # black, dark brown, brown, light brown, blonde, auburn, grey, white
    (0.05, 0.04, 0.035), (0.13, 0.085, 0.06), (0.28, 0.18, 0.11), (0.45, 0.32, 0.2),
    (0.72, 0.58, 0.37), (0.48, 0.21, 0.1), (0.5, 0.49, 0.48), (0.8, 0.79, 0.76)], np.float32)
HAIR_WEIGHTS = np.array([0.3, 0.25, 0.15, 0.1, 0.08, 0.05, 0.05, 0.02])
IRIS_COLOURS = np.array([  # dark brown, brown, hazel, green, blue, grey
    (0.2, 0.11, 0.05), (0.36, 0.2, 0.09), (0.45, 0.37, 0.17), (0.28, 0.43, 0.27),
    (0.3, 0.48, 0.7), (0.5, 0.55, 0.6)], np.float32)
IRIS_WEIGHTS = np.array([0.35, 0.25, 0.12, 0.08, 0.13, 0.07])


@dataclass(frozen=True)
class Identity:
    """Everything that stays fixed across photos of one person."""

    identity: int
    scale: float            # overall head size relative to the framing
    chin: float             # y of the chin (point 8)
    jaw_top: float          # y of jaw points 0 and 16
    jaw_power: float        # superellipse exponent of the jaw: 2 oval, 3 square
    jaw_taper: float        # narrowing of the lower jaw towards the chin
    eye_x: float            # x of the eye centres (half the inter-ocular distance)
    eye_width: float
    eye_height: float       # upper-lid height above the corner line, eyes fully open
    eye_tilt: float         # canthal tilt (outer corner up when > 0)
    brow_height: float      # brow above the eye centre
    brow_arch: float
    brow_thickness: float
    brow_density: float
    nose_y: float           # y of the subnasale (point 33)
    nose_width: float       # half width of the alae
    nose_depth: float       # protrusion of the nose tip
    mouth_y: float
    mouth_width: float      # half width
    upper_lip: float
    lower_lip: float
    skin: tuple[float, float, float]
    lip: tuple[float, float, float]
    hair: tuple[float, float, float]
    brow: tuple[float, float, float]
    iris: tuple[float, float, float]
    iris_sprite: int
    hair_style: int         # 0 short, 1 medium, 2 long
    hair_volume: float
    hair_wavy: bool
    hairline: float         # y of the hairline at the forehead centre
    hairline_recess: float  # temple recession (M-shaped hairline)
    texture_offset: tuple[float, float]  # where this skin sits in the texture bank, in [0, 1)
    pores: float
    freckles: float         # threshold of the freckle field; lower = more freckles
    ear_size: float
    glasses: int            # 0 none, 1 round, 2 rectangular
    glasses_colour: tuple[float, float, float]


@dataclass(frozen=True)
class Pose:
    """Head rotation in degrees (yaw: turn, + = towards image right; pitch: + = chin down; roll: in-plane)."""

    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0


@dataclass(frozen=True)
class Expression:
    """mouth_open, smile, brow_raise in [0, 1]; eye_open in [0.1, 1] (1 = wide open)."""

    mouth_open: float = 0.0
    smile: float = 0.0
    eye_open: float = 1.0
    brow_raise: float = 0.0


@dataclass(frozen=True)
class Scene:
    """Everything that changes from photo to photo."""

    pose: Pose
    expression: Expression
    gaze: tuple[float, float]              # camera-space gaze offset (x, y); (0, 0) looks at the camera
    light_dir: tuple[float, float, float]  # unit vector towards the light, camera space (x right, y down, z to viewer)
    light_intensity: float
    light_colour: tuple[float, float, float]
    ambient: float
    background: int                        # 0 blurred clutter, 1 textured wall, 2 studio gradient
    background_colours: tuple[tuple[float, float, float], tuple[float, float, float]]
    clothes: tuple[float, float, float]
    framing: tuple[float, float, float]    # (scale factor, dx, dy as fractions of the image size)
    detail_seed: int                       # seeds strokes (lashes, brow hairs) and clutter


def _rng(seed: int, index: int, stream: int, *extra: int) -> np.random.Generator:
    return np.random.default_rng([seed & 0xFFFFFFFF, index & 0xFFFFFFFF, *extra, stream])


def photo_rng(seed: int, index: int) -> np.random.Generator:
    """Generator of the scene of sample ``index``."""
    return _rng(seed, index, _SCENE_STREAM)


def pair_rng(seed: int, identity: int, pair_index: int, role: int) -> np.random.Generator:
    """Generator of a guide (role 0) or target (role 1) scene of a GFRNet pair; disjoint from photo_rng."""
    return _rng(seed, identity, _SCENE_STREAM, pair_index, role)


def _colour(rng: np.random.Generator, palette: np.ndarray, weights: np.ndarray, jitter: float) -> tuple:
    base = palette[rng.choice(len(palette), p=weights / weights.sum())]
    return tuple(float(c) for c in np.clip(base * rng.uniform(1 - jitter, 1 + jitter, 3), 0, 1))


def identity_of(seed: int, index: int, num_identities: int) -> int:
    """Identity of sample ``index`` in a data set of ``num_identities`` people: uniform draw from (seed, index)."""
    return int(_rng(seed, index, _ASSIGN_STREAM).integers(num_identities))


def sample_identity(seed: int, identity: int) -> Identity:
    """Draw the identity parameters of person ``identity`` (depends on ``(seed, identity)`` only)."""
    r = _rng(seed, identity, _IDENTITY_STREAM)
    u = r.uniform
    tone = u(0, len(SKIN_TONES) - 1)
    lo = int(tone)
    skin = SKIN_TONES[lo] + (tone - lo) * (SKIN_TONES[min(lo + 1, len(SKIN_TONES) - 1)] - SKIN_TONES[lo])
    skin = np.clip(skin * np.array([1.0, u(0.96, 1.03), u(0.94, 1.04)]), 0, 1)
    lip = np.clip(skin * np.array([u(0.82, 0.95), u(0.55, 0.68), u(0.58, 0.72)]), 0, 1)
    hair = _colour(r, HAIR_COLOURS, HAIR_WEIGHTS, 0.12)
    brow = tuple(float(c) for c in np.minimum(np.array(hair) * 0.8 + 0.02, np.array(skin) * 0.45))
    nose_y = u(0.62, 0.78)
    upper_lip = u(0.055, 0.1)
    mouth_y = nose_y + u(0.2, 0.3) + upper_lip
    glasses = int(r.choice(3, p=[0.82, 0.09, 0.09]))
    return Identity(
        identity=identity, scale=u(0.94, 1.06), chin=mouth_y + u(0.4, 0.52), jaw_top=u(0.0, 0.1),
        jaw_power=u(2.0, 3.0), jaw_taper=u(0.0, 0.3), eye_x=u(0.38, 0.45), eye_width=u(0.36, 0.43),
        eye_height=u(0.11, 0.155), eye_tilt=u(-0.05, 0.12), brow_height=u(0.22, 0.32), brow_arch=u(0.02, 0.08),
        brow_thickness=u(0.07, 0.12), brow_density=u(0.5, 1.0), nose_y=nose_y, nose_width=u(0.17, 0.26),
        nose_depth=u(0.32, 0.48), mouth_y=mouth_y, mouth_width=u(0.3, 0.4), upper_lip=upper_lip,
        lower_lip=u(0.07, 0.13), skin=tuple(float(c) for c in skin), lip=tuple(float(c) for c in lip),
        hair=hair, brow=brow, iris=_colour(r, IRIS_COLOURS, IRIS_WEIGHTS, 0.15),
        iris_sprite=int(r.integers(NUM_IRIS_SPRITES)), hair_style=int(r.choice(3, p=[0.4, 0.25, 0.35])),
        hair_volume=u(1.0, 1.2), hair_wavy=bool(r.random() < 0.35), hairline=u(-1.12, -0.82),
        hairline_recess=u(0.0, 0.2) if r.random() < 0.3 else 0.0,
        texture_offset=(u(0, 1), u(0, 1)), pores=u(0.015, 0.035), freckles=u(1.6, 3.5) if r.random() < 0.3 else 9.0,
        ear_size=u(0.9, 1.1), glasses=glasses,
        glasses_colour=tuple(float(c) for c in (r.uniform(0.03, 0.5) * np.ones(3) * u(0.8, 1.2, 3))))


def _light(r: np.random.Generator) -> tuple[float, float, float]:
    azimuth, elevation = np.radians(r.uniform(-60, 60)), np.radians(r.uniform(10, 50))
    return (float(np.sin(azimuth) * np.cos(elevation)), float(-np.sin(elevation)),
            float(np.cos(azimuth) * np.cos(elevation)))


def _random_colour(r: np.random.Generator, lo: float, hi: float) -> tuple[float, float, float]:
    """A muted random colour: grey level in [lo, hi] plus a partial saturation towards a random hue."""
    grey = r.uniform(lo, hi)
    return tuple(float(c) for c in np.clip(grey + r.uniform(0.1, 0.6) * (r.uniform(lo, hi, 3) - grey), 0, 1))


def sample_scene(r: np.random.Generator, *, frontal: bool = False) -> Scene:
    """Draw photo parameters from ``r`` (see photo_rng / pair_rng).

    ``frontal`` gives GFRNet's guide conditions (Li et al. 2018, Sec. 3: a frontal, eyes-open, neutral
    guide of the same person): |yaw|, |pitch|, |roll| <= 5 degrees, neutral face, soft light.
    """
    if frontal:
        pose = Pose(*r.uniform(-5, 5, 3))
        expression = Expression(eye_open=r.uniform(0.85, 1.0))
        azimuth_scale = 0.4
    else:
        pose = Pose(yaw=float(np.clip(r.normal(0, 17), -35, 35)), pitch=float(np.clip(r.normal(0, 7), -15, 15)),
                    roll=float(np.clip(r.normal(0, 8), -20, 20)))
        smile = r.uniform(0, 1) if r.random() < 0.5 else 0.0
        expression = Expression(mouth_open=r.uniform(0, 1) ** 2 if r.random() < 0.4 else 0.0, smile=smile,
                                eye_open=float(np.clip(r.uniform(0.35, 1.15), 0.15, 1.0) * (1 - 0.25 * smile)),
                                brow_raise=r.uniform(0, 1) if r.random() < 0.3 else 0.0)
        azimuth_scale = 1.0
    lx, ly, lz = _light(r)
    light = np.array([lx * azimuth_scale, ly, lz])
    warmth = r.uniform(-1, 1)
    return Scene(
        pose=Pose(*(float(v) for v in (pose.yaw, pose.pitch, pose.roll))),
        expression=Expression(*(float(v) for v in (expression.mouth_open, expression.smile,
                                                    expression.eye_open, expression.brow_raise))),
        gaze=(float(r.normal(0, 0.12)), float(r.normal(0, 0.08))),
        light_dir=tuple(float(v) for v in light / np.linalg.norm(light)),
        light_intensity=float(r.uniform(0.6, 0.85)),
        light_colour=(1.0 + 0.06 * warmth, 1.0, 1.0 - 0.08 * warmth), ambient=float(r.uniform(0.25, 0.4)),
        background=int(r.choice(3, p=[0.5, 0.25, 0.25])),
        background_colours=(_random_colour(r, 0.05, 0.95), _random_colour(r, 0.05, 0.95)),
        clothes=_random_colour(r, 0.05, 0.8),
        framing=(float(r.uniform(0.95, 1.05)), float(r.normal(0, 0.012)), float(r.normal(0, 0.012))),
        detail_seed=int(r.integers(2 ** 31)))
