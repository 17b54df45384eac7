"""Per-clip image axes: upright pixel coordinates turned so that views read the same.

For side views the x axis is flipped so that the subject faces +x; for front views it
is flipped so that the subject's left is at +x (which makes front and back views read
the same).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from rom_measure.measure.landmarks import Landmark as L
from rom_measure.measure.landmarks import LandmarkSeries

__all__ = [
    "EARS", "FACE", "HIPS", "SHOULDERS", "SIDES", "VISIBLE", "facing_sign", "frontal",
    "left_at_plus_x_sign", "midpoint", "sagittal", "upright",
]  # fmt: skip

Side = Literal["left", "right"]
SIDES: tuple[Side, Side] = ("left", "right")
FACE = (L.NOSE, L.LEFT_EYE_INNER, L.LEFT_EYE, L.LEFT_EYE_OUTER, L.RIGHT_EYE_INNER,
        L.RIGHT_EYE, L.RIGHT_EYE_OUTER, L.MOUTH_LEFT, L.MOUTH_RIGHT)  # fmt: skip
EARS = (L.LEFT_EAR, L.RIGHT_EAR)
SHOULDERS = (L.LEFT_SHOULDER, L.RIGHT_SHOULDER)
HIPS = (L.LEFT_HIP, L.RIGHT_HIP)
VISIBLE = 0.5  # visibility above which a landmark counts as seen


def upright(series: LandmarkSeries) -> np.ndarray:
    """(T, K, 2) pixel coordinates with y pointing up."""
    xy = series.pixels()
    xy[..., 1] *= -1.0
    return xy


def _median_of(values: np.ndarray, weights: np.ndarray) -> float:
    keep = np.isfinite(values) & (weights >= VISIBLE)
    return float(np.median(values[keep])) if keep.any() else float("nan")


def facing_sign(series: LandmarkSeries) -> float:
    """+1 if the subject faces image right, -1 if image left (side views).

    Votes from the face (nose ahead of the ears) and both feet (toes ahead of
    heels), each a median over the clip, scaled by the body's size in the image.
    """
    xy = series.pixels()
    scale = _median_of(np.linalg.norm(xy[:, L.LEFT_SHOULDER] - xy[:, L.LEFT_HIP], axis=-1),
                       series.visibility[:, L.LEFT_SHOULDER]) or 1.0  # fmt: skip
    nose_ahead = xy[:, L.NOSE, 0] - xy[:, EARS, 0].mean(axis=1)
    votes = [_median_of(nose_ahead, series.visibility[:, L.NOSE])]
    for side in SIDES:
        toe, heel = L.of(side, "foot_index"), L.of(side, "heel")
        votes.append(_median_of(xy[:, toe, 0] - xy[:, heel, 0], series.visibility[:, toe]))
    total = np.nansum(np.asarray(votes) / (scale if np.isfinite(scale) else 1.0))
    return 1.0 if total >= 0 else -1.0


def left_at_plus_x_sign(series: LandmarkSeries) -> float:
    """+1 if the subject's left is at image right (front view), -1 otherwise (back view)."""
    xy = series.pixels()
    width = xy[:, L.LEFT_SHOULDER, 0] - xy[:, L.RIGHT_SHOULDER, 0]
    hips = xy[:, L.LEFT_HIP, 0] - xy[:, L.RIGHT_HIP, 0]
    vote = np.nanmedian(np.concatenate([width, hips])) if np.isfinite(width).any() else 1.0
    return 1.0 if not vote < 0 else -1.0


def sagittal(series: LandmarkSeries) -> np.ndarray:
    """Upright pixel coordinates with the subject facing +x."""
    xy = upright(series)
    xy[..., 0] *= facing_sign(series)
    return xy


def frontal(series: LandmarkSeries) -> np.ndarray:
    """Upright pixel coordinates with the subject's left at +x."""
    xy = upright(series)
    xy[..., 0] *= left_at_plus_x_sign(series)
    return xy


def midpoint(xy: np.ndarray, a: L, b: L) -> np.ndarray:
    """(T, 2) midpoint of landmarks ``a`` and ``b``."""
    return 0.5 * (xy[:, a] + xy[:, b])
