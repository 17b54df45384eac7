"""Frames where the pose model lost the measured limb, found from the series alone.

Each detector returns a (T,) bool mask; :func:`find_lost_frames` combines them and
says which fired. All work in seconds (any frame rate) and are pure numpy on the
series (milliseconds per clip). The thresholds are far outside what a joint does in
a range-of-motion test filmed as instructed, so a clean clip does not trip them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from rom_measure.measure.geometry import angle_between, signed_angle_in_plane
from rom_measure.measure.landmarks import Landmark as L
from rom_measure.measure.landmarks import LandmarkSeries
from rom_measure.measure.movements import Movement, other_side
from rom_measure.measure.signal import true_runs

__all__ = [
    "LostFrames",
    "causes",
    "find_lost_frames",
    "limb_name",
    "lost_message",
    "merge_second_opinion",
    "near_lost",
    "recheck_windows",
    "unseen_gaps",
]

# A limb in a ROM test moves at well under 300 deg/s (a 90 deg knee raise over 0.5 s
# peaks near 280 deg/s); a label jumping to another place reads far faster.
MAX_JOINT_SPEED_DEG_S = 600.0
SPEED_SPAN_S = 0.1  # central difference over this span (smooths one-frame jitter)

# A collapse: the angle drops by more than COLLAPSE_DEG and comes back up by as much,
# both within COLLAPSE_WINDOW_S, without reaching near the neutral posture. A real
# repetition returns to neutral; a 30 deg dip and return within 0.3 s each way is
# 100 deg/s at the bottom of a trough, where a real movement is slowest.
COLLAPSE_DEG = 30.0
COLLAPSE_WINDOW_S = 0.3
NEAR_NEUTRAL_FRAC = 0.25  # a dip ending below 25% of the largest excursion reached neutral

# The raised knee read at floor level (within half a shank of the standing foot) just
# after the thigh was high: a standing body never has its knee there.
KNEE_HIGH_DEG = 45.0
KNEE_HIGH_BEFORE_S = 0.5
FLOOR_MARGIN_SHANKS = 0.5

# Lunge: the front knee must stay this far (in shank lengths) ahead of the back knee,
# having started at least KNEE_START_AHEAD_SHANKS ahead. On a rendered 25 deg lunge
# the model put the front knee behind the back one during the hold and read 14.7 deg.
KNEE_AHEAD_SHANKS = 0.05
KNEE_START_AHEAD_SHANKS = 0.3

# Image angle against the metric (world) landmark angle of the same joint, each from
# its own value at the still start. The world landmarks under-read large angles: on a
# rendered 95 deg bent-knee hip flexion the world excursion was 70 deg where the image
# read 88 deg (an 18 deg gap on a clean clip), so the allowance grows with the angle.
WORLD_DISAGREE_DEG = 25.0
WORLD_SCALE_FRAC = 0.3  # extra allowance per degree of the smaller excursion
# Filmed obliquely the image angle is foreshortened and the world one is not, so they
# part without a lost limb (a real lab clip 54 deg off side-on did): compared only
# within this of the ideal view. A disagreement must also last WORLD_MIN_RUN_S (one
# frame of it is landmark noise).
WORLD_MAX_OFF_PLANE_DEG = 20.0
WORLD_MIN_RUN_S = 0.1

# A repetition whose peak lies in, or this close to, lost frames (or frames taken out
# by another check and not filled) is dropped: the true peak may lie in the gap. On a
# rendered 110 deg bent-knee hip flexion the model folded the thigh during each hold;
# the thigh-length check took those frames out and the ramps either side were counted
# as four repetitions of a two-repetition clip.
LOST_MARGIN_S = 0.3

_WORLD_MOVEMENTS = ("hip-flexion", "hip-extension", "ankle-dorsiflexion", "ankle-plantarflexion")


@dataclass(frozen=True)
class LostFrames:
    """Which frames were lost and which detectors found them (name -> frames)."""

    mask: np.ndarray
    by_detector: dict[str, int] = field(default_factory=dict)

    @property
    def any(self) -> bool:
        return bool(self.mask.any())


def _shift_max(time_s: np.ndarray, values: np.ndarray, window_s: float, future: bool) -> np.ndarray:
    """Max of ``values`` over the past (or future) ``window_s``, including the sample."""
    out = np.full(values.shape, np.nan)
    if future:
        hi = np.searchsorted(time_s, time_s + window_s, side="right")
        lo = np.arange(values.size)
    else:
        lo = np.searchsorted(time_s, time_s - window_s, side="left")
        hi = np.arange(values.size) + 1
    for i in range(values.size):
        window = values[lo[i] : hi[i]]
        if np.isfinite(window).any():
            out[i] = np.nanmax(window)
    return out


def too_fast(time_s: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Frames where the angle moves faster than any joint does in a ROM test."""
    half = SPEED_SPAN_S / 2.0
    before = np.searchsorted(time_s, time_s - half, side="left")
    after = np.clip(np.searchsorted(time_s, time_s + half, side="right") - 1, 0, time_s.size - 1)
    span = time_s[after] - time_s[before]
    with np.errstate(invalid="ignore", divide="ignore"):
        speed = np.abs(angle[after] - angle[before]) / np.where(span > 0, span, np.nan)
    fast = speed > MAX_JOINT_SPEED_DEG_S
    out = np.zeros(angle.shape, dtype=bool)
    for i in np.flatnonzero(fast):
        out[before[i] : after[i] + 1] = True
    return out


