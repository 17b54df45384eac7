"""Pre/post pairs at known changes: design, expected verdicts, and one real pair."""

from __future__ import annotations

import pytest

from rom_measure.synth.pairs import expected_verdict, literature_mdc, pair_cases, run_pair
from rom_measure.synth.validate import SPLITS


@pytest.mark.parametrize(
    ("movement", "change", "expected"),
    [
        ("neck-rotation", 12.6, "improved"),  # MDC95 9.6 + 3
        ("neck-rotation", 12.5, None),
        ("neck-rotation", 6.6, "no detectable change"),
        ("neck-rotation", -6.6, "no detectable change"),
        ("neck-rotation", 6.7, None),
        ("hip-flexion", 16.0, "improved"),  # MDC95 13
        ("ankle-lunge", 1.7, "no detectable change"),  # MDC95 4.7
    ],
)
def test_expected_verdict_follows_the_mdc_band(movement, change, expected) -> None:
    assert expected_verdict(movement, change) == expected


def test_each_movement_and_split_has_a_real_change_and_one_below_the_mdc() -> None:
    pairs = pair_cases()
    for split in SPLITS:
        mine = [p for p in pairs if p.pre.split == split]
        assert {p.pre.body for p in mine} <= set(SPLITS[split]["bodies"])
        assert {p.pre.camera for p in mine} <= set(SPLITS[split]["cameras"])
        for movement in {p.pre.movement for p in pairs}:
            verdicts = sorted(
                expected_verdict(movement, p.true_change_deg)
                for p in mine
                if p.pre.movement == movement
            )
            assert verdicts == ["improved", "no detectable change"], movement
    for pair in pairs:  # the post clip differs from the pre clip in its peak only
        assert pair.post.body == pair.pre.body and pair.post.camera == pair.pre.camera
        assert pair.post.peak_deg > pair.pre.peak_deg or pair.true_change_deg == 0
        assert pair.pre.repetitions == 3
        assert literature_mdc(pair.pre.movement) > 0


def test_a_real_change_of_neck_rotation_is_judged_improved() -> None:
    """Two rendered clips, the real pose model, compare: a 14.6 deg gain is improved."""
    pair = next(
        p
        for p in pair_cases("training")
        if p.pre.movement == "neck-rotation" and p.true_change_deg > 12
    )
    row = run_pair(pair)
    assert row["expected"] == "improved"
    assert row["verdict"] == "improved", row
    assert abs(row["measured_change_deg"] - row["true_change_deg"]) < 5.0, row
