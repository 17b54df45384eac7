"""Pre/post comparison on constructed results: thresholds, comparability, statistics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rom_measure import InputError
from rom_measure.measure.analysis import AnalysisSettings, analyze_landmarks
from rom_measure.visit.compare import compare_results, load_result
from tests.stick_figure import Camera, ideal_camera, movement_clip

EXACT = AnalysisSettings(calibrate=False)


def result(movement: str, peak: float, reps: int = 3, camera: Camera | None = None,
           settings: AnalysisSettings = EXACT, side: str = "left") -> dict:  # fmt: skip
    series, _ = movement_clip(movement, side, peak, camera or ideal_camera(movement, side),
                              reps=reps)  # fmt: skip
    return analyze_landmarks(series, movement, side, settings).to_dict()


@pytest.mark.parametrize(
    ("pre", "post", "verdict"),
    [(60.0, 80.0, "improved"), (60.0, 66.0, "no detectable change"), (80.0, 60.0, "decreased")],
)
def test_verdict_against_the_mdc(pre: float, post: float, verdict: str) -> None:
    c = compare_results(result("hip-flexion", pre), result("hip-flexion", post))
    assert c.verdict == verdict
    assert c.change_deg == pytest.approx(post - pre, abs=0.5)
    assert c.mdc95_deg == pytest.approx(13.0)  # Pua 2008, upper end, larger than the tool's
    assert c.mdc_basis == "literature"
    assert c.ci95_deg[0] <= c.change_deg <= c.ci95_deg[1]


def test_repetition_spread_sets_the_tool_mdc() -> None:
    """Differing repetitions give a wider CI and a tool MDC from their pooled SD."""
    from rom_measure.measure.movements import get_movement

    pre = result("ankle-dorsiflexion", 10.0)
    post = result("ankle-dorsiflexion", 20.0)
    for reps, offsets in ((pre, (-4.0, 0.0, 4.0)), (post, (-4.0, 0.0, 4.0))):
        for rep, offset in zip(reps["repetitions"], offsets, strict=True):
            rep["rom_deg"] += offset
    c = compare_results(pre, post)
    assert c.tool_mdc95_deg == pytest.approx(1.96 * 2**0.5 * 4.0, abs=0.1)
    assert c.mdc95_deg == max(c.tool_mdc95_deg, get_movement("ankle-dorsiflexion").mdc[0].mdc95_deg)
    assert c.ci95_deg[1] - c.ci95_deg[0] > 10.0
    assert c.verdict == "no detectable change"  # 10 deg < 11.1 deg tool MDC95


def test_different_camera_angles_are_not_comparable() -> None:
    pre = result("hip-flexion", 60.0)
    post = result("hip-flexion", 90.0, camera=ideal_camera("hip-flexion", "left", 30.0))
    c = compare_results(pre, post)
    assert c.verdict == "not comparable"
    assert any("camera angle" in r for r in c.reasons)


def test_calibrated_and_uncalibrated_results_are_not_comparable() -> None:
    pre = result("ankle-dorsiflexion", 20.0, settings=EXACT)
    post = result("ankle-dorsiflexion", 20.0, settings=AnalysisSettings())
    c = compare_results(pre, post)
    assert c.verdict == "not comparable"
    assert any("calibration" in r for r in c.reasons)


def test_rejected_clip_gives_no_verdict() -> None:
    pre = result("hip-flexion", 60.0)
    post = result("hip-flexion", 60.0, camera=Camera(yaw_deg=0.0))  # front view: rejected
    c = compare_results(pre, post)
    assert c.verdict == "not available"
    assert c.change_deg != c.change_deg  # NaN: no number


def test_bad_results_files_are_clear_errors(tmp_path: Path) -> None:
    listing = tmp_path / "list.json"
    listing.write_text("[1, 2]")
    with pytest.raises(InputError, match=r"not a rom_measure results\.json"):
        load_result(listing)
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({"schema": "rom_measure.result", "movement": "hip-flexion"}))
    with pytest.raises(InputError, match="lacks side, quality, repetitions"):
        load_result(partial)
    with pytest.raises(InputError, match="not found"):
        load_result(tmp_path / "missing.json")


def test_sound_results_give_a_firm_verdict() -> None:
    c = compare_results(result("hip-flexion", 60.0), result("hip-flexion", 80.0))
    assert (c.verdict, c.doubtful, c.doubt_reasons, c.verdict_text) == ("improved", False, (),
                                                                        "improved")  # fmt: skip


def lost_knee_result(peak: float) -> dict:
    """A bent-knee hip flexion whose second peak the model lost (quality warning)."""
    from tests.measure.test_lost import clip, dropped, hold_frames, profile, with_image

    angles = profile(peak)
    frames = hold_frames(angles, 1)[5:25]
    series = with_image(clip(angles), frames, dropped(frames))
    return analyze_landmarks(series, "hip-flexion", "left", EXACT).to_dict()


def test_a_verdict_on_a_doubtful_result_is_marked_doubtful(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rom_measure.console import print_comparison
    from rom_measure.visit.compare import write_comparisons
    from tests.measure.test_lost import clip, profile

    pre = analyze_landmarks(clip(profile(60.0)), "hip-flexion", "left", EXACT).to_dict()
    post = lost_knee_result(95.0)
    assert (pre["quality"]["verdict"], post["quality"]["verdict"]) == ("ok", "warning")
    c = compare_results(pre, post)
    assert c.verdict == "improved"  # 60 -> 95 deg, more than the 13 deg MDC95
    assert c.doubtful
    assert c.doubt_reasons == ("post result has warnings",)
    assert c.verdict_text == "improved (doubtful: post result has warnings)"
    assert any("lost the raised knee" in r for r in c.reasons)

    paths = write_comparisons([c], tmp_path)
    row = json.loads(paths["json"].read_text())["comparisons"][0]
    assert (row["doubtful"], row["doubt_reasons"]) == (True, ["post result has warnings"])
    assert row["verdict_text"] == "improved (doubtful: post result has warnings)"
    import csv

    with paths["csv"].open() as f:
        line = next(csv.DictReader(f))
    assert (line["doubtful"], line["doubt_reasons"]) == ("True", "post result has warnings")

    print_comparison(c)
    assert "IMPROVED (doubtful: post result has warnings)" in capsys.readouterr().out


def test_no_detectable_change_on_a_doubtful_result_is_doubtful_too() -> None:
    """The issue's case: a warning post result read low must not give a firm 'no change'."""
    pre = result("hip-flexion", 90.0)
    post = result("hip-flexion", 92.0)
    post["quality"] = {"verdict": "warning", "reasons": ["the landmarks were unstable"],
                       "findings": []}  # fmt: skip
    c = compare_results(pre, post)
    assert c.verdict == "no detectable change"
    assert c.doubtful and c.verdict_text.startswith("no detectable change (doubtful:")