def collapse(time_s: np.ndarray, angle: np.ndarray, neutral_deg: float) -> np.ndarray:
    """Frames of a fast dip that returns, and does not reach the neutral posture."""
    if not np.isfinite(angle).any() or not math.isfinite(neutral_deg):
        return np.zeros(angle.shape, dtype=bool)
    excursion = angle - neutral_deg
    top = float(np.nanmax(excursion))
    past = _shift_max(time_s, excursion, COLLAPSE_WINDOW_S, future=False)
    ahead = _shift_max(time_s, excursion, COLLAPSE_WINDOW_S, future=True)
    with np.errstate(invalid="ignore"):
        depth = np.fmin(past, ahead) - excursion
        return (depth > COLLAPSE_DEG) & (excursion > NEAR_NEUTRAL_FRAC * top)


def knee_on_floor(
    series: LandmarkSeries, side: str, time_s: np.ndarray, angle: np.ndarray
) -> np.ndarray:
    """Hip flexion: the raised knee read at the standing foot's level after a high thigh."""
    other = "right" if side == "left" else "left"
    xy = series.pixels()
    shank = np.linalg.norm(xy[:, L.of(other, "knee")] - xy[:, L.of(other, "ankle")], axis=-1)
    if not np.isfinite(shank).any():
        return np.zeros(series.frames, dtype=bool)
    foot_y = xy[:, [L.of(other, p) for p in ("ankle", "heel", "foot_index")], 1]
    floor_y = np.max(np.nan_to_num(foot_y, nan=-np.inf), axis=1)
    floor_y[~np.isfinite(floor_y)] = np.nan
    knee_y = xy[:, L.of(side, "knee"), 1]
    with np.errstate(invalid="ignore"):
        low = knee_y > floor_y - FLOOR_MARGIN_SHANKS * float(np.nanmedian(shank))
    high_before = _shift_max(time_s, angle, KNEE_HIGH_BEFORE_S, future=False)
    out = np.zeros(series.frames, dtype=bool)
    for start, stop in true_runs(low):
        lead = high_before[max(start - 1, 0)]
        if np.isfinite(lead) and lead > KNEE_HIGH_DEG:
            out[start:stop] = True
    return out


