"""Vector and plane angle primitives, vectorised over leading axes.

Conventions (all angles in degrees):

- :func:`angle_between` is unsigned, in [0, 180].
- :func:`signed_angle_2d` is the counter-clockwise rotation from ``u`` to ``v`` in a
  right-handed x-right / y-up frame, in (-180, 180]. Image coordinates have y down,
  so convert them with :func:`image_to_upright` first.
- :func:`signed_angle_in_plane` projects both vectors onto the plane with normal ``n``
  and measures the rotation from ``u`` to ``v`` that is counter-clockwise when seen
  from the tip of ``n`` (right-hand rule), in (-180, 180].

Degenerate input (zero-length vectors) gives NaN, never an arbitrary angle.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "angle_between",
    "best_fit_rotation_2d",
    "image_to_upright",
    "project_onto_plane",
    "rotate_2d",
    "signed_angle_2d",
    "signed_angle_in_plane",
    "unit",
    "wrap_deg",
]

_EPS = 1e-12


def unit(v: np.ndarray) -> np.ndarray:
    """``v`` scaled to length 1 along the last axis (NaN where its length is 0)."""
    v = np.asarray(v, dtype=np.float64)
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > _EPS, v / np.where(norm > _EPS, norm, 1.0), np.nan)


def angle_between(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Unsigned angle between ``u`` and ``v`` (any dimension), degrees in [0, 180]."""
    uu, vv = unit(u), unit(v)
    # atan2 of |cross| and dot is accurate near 0 and 180, unlike arccos.
    dot = np.sum(uu * vv, axis=-1)
    if uu.shape[-1] == 2:
        cross = np.abs(uu[..., 0] * vv[..., 1] - uu[..., 1] * vv[..., 0])
    else:
        cross = np.linalg.norm(np.cross(uu, vv), axis=-1)
    return np.degrees(np.arctan2(cross, dot))


def signed_angle_2d(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Counter-clockwise angle from ``u`` to ``v`` (x right, y up), degrees in (-180, 180]."""
    u = np.asarray(u, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    cross = u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]
    dot = u[..., 0] * v[..., 0] + u[..., 1] * v[..., 1]
    degenerate = (np.hypot(u[..., 0], u[..., 1]) < _EPS) | (np.hypot(v[..., 0], v[..., 1]) < _EPS)
    angle = np.degrees(np.arctan2(cross, dot))
    angle = np.where(angle == -180.0, 180.0, angle)
    return np.where(degenerate, np.nan, angle)


def project_onto_plane(v: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """Component of ``v`` orthogonal to ``normal`` (3D)."""
    n = unit(normal)
    v = np.asarray(v, dtype=np.float64)
    return v - np.sum(v * n, axis=-1, keepdims=True) * n


def signed_angle_in_plane(u: np.ndarray, v: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """Rotation from ``u`` to ``v`` about ``normal`` after projecting both onto its plane."""
    n = unit(normal)
    pu = project_onto_plane(u, n)
    pv = project_onto_plane(v, n)
    cross = np.sum(np.cross(pu, pv) * n, axis=-1)
    dot = np.sum(pu * pv, axis=-1)
    degenerate = (np.linalg.norm(pu, axis=-1) < _EPS) | (np.linalg.norm(pv, axis=-1) < _EPS)
    angle = np.degrees(np.arctan2(cross, dot))
    angle = np.where(angle == -180.0, 180.0, angle)
    return np.where(degenerate | ~np.isfinite(cross), np.nan, angle)


def rotate_2d(v: np.ndarray, angle_deg: float | np.ndarray) -> np.ndarray:
    """Rotate 2D vectors counter-clockwise (x right, y up) by ``angle_deg``."""
    a = np.radians(angle_deg)
    c, s = np.cos(a), np.sin(a)
    v = np.asarray(v, dtype=np.float64)
    return np.stack([c * v[..., 0] - s * v[..., 1], s * v[..., 0] + c * v[..., 1]], axis=-1)


def image_to_upright(points: np.ndarray) -> np.ndarray:
    """Image coordinates (y down) -> upright coordinates (y up); x is kept."""
    p = np.array(points, dtype=np.float64, copy=True)
    p[..., 1] = -p[..., 1]
    return p


def wrap_deg(angle: np.ndarray | float) -> np.ndarray:
    """Wrap angles to (-180, 180]."""
    wrapped = -((180.0 - np.asarray(angle, dtype=np.float64)) % 360.0 - 180.0)
    return np.where(wrapped == -180.0, 180.0, wrapped)


def best_fit_rotation_2d(
    reference: np.ndarray, points: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """Least-squares rotation (degrees, counter-clockwise, y up) taking ``reference`` to ``points``.

    ``reference`` is (N, 2); ``points`` is (..., N, 2). Both are centred on their
    weighted centroids first, so translation does not matter and scale does not
    change the angle (2D Procrustes / Kabsch). Points with NaN are ignored; fewer
    than two usable points give NaN.
    """
    ref = np.asarray(reference, dtype=np.float64)
    pts = np.asarray(points, dtype=np.float64)
    w = np.ones(ref.shape[0]) if weights is None else np.asarray(weights, dtype=np.float64)
    usable = np.isfinite(pts).all(axis=-1) & np.isfinite(ref).all(axis=-1)
    wu = np.where(usable, w, 0.0)
    total = wu.sum(axis=-1, keepdims=True)
    safe_total = np.where(total > 0, total, 1.0)
    ref_b = np.where(usable[..., None], ref, 0.0)
    pts_b = np.where(usable[..., None], pts, 0.0)
    ref_c = ref_b - (wu[..., None] * ref_b).sum(axis=-2, keepdims=True) / safe_total[..., None]
    pts_c = pts_b - (wu[..., None] * pts_b).sum(axis=-2, keepdims=True) / safe_total[..., None]
    cross = (wu * (ref_c[..., 0] * pts_c[..., 1] - ref_c[..., 1] * pts_c[..., 0])).sum(axis=-1)
    dot = (wu * (ref_c[..., 0] * pts_c[..., 0] + ref_c[..., 1] * pts_c[..., 1])).sum(axis=-1)
    angle = np.degrees(np.arctan2(cross, dot))
    return np.where((usable.sum(axis=-1) >= 2) & (np.hypot(cross, dot) > _EPS), angle, np.nan)
