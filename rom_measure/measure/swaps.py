"""Leg swaps seen through the standing leg: in a one-leg movement the other leg stays put.

In a side view the pose model at times labels the raised leg as the standing one for a
stretch of frames (often during the hold at the top, after both knees were briefly put
on the same leg, so motion continuity cannot tell which is which). Hip flexion and
extension and the ankle movements are done with one leg while the other stands still,
so a run of frames where the "other" leg is further from its own start posture than the
measured leg, by a clear margin, while the measured leg was moving just before or just
after the run, has the labels swapped. (The far leg is seen worse; its noise alone does
not come with the measured leg high at the run's ends.)
"""

from __future__ import annotations

import numpy as np

from rom_measure.measure.landmarks import LandmarkSeries
from rom_measure.measure.movements import Movement, other_side
from rom_measure.measure.signal import true_runs

__all__ = ["MARGIN_DEG", "excursion", "other_leg_moved", "still_leg_swaps"]

#: How much further (deg) the other leg must be from its start than the measured one.
MARGIN_DEG = 8.0
#: Around a run, the measured leg must reach this share of the other leg's excursion in it.
CONTINUES_FRAC = 0.5
_FLANK_S = 0.2
#: How long a leg must keep an excursion for it to count as that leg's movement.
SUSTAINED_S = 0.3
_START_S = 0.5
_MIN_START_FRAMES = 5
#: Largest spread (deg) of a leg's angle over the first 0.5 s for the start to be still.
STILL_SPREAD_DEG = 5.0


def excursion(series: LandmarkSeries, move: Movement, side: str) -> np.ndarray:
    """(T,) the movement's angle of ``side`` minus its median over the clip's first 0.5 s.

    All NaN unless that start is still (its angles within ``STILL_SPREAD_DEG``): without
    a still start there is no reference to tell a moving leg from a standing one.
    """
    angle = np.asarray(move.angles(series, side), dtype=np.float64)
    start = np.isfinite(angle) & (series.time_s <= series.time_s[0] + _START_S)
    if start.sum() < _MIN_START_FRAMES or np.ptp(angle[start]) > STILL_SPREAD_DEG:
        return np.full(series.frames, np.nan)
    return angle - float(np.median(angle[start]))


def _flank_max(time_s: np.ndarray, values: np.ndarray, start: int, stop: int) -> float:
    """Largest finite value within ``_FLANK_S`` before frame ``start`` or after ``stop``."""
    before = (time_s >= time_s[start] - _FLANK_S) & (np.arange(time_s.size) < start)
    after = (time_s <= time_s[stop - 1] + _FLANK_S) & (np.arange(time_s.size) >= stop)
    near = values[before | after]
    near = near[np.isfinite(near)]
    return float(near.max()) if near.size else -np.inf


def still_leg_swaps(series: LandmarkSeries, move: Movement, side: str) -> np.ndarray:
    """(T,) bool: runs where the other leg took over the measured leg's movement.

    Only for movements whose other leg stands still (``move.other_leg_still``); all False
    otherwise.
    """
    frames = np.zeros(series.frames, dtype=bool)
    if not move.other_leg_still or series.frames == 0:
        return frames
    measured = excursion(series, move, side)
    other = excursion(series, move, other_side(side))
    with np.errstate(invalid="ignore"):
        candidate = (other > MARGIN_DEG) & (other - measured > MARGIN_DEG)
    for start, stop in true_runs(candidate):
        taken = float(np.median(other[start:stop]))
        if _flank_max(series.time_s, measured, start, stop) >= CONTINUES_FRAC * taken:
            frames[start:stop] = True
    return frames


def _sustained(time_s: np.ndarray, values: np.ndarray, span_s: float) -> float:
    """The largest level ``values`` keep for ``span_s`` (max over frames of the window min)."""
    best = -np.inf
    ends = np.searchsorted(time_s, time_s + span_s, side="right")
    for start, stop in enumerate(ends):
        window = values[start:stop]
        if stop - start >= 2 and np.isfinite(window).all():
            best = max(best, float(window.min()))
    return best


def other_leg_moved(series: LandmarkSeries, move: Movement, side: str) -> bool:
    """Whether the other leg did the movement and the measured one hardly did (wrong side?).

    Compared on the excursion each leg keeps for ``SUSTAINED_S``, so a few frames of noise
    on the far leg do not count.
    """
    if not move.other_leg_still or series.frames == 0:
        return False
    own = _sustained(series.time_s, excursion(series, move, side), SUSTAINED_S)
    theirs = _sustained(series.time_s, excursion(series, move, other_side(side)), SUSTAINED_S)
    return bool(theirs > 2 * MARGIN_DEG and own < CONTINUES_FRAC * theirs)
