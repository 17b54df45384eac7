"""Averaging each repetition with the mirrored picture's reading (exact stick figures)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from rom_measure.measure.analysis import analyze_landmarks
from rom_measure.measure.mirror_average import (
    PEAK_HALF_WINDOW_S,
    average_with_mirror,
    mirror_windows,
)
from rom_measure.measure.movements import get_movement

from ..stick_figure import ideal_camera, movement_clip

CAMERA = ideal_camera("hip-abduction", "left")


def _clip(peak_deg: float, reps: int = 1):
    series, _ = movement_clip("hip-abduction", "left", peak_deg, CAMERA, reps=reps)
    return series


def test_each_repetition_becomes_the_mean_of_both_readings() -> None:
    result = analyze_landmarks(_clip(40.0, reps=2), "hip-abduction", "left")
    gain = get_movement("hip-abduction").calibration_gain
    assert result.quality.verdict == "ok" and len(result.rom.repetitions) == 2
    # The mirrored picture read every frame 25% short: 30 deg at the holds.
    averaged = average_with_mirror(result, _clip(30.0, reps=2))
    for before, after in zip(result.rom.repetitions, averaged.rom.repetitions, strict=True):
        assert after.rom_deg == pytest.approx(before.rom_deg - 0.5 * 10.0 * gain, abs=0.05)
        assert after.peak_s == before.peak_s
    assert averaged.rom_deg == pytest.approx(35.0 * gain, abs=0.3)
    assert averaged.rom.rom_mean_deg == pytest.approx(35.0 * gain, abs=0.3)
    assert averaged.quality.verdict == "ok"
    (note,) = [f for f in averaged.quality.findings if f.code == "mirror_average"]
    assert note.severity == "info" and "2 of 2 repetitions" in note.message
    assert averaged.processing[-1].name == "mirror_average"


def test_the_same_reading_mirrored_changes_nothing() -> None:
    result = analyze_landmarks(_clip(40.0), "hip-abduction", "left")
    same = average_with_mirror(result, _clip(40.0))
    assert same.rom_deg == pytest.approx(result.rom_deg, abs=1e-6)


def test_a_repetition_the_mirrored_picture_cannot_read_keeps_its_own_rom() -> None:
    result = analyze_landmarks(_clip(40.0), "hip-abduction", "left")
    lost = _clip(30.0)
    lost = replace(lost, image=np.full_like(lost.image, np.nan))
    averaged = average_with_mirror(result, lost)
    assert averaged.rom_deg == result.rom_deg
    assert any("0 of 1 repetitions" in f.message for f in averaged.quality.findings)


def test_only_the_neutral_and_the_peaks_are_re_read() -> None:
    result = analyze_landmarks(_clip(40.0, reps=2), "hip-abduction", "left")
    windows = mirror_windows(result)
    neutral = result.rom.neutral
    assert windows[0] == (neutral.start_s, neutral.end_s)
    peaks = [r.peak_s for r in result.rom.repetitions]
    assert windows[1:] == [(p - PEAK_HALF_WINDOW_S, p + PEAK_HALF_WINDOW_S) for p in peaks]
    span = sum(end - start for start, end in windows)
    assert span < 0.5 * float(result.time_s[-1])  # a fraction of the clip
