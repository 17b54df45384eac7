"""The validation design: disjoint splits, body shapes, scene variation, the gain check."""

from __future__ import annotations

import numpy as np
import pytest

from rom_measure.measure.movements import get_movement
from rom_measure.synth import ClipSpec, SyntheticClip, Trajectory
from rom_measure.synth.calibration import (
    MIN_FIT_CASES,
    check_gains,
    fit_calibration,
    fit_warning_errors,
)
from rom_measure.synth.shapes import BODY_SHAPES
from rom_measure.synth.validate import CAMERAS, SPLITS, suite, summarize
from rom_measure.synth.validation_report import report, uncertainty_coverage


def test_held_out_split_shares_no_body_and_no_camera_with_training() -> None:
    cases = suite()
    seen = {
        split: (
            {c.body for c in cases if c.split == split},
            {c.camera for c in cases if c.split == split},
        )
        for split in SPLITS
    }
    train_bodies, train_cameras = seen["training"]
    held_bodies, held_cameras = seen["held-out"]
    assert held_bodies and held_cameras
    assert not train_bodies & held_bodies
    assert not train_cameras & held_cameras
    # not only the names: no held-out set-up repeats a training set-up's parameters
    train_setups = {CAMERAS[name] for name in train_cameras}
    assert not {CAMERAS[name] for name in held_cameras} & train_setups
    for split in SPLITS:
        assert seen[split][0] == set(SPLITS[split]["bodies"])
        assert seen[split][1] == set(SPLITS[split]["cameras"])


def test_quick_suite_is_small_and_covers_both_splits() -> None:
    cases = suite(quick=True)
    assert len(cases) <= 8
    assert {c.split for c in cases} == set(SPLITS)


def test_at_least_six_body_shapes_in_the_suite() -> None:
    bodies = {c.body for c in suite()}
    assert len(bodies) >= 6
    assert {"heavy-male", "slim-female", "short-older-female", "tall-male"} <= bodies
    assert bodies <= set(BODY_SHAPES)
    assert any(c.bystander for c in suite()) and any(c.off_plane_deg for c in suite())


def test_camera_set_ups_span_pitch_fps_orientation_and_light() -> None:
    specs = [c.spec() for c in suite()]
    assert {s.fps for s in specs} >= {24.0, 60.0}
    assert any(s.height_px > s.width_px for s in specs)
    assert any(s.width_px > s.height_px for s in specs)
    assert {max(s.width_px, s.height_px) for s in specs} == {960, 1280}
    assert min(s.light for s in specs) < 0.5
    pitches = [c.spec().camera().pitch_deg for c in suite(split="held-out", per_movement=1)]
    assert min(pitches) < -8.0 and max(pitches) > 8.0
    assert any(s.rep_peaks_deg and len(set(s.rep_peaks_deg)) > 1 for s in specs)


def _rows(
    split: str, movement: str, raw_factor: float, trues: tuple = (20.0, 30.0, 40.0, 50.0, 60.0)
) -> list[dict]:
    applied = get_movement(movement).calibration_gain
    return [
        {
            "split": split,
            "movement": movement,
            "body": "b",
            "camera": "c",
            "off_plane_deg": 0.0,
            "true_rom_deg": true,
            "measured_rom_deg": raw_factor * true * applied,
            "error_deg": raw_factor * true * applied - true,
            "verdict": "ok",
            "flags": "",
        }
        for true in trues
    ]


def test_gain_is_fitted_on_training_and_dropped_when_held_out_disagrees() -> None:
    training = _rows("training", "hip-flexion", 1 / 1.25)  # reads 20% low
    fits = fit_calibration(training)
    assert fits["hip-flexion"]["gain"] == pytest.approx(1.25, abs=1e-3)
    assert fits["hip-flexion"]["residual_rms_deg"] == pytest.approx(0.0, abs=0.01)
    agrees = check_gains(fits, _rows("held-out", "hip-flexion", 1 / 1.25))["hip-flexion"]
    assert agrees["keep_gain"] and agrees["recommended_gain"] == pytest.approx(1.25, abs=1e-3)
    exact = check_gains(fits, _rows("held-out", "hip-flexion", 1.0))["hip-flexion"]
    assert not exact["keep_gain"] and exact["recommended_gain"] == 1.0


