"""Signal processing: outliers, gaps in seconds, zero-phase filtering, leg-swap repair."""

from __future__ import annotations

import numpy as np
import pytest

from rom_measure.measure.landmarks import Landmark as L
from rom_measure.measure.signal import (
    fill_short_gaps,
    hampel_outliers,
    lowpass_zero_phase,
    repair_leg_swaps,
)
from tests.stick_figure import Camera, posed, series_of


def test_hampel_flags_a_spike_only() -> None:
    t = np.arange(90) / 30
    y = 20 * np.sin(t)
    y[40] += 30
    flagged = hampel_outliers(t, y)
    assert flagged[40]
    assert flagged.sum() == 1


def test_gaps_are_filled_by_duration_not_frame_count() -> None:
    for fps in (30.0, 120.0):
        t = np.arange(int(2 * fps)) / fps
        y = t * 10.0
        short, long = y.copy(), y.copy()
        short[10 : 10 + int(0.1 * fps)] = np.nan  # 0.1 s gap
        long[10 : 10 + int(0.5 * fps)] = np.nan  # 0.5 s gap
        np.testing.assert_allclose(fill_short_gaps(t, short, 0.25), y)
        assert np.isnan(fill_short_gaps(t, long, 0.25)[12])


def test_lowpass_has_no_lag_and_uses_hz() -> None:
    fps = 60.0
    t = np.arange(int(4 * fps)) / fps
    slow = 30 * np.sin(2 * np.pi * 0.5 * t)
    noisy = slow + 3 * np.sin(2 * np.pi * 20 * t)
    filtered, cutoff = lowpass_zero_phase(t, noisy, 5.0)
    assert cutoff == 5.0
    inner = slice(30, -30)
    assert np.max(np.abs(filtered[inner] - slow[inner])) < 0.5
    first = slice(0, 90)  # one peak only
    assert np.argmax(filtered[first]) == np.argmax(slow[first])  # zero phase: no lag


def test_lowpass_handles_variable_frame_rate_and_caps_cutoff() -> None:
    t = np.cumsum(np.r_[0, np.full(40, 1 / 30), np.full(40, 1 / 10)])
    y = 10 * np.sin(t)
    filtered, cutoff = lowpass_zero_phase(t, y, 20.0)
    assert cutoff < 0.5 * 30
    assert np.max(np.abs(filtered - y)) < 0.5


def test_leg_swaps_in_a_side_view_are_repaired() -> None:
    truth = np.r_[np.zeros(20), np.linspace(0, 80, 30), np.full(20, 80.0)]
    series = series_of([posed("hip-flexion", "left", a) for a in truth], Camera(90.0))
    swapped_frames = [35, 36, 55]
    image = series.image.copy()
    left = [int(L.of("left", p)) for p in ("hip", "knee", "ankle", "heel", "foot_index")]
    right = [int(L.of("right", p)) for p in ("hip", "knee", "ankle", "heel", "foot_index")]
    for f in swapped_frames:
        image[f, left], image[f, right] = series.image[f, right], series.image[f, left]
    repaired, mask = repair_leg_swaps(series.replace(image=image))
    assert sorted(np.flatnonzero(mask)) == swapped_frames
    np.testing.assert_allclose(repaired.image, series.image)


def test_no_swap_is_invented() -> None:
    truth = np.r_[np.zeros(20), np.linspace(0, 80, 30)]
    series = series_of([posed("hip-flexion", "left", a) for a in truth], Camera(90.0))
    _, mask = repair_leg_swaps(series)
    assert not mask.any()


@pytest.mark.parametrize("value", [np.nan])
def test_all_nan_input_stays_nan(value: float) -> None:
    t = np.arange(30) / 30
    y = np.full(30, value)
    assert np.isnan(lowpass_zero_phase(t, y, 5.0)[0]).all()
    assert np.isnan(fill_short_gaps(t, y, 0.25)).all()
    assert not hampel_outliers(t, y).any()
