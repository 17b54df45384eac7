"""Signal processing of landmark and angle time series.

Every step works in seconds, never in frames, so clips of any frame rate (or a
variable one) are treated alike. Each returns its result and the parameters used,
so that a result can say exactly how it was produced.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from rom_measure.measure.landmarks import Landmark as L
from rom_measure.measure.landmarks import LandmarkSeries

__all__ = [
    "LEG_PARTS",
    "ProcessingStep",
    "fill_short_gaps",
    "hampel_outliers",
    "lowpass_zero_phase",
    "repair_leg_swaps",
    "segment_length_outliers",
    "swap_legs",
    "true_runs",
]

LEG_PARTS = ("hip", "knee", "ankle", "heel", "foot_index")


@dataclass(frozen=True)
class ProcessingStep:
    """One processing step applied to a series, for the result's provenance log."""

    name: str
    params: dict[str, float | str]
    frames_affected: int = 0


def hampel_outliers(
    time_s: np.ndarray, values: np.ndarray, window_s: float = 0.5, n_sigmas: float = 3.0,
    min_deviation: float = 4.0,
) -> np.ndarray:  # fmt: skip
    """(T,) bool: samples further than ``n_sigmas`` robust SDs from their window's median.

    The window is centred, ``window_s`` wide in time. ``min_deviation`` (same unit as
    ``values``) keeps a very steady signal from flagging tiny wobbles.
    """
    outliers = np.zeros(values.shape, dtype=bool)
    half = window_s / 2.0
    finite = np.isfinite(values)
    left = np.searchsorted(time_s, time_s - half, side="left")
    right = np.searchsorted(time_s, time_s + half, side="right")
    for i in np.flatnonzero(finite):
        window = values[left[i] : right[i]]
        window = window[np.isfinite(window)]
        if window.size < 3:
            continue
        median = np.median(window)
        mad = 1.4826 * np.median(np.abs(window - median))
        outliers[i] = abs(values[i] - median) > max(n_sigmas * mad, min_deviation)
    return outliers


def fill_short_gaps(time_s: np.ndarray, values: np.ndarray, max_gap_s: float) -> np.ndarray:
    """Linearly interpolate runs of NaN lasting at most ``max_gap_s``; longer gaps stay NaN.

    A gap's duration is the time between the valid samples around it; gaps at the
    start or end are never filled.
    """
    out = values.astype(np.float64, copy=True)
    finite = np.flatnonzero(np.isfinite(values))
    if finite.size < 2:
        return out
    for before, after in itertools.pairwise(finite):
        if after - before > 1 and time_s[after] - time_s[before] <= max_gap_s:
            span = slice(before + 1, after)
            out[span] = np.interp(time_s[span], time_s[[before, after]], values[[before, after]])
    return out


def true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) index pairs of the True runs of ``mask``."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def lowpass_zero_phase(
    time_s: np.ndarray, values: np.ndarray, cutoff_hz: float, order: int = 4
) -> tuple[np.ndarray, float]:
    """Butterworth low-pass run forward and backward (no lag), per run of finite samples.

    Each run is resampled to a uniform grid at the median frame interval, filtered
    with ``scipy.signal.sosfiltfilt`` and sampled back at the original times, so
    variable frame rates are handled. The cut-off is capped at 0.8 x Nyquist.
    Runs too short to filter are left as they are. Returns the filtered values and
    the cut-off actually used.
    """
    from scipy import signal

    out = values.astype(np.float64, copy=True)
    if time_s.size < 2:
        return out, float("nan")
    dt = float(np.median(np.diff(time_s)))
    fs = 1.0 / dt
    cutoff = min(cutoff_hz, 0.4 * fs)
    sos = signal.butter(order, cutoff, btype="low", fs=fs, output="sos")
    min_len = 3 * (2 * len(sos) + 1)
    for start, stop in true_runs(np.isfinite(values)):
        t = time_s[start:stop]
        grid = np.arange(t[0], t[-1] + dt / 2, dt)
        if grid.size <= min_len:
            continue
        uniform = np.interp(grid, t, values[start:stop])
        out[start:stop] = np.interp(t, grid, signal.sosfiltfilt(sos, uniform))
    return out, cutoff


