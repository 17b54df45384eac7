"""Each repetition's ROM averaged with the pose model's reading of the mirrored picture.

The pose model is not mirror-symmetric: its error on a limb depends on which way the
person faces in the picture. On the validation's rendered hip extensions and
abductions the reading of the picture and the reading of the same frames mirrored
(:mod:`rom_measure.media.mirror`) erred in opposite directions (correlation -0.3 to
-0.7), so their mean cancels most of the error: held-out RMS error 2.1 -> 1.0 deg
(extension) and 1.8 -> 1.1 deg (abduction). For hip flexion and ankle dorsiflexion the
two errors go the same way and the mirrored reading is worse, so those are not averaged.

Only the frames that set the ROM are re-read: the neutral window and a short window
around each repetition's peak. The same statistic (a median over the window) is taken
in both pictures, and half the difference is added to the repetition's ROM, so the
peak picking of the analysis stays as it was.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from rom_measure.measure.analysis import Result
from rom_measure.measure.landmarks import LandmarkSeries
from rom_measure.measure.quality import Finding, verdict
from rom_measure.measure.rom import with_repetitions
from rom_measure.measure.signal import ProcessingStep

__all__ = ["PEAK_HALF_WINDOW_S", "average_with_mirror", "mirror_windows"]

#: Half-width (s) of the window around a peak whose median angle both pictures give.
PEAK_HALF_WINDOW_S = 0.1


def mirror_windows(result: Result) -> list[tuple[float, float]]:
    """The neutral window and one window around each repetition's peak (s), in order."""
    neutral = result.rom.neutral
    windows = [(neutral.start_s, neutral.end_s)]
    windows += [(r.peak_s - PEAK_HALF_WINDOW_S, r.peak_s + PEAK_HALF_WINDOW_S)
                for r in result.rom.repetitions]  # fmt: skip
    merged: list[tuple[float, float]] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _median_in(time_s: np.ndarray, angle: np.ndarray, start: float, end: float) -> float:
    inside = (time_s >= start - 1e-6) & (time_s <= end + 1e-6) & np.isfinite(angle)
    return float(np.median(angle[inside])) if inside.any() else math.nan


def _excursions(result: Result, time_s: np.ndarray, angle: np.ndarray) -> list[float]:
    """Per repetition: median angle around its peak minus the median over the neutral window."""
    neutral = result.rom.neutral
    zero = _median_in(time_s, angle, neutral.start_s, neutral.end_s)
    return [_median_in(time_s, angle, r.peak_s - PEAK_HALF_WINDOW_S,
                       r.peak_s + PEAK_HALF_WINDOW_S) - zero
            for r in result.rom.repetitions]  # fmt: skip


def average_with_mirror(result: Result, mirrored: LandmarkSeries) -> Result:
    """``result`` with each repetition's ROM averaged with the mirrored picture's reading.

    ``mirrored`` holds the model's landmarks on the mirrored frames of the windows of
    :func:`mirror_windows`, mapped back to the original picture. A repetition the
    mirrored picture cannot read (no detection in a window) keeps its own ROM.
    """
    if result.rejected or not result.rom.repetitions:
        return result
    used = result.frame_status == "ok"
    own = _excursions(result, result.time_s, np.where(used, result.raw_deg, np.nan))
    angle = np.asarray(result.movement.angles(mirrored, result.side), dtype=np.float64)
    other = _excursions(result, mirrored.time_s, angle * result.calibration_gain)
    shifts = [0.5 * (b - a) if math.isfinite(a) and math.isfinite(b) else 0.0
              for a, b in zip(own, other, strict=True)]  # fmt: skip
    reps = tuple(replace(r, rom_deg=r.rom_deg + s, peak_deg=r.peak_deg + s)
                 for r, s in zip(result.rom.repetitions, shifts, strict=True))  # fmt: skip
    averaged = sum(math.isfinite(a) and math.isfinite(b) for a, b in zip(own, other, strict=True))
    note = Finding(
        "mirror_average", "info",
        f"averaged with the pose model's reading of the mirrored picture ({averaged} of "
        f"{len(reps)} repetitions; it read them {_list(other)} deg against {_list(own)})",
    )  # fmt: skip
    step = ProcessingStep("mirror_average", {"repetitions_averaged": averaged,
                                             "shifts_deg": _list(shifts)})  # fmt: skip
    return replace(
        result,
        rom=with_repetitions(result.rom, reps),
        quality=verdict([*result.quality.findings, note]),
        processing=(*result.processing, step),
    )


def _list(values: list[float]) -> str:
    return ", ".join("—" if not math.isfinite(v) else f"{v:.1f}" for v in values)
