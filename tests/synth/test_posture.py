"""The seated posture: a body on a chair for the neck movements (rom_measure.synth.posture)."""

from __future__ import annotations

import numpy as np
import pytest

from rom_measure.errors import InputError
from rom_measure.synth import ClipSpec, Renderer, SyntheticClip, load_truth, render_clip
from rom_measure.synth.look import appearance_for_seed
from rom_measure.synth.posture import seated
from rom_measure.synth.selftest import _measure, _Points


def test_seated_is_for_the_neck_movements_only() -> None:
    ClipSpec("neck-rotation", "left", posture="seated").validate()
    ClipSpec("neck-flexion", None, posture="seated").validate()
    with pytest.raises(InputError, match="neck movements only"):
        ClipSpec("hip-flexion", "left", posture="seated").validate()
    with pytest.raises(InputError, match="unknown posture"):
        ClipSpec("neck-rotation", "left", posture="lying").validate()


@pytest.mark.parametrize(("movement", "side"), [("neck-rotation", "right"), ("neck-flexion", None)])
def test_seated_clip_truth_is_the_commanded_peak(body, tmp_path, movement, side) -> None:
    spec = ClipSpec(movement, side, peak_deg=40.0, posture="seated", fps=8.0, width_px=48,
                    height_px=48, still_s=0.2, ramp_s=0.4, hold_s=0.2, supersample=1)  # fmt: skip
    truth = render_clip(spec, tmp_path / "seated.mp4")
    assert max(truth.angle_deg) == pytest.approx(40.0) and truth.rom_deg == 40.0
    assert load_truth(tmp_path / "seated.truth.json").spec["posture"] == "seated"
    # measured from the posed geometry, the head turns by the truth angle on the trunk
    clip = SyntheticClip(spec, body)
    neutral, peak = (_Points(body, clip.pose(a)) for a in (0.0, 40.0))
    angle, out_of_plane, bad = _measure(movement, side or "left", neutral, peak)
    assert angle == pytest.approx(40.0, abs=0.5) and out_of_plane < 0.5 and not bad


@pytest.mark.parametrize("shape", ["base", "tall-male", "short-older-female"])
def test_the_seat_is_under_the_pelvis_and_the_feet_on_the_floor(shape) -> None:
    clip = SyntheticClip(ClipSpec("neck-rotation", "left", posture="seated", body=shape))
    chair = seated(clip.body)
    posed = clip.pose(0.0)
    joints = clip.joints(posed)
    assert 0.3 < chair.seat_height_m < 0.5
    assert posed.vertices_m[:, 1].min() == pytest.approx(0.0, abs=1e-6)  # soles on the floor
    back, front = chair.seat_z_m
    for hip in ("left_hip", "right_hip"):
        x, y, z = joints[hip]
        assert 0.05 < y - chair.seat_height_m < 0.2  # the hip joint just above the seat
        assert abs(x) < 0.2 and back < z < front
        knee = joints[hip.replace("hip", "knee")]
        assert abs(knee[1] - y) < 0.03 and knee[2] - z > 0.25  # thigh horizontal, forward
        ankle = joints[hip.replace("hip", "ankle")]
        assert abs(ankle[2] - knee[2]) < 0.03 and ankle[1] < 0.15  # shank vertical
    standing = SyntheticClip(ClipSpec("neck-rotation", "left", body=shape), body=clip.body)
    head, upright = joints["head"], standing.joints(standing.pose(0.0))["head"]
    drop = upright[1] - head[1]
    assert 0.25 < drop < 0.6 and np.allclose(head[[0, 2]], upright[[0, 2]], atol=0.03)
    # the head-and-shoulders framing follows the head down
    v = [c.camera.project(h[None])[0, 1] for c, h in ((clip, head), (standing, upright))]
    assert abs(v[0] - v[1]) < 0.02 * clip.camera.height_px


def test_the_chair_is_drawn_and_hidden_behind_the_body(body) -> None:
    spec = ClipSpec("neck-rotation", "left", posture="seated", width_px=160, height_px=120)
    clip = SyntheticClip(spec, body)
    posed = clip.pose(0.0)
    with_chair = clip._render(posed.vertices_m, 0)
    alone = Renderer(body, clip.camera, appearance_for_seed(0), supersample=spec.supersample)
    without = alone.render(posed.vertices_m)
    changed = np.any(with_chair != without, axis=2)
    assert changed.sum() > 50  # the backrest shows beside the trunk
    chair = seated(body)
    backrest = np.array([[0.0, chair.seat_height_m + 0.35, chair.seat_z_m[0]]])
    u, v = np.floor(clip.camera.project(backrest)[0]).astype(int)
    assert 0 <= v < 120 and not changed[v, u]  # behind the trunk: occluded by the body
