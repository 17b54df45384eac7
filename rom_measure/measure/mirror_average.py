"""Each repetition's ROM averaged with the pose model's reading of the mirrored picture.

The pose model is not mirror-symmetric: its error on a limb depends on which way the
person faces in the picture. On the validation's rendered hip extensions and
abductions the reading of the picture and the reading of the same frames mirrored
(:mod:`rom_measure.media.mirror`) erred in opposite directions (correlation -0.3 to
-0.7), so their mean cancels most of the error: held-out RMS error 2.1 -> 1.0 deg
(extension) and 1.8 -> 1.1 deg (abduction). For hip flexion and ankle dorsiflexion the
two errors go the same way and the mirrored reading is worse, so those are not averaged.

Only the frames that set the reported ROM are re-read: the end of the neutral window and
a short window around the largest repetition's peak (on the sports2d demo clip, a
window around every peak cost 2.4 s against a 4.0 s pose pass). The same statistic (a
median over the window) is taken in both pictures; the ROM moves half way to the
mirrored reading, and the other repetitions by the same factor, so the peak picking of
the analysis stays as it was.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from rom_measure.measure.analysis import Result
from rom_measure.measure.landmarks import LandmarkSeries
from rom_measure.measure.quality import Finding, verdict, warning_error_deg
from rom_measure.measure.rom import with_component, with_repetitions
from rom_measure.measure.signal import ProcessingStep

__all__ = [
    "AGREEMENT_RATIO",
    "MIN_EXCURSION_DEG",
    "NEUTRAL_S",
    "PEAK_HALF_WINDOW_S",
    "average_with_mirror",
    "mirror_windows",
    "not_averaged",
    "rescaled",
    "to_be_averaged",
]

#: Half-width (s) of the window around a peak whose median angle both pictures give.
PEAK_HALF_WINDOW_S = 0.1
#: The neutral angle is read on the last NEUTRAL_S of the neutral window (s).
NEUTRAL_S = 0.5
#: The picture's own excursion (deg) below which the ratio of the readings means nothing.
MIN_EXCURSION_DEG = 3.0
#: The mirrored reading / the picture's own, outside which one of them lost the limb.
AGREEMENT_RATIO = (0.5, 2.0)


def _neutral_window(result: Result) -> tuple[float, float]:
    neutral = result.rom.neutral
    return max(neutral.start_s, neutral.end_s - NEUTRAL_S), neutral.end_s


def _peak_window(result: Result) -> tuple[float, float]:
    """The window around the reported (largest) repetition's peak (s)."""
    peak = max(result.rom.repetitions, key=lambda r: r.rom_deg).peak_s
    return peak - PEAK_HALF_WINDOW_S, peak + PEAK_HALF_WINDOW_S


def mirror_windows(result: Result) -> list[tuple[float, float]]:
    """The end of the neutral window and a window around the reported peak (s), in order."""
    # half a frame more on each side, so that a frame on an edge is read in both pictures
    pad = 0.5 * float(np.median(np.diff(result.time_s))) if result.time_s.size > 1 else 0.0
    windows = sorted((a - pad, b + pad) for a, b in (_neutral_window(result), _peak_window(result)))
    if windows[1][0] <= windows[0][1]:
        return [(windows[0][0], max(windows[0][1], windows[1][1]))]
    return windows


def _median_in(time_s: np.ndarray, angle: np.ndarray, start: float, end: float) -> float:
    inside = (time_s >= start - 1e-6) & (time_s <= end + 1e-6) & np.isfinite(angle)
    return float(np.median(angle[inside])) if inside.any() else math.nan


def _excursion(result: Result, time_s: np.ndarray, angle: np.ndarray) -> float:
    """Median angle around the reported peak minus the median at the end of neutral."""
    zero = _median_in(time_s, angle, *_neutral_window(result))
    return _median_in(time_s, angle, *_peak_window(result)) - zero


