"""The lunge's view and peak checks on rendered clips, through the real pose model."""

from __future__ import annotations

import pytest

from rom_measure.synth.validate import ValidationCase, analyze_case


def _codes(case: ValidationCase) -> tuple[str, set[str]]:
    result = analyze_case(case)
    return result.quality.verdict, {f.code for f in result.quality.findings}


@pytest.mark.slow
def test_a_lunge_filmed_as_instructed_has_no_view_or_peak_warning(pose_model, body) -> None:
    case = ValidationCase("held-out", "ankle-lunge", "right", 40.0, "short-older-female",
                          "wide-near")  # fmt: skip
    verdict, codes = _codes(case)
    assert verdict == "warning" and "approximate_method" in codes  # the lunge is never ok
    assert not codes & {"unstable_peak", "oblique_view"}


@pytest.mark.slow
def test_a_lunge_10_deg_off_the_side_view_is_never_ok(pose_model, body) -> None:
    """The model mixes the legs up during this hold and reads the lunge 12 deg low."""
    case = ValidationCase("training", "ankle-lunge", "left", 40.0, "base", "tripod",
                          off_plane_deg=10.0)  # fmt: skip
    verdict, codes = _codes(case)
    assert verdict == "warning"
    assert {"unstable_peak", "oblique_view"} <= codes
