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