def to_be_averaged(result: Result) -> bool:
    """Whether ``result`` is one that :func:`average_with_mirror` would average (read the
    mirrored windows only then): a movement measured on both pictures, with repetitions,
    a still start to read the neutral on, and no mirrored second opinion at its peak."""
    codes = {f.code for f in result.quality.findings}
    return (result.movement.mirror_average and not result.rejected
            and bool(result.rom.repetitions) and "second_opinion" not in codes
            and result.rom.neutral.from_still_start)  # fmt: skip


def average_with_mirror(result: Result, mirrored: LandmarkSeries) -> Result:
    """``result`` with its ROM averaged with the mirrored picture's reading.

    ``mirrored`` holds the model's landmarks on the mirrored frames of the windows of
    :func:`mirror_windows`, mapped back to the original picture. The reported (largest)
    repetition is read in both pictures; the others and the angle curves are scaled
    alike about the zero (the model's error is a matter of the view, the same all
    through a clip). Left as it is when there is no still start (no neutral window to
    read) or when the peak already rests on a mirrored second opinion; kept with a
    warning (:func:`not_averaged`) when the mirrored picture cannot be read or
    disagrees by more than the two pictures ever do on clean clips.
    """
    if not to_be_averaged(result):
        return result
    used = result.frame_status == "ok"
    own = _excursion(result, result.time_s, np.where(used, result.raw_deg, np.nan))
    angle = np.asarray(result.movement.angles(mirrored, result.side), dtype=np.float64)
    other = _excursion(result, mirrored.time_s, angle * result.calibration_gain)
    if not (math.isfinite(own) and math.isfinite(other)) or own < MIN_EXCURSION_DEG:
        return not_averaged(result, "the mirrored picture could not be read")
    low, high = AGREEMENT_RATIO
    if not low <= other / own <= high:
        return not_averaged(result, f"the mirrored picture read the largest repetition "
                                    f"{other:.1f} deg against {own:.1f}: one of the two "
                                    f"readings lost the limb")  # fmt: skip
    scale = 1.0 + 0.5 * (other - own) / own
    note = Finding("mirror_average", "info",
                   f"averaged with the pose model's reading of the mirrored picture (it read "
                   f"the largest repetition {other:.1f} deg against {own:.1f}; the others "
                   f"scaled alike)")  # fmt: skip
    scaled = rescaled(result, scale)
    return replace(scaled, quality=verdict([*result.quality.findings, note]),
                   processing=(*result.processing, ProcessingStep(
                       "mirror_average", {"averaged": 1, "scale": round(scale, 4)})))  # fmt: skip


def rescaled(result: Result, scale: float) -> Result:
    """``result`` with every repetition's ROM and the angle curves scaled about the zero."""
    zero = result.rom.peak_deg - result.rom.rom_deg
    reps = tuple(replace(r, rom_deg=r.rom_deg * scale,
                         peak_deg=r.peak_deg + r.rom_deg * (scale - 1))
                 for r in result.rom.repetitions)  # fmt: skip
    return replace(
        result,
        rom=with_repetitions(result.rom, reps),
        raw_deg=zero + (result.raw_deg - zero) * scale,
        filtered_deg=zero + (result.filtered_deg - zero) * scale,
    )


def not_averaged(result: Result, why: str) -> Result:
    """``result`` of a movement measured on both pictures, kept on its own reading.

    A ``not_mirror_averaged`` warning, and its error in the uncertainty: the movement's
    gain and method error were fitted on averaged readings.
    """
    if result.rejected or not result.movement.mirror_average:
        return result
    warning = Finding("not_mirror_averaged", "warning",
                      f"{why}; this movement is measured as the mean of the picture's and the "
                      f"mirrored picture's readings, so this ROM is less certain: check the "
                      f"annotated video or film again")  # fmt: skip
    quality = verdict([*result.quality.findings, warning])
    rom = with_component(result.rom, "warnings_deg", warning_error_deg(quality.findings))
    step = ProcessingStep("mirror_average", {"averaged": 0, "scale": 1.0})
    return replace(result, quality=quality, rom=rom, processing=(*result.processing, step))