def test_unseen_error_fits_the_gain_without_the_case_s_body_and_camera() -> None:
    applied = get_movement("hip-flexion").calibration_gain
    rows = [
        {**_rows("training", "hip-flexion", 1.0)[0], "body": body, "camera": camera,
         "true_rom_deg": 40.0, "measured_rom_deg": factor * 40.0 * applied}
        for body, factor, cameras in (("reads-low", 0.9, "cd"), ("exact", 1.0, "cde"))
        for camera in cameras
    ]  # fmt: skip
    fit = fit_calibration(rows)["hip-flexion"]
    # A reads-low case is predicted with the exact body's gain (1.0): 4 deg low; an
    # exact case with the reads-low body's (1/0.9): 4.44 deg high.
    expected = ((2 * 4.0**2 + 3 * (40 / 0.9 - 40) ** 2) / 5) ** 0.5
    assert fit["unseen_rms_deg"] == pytest.approx(expected, abs=0.01)
    gain = 40 * (2 * 36 + 3 * 40) / (2 * 36**2 + 3 * 40**2)
    in_sample = ((2 * (36 * gain - 40) ** 2 + 3 * (40 * gain - 40) ** 2) / 5) ** 0.5
    assert fit["residual_rms_deg"] == pytest.approx(in_sample, abs=0.01)
    assert fit["residual_rms_deg"] < fit["unseen_rms_deg"]  # in-sample, smaller
    assert fit["cases"] == 5


def _flagged(rows: list[dict], flags: str) -> list[dict]:
    return [{**r, "verdict": "warning", "flags": flags} for r in rows]


def test_an_approximate_method_is_fitted_on_results_flagged_only_as_approximate() -> None:
    movement = "ankle-plantarflexion"
    assert get_movement(movement).approximate  # its results are never ok
    sound = _flagged(_rows("training", movement, 1 / 1.3), "approximate_method")
    failed = _flagged(_rows("training", movement, 2.0), "approximate_method unstable_peak")
    fit = fit_calibration(sound + failed)[movement]
    assert fit["gain"] == pytest.approx(1.3, abs=1e-3)  # the failures are not scaled
    assert fit["cases"] == len(sound)


def test_too_few_sound_results_fit_no_gain_and_report_the_error_without_one() -> None:
    movement = "ankle-lunge"
    applied = get_movement(movement).calibration_gain
    sound = _flagged(_rows("training", movement, 1.0, trues=(20.0, 40.0)), "approximate_method")
    others = _flagged(_rows("training", movement, 1.1, trues=(20.0, 40.0, 60.0)),
                      "approximate_method second_opinion")  # fmt: skip
    assert len(sound) < MIN_FIT_CASES
    fit = fit_calibration(sound + others)[movement]
    assert fit["gain"] is None and fit["cases"] == 2
    errors = [0.0, 0.0, 2.0, 4.0, 6.0]  # every reported result, without a gain
    assert applied and fit["residual_rms_deg"] == pytest.approx(
        (sum(e * e for e in errors) / 5) ** 0.5, abs=0.01
    )
    assert movement not in check_gains({movement: fit}, sound + others)


def test_the_held_out_check_is_on_the_sound_results_only() -> None:
    fits = fit_calibration(_rows("training", "neck-rotation", 1 / 1.1))
    held = _rows("held-out", "neck-rotation", 1 / 1.1)
    beyond = _flagged(_rows("held-out", "neck-rotation", 0.7), "beyond_valid_range")
    check = check_gains(fits, held + beyond)["neck-rotation"]
    assert check["cases"] == len(held) and check["keep_gain"]
    assert check["median_abs_error_with_gain_deg"] == pytest.approx(0.0, abs=0.01)


def test_summary_counts_ok_cases_beyond_five_degrees() -> None:
    factor = 1.2 / get_movement("neck-rotation").calibration_gain
    rows = _rows("held-out", "neck-rotation", factor, trues=(20.0, 40.0, 60.0))
    line = summarize(rows)[0]
    assert line["cases"] == 3 and line["ok_cases"] == 3
    assert line["ok_over_5_deg"] == 2  # +4, +8, +12 deg
    assert line["ok_max_abs_error_deg"] == pytest.approx(12.0)


