"""Appearance: skin and clothing colours, lighting and the room background."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rom_measure.synth.body import MATERIALS
from rom_measure.synth.camera import Camera

__all__ = ["Appearance", "appearance_for_seed", "background", "palette"]

_SKIN = ((0.93, 0.76, 0.64), (0.85, 0.66, 0.52), (0.72, 0.53, 0.40), (0.55, 0.38, 0.27))
_SHIRT = ((0.16, 0.30, 0.55), (0.55, 0.13, 0.14), (0.20, 0.42, 0.30), (0.85, 0.85, 0.82))
_TROUSERS = ((0.12, 0.12, 0.14), (0.18, 0.20, 0.28), (0.25, 0.23, 0.21))
_HAIR = ((0.10, 0.07, 0.05), (0.25, 0.16, 0.09), (0.45, 0.33, 0.20))


@dataclass(frozen=True)
class Appearance:
    """Colours (sRGB, 0..1) of the subject and the room."""

    skin_rgb: tuple[float, float, float] = _SKIN[1]
    shirt_rgb: tuple[float, float, float] = _SHIRT[0]
    trousers_rgb: tuple[float, float, float] = _TROUSERS[0]
    socks_rgb: tuple[float, float, float] = (0.92, 0.92, 0.90)
    hair_rgb: tuple[float, float, float] = _HAIR[0]
    wall_rgb: tuple[float, float, float] = (0.86, 0.84, 0.80)
    floor_rgb: tuple[float, float, float] = (0.62, 0.52, 0.42)
    chair_rgb: tuple[float, float, float] = (0.42, 0.27, 0.16)


def _jitter(rng: np.random.Generator, rgb: tuple[float, ...], amount: float) -> tuple:
    out = np.clip(np.asarray(rgb) * (1.0 + rng.uniform(-amount, amount, 3)), 0.0, 1.0)
    return tuple(float(x) for x in out)


def appearance_for_seed(seed: int) -> Appearance:
    """A small deterministic variation of skin tone, clothing and room colours."""
    if seed == 0:
        return Appearance()
    rng = np.random.default_rng(seed)

    def pick(options: tuple[tuple[float, float, float], ...]) -> tuple[float, float, float]:
        return options[int(rng.integers(len(options)))]

    return Appearance(
        skin_rgb=_jitter(rng, pick(_SKIN), 0.04),
        shirt_rgb=_jitter(rng, pick(_SHIRT), 0.1),
        trousers_rgb=_jitter(rng, pick(_TROUSERS), 0.1),
        hair_rgb=_jitter(rng, pick(_HAIR), 0.1),
        wall_rgb=_jitter(rng, Appearance.wall_rgb, 0.05),
        floor_rgb=_jitter(rng, Appearance.floor_rgb, 0.1),
    )


def palette(look: Appearance) -> np.ndarray:
    """(len(MATERIALS), 3) linear-light albedo per material."""
    skin = np.asarray(look.skin_rgb)
    colours = {
        "skin": skin,
        "shirt": np.asarray(look.shirt_rgb),
        "trousers": np.asarray(look.trousers_rgb),
        "socks": np.asarray(look.socks_rgb),
        "eye_white": np.array([0.85, 0.83, 0.80]),
        "iris": np.array([0.10, 0.07, 0.05]),
        "hair": np.asarray(look.hair_rgb),
        "brow": 0.45 * np.asarray(look.hair_rgb) + 0.1 * skin,
        "lips": skin * np.array([0.78, 0.52, 0.50]),
        "lashes": np.array([0.05, 0.04, 0.04]),
        "chair": np.asarray(look.chair_rgb),
    }
    return np.stack([colours[m] for m in MATERIALS]) ** 2.2


def _value_noise(shape: tuple[int, int], cells: int, rng: np.random.Generator) -> np.ndarray:
    import cv2

    grid = rng.standard_normal((cells, max(2, cells * shape[1] // max(shape[0], 1))))
    return cv2.resize(grid, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)


def background(
    camera: Camera, look: Appearance, wall_behind_m: float = 1.6, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Room behind the subject: a wall facing the camera and a floor.

    Args:
        camera: the camera.
        look: colours.
        wall_behind_m: distance of the wall behind the vertical axis of the subject.
        seed: texture noise seed.

    Returns:
        (linear-light image (h, w, 3) float32, floor mask (h, w) bool).
    """
    d = camera.ray_directions()
    c = camera.position_m
    yaw = np.radians(camera.yaw_deg)
    fwd = np.array([-np.sin(yaw), 0.0, -np.cos(yaw)])
    along = d @ fwd
    t_wall = np.where(
        along > 1e-6, (camera.distance_m + wall_behind_m) / np.maximum(along, 1e-6), np.inf
    )
    t_floor = np.where(d[..., 1] < -1e-6, -c[1] / np.minimum(d[..., 1], -1e-6), np.inf)
    floor = t_floor < t_wall
    hit = c + d * np.minimum(t_floor, t_wall)[..., None]
    rng = np.random.default_rng(1000 + seed)
    noise = _value_noise(floor.shape, 24, rng)
    wall = np.asarray(look.wall_rgb) ** 2.2
    floor_rgb = np.asarray(look.floor_rgb) ** 2.2
    y = np.clip(hit[..., 1], 0.0, 3.0)
    wall_img = wall * (0.78 + 0.10 * np.tanh(y - 0.6))[..., None]
    wall_img = wall_img * (1.0 - 0.25 * np.exp(-y / 0.25))[..., None]  # corner shading
    board = (y < 0.10) & ~floor
    wall_img[board] = wall * 0.95
    depth_behind = (hit @ fwd) - (c @ fwd)  # distance along the view
    dist = np.clip(depth_behind - camera.distance_m, -3.0, 3.0)
    floor_img = floor_rgb * (0.75 - 0.06 * dist + 0.02 * noise)[..., None]
    to_wall = np.clip(camera.distance_m + wall_behind_m - depth_behind, 0.0, 5.0)
    floor_img = floor_img * (1.0 - 0.3 * np.exp(-to_wall / 0.3))[..., None]
    img = np.where(floor[..., None], floor_img, wall_img * (1.0 + 0.01 * noise[..., None]))
    return np.clip(img, 0.0, 1.0).astype(np.float32), floor
