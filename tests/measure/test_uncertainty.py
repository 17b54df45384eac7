"""The reported uncertainty: its components, and the error a warning stands for."""

from __future__ import annotations

import math

import pytest

from rom_measure import analyze_landmarks
from rom_measure.measure.quality import WARNING_ERROR_DEG, warning_error_deg

from ..stick_figure import ideal_camera, movement_clip


def _result(off_plane_deg: float):
    camera = ideal_camera("hip-abduction", "left", off_plane_deg)
    series, _ = movement_clip("hip-abduction", "left", 40.0, camera)
    return analyze_landmarks(series, "hip-abduction", "left")


def test_a_sound_result_has_no_warning_component() -> None:
    result = _result(0.0)
    assert result.quality.verdict == "ok"
    parts = result.rom.uncertainty_components
    assert "warnings_deg" not in parts
    assert result.rom.uncertainty_deg == pytest.approx(math.hypot(*parts.values()))


def test_an_oblique_view_widens_the_uncertainty_by_its_measured_error() -> None:
    result = _result(35.0)
    codes = {f.code for f in result.quality.findings if f.severity == "warning"}
    assert result.quality.verdict == "warning" and "oblique_view" in codes
    parts = result.rom.uncertainty_components
    assert parts["warnings_deg"] == warning_error_deg(result.quality.findings)
    assert parts["warnings_deg"] >= WARNING_ERROR_DEG["oblique_view"]
    assert result.rom.uncertainty_deg == pytest.approx(math.hypot(*parts.values()))
    assert result.rom.uncertainty_deg > WARNING_ERROR_DEG["oblique_view"]


def test_an_approximate_method_alone_adds_no_warning_component() -> None:
    camera = ideal_camera("ankle-lunge", "left")
    series, _ = movement_clip("ankle-lunge", "left", 30.0, camera)
    result = analyze_landmarks(series, "ankle-lunge", "left")
    codes = [f.code for f in result.quality.findings if f.severity != "info"]
    assert codes == ["approximate_method"]
    assert "warnings_deg" not in result.rom.uncertainty_components


def _two_repetitions(jumpy: int | None) -> object:
    """Hip abduction to 40 then 30 deg; the hold of repetition ``jumpy`` (0, 1 or none) flickers
    by +-6 deg from frame to frame."""
    import numpy as np

    from ..stick_figure import posed, series_of

    fps, ramp = 30.0, 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, 30))
    parts = [np.zeros(30)]
    for index, peak in enumerate((40.0, 30.0)):
        hold = np.full(15, peak)
        if index == jumpy:
            hold += 6.0 * (-1.0) ** np.arange(15)
        parts += [peak * ramp, hold, peak * ramp[::-1], np.zeros(10)]
    parts.append(np.zeros(20))
    camera = ideal_camera("hip-abduction", "left")
    series = series_of([posed("hip-abduction", "left", a) for a in np.concatenate(parts)],
                       camera, fps)  # fmt: skip
    return analyze_landmarks(series, "hip-abduction", "left")


def test_a_jumpy_smaller_repetition_is_left_out_of_the_mean() -> None:
    clean, result = _two_repetitions(jumpy=None), _two_repetitions(jumpy=1)
    assert len(clean.rom.repetitions) == 2 and clean.quality.verdict == "ok"
    codes = {f.code: f.severity for f in result.quality.findings}
    assert codes.get("unstable_repetitions") == "info"
    assert "unstable_peak" not in codes and result.quality.verdict == "ok"
    assert len(result.rom.repetitions) == 1
    assert result.rom.rom_mean_deg == result.rom.rom_deg
    assert result.rom.rom_deg == pytest.approx(clean.rom.rom_deg, abs=1.0)


def test_a_jumpy_reported_repetition_stays_and_warns() -> None:
    result = _two_repetitions(jumpy=0)
    codes = {f.code for f in result.quality.findings}
    assert "unstable_peak" in codes and "unstable_repetitions" not in codes
    assert len(result.rom.repetitions) == 2
