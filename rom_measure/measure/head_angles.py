"""Head angles: pitch, roll and yaw of the head from pose face points or the face mesh.

Used by the neck movements in :mod:`rom_measure.measure.movements` (the one place where
each movement's definition lives); they are split out only to keep modules short.
"""

from __future__ import annotations

import numpy as np

from rom_measure.measure.geometry import best_fit_rotation_2d, signed_angle_2d
from rom_measure.measure.image_axes import (
    HIPS,
    SHOULDERS,
    VISIBLE,
    facing_sign,
    left_at_plus_x_sign,
)
from rom_measure.measure.image_axes import frontal as _frontal
from rom_measure.measure.image_axes import midpoint as _mid
from rom_measure.measure.image_axes import sagittal as _sagittal
from rom_measure.measure.landmarks import Landmark as L
from rom_measure.measure.landmarks import LandmarkSeries

__all__ = [
    "head_extension_angle", "head_pitch_angle", "head_roll_angle", "head_yaw_angle",
    "mesh_pitch_angle", "mesh_roll_angle", "mesh_yaw_angle", "trunk_tilt_2d",
]  # fmt: skip


def trunk_tilt_2d(xy: np.ndarray, series: LandmarkSeries) -> np.ndarray:
    """Counter-clockwise tilt of the trunk line from vertical, or 0 where hips are unseen.

    Neck clips often frame only head and shoulders; then the trunk is taken as still.
    """
    hips_seen = (series.visibility[:, list(HIPS)] >= VISIBLE).all(axis=1)
    if hips_seen.mean() < 0.8:
        return np.zeros(series.frames)
    trunk_up = _mid(xy, *SHOULDERS) - _mid(xy, *HIPS)
    return signed_angle_2d(np.array([0.0, 1.0]), trunk_up)


def _reference_shape(points: np.ndarray, series: LandmarkSeries) -> np.ndarray:
    """Median face configuration over the first second (the still start), centred.

    Falls back to the whole clip when the face is unseen at the start; a face never
    seen gives NaN (and so NaN angles), without numpy's all-NaN warnings.
    """
    seen = np.isfinite(points).all(axis=(1, 2))
    start = seen & (series.time_s <= series.time_s[0] + 1.0)
    frames = start if start.any() else seen
    if not frames.any():
        return np.full(points.shape[1:], np.nan)
    ref = np.median(points[frames], axis=0)
    return ref - ref.mean(axis=0)


def head_pitch_angle(series: LandmarkSeries, side: str) -> np.ndarray:
    """Head flexion: rotation of the face's midline points relative to the trunk, side view.

    The face's rotation is the least-squares 2D rotation of the nose and the midpoints
    of the inner eyes, eyes, outer eyes and mouth corners from their configuration at
    the start of the clip. Midpoints lie in the mid-sagittal plane, so perspective
    does not distort their configuration; ears are left out (their landmark barely
    follows head pitch).
    """
    xy = _sagittal(series)
    pairs = ((L.LEFT_EYE_INNER, L.RIGHT_EYE_INNER), (L.LEFT_EYE, L.RIGHT_EYE),
             (L.LEFT_EYE_OUTER, L.RIGHT_EYE_OUTER), (L.MOUTH_LEFT, L.MOUTH_RIGHT))  # fmt: skip
    face = np.stack([xy[:, L.NOSE], *(_mid(xy, a, b) for a, b in pairs)], axis=1)
    head_ccw = best_fit_rotation_2d(_reference_shape(face, series), face)
    return -(head_ccw - trunk_tilt_2d(xy, series))


def mesh_pitch_angle(series: LandmarkSeries, side: str) -> np.ndarray:
    """Head flexion from the face mesh in profile: in-image rotation minus the trunk's tilt.

    The rigid mesh points (:data:`~rom_measure.measure.facepose.RIGID_POINTS`) are used
    whatever the mesh's face-presence score, which is low in profile; a frame counts
    when the points keep their rigid shape (see
    :func:`~rom_measure.measure.facepose.profile_rotations`). Without a mesh, NaN.
    """
    if series.face is None:
        return np.full(series.frames, np.nan)
    from rom_measure.measure.facepose import RIGID_POINTS, profile_rotations

    face = series.face[:, list(RIGID_POINTS), :2].astype(np.float64)
    face = face * np.array([facing_sign(series), -1.0])
    head_ccw, _ = profile_rotations(face, series.time_s)
    return -(head_ccw - trunk_tilt_2d(_sagittal(series), series))