def knees_crossed(series: LandmarkSeries, side: str, still: np.ndarray) -> np.ndarray:
    """Lunge: the front (measured) knee read level with or behind the back knee.

    In the still start the front knee is ahead of the back one along the image's x axis;
    it stays ahead through the lunge (both knees move forward, the back one less). A
    front knee read within KNEE_AHEAD_SHANKS shank lengths of the back one, or behind
    it, means the model mixed up the legs. Needs a clear order in the still start.
    """
    out = np.zeros(series.frames, dtype=bool)
    xy = series.pixels()
    ahead = xy[:, L.of(side, "knee"), 0] - xy[:, L.of(other_side(side), "knee"), 0]
    shank = np.linalg.norm(xy[:, L.of(side, "knee")] - xy[:, L.of(side, "ankle")], axis=-1)
    start = still & np.isfinite(ahead) & np.isfinite(shank)
    if not start.any():
        return out
    lead, length = float(np.median(ahead[start])), float(np.median(shank[start]))
    if not abs(lead) > KNEE_START_AHEAD_SHANKS * length:
        return out
    with np.errstate(invalid="ignore"):
        return np.sign(lead) * ahead < KNEE_AHEAD_SHANKS * length


def world_angle(series: LandmarkSeries, movement: Movement, side: str) -> np.ndarray:
    """The movement's sagittal angle from the metric world landmarks (NaN if not defined)."""
    w = series.world.astype(np.float64)
    left_right = (w[:, L.LEFT_HIP] - w[:, L.RIGHT_HIP]) + (w[:, L.LEFT_SHOULDER]
                                                           - w[:, L.RIGHT_SHOULDER])  # fmt: skip
    normal = np.nanmedian(left_right, axis=0) if np.isfinite(left_right).any() else None
    if normal is None:
        return np.full(series.frames, np.nan)
    if movement.region == "hip":
        trunk_down = 0.5 * (w[:, L.LEFT_HIP] + w[:, L.RIGHT_HIP] - w[:, L.LEFT_SHOULDER]
                            - w[:, L.RIGHT_SHOULDER])  # fmt: skip
        thigh = w[:, L.of(side, "knee")] - w[:, L.of(side, "hip")]
        return np.abs(signed_angle_in_plane(trunk_down, thigh, normal))
    shank_up = w[:, L.of(side, "knee")] - w[:, L.of(side, "ankle")]
    foot = w[:, L.of(side, "foot_index")] - w[:, L.of(side, "heel")]
    return 90.0 - angle_between(shank_up, foot)


def world_disagrees(
    series: LandmarkSeries, movement: Movement, side: str, angle: np.ndarray, still: np.ndarray
) -> np.ndarray:
    """Frames where the image angle and the world-landmark angle part by far."""
    if movement.name not in _WORLD_MOVEMENTS:
        return np.zeros(series.frames, dtype=bool)
    world = world_angle(series, movement, side)
    image = np.abs(angle) if movement.region == "hip" else angle
    if movement.name == "ankle-plantarflexion":
        image = -angle
    ok = still & np.isfinite(image) & np.isfinite(world)
    if not ok.any():
        return np.zeros(series.frames, dtype=bool)
    image_exc = image - float(np.median(image[ok]))
    world_exc = world - float(np.median(world[ok]))
    allowed = WORLD_DISAGREE_DEG + WORLD_SCALE_FRAC * np.fmin(np.abs(image_exc), np.abs(world_exc))
    with np.errstate(invalid="ignore"):
        apart = np.abs(image_exc - world_exc) > allowed
    t = series.time_s
    for start, stop in true_runs(apart):
        if t[stop - 1] - t[start] < WORLD_MIN_RUN_S:
            apart[start:stop] = False
    return apart


