"""Neutral, repetitions and uncertainty on constructed angle series."""

from __future__ import annotations

import numpy as np
import pytest

from rom_measure.measure.rom import estimate_rom, find_neutral


def trajectory(neutral: float, peaks: list[float], fps: float = 30.0, noise: float = 0.0):
    rng = np.random.default_rng(1)
    parts = [np.full(int(fps), neutral)]
    for peak in peaks:
        ramp = neutral + (peak - neutral) * (0.5 - 0.5 * np.cos(np.linspace(0, np.pi, int(fps))))
        parts += [ramp, np.full(int(fps / 2), peak), ramp[::-1], np.full(int(fps / 2), neutral)]
    y = np.concatenate(parts)
    t = np.arange(y.size) / fps
    return t, y + rng.normal(0, noise, y.size)


def test_neutral_from_the_still_start() -> None:
    t, y = trajectory(7.0, [60.0])
    neutral = find_neutral(t, y)
    assert neutral.from_still_start
    assert neutral.angle_deg == pytest.approx(7.0)
    assert neutral.end_s < 1.25  # the ramp leaves neutral slowly


def test_without_a_still_start_the_low_percentile_is_used() -> None:
    t = np.arange(90) / 30
    y = 40 * np.abs(np.sin(2 * t))
    neutral = find_neutral(t, y)
    assert not neutral.from_still_start
    assert neutral.angle_deg < 5.0


def test_repetitions_are_counted_and_measured() -> None:
    t, y = trajectory(5.0, [50.0, 55.0, 45.0])
    rom = estimate_rom(t, y, y, cutoff_hz=5.0, method_error_deg=2.0)
    assert [round(r.rom_deg) for r in rom.repetitions] == [45, 50, 40]
    assert rom.rom_deg == pytest.approx(50.0)
    assert rom.rom_mean_deg == pytest.approx(45.0)
    assert rom.rom_sd_deg == pytest.approx(5.0)
    assert rom.peak_deg == pytest.approx(55.0)


def test_uncertainty_grows_with_noise_and_includes_method_error() -> None:
    t, clean = trajectory(0.0, [40.0])
    _, noisy = trajectory(0.0, [40.0], noise=2.0)
    from rom_measure.measure.signal import lowpass_zero_phase

    filtered, cutoff = lowpass_zero_phase(t, noisy, 5.0)
    quiet = estimate_rom(t, clean, clean, 5.0, method_error_deg=2.0)
    loud = estimate_rom(t, noisy, filtered, cutoff, method_error_deg=2.0)
    assert quiet.uncertainty_deg == pytest.approx(2.0, abs=0.05)
    assert loud.uncertainty_deg > quiet.uncertainty_deg
    assert loud.rom_deg == pytest.approx(40.0, abs=2.0)


def test_small_wobbles_are_not_repetitions() -> None:
    t, y = trajectory(0.0, [3.0])
    rom = estimate_rom(t, y, y, 5.0, 2.0)
    assert rom.repetitions == ()
    assert np.isnan(rom.rom_deg)


def test_absolute_zero_reports_the_peak_itself() -> None:
    t, y = trajectory(4.0, [40.0])
    rom = estimate_rom(t, y, y, 5.0, 2.0, absolute_zero=True)
    assert rom.rom_deg == pytest.approx(40.0)


def test_a_repetition_held_to_the_end_of_the_clip_counts() -> None:
    t, y = trajectory(0.0, [30.0])
    ramp = 50.0 * (0.5 - 0.5 * np.cos(np.linspace(0, np.pi, 30)))
    y = np.concatenate([y, ramp, np.full(20, 50.0)])
    t = np.arange(y.size) / 30.0
    rom = estimate_rom(t, y, y, 5.0, 2.0)
    assert [round(r.rom_deg) for r in rom.repetitions] == [30, 50]
    assert rom.rom_deg == pytest.approx(50.0)
