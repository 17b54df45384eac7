"""Frame-rate checks on clip timing as containers give it (whole milliseconds)."""

from __future__ import annotations

import numpy as np
import pytest

from rom_measure.measure.landmarks import LANDMARK_COUNT, LandmarkSeries
from rom_measure.measure.quality import check_frames


def series_at(fps: float, seconds: float = 6.0) -> LandmarkSeries:
    """A still series whose times are the frame times rounded to the ms."""
    n = int(seconds * fps)
    times = np.round(np.arange(n) / fps, 3)
    points = np.zeros((n, LANDMARK_COUNT, 3), dtype=np.float32)
    ones = np.ones((n, LANDMARK_COUNT), dtype=np.float32)
    return LandmarkSeries(time_s=times, image=points, visibility=ones, presence=ones,
                          world=points.copy(), people=np.ones(n, dtype=np.int16),
                          image_size=(640, 480), meta={})  # fmt: skip


def _fps_findings(fps: float) -> list[tuple[str, str]]:
    return [(f.code, f.severity) for f in check_frames(series_at(fps)) if f.code == "low_fps"]


@pytest.mark.parametrize("fps", [24.0, 24000 / 1001, 25.0, 30.0, 60.0])
def test_film_and_video_rates_pass(fps: float) -> None:
    assert series_at(fps).fps < 24.0 or fps >= 25.0  # the ms rounding the check allows for
    assert _fps_findings(fps) == []


def test_a_low_rate_warns_and_a_very_low_one_rejects() -> None:
    assert _fps_findings(20.0) == [("low_fps", "warning")]
    assert _fps_findings(12.0) == [("low_fps", "reject")]


def test_a_warning_stands_for_its_training_error_and_several_for_the_largest() -> None:
    from rom_measure.measure.quality import (
        WARNING_ERROR_DEG,
        WARNING_ERROR_POOLED_DEG,
        Finding,
        warning_error_deg,
    )

    def finding(code: str, severity: str = "warning") -> Finding:
        return Finding(code, severity, "")  # type: ignore[arg-type]

    assert warning_error_deg([]) == 0.0
    assert warning_error_deg([finding("approximate_method"), finding("x", "info")]) == 0.0
    assert warning_error_deg([finding("oblique_view")]) == WARNING_ERROR_DEG["oblique_view"]
    assert warning_error_deg([finding("never_validated")]) == WARNING_ERROR_POOLED_DEG
    both = [finding("oblique_view"), finding("multiple_people")]
    assert warning_error_deg(both) == max(
        WARNING_ERROR_DEG[c] for c in ("oblique_view", "multiple_people")
    )


def _view_codes(movement: str, off_plane_deg: float) -> set[str]:
    from rom_measure.measure.movements import get_movement
    from rom_measure.measure.quality import ViewEstimate, check_view

    view = ViewEstimate(off_plane_deg, "image-left", "left")
    return {f.code for f in check_view(view, get_movement(movement), "left")}


def test_the_lunge_warns_of_a_smaller_view_error_than_other_movements() -> None:
    from rom_measure.measure.movements import LUNGE_OFF_PLANE_WARN_DEG
    from rom_measure.measure.quality import OFF_PLANE_WARN_DEG

    between = 0.5 * (LUNGE_OFF_PLANE_WARN_DEG + OFF_PLANE_WARN_DEG)
    assert "oblique_view" in _view_codes("ankle-lunge", between)
    assert "oblique_view" not in _view_codes("ankle-dorsiflexion", between)
    assert "oblique_view" not in _view_codes("ankle-lunge", LUNGE_OFF_PLANE_WARN_DEG - 1.0)


def _peak_codes(angle: np.ndarray, fps: float = 60.0) -> list[str]:
    from rom_measure.measure.quality import check_peak_stability

    time_s = np.arange(angle.size) / fps
    return [f.code for f in check_peak_stability(time_s, angle, [float(time_s[angle.size // 2])])]


def test_a_smooth_noisy_peak_passes_and_a_jumping_one_warns() -> None:
    from rom_measure.measure.quality import PEAK_JITTER_WARN_DEG

    time_s = np.arange(120) / 60.0
    smooth = 40.0 * np.sin(np.pi * time_s / time_s[-1])  # one 2 s repetition
    noisy = smooth + np.random.default_rng(1).normal(0.0, 0.5, smooth.size)
    assert _peak_codes(smooth) == [] and _peak_codes(noisy) == []
    jumping = noisy.copy()
    jumping[40:80:2] -= 3.0 * PEAK_JITTER_WARN_DEG  # every other frame of the hold drops
    assert _peak_codes(jumping) == ["unstable_peak"]
    jumping[60:62] = np.nan  # a gap does not hide it
    assert _peak_codes(jumping) == ["unstable_peak"]


def _flicker(raw: np.ndarray, filtered: np.ndarray, zero: float = 0.0,
             excursion: float = 90.0) -> tuple[int, float]:  # fmt: skip
    from rom_measure.measure.quality import peak_flicker_deg

    time_s = np.arange(raw.size) / 24.0
    return peak_flicker_deg(time_s, raw, filtered, zero, 0.0, time_s[-1], excursion)


def _raise(peak: float = 90.0) -> np.ndarray:
    """A 90 deg raise at 24 fps: still, ramp up, hold, ramp down, still (exactly known)."""
    up = np.linspace(0.0, peak, 15)
    return np.concatenate([np.zeros(15), up, np.full(10, peak), up[::-1], np.zeros(15)])


def test_a_frame_dropped_at_the_top_is_a_flicker() -> None:
    from rom_measure.measure.quality import PEAK_FLICKER_DEG, check_peak_flicker

    curve = _raise()
    noisy = curve + np.random.default_rng(3).uniform(-2.6, 2.6, curve.size)
    assert _flicker(noisy, curve)[0] == 0  # landmark noise
    dropped = noisy.copy()
    dropped[35] = 90.0 - 25.0  # the raised knee put down for one frame of the hold
    assert _flicker(dropped, curve) == (1, pytest.approx(25.0))
    dropped[34] = 90.0 - PEAK_FLICKER_DEG + 0.5  # just within: not counted
    assert _flicker(dropped, curve)[0] == 1
    finding = check_peak_flicker(1, 25.0, "the raised knee")
    assert [f.code for f in finding] == ["peak_flicker"] and finding[0].severity == "warning"
    assert "the raised knee" in finding[0].message and "25 deg" in finding[0].message
    assert check_peak_flicker(0, 0.0, "the raised knee") == []


def test_a_jump_below_the_top_or_before_the_repetition_is_not_a_flicker() -> None:
    from rom_measure.measure.quality import peak_flicker_deg

    curve = _raise()
    low = curve.copy()
    low[18] += 25.0  # on the ramp, below 70% of the excursion: not the top
    assert _flicker(low, curve)[0] == 0
    time_s = np.arange(curve.size) / 24.0
    dropped = curve.copy()
    dropped[35] -= 25.0
    assert peak_flicker_deg(time_s, dropped, curve, 0.0, 0.0, 1.4, 90.0)[0] == 0  # before it
    assert peak_flicker_deg(time_s, dropped, curve, 0.0, 1.4, 3.0, 90.0)[0] == 1
    above = curve + 20.0  # the same curve from a neutral of 20 deg
    assert _flicker(dropped + 20.0, above, zero=20.0)[0] == 1
    assert _flicker(np.full(curve.size, np.nan), curve) == (0, 0.0)


def test_too_few_frames_near_the_peak_give_no_verdict_on_it() -> None:
    assert _peak_codes(np.array([0.0, 30.0, 0.0, 30.0])) == []
