"""Head orientation from the 468-point face mesh: a rigid fit against the still start.

Each frame's rigid points (forehead midline, nose bridge and tip, eye corners; not the
jaw, lips or eyelids, which move on their own) are fitted to their start-of-clip
configuration by the least-squares rotation (Kabsch, about their centroids; the face's
distance, a uniform scale, does not change it). The rotation is expressed in subject
axes: x = subject's left, y = up, z = forward, assuming a front (or back) view at the
start. From the rotated axes: yaw = turn of the forward axis toward the left, in the
horizontal plane; pitch = its tilt upward; roll = turn of the left-right axis about the
forward axis after undoing yaw and pitch, left side up positive. The mesh is taken as a
weak-perspective (orthographic) view: at 4 m a head turned 70 deg reads ~1 deg high.
The mesh model itself under-reads yaw past ~50 deg and stops near 60 deg on rendered
heads (its x, y, not its depth: a per-clip depth scale does not help; docs/accuracy.md),
hence the neck rotation's valid range (``movements.MESH_YAW_VALID_MAX_DEG``).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "PRESENT_SCORE",
    "RIGID_POINTS",
    "axes_angles",
    "best_fit_rotation_3d",
    "head_rotations",
    "rotation",
    "to_subject_axes",
]

# MediaPipe canonical face mesh indices: the forehead and glabella midline (10, 151, 9,
# 8), the nose bridge and tip (168, 6, 197, 195, 5, 4, 1) and the inner and outer eye
# corners (33, 133, 263, 362). Chosen on the training split of the rendered validation
# clips over a larger set that adds the cheekbones, temples and face outline at eye
# level (those are poorly placed on the far side of a turned face): training residual
# after the fitted gain, median/max, 1.2/1.7 deg against 2.1/2.4 (rotation), 1.0/1.8
# against 0.8/1.3 (lateral flexion).
#: Face-presence probability from which a frame's mesh is used by the front-view fit.
PRESENT_SCORE = 0.5
RIGID_POINTS = (10, 151, 9, 8, 168, 6, 197, 195, 5, 4, 1, 33, 133, 263, 362)
_MIN_POINTS = 12
_START_S = 1.0


def rotation(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """Rotation in subject axes (x left, y up, z forward): roll, then pitch, then yaw.

    Yaw turns forward toward the left (about y), pitch tilts forward upward (about -x),
    roll turns the left axis upward (about z, counter-clockwise seen from the front).
    """
    y, p, r = np.radians([yaw_deg, pitch_deg, roll_deg])
    yaw = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    pitch = np.array([[1, 0, 0], [0, np.cos(p), np.sin(p)], [0, -np.sin(p), np.cos(p)]])
    roll = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return yaw @ pitch @ roll


def best_fit_rotation_3d(reference: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(3, 3) proper rotation R minimising |R (reference - c) s - (points - c')| (Kabsch).

    Rows with a NaN are left out; fewer than three usable rows give NaN.
    """
    usable = np.isfinite(reference).all(axis=1) & np.isfinite(points).all(axis=1)
    if usable.sum() < 3:
        return np.full((3, 3), np.nan)
    a = reference[usable] - reference[usable].mean(axis=0)
    b = points[usable] - points[usable].mean(axis=0)
    u, _, vt = np.linalg.svd(b.T @ a)
    sign = np.sign(np.linalg.det(u @ vt)) or 1.0
    return u @ np.diag([1.0, 1.0, sign]) @ vt