def test_trajectory_reaches_each_repetition_peak() -> None:
    trajectory = Trajectory(60.0, 3, still_s=0.5, ramp_s=1.0, hold_s=0.5, rest_s=0.5,
                            peaks_deg=(51.0, 60.0, 55.8))  # fmt: skip
    period = trajectory.cycle_s + trajectory.rest_s
    holds = [trajectory.angle_at(0.5 + k * period + 1.25) for k in range(3)]
    assert holds == pytest.approx([51.0, 60.0, 55.8])
    spec = ClipSpec("hip-flexion", "left", rep_peaks_deg=(51.0, 60.0, 55.8))
    assert spec.peak == 60.0 and spec.n_repetitions == 3


def test_body_shapes_change_the_body_and_its_joints() -> None:
    from rom_measure.synth.body import load_body

    tall, short = load_body(shape="tall-male"), load_body(shape="short-older-female")
    height = {b: float(m.vertices_m[:, 1].max()) for b, m in (("tall", tall), ("short", short))}
    assert height["tall"] - height["short"] > 0.3
    hip_y = {
        b: m.bone_heads_m[m.bone("LeftUpLeg"), 1] for b, m in (("tall", tall), ("short", short))
    }
    # the joint centres follow the shaped mesh (the hip is at about half the height)
    for b in height:
        assert 0.45 < hip_y[b] / height[b] < 0.6


def test_dim_light_and_noise_are_applied_and_deterministic() -> None:
    clean = SyntheticClip(
        ClipSpec("neck-rotation", "left", width_px=64, height_px=64, supersample=1)
    )
    spec = ClipSpec("neck-rotation", "left", width_px=64, height_px=64, supersample=1,
                    light=0.4, noise=3.0)  # fmt: skip
    dim = SyntheticClip(spec, body=clean.body)
    frame = clean.renderer.render(clean.pose(0.0).vertices_m)
    a, b = dim._finish(frame, 0), dim._finish(frame, 0)
    assert np.array_equal(a, b)
    assert a.mean() < 0.8 * frame.mean()
    assert not np.array_equal(a, dim._finish(frame, 1))


def test_bystander_adds_a_second_person_to_the_frame() -> None:
    spec = ClipSpec("hip-flexion", "left", width_px=96, height_px=64, supersample=1)
    alone = SyntheticClip(spec)
    crowd = SyntheticClip(ClipSpec(**{**spec.__dict__, "bystander": True}), body=alone.body)
    pose = alone.pose(0.0).vertices_m
    a, b = alone._render(pose, 0), crowd._render(pose, 0)
    changed = np.any(a != b, axis=2)
    assert changed.any()
    columns = np.flatnonzero(changed.any(axis=0))
    assert columns.min() > 96 // 2  # the bystander stands to the right of the subject


def test_each_split_has_seated_neck_cases_filmed_as_instructed() -> None:
    from rom_measure.synth.movements import MOVEMENTS

    neck = [m for m in MOVEMENTS if m.startswith("neck-")]
    for per_movement in (None, 3):
        for split in SPLITS:
            cases = [c for c in suite(split=split, per_movement=per_movement)]
            sat = [c for c in cases if c.posture == "seated"]
            assert {c.movement for c in sat} == set(neck)
            assert {c.body for c in sat} <= set(SPLITS[split]["bodies"])
            assert {c.camera for c in sat} <= set(SPLITS[split]["cameras"])
            assert len({c.camera for c in sat}) == len(SPLITS[split]["cameras"])
            for movement in neck:
                mine = [c for c in sat if c.movement == movement]
                assert len(mine) == 2 and sorted(c.repetitions for c in mine) == [1, 3]
            assert all(c.as_instructed and c.spec().posture == "seated" for c in sat)
    assert not any(c.posture == "seated" for c in suite(quick=True))


def test_summaries_by_posture() -> None:
    rows = _rows("training", "neck-rotation", 1.0)
    seated_rows = [{**r, "posture": "seated"} for r in _rows("training", "neck-rotation", 1.2)]
    table = {t["posture"]: t for t in summarize(rows + seated_rows, by="posture")}
    assert table["standing"]["cases"] == 5 and table["seated"]["cases"] == 5  # old rows: standing
    assert table["seated"]["median_abs_error_deg"] > table["standing"]["median_abs_error_deg"]
    text = report(rows + seated_rows)
    assert "neck movements by posture" in text and "neck-rotation, seated" in text


