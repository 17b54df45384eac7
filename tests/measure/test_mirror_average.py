"""Averaging each repetition with the mirrored picture's reading (exact stick figures)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from rom_measure.measure.analysis import analyze_landmarks
from rom_measure.measure.mirror_average import (
    NEUTRAL_S,
    PEAK_HALF_WINDOW_S,
    average_with_mirror,
    mirror_windows,
)
from rom_measure.measure.movements import get_movement

from ..stick_figure import ideal_camera, movement_clip, posed, series_of

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
    assert note.severity == "info" and "the others scaled alike" in note.message
    assert averaged.processing[-1].params == {
        "averaged": 1,
        "scale": pytest.approx(35 / 40, abs=1e-3),
    }


def test_the_same_reading_mirrored_changes_nothing() -> None:
    result = analyze_landmarks(_clip(40.0), "hip-abduction", "left")
    same = average_with_mirror(result, _clip(40.0))
    assert same.rom_deg == pytest.approx(result.rom_deg, abs=1e-6)


def test_a_smaller_repetition_moves_in_proportion() -> None:
    _, larger = movement_clip("hip-abduction", "left", 40.0, CAMERA)
    _, smaller = movement_clip("hip-abduction", "left", 20.0, CAMERA)
    angles = np.concatenate([larger, smaller])
    both = series_of([posed("hip-abduction", "left", a) for a in angles], CAMERA)
    result = analyze_landmarks(both, "hip-abduction", "left")
    assert len(result.rom.repetitions) == 2
    # The mirror reads the first (larger) repetition, at the same times, 25% short.
    averaged = average_with_mirror(result, _clip(30.0))
    before, after = result.rom.repetitions[1].rom_deg, averaged.rom.repetitions[1].rom_deg
    assert after == pytest.approx(before * 35 / 40, abs=0.05)


def test_an_unreadable_mirrored_picture_keeps_the_own_rom() -> None:
    result = analyze_landmarks(_clip(40.0), "hip-abduction", "left")
    lost = _clip(30.0)
    lost = replace(lost, image=np.full_like(lost.image, np.nan))
    averaged = average_with_mirror(result, lost)
    assert averaged.rom_deg == result.rom_deg
    assert any("could not be read" in f.message for f in averaged.quality.findings)


def test_only_the_end_of_neutral_and_the_largest_peak_are_re_read() -> None:
    result = analyze_landmarks(_clip(40.0, reps=3), "hip-abduction", "left")
    windows = mirror_windows(result)
    neutral = result.rom.neutral
    assert windows[0] == (max(neutral.start_s, neutral.end_s - NEUTRAL_S), neutral.end_s)
    largest = max(result.rom.repetitions, key=lambda r: r.rom_deg).peak_s
    assert windows[1:] == [(largest - PEAK_HALF_WINDOW_S, largest + PEAK_HALF_WINDOW_S)]
    span = sum(end - start for start, end in windows)
    assert span <= NEUTRAL_S + 2 * PEAK_HALF_WINDOW_S + 1e-9  # whatever the clip's length
