"""The preview's camera-angle light agrees with the view warning of the analysis."""

from __future__ import annotations

import pytest

from rom_measure import get_movement
from rom_measure.capture.live import _view_signal
from rom_measure.measure.quality import check_view, estimate_view

from ..stick_figure import ideal_camera, movement_clip

VIEW_CODES = {"oblique_view", "wrong_view"}


@pytest.mark.parametrize("name", ["hip-flexion", "ankle-lunge"])
def test_green_exactly_when_analysis_would_not_warn_of_the_view(name: str) -> None:
    movement, states = get_movement(name), set()
    for yaw in (0.0, 10.0, 20.0, 30.0, 40.0, 50.0):
        series, _ = movement_clip(name, "left", 30.0, ideal_camera(name, "left", yaw))
        signal = _view_signal(series, movement, "left")
        codes = {f.code for f in check_view(estimate_view(series, movement), movement, "left")}
        assert (signal.state == "green") == (not codes & VIEW_CODES), (yaw, signal, codes)
        states.add(signal.state)
    assert "green" in states and len(states) > 1  # both sides of the line were seen