def test_not_comparable_pairs_are_not_marked_doubtful() -> None:
    pre = result("hip-flexion", 60.0)
    post = result("hip-flexion", 90.0, camera=ideal_camera("hip-flexion", "left", 30.0))
    c = compare_results(pre, post)
    assert c.verdict == "not comparable"
    assert not c.doubtful and c.verdict_text == "not comparable"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"schema_version": "2.0"}, "schema version 2.0"),
        ({"quality": "bad"}, "quality has no verdict"),
        ({"quality": {"verdict": "great"}}, "quality has no verdict"),
        ({"repetitions": "x"}, "repetitions are not a list"),
        ({"repetitions": [{}]}, "repetitions are not a list"),
        ({"repetitions": [{"rom_deg": "x"}]}, "rom_deg is not an angle"),
        ({"repetitions": [{"rom_deg": 1e6}]}, "rom_deg is not an angle"),
        ({"rom_deg": float("nan")}, "rom_deg is not an angle"),
        ({"view": None}, "view is not a table"),
        ({"processing": [{"step": "calibration", "params": 1.2}]}, "processing holds"),
        ({"view": {"off_plane_deg": "5"}}, "view off_plane_deg is not a number"),
        ({"fps": "30"}, "fps is not a number"),
        ({"quality": {"verdict": "ok", "reasons": [1]}}, "reasons are not a list of texts"),
        ({"uncertainty_components_deg": {"peak_noise_deg": "x"}}, "uncertainty component"),
    ],
)  # fmt: skip
def test_an_edited_or_damaged_results_file_is_refused(tmp_path: Path, edit, message) -> None:
    sound = result("hip-flexion", 60.0)
    path = tmp_path / "results.json"
    path.write_text(json.dumps(sound))
    assert load_result(path)["rom_deg"] == sound["rom_deg"]  # as written, it reads
    path.write_text(json.dumps({**sound, **edit}))
    with pytest.raises(InputError, match=f"damaged or edited: .*{message}"):
        load_result(path)
