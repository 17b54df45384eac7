"""Leg swaps seen through the standing leg: in a one-leg movement the other leg stays put.

In a side view the pose model at times labels the raised leg as the standing one for a
stretch of frames (often during the hold at the top, after both knees were briefly put
on the same leg, so motion continuity cannot tell which is which). Hip flexion and
extension and the ankle movements are done with one leg while the other stands still,
so a frame where the "other" leg is further from its own start posture than the
measured leg, by a clear margin, has the labels swapped.
"""

from __future__ import annotations

import numpy as np

from rom_measure.measure.landmarks import LandmarkSeries
from rom_measure.measure.movements import Movement, other_side

__all__ = ["MARGIN_DEG", "excursion", "still_leg_swaps"]

#: How much further (deg) the other leg must be from its start than the measured one.
MARGIN_DEG = 8.0
_START_S = 0.5


def excursion(series: LandmarkSeries, move: Movement, side: str) -> np.ndarray:
    """(T,) the movement's angle of ``side`` minus its median over the clip's first 0.5 s."""
    angle = np.asarray(move.angles(series, side), dtype=np.float64)
    start = np.isfinite(angle) & (series.time_s <= series.time_s[0] + _START_S)
    if not start.any():
        return np.full(series.frames, np.nan)
    return angle - float(np.median(angle[start]))


def still_leg_swaps(series: LandmarkSeries, move: Movement, side: str) -> np.ndarray:
    """(T,) bool: frames where the other leg moved the named way clearly more than ``side``.

    Only for movements whose other leg stands still (``move.other_leg_still``); all False
    otherwise. The caller decides whether the frames are swaps to undo or a wrong side.
    """
    frames = np.zeros(series.frames, dtype=bool)
    if not move.other_leg_still or series.frames == 0:
        return frames
    measured = excursion(series, move, side)
    other = excursion(series, move, other_side(side))
    with np.errstate(invalid="ignore"):
        frames = (other > MARGIN_DEG) & (other - measured > MARGIN_DEG)
    return frames