def head_extension_angle(series: LandmarkSeries, side: str) -> np.ndarray:
    """Head pitch with the sign reversed (looking up is positive)."""
    return -head_pitch_angle(series, side)


def head_roll_angle(series: LandmarkSeries, side: str) -> np.ndarray:
    """Lateral flexion: head line (eyes, ears, mouth) against the shoulder line, front view."""
    xy = _frontal(series)
    shoulder_line = xy[:, L.LEFT_SHOULDER] - xy[:, L.RIGHT_SHOULDER]
    pairs = ((L.LEFT_EYE_OUTER, L.RIGHT_EYE_OUTER, 1.0), (L.LEFT_EYE, L.RIGHT_EYE, 1.0),
             (L.LEFT_EAR, L.RIGHT_EAR, 1.0), (L.MOUTH_LEFT, L.MOUTH_RIGHT, 0.5))  # fmt: skip
    head_line = sum(w * _unit2(xy[:, a] - xy[:, b]) for a, b, w in pairs)
    roll_ccw = signed_angle_2d(shoulder_line, head_line)
    return -roll_ccw if side == "left" else roll_ccw


def _unit2(v: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return v / norm


def head_yaw_angle(series: LandmarkSeries, side: str) -> np.ndarray:
    """Neck rotation: head yaw from a 3D face fit, front view (trunk assumed still).

    See :mod:`rom_measure.measure.headpose` for the face template and the solvePnP fit. The
    trunk's yaw is not subtracted: MediaPipe's metric landmarks turn the shoulders
    with the head (25 deg of false trunk yaw at 60 deg of head yaw on rendered
    subjects), so trunk rotation is checked from the shoulder width instead.
    """
    from rom_measure.measure.headpose import head_yaw_deg

    yaw = head_yaw_deg(series)
    return yaw if side == "left" else -yaw


def _mesh_rotations(series: LandmarkSeries) -> np.ndarray | None:
    """(T, 3, 3) head rotations from the face mesh, or None without a mesh."""
    if series.face is None:
        return None
    from rom_measure.measure.facepose import PRESENT_SCORE, head_rotations

    face = series.face
    if series.face_score is not None:  # the front-view fit trusts only a present face
        with np.errstate(invalid="ignore"):
            present = series.face_score >= PRESENT_SCORE
        face = np.where(present[:, None, None], face, np.nan)
    return head_rotations(face, series.time_s, left_at_plus_x_sign(series))


def mesh_yaw_angle(series: LandmarkSeries, side: str) -> np.ndarray:
    """Neck rotation from the face mesh: yaw of the head's rigid points from the start.

    Without a face mesh, NaN (:meth:`Movement.angles` then uses the pose landmarks).
    """
    from rom_measure.measure.facepose import axes_angles

    rotations = _mesh_rotations(series)
    if rotations is None:
        return np.full(series.frames, np.nan)
    yaw = np.array([axes_angles(r)[0] for r in rotations])
    return yaw if side == "left" else -yaw


def mesh_roll_angle(series: LandmarkSeries, side: str) -> np.ndarray:
    """Lateral flexion from the face mesh: head roll from the start against the shoulder line.

    Without a face mesh, NaN.
    """
    from rom_measure.measure.facepose import axes_angles

    rotations = _mesh_rotations(series)
    if rotations is None:
        return np.full(series.frames, np.nan)
    xy = _frontal(series)
    shoulder_ccw = signed_angle_2d(
        np.array([1.0, 0.0]), xy[:, L.LEFT_SHOULDER] - xy[:, L.RIGHT_SHOULDER]
    )
    roll_ccw = np.array([axes_angles(r)[2] for r in rotations]) - shoulder_ccw
    return -roll_ccw if side == "left" else roll_ccw