def find_lost_frames(
    series: LandmarkSeries,
    movement: Movement,
    side: str,
    angle: np.ndarray,
    neutral_deg: float,
    still: np.ndarray,
    off_plane_deg: float = 0.0,
) -> LostFrames:
    """Combine the detectors on a cleaned (outlier-free, gap-filled) angle series.

    ``still`` marks the still-start frames (the reference for the world comparison).
    Neck movements are left out: their angles are not limb angles. The world
    comparison runs only for a view within WORLD_MAX_OFF_PLANE_DEG of the ideal.
    """
    t = series.time_s
    empty = np.zeros(series.frames, dtype=bool)
    if movement.region == "neck":
        return LostFrames(empty, {})
    masks = {
        "too_fast": too_fast(t, angle),
        "collapse": collapse(t, angle, neutral_deg),
        "knee_on_floor": knee_on_floor(series, side, t, angle)
        if movement.name == "hip-flexion" else empty,
        "knees_crossed": knees_crossed(series, side, still)
        if movement.name == "ankle-lunge" else empty,
        "world_disagreement": world_disagrees(series, movement, side, angle, still)
        if not off_plane_deg > WORLD_MAX_OFF_PLANE_DEG else empty,
    }  # fmt: skip
    finite = np.isfinite(angle)
    mask = np.logical_or.reduce(list(masks.values())) & finite
    counts = {k: int((v & finite).sum()) for k, v in masks.items()}
    return LostFrames(mask, {k: n for k, n in counts.items() if n})


def unseen_gaps(values: np.ndarray) -> np.ndarray:
    """(T,) bool: NaN runs with finite samples on both sides (frames taken out mid-clip)."""
    finite = np.flatnonzero(np.isfinite(values))
    gaps = np.zeros(values.shape, dtype=bool)
    if finite.size:
        gaps[finite[0] : finite[-1] + 1] = ~np.isfinite(values[finite[0] : finite[-1] + 1])
    return gaps


def near(time_s: np.ndarray, mask: np.ndarray, at_s: float) -> np.ndarray:
    """(T,) bool: the frames of ``mask`` within LOST_MARGIN_S of ``at_s``."""
    return mask & (np.abs(time_s - at_s) <= LOST_MARGIN_S)


def near_lost(time_s: np.ndarray, lost: np.ndarray, at_s: float) -> bool:
    """Whether ``at_s`` lies in, or within LOST_MARGIN_S of, a frame of ``lost``."""
    return bool(near(time_s, lost, at_s).any())


_LIMB_OF_MOVEMENT = {"hip-flexion": "the raised knee", "ankle-lunge": "the front leg"}
_LIMB_OF_REGION = {"hip": "the moving leg", "ankle": "the foot", "neck": "the head"}


def limb_name(movement: Movement) -> str:
    """What moves in ``movement``, in plain words ("the raised knee", "the head", ...)."""
    return _LIMB_OF_MOVEMENT.get(movement.name, _LIMB_OF_REGION.get(movement.region, "the limb"))


_CAUSES = {
    "segment_length": "a limb segment changed length in the picture",
    "outlier": "the angle jumped",
    "low_visibility": "the landmarks were not clearly seen",
    "not_detected": "the person was not found",
}
_ADVICE = {
    "hip": "film again with the camera side-on at hip height, 2-3 m away, the whole body in "
    "the picture, the measured side toward the camera and good light",
    "ankle": "film again with the camera side-on at ankle height, close enough for the foot to "
    "be large in the picture, the measured side toward the camera and good light",
}


def causes(status: np.ndarray, frames: np.ndarray, lost: LostFrames) -> list[str]:
    """Plain words for why ``frames`` were taken out (their status, or the detectors)."""
    found = []
    for code in dict.fromkeys(status[frames]):
        if code == "lost_limb":
            found += [k.replace("_", " ") for k in lost.by_detector]
        elif code in _CAUSES:
            found.append(_CAUSES[code])
    return found


def lost_message(
    movement: Movement, reasons: list[str], dropped: int, total: int, lost_frames: int
) -> tuple[str, str] | None:
    """(severity, message) for the quality verdict, or None when nothing was lost.

    Every repetition dropped: reject. Some dropped, or lost frames away from the
    peaks: warning.
    """
    limb = limb_name(movement)
    how = f" ({', '.join(reasons)})" if reasons else ""
    if total and dropped == total:
        advice = _ADVICE.get(movement.region, "film again side-on, closer and in good light")
        return "reject", f"the model lost {limb} at the top of the movement{how}; {advice}"
    if dropped:
        return "warning", (f"the model lost {limb} at the top of {dropped} of {total} "
                           f"repetitions found{how}; they were left out")  # fmt: skip
    if lost_frames:
        return "warning", (f"the model lost {limb} in {lost_frames} frames away from the peaks"
                           f"{how}; they were left out")  # fmt: skip
    return None


