"""Range of motion from an angle time series: neutral, repetitions, peaks, uncertainty."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace

import numpy as np

__all__ = [
    "Neutral",
    "Repetition",
    "RomEstimate",
    "estimate_rom",
    "find_neutral",
    "keep_repetitions",
    "with_component",
    "with_repetitions",
]

MIN_EXCURSION_DEG = 5.0  # smaller excursions are not counted as a repetition
_BASELINE_S = 0.3
_MIN_STILL_S = 0.4


@dataclass(frozen=True)
class Neutral:
    """Neutral angle and where it was measured."""

    angle_deg: float
    sd_deg: float
    start_s: float
    end_s: float
    from_still_start: bool


@dataclass(frozen=True)
class Repetition:
    """One repetition: from leaving neutral, through the peak, to the next trough."""

    start_s: float
    peak_s: float
    end_s: float
    peak_deg: float
    rom_deg: float


@dataclass(frozen=True)
class RomEstimate:
    """ROM summary of one clip (degrees)."""

    neutral: Neutral
    repetitions: tuple[Repetition, ...]
    rom_deg: float  # the largest repetition
    rom_mean_deg: float
    rom_sd_deg: float
    peak_deg: float
    max_excursion_deg: float
    min_excursion_deg: float
    noise_sd_deg: float
    uncertainty_deg: float
    uncertainty_components: dict[str, float] = field(default_factory=dict)


def find_neutral(time_s: np.ndarray, angle: np.ndarray) -> Neutral:
    """Robust neutral angle from the still start of the clip.

    The baseline is the median of the first 0.3 s; the movement starts where the
    angle first leaves it by more than max(5 deg, 15% of the largest excursion).
    The neutral is the median before that (minus 0.1 s). Without a still start of at
    least 0.4 s the 5th percentile of the whole clip is used instead (flagged).
    """
    finite = np.isfinite(angle)
    t, y = time_s[finite], angle[finite]
    if y.size == 0:
        return Neutral(math.nan, math.nan, math.nan, math.nan, False)
    baseline = float(np.median(y[t <= t[0] + _BASELINE_S]))
    excursion = np.abs(y - baseline)
    threshold = max(MIN_EXCURSION_DEG, 0.15 * float(excursion.max()))
    moving = np.flatnonzero(excursion > threshold)
    onset_s = t[moving[0]] if moving.size else t[-1]
    still = t <= onset_s - 0.1
    if still.any() and t[still][-1] - t[0] >= _MIN_STILL_S:
        values = y[still]
        return Neutral(float(np.median(values)), _robust_sd(values), float(t[0]),
                       float(t[still][-1]), True)  # fmt: skip
    low = float(np.percentile(y, 5))
    near = y[np.abs(y - low) <= 2.0]
    return Neutral(low, _robust_sd(near), float(t[0]), float(t[-1]), False)


def _robust_sd(values: np.ndarray) -> float:
    if values.size < 2:
        return 0.0
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


def _repetitions(
    time_s: np.ndarray, excursion: np.ndarray, neutral_deg: float
) -> tuple[Repetition, ...]:
    from scipy.signal import find_peaks

    finite = np.isfinite(excursion)
    if not finite.any():
        return ()
    top = float(np.nanmax(excursion))
    if top < MIN_EXCURSION_DEG:
        return ()
    dt = float(np.median(np.diff(time_s))) if time_s.size > 1 else 1.0
    floor = float(np.nanmin(excursion))
    # Padded with the floor at both ends, so that a clip ending (or starting) at a peak
    # still counts that repetition; find_peaks never reports a peak at the edge.
    padded = np.concatenate([[floor], np.where(finite, excursion, floor), [floor]])
    peaks, _ = find_peaks(
        padded, prominence=max(MIN_EXCURSION_DEG, 0.5 * top), distance=max(1, round(0.8 / dt))
    )
    peaks = np.clip(peaks - 1, 0, excursion.size - 1)
    peaks = peaks[excursion[peaks] >= MIN_EXCURSION_DEG]
    reps = []
    troughs = [int(a + np.nanargmin(excursion[a:b])) for a, b in itertools.pairwise(peaks)]
    bounds = [0, *troughs, time_s.size - 1]
    for i, peak in enumerate(peaks):
        start, end = bounds[i], bounds[i + 1]
        rom = float(excursion[peak])
        reps.append(Repetition(float(time_s[start]), float(time_s[peak]), float(time_s[end]),
                               neutral_deg + rom, rom))  # fmt: skip
    return tuple(reps)


def estimate_rom(
    time_s: np.ndarray,
    raw_deg: np.ndarray,
    filtered_deg: np.ndarray,
    cutoff_hz: float,
    method_error_deg: float,
    absolute_zero: bool = False,
) -> RomEstimate:
    """ROM per repetition = peak − neutral (or peak − 0 for an absolute zero).

    ``uncertainty_deg`` is a standard uncertainty of the reported (largest) ROM:
    the root sum of squares of the peak's noise after filtering, the neutral's
    standard error and the method's error measured against ground truth.
    """
    neutral = find_neutral(time_s, filtered_deg)
    zero = 0.0 if absolute_zero else neutral.angle_deg
    excursion = filtered_deg - zero
    reps = _repetitions(time_s, excursion, zero)
    roms = np.array([r.rom_deg for r in reps])
    residual = (raw_deg - filtered_deg)[np.isfinite(raw_deg) & np.isfinite(filtered_deg)]
    noise = _robust_sd(residual)
    fs = 1.0 / float(np.median(np.diff(time_s))) if time_s.size > 1 else 1.0
    peak_se = noise * math.sqrt(min(1.0, 2.0 * cutoff_hz / fs)) if np.isfinite(cutoff_hz) else noise
    still_s = max(neutral.end_s - neutral.start_s, 1.0 / fs)
    neutral_se = (
        0.0 if absolute_zero else neutral.sd_deg / math.sqrt(max(1.0, still_s * 2.0 * cutoff_hz))
    )
    components = {"peak_noise_deg": peak_se, "neutral_deg": neutral_se,
                  "method_deg": method_error_deg}  # fmt: skip
    finite_exc = excursion[np.isfinite(excursion)]
    return RomEstimate(
        neutral=neutral,
        repetitions=reps,
        rom_deg=float(roms.max()) if roms.size else math.nan,
        rom_mean_deg=float(roms.mean()) if roms.size else math.nan,
        rom_sd_deg=float(roms.std(ddof=1)) if roms.size > 1 else math.nan,
        peak_deg=float(zero + roms.max()) if roms.size else math.nan,
        max_excursion_deg=float(finite_exc.max()) if finite_exc.size else math.nan,
        min_excursion_deg=float(finite_exc.min()) if finite_exc.size else math.nan,
        noise_sd_deg=noise,
        uncertainty_deg=math.sqrt(sum(v * v for v in components.values())),
        uncertainty_components=components,
    )


def with_component(rom: RomEstimate, name: str, value_deg: float) -> RomEstimate:
    """``rom`` with one more uncertainty component (root sum of squares)."""
    components = {**rom.uncertainty_components, name: value_deg}
    total = math.sqrt(sum(v * v for v in components.values()))
    return replace(rom, uncertainty_deg=total, uncertainty_components=components)


def keep_repetitions(rom: RomEstimate, keep: list[bool]) -> RomEstimate:
    """``rom`` with only the repetitions marked in ``keep``; its summary recomputed."""
    return with_repetitions(rom, tuple(r for r, k in zip(rom.repetitions, keep, strict=True) if k))


def with_repetitions(rom: RomEstimate, reps: tuple[Repetition, ...]) -> RomEstimate:
    """``rom`` with these repetitions; its summary (largest, mean, SD, peak) recomputed."""
    roms = np.array([r.rom_deg for r in reps])
    zero = rom.peak_deg - rom.rom_deg if math.isfinite(rom.peak_deg) else math.nan
    return replace(
        rom,
        repetitions=reps,
        rom_deg=float(roms.max()) if roms.size else math.nan,
        rom_mean_deg=float(roms.mean()) if roms.size else math.nan,
        rom_sd_deg=float(roms.std(ddof=1)) if roms.size > 1 else math.nan,
        peak_deg=float(zero + roms.max()) if roms.size else math.nan,
    )