def segment_length_outliers(
    series: LandmarkSeries, segments: tuple[tuple[L, L], ...], tolerance: float = 0.25
) -> np.ndarray:
    """(T,) bool: frames where a segment that moves in the image plane changes length.

    For a movement filmed perpendicular to its plane, the image length of the moving
    segment stays nearly constant; a knee placed between the legs or a foot landmark
    dropped to the floor shows up as a segment more than ``tolerance`` off its median.
    """
    bad = np.zeros(series.frames, dtype=bool)
    xy = series.pixels()
    for a, b in segments:
        length = np.linalg.norm(xy[:, a] - xy[:, b], axis=-1)
        typical = np.nanmedian(length) if np.isfinite(length).any() else np.nan
        with np.errstate(invalid="ignore"):
            bad |= np.abs(length / typical - 1.0) > tolerance
    return bad


def _leg_indices(side: str) -> list[int]:
    return [int(L.of(side, part)) for part in LEG_PARTS]


def repair_leg_swaps(series: LandmarkSeries, swap_penalty: float = 0.15) -> tuple[
    LandmarkSeries, np.ndarray
]:  # fmt: skip
    """Undo frames where the model swapped the left and right legs (side views).

    Two-state Viterbi over the frames: state 0 keeps the model's labels, state 1
    swaps the legs. The cost of a path is the frame-to-frame travel of the leg
    landmarks (in units of the median thigh length) plus ``swap_penalty`` for each
    swapped frame, so the model's labels win unless a swap makes the motion
    clearly smoother. Returns the repaired series and the (T,) mask of swapped frames.
    """
    left, right = _leg_indices("left"), _leg_indices("right")
    xy = series.pixels()
    legs = np.stack([np.concatenate([xy[:, left], xy[:, right]], axis=1),
                     np.concatenate([xy[:, right], xy[:, left]], axis=1)])  # fmt: skip
    thigh = np.linalg.norm(xy[:, L.LEFT_HIP] - xy[:, L.LEFT_KNEE], axis=-1)
    scale = np.nanmedian(thigh) if np.isfinite(thigh).any() else 1.0
    swapped = _viterbi_two_states(legs / scale, swap_penalty)
    return swap_legs(series, swapped), swapped


def swap_legs(series: LandmarkSeries, frames: np.ndarray) -> LandmarkSeries:
    """The series with the left and right leg landmarks exchanged on ``frames`` (T,) bool."""
    if not frames.any():
        return series
    left, right = _leg_indices("left"), _leg_indices("right")
    order = np.arange(series.image.shape[1])
    order[left], order[right] = right, left

    def swap(array: np.ndarray) -> np.ndarray:
        fixed = array.copy()
        fixed[frames] = array[frames][:, order]
        return fixed

    return series.replace(
        image=swap(series.image), visibility=swap(series.visibility),
        presence=swap(series.presence), world=swap(series.world),
    )  # fmt: skip


def _viterbi_two_states(states: np.ndarray, penalty: float) -> np.ndarray:
    """states: (2, T, N, 2) positions under each labelling -> (T,) bool, True = swapped."""
    frames = states.shape[1]
    unary = np.array([0.0, penalty])
    cost = unary.copy()
    back = np.zeros((frames, 2), dtype=np.int8)
    previous = None
    for t in range(frames):
        current = states[:, t]
        if not np.isfinite(current).all():
            back[t] = [0, 1]  # no evidence: carry each state over
            continue
        if previous is None:
            cost = unary.copy()
            back[t] = [0, 1]
        else:
            step = np.array([[np.linalg.norm(current[j] - previous[i], axis=-1).mean()
                              for j in range(2)] for i in range(2)])  # fmt: skip
            total = cost[:, None] + step
            back[t] = np.argmin(total, axis=0)
            cost = total.min(axis=0) + unary
        previous = current
    path = np.zeros(frames, dtype=bool)
    state = int(np.argmin(cost))
    for t in range(frames - 1, -1, -1):
        path[t] = bool(state)
        state = int(back[t, state])
    return path