# -- a second opinion (e.g. the model on the mirrored frame) for the frames taken out ----

TAKEN_OUT = ("lost_limb", "segment_length", "outlier")
# The mirrored tracker is started this long before a run of lost frames. On the
# rendered 110 deg bent-knee hip flexion (tests/media/test_mirror.py; two-pose first
# pass) every lead of 0, 0.1, 0.2, 0.3, 0.5 and 1.0 s restored both repetitions, ROM
# 112.5-113.0 deg: the landmarker runs its detector on its first frame, so it needs
# no run-in; the lead gives it a few frames to settle before the lost ones.
RECHECK_LEAD_S = 0.3
RECHECK_TAIL_S = 0.3


def recheck_windows(
    time_s: np.ndarray, status: np.ndarray, peaks_s: tuple[float, ...] | None = None
) -> list[tuple[float, float]]:
    """Time windows (s) around the runs of lost or taken-out frames, merged when they touch.

    With ``peaks_s`` only the runs with a frame within LOST_MARGIN_S of one of those
    peak times (the repetitions dropped for them); the others cost no re-run and only
    warn ("lost ... away from the peaks").
    """
    windows: list[tuple[float, float]] = []
    for start, stop in true_runs(np.isin(status, TAKEN_OUT)):
        run = time_s[start:stop]
        if peaks_s is not None and not any(np.any(np.abs(run - p) <= LOST_MARGIN_S)
                                           for p in peaks_s):  # fmt: skip
            continue
        a, b = time_s[start] - RECHECK_LEAD_S, time_s[stop - 1] + RECHECK_TAIL_S
        if windows and a <= windows[-1][1]:
            windows[-1] = (windows[-1][0], b)
        else:
            windows.append((float(a), float(b)))
    return windows


def merge_second_opinion(
    series: LandmarkSeries, second: LandmarkSeries, status: np.ndarray
) -> tuple[LandmarkSeries, int]:
    """``series`` with its taken-out frames replaced by ``second``'s at the same times.

    Only frames whose status is in TAKEN_OUT and that ``second`` detected are replaced;
    the merged series then goes through the whole analysis again, so a second opinion
    that is no better is taken out by the same checks. Returns it and the count.
    """
    if second.frames == 0:
        return series, 0
    idx = np.clip(np.searchsorted(second.time_s, series.time_s), 0, second.frames - 1)
    prev = np.clip(idx - 1, 0, second.frames - 1)
    nearest = np.where(np.abs(second.time_s[prev] - series.time_s)
                       < np.abs(second.time_s[idx] - series.time_s), prev, idx)  # fmt: skip
    half_frame = 0.5 / series.fps if np.isfinite(series.fps) else 0.0
    same_time = np.abs(second.time_s[nearest] - series.time_s) <= half_frame
    use = np.isin(status, TAKEN_OUT) & same_time & second.detected[nearest]
    if not use.any():
        return series, 0
    arrays = {}
    for name in ("image", "visibility", "presence", "world"):
        merged = getattr(series, name).copy()
        merged[use] = getattr(second, name)[nearest[use]]
        arrays[name] = merged
    if series.face is not None:  # the second opinion's mesh, or none for the replaced frames
        face = series.face.copy()
        face[use] = np.nan if second.face is None else second.face[nearest[use]]
        arrays["face"] = face
    if series.face_score is not None:
        score = series.face_score.copy()
        score[use] = np.nan if second.face_score is None else second.face_score[nearest[use]]
        arrays["face_score"] = score
    stride = int(second.meta.get("mirror_stride", 1))
    meta = {**series.meta, "second_opinion": {"model": second.meta.get("model"),
                                              "frames": int(use.sum()),
                                              "stride": stride}}  # fmt: skip
    return series.replace(**arrays, meta=meta), int(use.sum())
