"""Head orientation in 3D from face landmarks (for neck rotation).

Chosen method: fit a generic adult head template to the 2D nose, eye, ear and mouth
landmarks with OpenCV's ``solvePnP`` (pinhole camera, focal length = the longer image
side, i.e. a ~53 deg field of view). Why not MediaPipe's world landmarks for the head:
their depth is a learned guess with little face detail, whereas the 2D face landmarks
are what the model localises best; yaw relative to the still start cancels most of the
template's and the focal length's error. The trunk's yaw is estimated from the
shoulder width in the image (unsigned), only to flag trunk rotation.
"""

from __future__ import annotations

import numpy as np

from rom_measure.measure.landmarks import Landmark as L
from rom_measure.measure.landmarks import LandmarkSeries

__all__ = ["HEAD_TEMPLATE_MM", "head_yaw_deg", "trunk_turn_deg"]

# Generic head, millimetres; x = subject's left, y = up, z = forward; origin between
# the ear canals. Rounded anthropometric averages (inter-pupillary ~64 mm, bitragion
# breadth ~150 mm, tragion to nose tip ~105 mm).
HEAD_TEMPLATE_MM: dict[L, tuple[float, float, float]] = {
    L.NOSE: (0.0, -20.0, 105.0),
    L.LEFT_EYE_INNER: (16.0, 12.0, 84.0),
    L.LEFT_EYE: (32.0, 12.0, 80.0),
    L.LEFT_EYE_OUTER: (46.0, 12.0, 70.0),
    L.RIGHT_EYE_INNER: (-16.0, 12.0, 84.0),
    L.RIGHT_EYE: (-32.0, 12.0, 80.0),
    L.RIGHT_EYE_OUTER: (-46.0, 12.0, 70.0),
    L.LEFT_EAR: (75.0, 0.0, 0.0),
    L.RIGHT_EAR: (-75.0, 0.0, 0.0),
    L.MOUTH_LEFT: (25.0, -52.0, 85.0),
    L.MOUTH_RIGHT: (-25.0, -52.0, 85.0),
}
_MIN_POINTS = 6


def _camera_matrix(width: int, height: int) -> np.ndarray:
    focal = float(max(width, height))
    return np.array([[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1]], dtype=np.float64)


def _yaw_from_rvec(rvec: np.ndarray) -> float:
    """Yaw of the head's forward axis in camera coordinates (x right, y down, z away).

    Facing the camera gives 0; turning toward image right (the subject's left when
    facing the camera) is positive.
    """
    import cv2

    rotation, _ = cv2.Rodrigues(rvec)
    forward = rotation[:, 2]
    return float(np.degrees(np.arctan2(forward[0], -forward[2])))


def head_yaw_deg(series: LandmarkSeries) -> np.ndarray:
    """(T,) head yaw in degrees per frame (NaN where the fit is impossible)."""
    import cv2

    marks = list(HEAD_TEMPLATE_MM)
    template = np.array([HEAD_TEMPLATE_MM[m] for m in marks], dtype=np.float64)
    pixels = series.pixels()[:, marks]
    camera = _camera_matrix(*series.image_size)
    # Start facing the camera: head x->image x, head up->image -y, forward->-z.
    rvec = np.array([[np.pi], [0.0], [0.0]])
    tvec = np.array([[0.0], [0.0], [float(max(series.image_size)) * 0.2 * 1000 / 150]])
    yaw = np.full(series.frames, np.nan)
    for index in range(series.frames):
        usable = np.isfinite(pixels[index]).all(axis=1)
        if usable.sum() < _MIN_POINTS:
            continue
        ok, rvec_t, tvec_t = cv2.solvePnP(
            template[usable], pixels[index, usable].astype(np.float64), camera, None,
            rvec.copy(), tvec.copy(), useExtrinsicGuess=True, flags=cv2.SOLVEPNP_ITERATIVE,
        )  # fmt: skip
        if ok and tvec_t[2, 0] > 0:
            rvec, tvec = rvec_t, tvec_t
            yaw[index] = _yaw_from_rvec(rvec_t)
    return yaw


def trunk_turn_deg(series: LandmarkSeries, reference_s: float = 1.0) -> np.ndarray:
    """(T,) unsigned trunk yaw from the shoulder width against the first ``reference_s``.

    A front view sees the shoulders at full width; turning by t shrinks it by cos t.
    """
    xy = series.pixels()
    width = np.linalg.norm(xy[:, L.LEFT_SHOULDER] - xy[:, L.RIGHT_SHOULDER], axis=-1)
    start = series.time_s <= series.time_s[0] + reference_s
    reference = np.nanmedian(width[start]) if np.isfinite(width[start]).any() else np.nan
    with np.errstate(invalid="ignore"):
        return np.degrees(np.arccos(np.clip(width / reference, 0.0, 1.0)))
