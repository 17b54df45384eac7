"""The measurement pipeline: landmarks -> angle series -> ROM, with quality and provenance.

Pure computation on a :class:`LandmarkSeries`; running the pose model over a video
file is :mod:`rom_measure.media.pipeline`.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rom_measure._version import __version__
from rom_measure.measure import lost as lost_limb
from rom_measure.measure import signal
from rom_measure.measure.landmarks import LandmarkSeries
from rom_measure.measure.movements import VISIBLE, Movement, check_side, get_movement
from rom_measure.measure.quality import (
    Finding,
    Quality,
    ViewEstimate,
    check_discarded,
    check_frames,
    check_landmarks,
    check_movement,
    check_peak_flicker,
    check_peak_stability,
    check_people,
    check_range,
    check_subject_size,
    check_trunk_turn,
    check_view,
    estimate_view,
    peak_flicker_deg,
    peak_unstable,
    verdict,
    warning_error_deg,
)
from rom_measure.measure.rom import (
    MIN_EXCURSION_DEG,
    RomEstimate,
    estimate_rom,
    find_neutral,
    keep_repetitions,
    with_component,
)
from rom_measure.measure.swaps import MARGIN_DEG as STILL_LEG_MARGIN_DEG
from rom_measure.measure.swaps import other_leg_moved, still_leg_swaps

log = logging.getLogger(__name__)

__all__ = [
    "SCHEMA_VERSION",
    "AnalysisSettings",
    "Result",
    "analyze_landmarks",
    "reported_peak_flicker",
    "result_to_dict",
]

SCHEMA_VERSION = "1.0"


@dataclass(frozen=True)
class AnalysisSettings:
    """Tunable parts of the pipeline (defaults are what the validation used)."""

    max_gap_s: float = 0.25
    outlier_window_s: float = 0.5
    outlier_sigmas: float = 3.0
    segment_tolerance: float = 0.25
    lowpass_hz: float | None = None  # None: the movement's own cut-off
    repair_leg_swaps: bool = True
    detect_lost_limb: bool = True  # take out frames where the model lost the limb
    calibrate: bool = True  # apply the movement's gain measured against ground truth


@dataclass(frozen=True, eq=False)
class Result:
    """One analysed clip. ROM fields are NaN when the quality verdict is ``rejected``."""

    movement: Movement
    side: str
    quality: Quality
    view: ViewEstimate
    rom: RomEstimate
    time_s: np.ndarray
    raw_deg: np.ndarray
    filtered_deg: np.ndarray
    frame_status: np.ndarray  # (T,) str: why each frame was used or not
    series: LandmarkSeries
    processing: tuple[signal.ProcessingStep, ...]
    source: dict[str, Any] = field(default_factory=dict)
    #: Peak times (s) of the repetitions dropped because lost or taken-out frames lie
    #: next to them (a second opinion for those frames may restore them).
    lost_peaks_s: tuple[float, ...] = ()

    @property
    def calibration_gain(self) -> float:
        """The ROM gain that was applied (1.0 when calibration was off)."""
        step = next((p for p in self.processing if p.name == "calibration"), None)
        return float(step.params["gain"]) if step else 1.0

    @property
    def rejected(self) -> bool:
        return self.quality.verdict == "rejected"

    @property
    def rom_deg(self) -> float:
        return math.nan if self.rejected else self.rom.rom_deg

    @property
    def frames_used(self) -> int:
        return int(np.isfinite(self.filtered_deg).sum())

    def to_dict(self) -> dict[str, Any]:
        """The ``results.json`` content (schema ``SCHEMA_VERSION``)."""
        return result_to_dict(self)


def _number(value: float, digits: int = 2) -> float | None:
    return round(float(value), digits) if value is not None and math.isfinite(value) else None


def result_to_dict(result: Result) -> dict[str, Any]:
    m, rom, ok = result.movement, result.rom, not result.rejected
    num = lambda v, d=2: _number(v, d) if ok else None  # noqa: E731
    return {
        "schema": "rom_measure.result",
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "rom_measure", "version": __version__},
        "created_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "source": result.source,
        "model": result.series.meta.get("model"),
        "model_sha256": result.series.meta.get("model_sha256"),
        **({"face_model_sha256": result.series.meta["face_model_sha256"]}
           if m.face_mesh and "face_model_sha256" in result.series.meta else {}),
        "movement": m.name,
        "side": result.side,
        "definition": {
            "title": m.title, "region": m.region, "view": m.view, "plane": m.plane,
            "angle": m.definition, "zero_reference": m.zero_reference, "sign": m.sign,
            "side_meaning": m.side_meaning, "units": "degrees",
        },
        "rom_deg": num(rom.rom_deg),
        "rom_uncalibrated_deg": num(rom.rom_deg / result.calibration_gain),
        "rom_mean_deg": num(rom.rom_mean_deg),
        "rom_sd_deg": num(rom.rom_sd_deg),
        "neutral_deg": num(rom.neutral.angle_deg),
        "peak_deg": num(rom.peak_deg),
        "uncertainty_deg": num(rom.uncertainty_deg),
        "uncertainty_components_deg": {k: num(v) for k, v in rom.uncertainty_components.items()},
        "neutral": {
            "angle_deg": num(rom.neutral.angle_deg), "sd_deg": num(rom.neutral.sd_deg),
            "start_s": _number(rom.neutral.start_s, 3), "end_s": _number(rom.neutral.end_s, 3),
            "from_still_start": rom.neutral.from_still_start,
        },
        "repetitions": [
            {"start_s": _number(r.start_s, 3), "peak_s": _number(r.peak_s, 3),
             "end_s": _number(r.end_s, 3), "peak_deg": num(r.peak_deg), "rom_deg": num(r.rom_deg)}
            for r in rom.repetitions
        ] if ok else [],
        "quality": {
            "verdict": result.quality.verdict,
            "reasons": result.quality.reasons,
            "findings": [vars(f) for f in result.quality.findings],
        },
        "view": {"off_plane_deg": _number(result.view.off_plane_deg, 1),
                 "facing": result.view.facing, "near_side": result.view.near_side,
                 "subject_height_frac": _number(result.view.subject_height_frac, 3)},
        "fps": _number(result.series.fps, 3),
        "frames": result.series.frames,
        "frames_used": result.frames_used,
        "noise_sd_deg": _number(rom.noise_sd_deg),
        "normal_ranges": [vars(n) for n in m.normal],
        "literature_mdc": [vars(x) for x in m.mdc],
        "processing": [{"step": p.name, "params": p.params, "frames_affected": p.frames_affected}
                       for p in result.processing],
    }  # fmt: skip


def _gate(series: LandmarkSeries, movement: Movement, side: str) -> np.ndarray:
    required = list(movement.required(side))
    return (series.visibility[:, required] >= VISIBLE).all(axis=1) & series.detected


def reported_peak_flicker(rom: RomEstimate, time_s: np.ndarray, raw: np.ndarray,
                          filtered: np.ndarray, move: Movement) -> tuple[int, float]:  # fmt: skip
    """:func:`peak_flicker_deg` of the reported (largest) repetition; ``raw`` with the
    frames taken out as outliers still in (they were the model's reading)."""
    reported = [r for r in rom.repetitions if r.rom_deg == rom.rom_deg]
    if not reported:
        return 0, 0.0
    rep = reported[0]
    zero = 0.0 if move.zero == "absolute" else rom.neutral.angle_deg
    return peak_flicker_deg(time_s, raw, filtered, zero, rep.start_s, rep.end_s, rep.rom_deg)


def _drop_unstable_repetitions(
    rom: RomEstimate, time_s: np.ndarray, seen_raw: np.ndarray
) -> tuple[RomEstimate, list[Finding]]:
    """Drop the repetitions, other than the reported (largest) one, whose peak the
    landmarks did not hold still; they would enter the repetition mean of comparisons.

    The reported one stays, and :func:`check_peak_stability` warns about it.
    """
    keep = [r.rom_deg == rom.rom_deg or not peak_unstable(time_s, seen_raw, r.peak_s)
            for r in rom.repetitions]  # fmt: skip
    if all(keep):
        return rom, []
    dropped = keep.count(False)
    return keep_repetitions(rom, keep), [Finding(
        "unstable_repetitions", "info",
        f"{dropped} of {len(keep)} repetitions left out: the landmarks jumped about at "
        "their top (the reported, largest, one is not among them)")]  # fmt: skip


def _drop_lost_peaks(
    rom: RomEstimate, lost: lost_limb.LostFrames, filled: np.ndarray, status: np.ndarray,
    time_s: np.ndarray, move: Movement,
) -> tuple[RomEstimate, list[Finding], tuple[float, ...]]:  # fmt: skip
    """Drop the repetitions whose peak is next to lost or taken-out frames (and their peaks)."""
    unseen = lost.mask | lost_limb.unseen_gaps(filled)
    keep, near_peaks = [], np.zeros(time_s.size, dtype=bool)
    for rep in rom.repetitions:
        close = lost_limb.near(time_s, unseen, rep.peak_s)
        keep.append(not close.any())
        near_peaks |= close
    reasons = lost_limb.causes(status, near_peaks if near_peaks.any() else lost.mask, lost)
    message = lost_limb.lost_message(move, reasons, keep.count(False), len(keep),
                                     int(lost.mask.sum()))  # fmt: skip
    if message is None:
        return rom, [], ()
    dropped = tuple(r.peak_s for r, k in zip(rom.repetitions, keep, strict=True) if not k)
    return keep_repetitions(rom, keep), [Finding("lost_limb", *message)], dropped


def _repair_swaps(
    series: LandmarkSeries,
    move: Movement,
    side: str,
    steps: list[signal.ProcessingStep],
    findings: list[Finding],
) -> LandmarkSeries:
    """Put back legs swapped by the model: by motion continuity, then by the standing leg."""
    series, swapped = signal.repair_leg_swaps(series)
    steps.append(signal.ProcessingStep("repair_leg_swaps", {"method": "2-state Viterbi"},
                                       int(swapped.sum())))  # fmt: skip
    standing = still_leg_swaps(series, move, side)
    series = signal.swap_legs(series, standing)
    if other_leg_moved(series, move, side):
        findings.append(Finding("other_leg_moved", "warning",
                                f"the other leg moved and the {side} one hardly did; check the "
                                "side measured"))  # fmt: skip
    steps.append(signal.ProcessingStep("repair_standing_leg_swaps",
                                       {"margin_deg": STILL_LEG_MARGIN_DEG},
                                       int(standing.sum())))  # fmt: skip
    swapped = swapped ^ standing
    # A repair through the standing leg rebuilds the hold itself: never ok on its word.
    if swapped.mean() > 0.1 or standing.any():
        findings.append(Finding("leg_swaps", "warning",
                                f"the model swapped the legs in {swapped.mean():.0%} of the "
                                "frames; they were put back"))  # fmt: skip
    return series


def _stride_note(stride: int) -> str:
    if stride <= 1:
        return ""
    return f" (run on one frame in {stride} there, the others interpolated)"


def analyze_landmarks(
    series: LandmarkSeries,
    movement: str | Movement,
    side: str,
    settings: AnalysisSettings | None = None,
    source: dict[str, Any] | None = None,
) -> Result:
    """Measure ``movement`` on ``side`` from a landmark series."""
    settings = settings or AnalysisSettings()
    move = movement if isinstance(movement, Movement) else get_movement(movement)
    side = check_side(side)
    steps: list[signal.ProcessingStep] = []
    findings: list[Finding] = []
    if move.mesh_missing(series):
        why = "have no face mesh" if series.face is None else "have too few usable face-mesh frames"
        move = move.without_mesh  # type: ignore[assignment]
        findings.append(Finding("no_face_mesh", "info", f"the landmarks {why}: "
                                "measured with the pose-landmark method"))  # fmt: skip
    status = np.full(series.frames, "ok", dtype=object)
    status[~series.detected] = "not_detected"

    if settings.repair_leg_swaps and move.view == "side" and move.region != "neck":
        series = _repair_swaps(series, move, side, steps, findings)

    gain = move.calibration_gain if settings.calibrate else 1.0
    raw = np.asarray(move.angles(series, side), dtype=np.float64) * gain
    steps.append(signal.ProcessingStep("calibration", {
        "gain": gain, "source": "fitted against rendered ground truth (rom-measure validate)",
    }))  # fmt: skip
    seen = _gate(series, move, side)
    status[series.detected & ~seen] = "low_visibility"
    steps.append(signal.ProcessingStep("visibility_gate", {"min_visibility": VISIBLE},
                                       int((~seen).sum())))  # fmt: skip
    seen_raw = np.where(seen, raw, np.nan)  # the reported raw angle
    angle = seen_raw.copy()  # the checks below take frames out of this one

    segments = move.rigid_segments(side)
    if segments:
        stretched = signal.segment_length_outliers(series, segments, settings.segment_tolerance)
        stretched &= np.isfinite(angle)
        status[stretched] = "segment_length"
        angle[stretched] = np.nan
        steps.append(signal.ProcessingStep("segment_length_check",
                                           {"tolerance": settings.segment_tolerance},
                                           int(stretched.sum())))  # fmt: skip

    outliers = signal.hampel_outliers(series.time_s, angle, settings.outlier_window_s,
                                      settings.outlier_sigmas)  # fmt: skip
    status[outliers] = "outlier"
    angle[outliers] = np.nan
    steps.append(
        signal.ProcessingStep(
            "hampel_outliers",
            {"window_s": settings.outlier_window_s, "n_sigmas": settings.outlier_sigmas},
            int(outliers.sum()),
        )
    )

    filled = signal.fill_short_gaps(series.time_s, angle, settings.max_gap_s)
    was_filled = np.isfinite(filled) & ~np.isfinite(angle)
    status[was_filled] = "gap_filled"
    steps.append(signal.ProcessingStep("fill_short_gaps", {"max_gap_s": settings.max_gap_s},
                                       int(was_filled.sum())))  # fmt: skip

    view = estimate_view(series, move)
    lost: lost_limb.LostFrames | None = None
    if settings.detect_lost_limb:
        first = find_neutral(series.time_s, filled)
        still = (series.time_s <= first.end_s) if first.from_still_start else np.zeros(
            series.frames, dtype=bool)  # fmt: skip
        lost = lost_limb.find_lost_frames(series, move, side, filled, first.angle_deg, still,
                                          view.off_plane_deg)  # fmt: skip
        status[lost.mask] = "lost_limb"
        filled[lost.mask] = np.nan
        fired = ", ".join(lost.by_detector) or "none fired"
        steps.append(signal.ProcessingStep("lost_limb", {"detectors": fired},
                                           int(lost.mask.sum())))  # fmt: skip

    cutoff = settings.lowpass_hz or move.lowpass_hz
    filtered, used_cutoff = signal.lowpass_zero_phase(series.time_s, filled, cutoff)
    steps.append(
        signal.ProcessingStep(
            "butterworth_zero_phase", {"order": 4, "cutoff_hz": _number(used_cutoff, 3)}
        )
    )

    rom = estimate_rom(series.time_s, angle, filtered, used_cutoff, move.method_error_deg,
                       absolute_zero=move.zero == "absolute")  # fmt: skip
    # the movement itself: from the first repetition's start to the last one's end (the
    # neutral window can lie anywhere in a clip without a still start)
    reps = rom.repetitions
    span = (min(r.start_s for r in reps), max(r.end_s for r in reps)) if reps else None
    lost_peaks: tuple[float, ...] = ()
    if lost is not None:
        rom, finding, lost_peaks = _drop_lost_peaks(rom, lost, filled, status, series.time_s,
                                                    move)  # fmt: skip
        findings += finding
    if move.approximate:
        findings.append(Finding("approximate_method", "warning", move.approximate))
    findings += check_frames(series)
    if "second_opinion" in series.meta:
        again = series.meta["second_opinion"]
        findings.append(Finding("second_opinion", "warning",
                                f"{again.get('frames')} frames where the model lost the limb were "
                                f"measured again with {again.get('model')}"
                                + _stride_note(again.get("stride", 1))
                                + "; the peak rests on that re-run, which can read 5-12 deg off: "
                                "check the annotated video or film again"))  # fmt: skip
    findings += check_people(series)
    findings += check_landmarks(series, move.required(side))
    findings += check_view(view, move, side)
    findings += check_trunk_turn(series, move)
    findings += check_subject_size(series, move, side)
    if span:
        findings += check_discarded(status, series.time_s, *span)
    rom, finding = _drop_unstable_repetitions(rom, series.time_s, seen_raw)
    findings += finding
    reported = [r.peak_s for r in rom.repetitions if r.rom_deg == rom.rom_deg]
    findings += check_peak_stability(series.time_s, seen_raw, reported)
    frames, largest = reported_peak_flicker(rom, series.time_s, seen_raw, filtered, move)
    findings += check_peak_flicker(frames, largest, lost_limb.limb_name(move))
    findings += check_movement(rom.max_excursion_deg, rom.min_excursion_deg, move,
                               MIN_EXCURSION_DEG)  # fmt: skip
    findings += check_range(rom.max_excursion_deg, move)
    if not rom.neutral.from_still_start and move.zero == "neutral":
        findings.append(
            Finding(
                "no_still_start",
                "warning",
                "the clip does not start with a still neutral posture; the "
                "neutral angle was estimated from the clip's lowest values",
            )
        )
    quality = verdict(findings)
    extra = warning_error_deg(quality.findings)
    if quality.verdict == "warning" and extra > 0.0:  # a rejected result has no number
        rom = with_component(rom, "warnings_deg", extra)
    return Result(move, side, quality, view, rom, series.time_s, seen_raw, filtered,
                  status.astype(str), series, tuple(steps),
                  dict(source or series.meta.get("source", {})), lost_peaks)  # fmt: skip
