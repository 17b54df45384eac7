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
