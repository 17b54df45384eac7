"""End to end on rendered clips with known truth: render, run the real model, measure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rom_measure.media.pipeline import analyze_video
from rom_measure.synth import ClipSpec
from rom_measure.synth.cache import cached_clip

pytestmark = pytest.mark.slow

SMALL = {
    "width_px": 640,
    "height_px": 360,
    "fps": 24.0,
    "still_s": 0.6,
    "ramp_s": 0.7,
    "hold_s": 0.3,
}
TOLERANCE_DEG = 5.0


@pytest.mark.parametrize(
    ("movement", "side", "peak_deg"),
    [
        ("hip-flexion", "left", 70.0),
        ("neck-rotation", "right", 45.0),
        ("ankle-dorsiflexion", "left", 20.0),
    ],
)
def test_measured_rom_matches_the_truth(
    movement: str, side: str, peak_deg: float, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.getbasetemp() / "synthetic"
    video, truth = cached_clip(ClipSpec(movement, side, peak_deg=peak_deg, **SMALL), folder)
    result = analyze_video(video, movement, side)
    assert result.quality.verdict != "rejected", result.quality.reasons
    assert abs(result.rom_deg - truth["rom_deg"]) <= TOLERANCE_DEG
    assert len(result.rom.repetitions) == 1


def test_demo_happy_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The demo with a one-case manifest: renders, analyses, compares, prints truth."""
    from rom_measure.cli import main

    cases = tmp_path / "cases.json"
    cases.write_text(
        json.dumps(
            {
                "render": {**SMALL, "repetitions": 1},
                "cases": [
                    {
                        "region": "hip",
                        "movement": "hip-flexion",
                        "side": "left",
                        "pre_peak_deg": 50,
                        "post_peak_deg": 75,
                    }
                ],
            }
        )
    )
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--cases", str(cases), "--no-annotate"]) == 0
    printed = capsys.readouterr().out
    assert "true ROM" in printed and "hip-flexion" in printed
    assert "improved" in printed  # 25 deg change is well beyond the 13 deg MDC95
    comparison = json.loads((out / "comparison.json").read_text())
    row = comparison["comparisons"][0]
    assert row["verdict"] == "improved"
    assert row["change_deg"] == pytest.approx(25.0, abs=6.0)
    for label in ("pre", "post"):
        assert (out / label / "hip-flexion_left" / "results.json").is_file()


def test_hip_extension_is_averaged_with_the_mirrored_picture_and_flexion_is_not(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    folder = tmp_path_factory.getbasetemp() / "synthetic"
    video, truth = cached_clip(ClipSpec("hip-extension", "right", peak_deg=20.0, **SMALL), folder)
    result = analyze_video(video, "hip-extension", "right")
    (step,) = [p for p in result.processing if p.name == "mirror_average"]
    assert step.params["averaged"] == 1
    assert abs(result.rom_deg - truth["rom_deg"]) <= TOLERANCE_DEG
    assert result.to_dict()["rom_deg"] == pytest.approx(result.rom_deg, abs=0.01)
    video, _ = cached_clip(ClipSpec("hip-flexion", "left", peak_deg=70.0, **SMALL), folder)
    flexion = analyze_video(video, "hip-flexion", "left")
    assert not [p for p in flexion.processing if p.name == "mirror_average"]