def test_uncertainty_coverage_counts_errors_within_one_and_two_uncertainties() -> None:
    rows = [{"split": "held-out", "movement": "hip-flexion", "body": "b", "camera": "c",
             "off_plane_deg": 0.0, "true_rom_deg": 30.0, "measured_rom_deg": 30.0 + error,
             "verdict": verdict, "error_deg": error, "uncertainty_deg": 2.0}
            for verdict, error in [("ok", 1.0), ("ok", -2.0), ("ok", 3.0), ("ok", 5.0),
                                   ("warning", 0.5), ("rejected", 0.0)]]  # fmt: skip
    rows.append({**rows[0], "off_plane_deg": 30.0, "error_deg": 9.0})  # stress: left out
    ok, warning = uncertainty_coverage(rows)
    assert (ok["cases"], ok["within_1u"], ok["within_2u"]) == (4, 0.5, 0.75)
    assert (warning["cases"], warning["within_1u"], warning["within_2u"]) == (1, 1.0, 1.0)
    assert "| held-out | ok | 4 | 50% | 75% |" in report(rows)


def test_warning_errors_are_the_rms_per_code_and_rare_codes_are_pooled() -> None:
    def row(flags: str, error: float | None, verdict: str = "warning") -> dict:
        return {"flags": flags, "error_deg": error, "verdict": verdict}

    rows = [row("oblique_view", e) for e in (3.0, -4.0, 0.0)]
    rows += [row("approximate_method oblique_view multiple_people", 5.0)]
    rows += [row("approximate_method", 9.0), row("oblique_view", None, "rejected"),
             row("oblique_view", 20.0, "ok")]  # fmt: skip
    fit = fit_warning_errors(rows)
    assert fit["codes"] == {"oblique_view": {"cases": 4, "rms_deg": 3.5}}  # sqrt(50 / 4)
    assert "multiple_people" not in fit["codes"]  # one case: left to the pooled figure
    assert fit["pooled_cases"] == 4 and fit["pooled_deg"] == 3.5


def test_the_report_shows_a_movement_with_too_few_sound_results_as_no_gain() -> None:
    sound = _flagged(_rows("training", "ankle-lunge", 1.0, trues=(20.0, 40.0)),
                     "approximate_method")  # fmt: skip
    fitted = _rows("training", "hip-flexion", 1 / 1.25)
    held = _rows("held-out", "hip-flexion", 1 / 1.25)
    lines = report(sound + fitted + held).splitlines()
    assert any(line.startswith("| ankle-lunge | 2 | too few: 1.0 |") for line in lines)
    assert any(line.startswith("| hip-flexion | 5 | 1.250 |") and "| yes |" in line
               for line in lines)  # fmt: skip


def test_re_reporting_a_file_that_is_not_a_cases_csv_is_a_clear_error(tmp_path) -> None:
    from rom_measure.errors import InputError
    from rom_measure.synth.validate import read_cases, write_validation

    good = write_validation(_rows("held-out", "hip-flexion", 1.0), tmp_path / "run")["cases"]
    assert len(read_cases(good)) == 5
    header, first, *_ = good.read_text().splitlines()
    cases = {
        "missing.csv": None,
        "other.csv": "a,b\n1,2\n",
        "empty.csv": header + "\n",
        "number.csv": f"{header}\n{first.replace(',20.0,', ',abc,', 1)}\n",
        "split.csv": f"{header}\n{first.replace('held-out', 'testing', 1)}\n",
        "binary.csv": b"\xff\xfe\x00",
        "short.csv": f"{header}\n{first.rsplit(',', 3)[0]}\n",
        "long.csv": f"{header}\n{first},extra\n",
    }
    expected = {"missing.csv": "cannot read", "other.csv": "not a validation_cases.csv",
                "empty.csv": "holds no cases", "number.csv": "line 2: could not convert",
                "split.csv": "unknown split 'testing'", "binary.csv": "cannot read",
                "short.csv": "line 2: not as many fields",
                "long.csv": "line 2: not as many fields"}  # fmt: skip
    for name, content in cases.items():
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif content is not None:
            path.write_text(content)
        with pytest.raises(InputError, match=expected[name]):
            read_cases(path)