def axes_angles(rot: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees of a rotation in subject axes (inverse of :func:`rotation`).

    Yaw and pitch come from the rotated forward axis; roll from the rotated left axis
    after undoing yaw and pitch.
    """
    if not np.isfinite(rot).all():
        return (float("nan"),) * 3
    forward = rot[:, 2]
    yaw = np.degrees(np.arctan2(forward[0], forward[2]))
    pitch = np.degrees(np.arcsin(np.clip(forward[1], -1.0, 1.0)))
    rest = rotation(yaw, pitch, 0.0).T @ rot
    roll = np.degrees(np.arctan2(rest[1, 0], rest[0, 0]))
    return float(yaw), float(pitch), float(roll)


def to_subject_axes(face: np.ndarray, left_at_plus_x: float) -> np.ndarray:
    """Image-pixel mesh (x right, y down, z away) -> subject axes for a front/back view.

    ``left_at_plus_x`` is +1 for a front view (the subject's left at image right), -1
    for a back view; the map keeps the axes right-handed.
    """
    return face * np.array([left_at_plus_x, -1.0, -left_at_plus_x])


def head_rotations(
    face: np.ndarray,
    time_s: np.ndarray,
    left_at_plus_x: float = 1.0,
) -> np.ndarray:
    """(T, 3, 3) head rotation of each frame from the still start, in subject axes.

    The reference is the per-point median of the rigid points over the first second
    (or the whole clip when the face is not found there); NaN where the face is not
    found or has fewer than 12 usable rigid points.
    """
    points = to_subject_axes(face[:, list(RIGID_POINTS)].astype(np.float64), left_at_plus_x)
    found = np.isfinite(points).all(axis=2).sum(axis=1) >= _MIN_POINTS
    out = np.full((face.shape[0], 3, 3), np.nan)
    if not found.any():
        return out
    start = found & (time_s <= time_s[0] + _START_S)
    reference = np.median(points[start if start.any() else found], axis=0)
    for index in np.flatnonzero(found):
        out[index] = best_fit_rotation_3d(reference, points[index])
    return out


#: Largest RMS misfit of the rigid points after the in-image similarity fit, as a share
#: of their RMS spread, for a profile frame to count (a mesh that lost the face deforms;
#: a sound one misfits up to ~0.5 at full flexion, as the profile changes shape).
MAX_PROFILE_RESIDUAL = 0.6
#: Largest change of the face's size in the image from the start (a factor either way).
MAX_PROFILE_SCALE = 1.25
#: Share of the points kept (those fitting best) for the second, trimmed fit.
PROFILE_KEEP = 0.5


def _turned(reference: np.ndarray, angle_deg: np.ndarray) -> np.ndarray:
    """(T, N, 2): the (N, 2) ``reference`` turned counter-clockwise by each angle."""
    theta = np.radians(angle_deg)[:, None]
    cos, sin = np.cos(theta), np.sin(theta)
    x, y = reference[:, 0], reference[:, 1]
    return np.stack([cos * x - sin * y, sin * x + cos * y], axis=-1)


def _similarity_misfit(
    reference: np.ndarray, points: np.ndarray, angle_deg: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(T, N) distance of each centred point from the turned, best-scaled reference; (T,) scale."""
    turned = _turned(reference, angle_deg)
    scale = (turned * points).sum(axis=(1, 2)) / (turned**2).sum(axis=(1, 2))
    return np.linalg.norm(points - scale[:, None, None] * turned, axis=2), scale


def profile_rotations(points: np.ndarray, time_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """In-image rotation (deg, counter-clockwise, y up) of a profile face from the still start.

    ``points`` is (T, N, 2) upright image coordinates of rigid face points. In a side
    view head pitch turns them about an axis toward the camera, i.e. within the image,
    so a 2D similarity fit (Procrustes: rotation, uniform scale, translation) against
    their median centred configuration over the first second gives the pitch; it is
    refitted on the ``PROFILE_KEEP`` share of the points that fit best. Returns the angles
    and each frame's RMS misfit as a share of the reference's RMS spread; angles are NaN
    where points are missing, the misfit exceeds ``MAX_PROFILE_RESIDUAL`` or the face's
    size changed by more than ``MAX_PROFILE_SCALE``.
    """
    from rom_measure.measure.geometry import best_fit_rotation_2d

    pts = np.asarray(points, dtype=np.float64)
    found = np.isfinite(pts).all(axis=(1, 2))
    angle, residual = np.full(pts.shape[0], np.nan), np.full(pts.shape[0], np.nan)
    if not found.any():
        return angle, residual
    centred = pts[found] - pts[found].mean(axis=1, keepdims=True)
    start = (time_s <= time_s[0] + _START_S)[found]
    reference = np.median(centred[start] if start.any() else centred, axis=0)
    first = best_fit_rotation_2d(reference, centred)
    misfit, _ = _similarity_misfit(reference, centred, first)
    keep = misfit <= np.quantile(misfit, PROFILE_KEEP, axis=1, keepdims=True)
    turn = best_fit_rotation_2d(reference, centred, keep.astype(np.float64))
    misfit, scale = _similarity_misfit(reference, centred, turn)
    spread = float(np.sqrt((reference**2).sum(axis=1).mean()))
    residual[found] = np.sqrt((misfit**2).mean(axis=1)) / (scale * spread)
    with np.errstate(invalid="ignore", divide="ignore"):
        sound = (residual[found] <= MAX_PROFILE_RESIDUAL) & (
            np.abs(np.log(scale)) <= np.log(MAX_PROFILE_SCALE)
        )
    angle[np.flatnonzero(found)[sound]] = turn[sound]
    return angle, residual
