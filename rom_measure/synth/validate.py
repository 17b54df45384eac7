"""Accuracy against ground truth: render known movements, measure them, report the error.

The suite covers every movement, both sides, two peak angles, the camera perpendicular
to the movement plane and 15 and 30 deg off it, and a near and a far camera. Each case
is rendered once (cached), analysed with the real pose model, and compared with the
commanded ROM. Off-plane cases must stay accurate or be flagged by the quality check.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rom_measure._fileio import atomic_write_text

__all__ = [
    "ValidationCase",
    "fit_calibration",
    "run_validation",
    "suite",
    "summarize",
    "write_validation",
]

ACCURATE_DEG = 5.0
NEAR_M, FAR_M = 2.5, 5.0
FAR_FOV_DEG = 50.0
RENDER = {
    "width_px": 640,
    "height_px": 360,
    "fps": 24.0,
    "still_s": 0.6,
    "ramp_s": 0.6,
    "hold_s": 0.3,
    "supersample": 1,
}
PEAKS_DEG = {
    "hip-flexion": (90.0, 50.0),
    "hip-extension": (20.0, 10.0),
    "hip-abduction": (40.0, 20.0),
    "ankle-dorsiflexion": (20.0, 10.0),
    "ankle-plantarflexion": (40.0, 20.0),
    "ankle-lunge": (40.0, 25.0),
    "neck-flexion": (45.0, 25.0),
    "neck-extension": (50.0, 30.0),
    "neck-lateral-flexion": (40.0, 20.0),
    "neck-rotation": (60.0, 35.0),
}


@dataclass(frozen=True)
class ValidationCase:
    """One rendered clip of the suite."""

    movement: str
    side: str
    peak_deg: float
    off_plane_deg: float
    distance_m: float

    def spec(self):  # -> rom_measure.synth.ClipSpec
        from rom_measure.synth import ClipSpec

        far = self.distance_m > NEAR_M
        return ClipSpec(
            self.movement,
            self.side,
            peak_deg=self.peak_deg,
            distance_m=self.distance_m,
            off_plane_deg=self.off_plane_deg,
            fov_deg=FAR_FOV_DEG if far else None,
            **RENDER,
        )


def suite(quick: bool = False) -> list[ValidationCase]:
    """The full suite (every combination) or a quick one (ideal and 30 deg off, one side)."""
    if quick:
        return [
            ValidationCase(m, "left", peaks[0], off, NEAR_M)
            for m, peaks in PEAKS_DEG.items()
            for off in (0.0, 30.0)
        ]
    return [
        ValidationCase(m, side, peak, off, dist)
        for m, peaks in PEAKS_DEG.items()
        for side, peak, off, dist in itertools.product(
            ("left", "right"), peaks, (0.0, 15.0, 30.0), (NEAR_M, FAR_M)
        )
    ]


def run_case(case: ValidationCase) -> dict[str, Any]:
    """Render (or reuse) and analyse one case; never raises for a bad measurement."""
    from rom_measure.measure.analysis import analyze_landmarks
    from rom_measure.media.assets import pose_model_path
    from rom_measure.media.landmark_file import load_landmarks, save_landmarks
    from rom_measure.media.pipeline import video_landmarks
    from rom_measure.synth.cache import cached_clip

    video, truth = cached_clip(case.spec())
    saved = video.with_suffix(".landmarks.npz")  # the pose model runs once per clip
    series = load_landmarks(saved) if saved.is_file() else None
    if series is None or series.meta.get("model") != pose_model_path().name:
        series = video_landmarks(video)
        save_landmarks(series, saved)
    result = analyze_landmarks(series, case.movement, case.side)
    measured = result.rom_deg
    codes = [f.code for f in result.quality.findings if f.severity != "info"]
    return {
        **asdict(case),
        "true_rom_deg": round(truth["rom_deg"], 2),
        "measured_rom_deg": round(measured, 2) if math.isfinite(measured) else None,
        "error_deg": round(measured - truth["rom_deg"], 2) if math.isfinite(measured) else None,
        "uncertainty_deg": round(result.rom.uncertainty_deg, 2),
        "off_plane_estimate_deg": round(result.view.off_plane_deg, 1),
        "verdict": result.quality.verdict,
        "flags": " ".join(codes),
        "video": str(video),
    }


def run_validation(
    cases: list[ValidationCase],
    workers: int = 1,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict]:
    """Run the cases (in ``workers`` processes); rows come back in suite order."""
    rows: list[dict[str, Any]] = []
    if workers <= 1:
        for case in cases:
            rows.append(run_case(case))
            if progress:
                progress(rows[-1])
        return rows
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for row in pool.map(run_case, cases):
            rows.append(row)
            if progress:
                progress(row)
    return rows


def _accurate_or_flagged(row: dict[str, Any]) -> bool:
    error = row["error_deg"]
    return row["verdict"] != "ok" or (error is not None and abs(error) <= ACCURATE_DEG)


def summarize(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per movement: median and 90th-percentile absolute error of the reported ROMs."""
    table = []
    rows = list(rows)
    for movement in dict.fromkeys(r["movement"] for r in rows):
        mine = [r for r in rows if r["movement"] == movement]
        off_plane = [r for r in mine if r["off_plane_deg"]]
        errors = np.array([r["error_deg"] for r in mine if r["error_deg"] is not None])
        ok = np.array(
            [r["error_deg"] for r in mine if r["error_deg"] is not None and r["verdict"] == "ok"]
        )
        table.append(
            {
                "movement": movement,
                "cases": len(mine),
                "reported": int(errors.size),
                "median_abs_error_deg": _stat(np.median, np.abs(errors)),
                "p90_abs_error_deg": _stat(lambda e: np.percentile(e, 90), np.abs(errors)),
                "mean_error_deg": _stat(np.mean, errors),
                "ok_cases": int(ok.size),
                "ok_median_abs_error_deg": _stat(np.median, np.abs(ok)),
                "ok_p90_abs_error_deg": _stat(lambda e: np.percentile(e, 90), np.abs(ok)),
                "flagged": sum(r["verdict"] != "ok" for r in mine),
                "off_plane_ok_or_flagged": f"{sum(_accurate_or_flagged(r) for r in off_plane)}"
                f"/{len(off_plane)}",
            }
        )
    return table


def fit_calibration(rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per movement: the ROM gain that best fits the ideal-view cases, and the error left.

    The gain is a least-squares fit through the origin of true against measured ROM on
    the cases filmed perpendicular to the movement plane (near and far), measured
    with the gains currently applied; ``residual_rms_deg`` is the RMS error over the
    cases within 15 deg of that view after applying the fitted gain.
    """
    from rom_measure.measure.movements import get_movement

    fits = {}
    rows = [r for r in rows if r["measured_rom_deg"] is not None]
    for movement in dict.fromkeys(r["movement"] for r in rows):
        applied = get_movement(movement).calibration_gain
        ideal = [r for r in rows if r["movement"] == movement and r["off_plane_deg"] == 0]
        near_ideal = [r for r in rows if r["movement"] == movement and r["off_plane_deg"] <= 15]
        if not ideal:
            continue
        measured = np.array([r["measured_rom_deg"] / applied for r in ideal])
        true = np.array([r["true_rom_deg"] for r in ideal])
        gain = float(true @ measured / (measured @ measured))
        errors = [gain * r["measured_rom_deg"] / applied - r["true_rom_deg"] for r in near_ideal]
        fits[movement] = {
            "gain": round(gain, 3),
            "applied_gain": applied,
            "residual_rms_deg": round(float(np.sqrt(np.mean(np.square(errors)))), 2),
        }
    return fits


def _stat(function: Callable[[np.ndarray], float], values: np.ndarray) -> float | None:
    return round(float(function(values)), 2) if values.size else None


def _csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()


def write_validation(rows: list[dict[str, Any]], out_dir: Path) -> dict[str, Path]:
    """Write ``validation_cases.csv`` and ``validation_summary.csv``."""
    out_dir = Path(out_dir)
    paths = {
        "cases": out_dir / "validation_cases.csv",
        "summary": out_dir / "validation_summary.csv",
    }
    atomic_write_text(paths["cases"], _csv(rows))
    atomic_write_text(paths["summary"], _csv(summarize(rows)))
    return paths


def format_summary(table: list[dict[str, Any]]) -> str:
    """The summary as a Markdown table (for the terminal and the README)."""
    head = (
        "| movement | cases | all: median abs error | all: 90th pct | all: mean error | flagged "
        "| verdict ok: cases | ok: median abs error | ok: 90th pct | off-plane accurate or "
        "flagged |\n|---|---|---|---|---|---|---|---|---|---|\n"
    )
    body = "".join(
        f"| {t['movement']} | {t['cases']} | {_deg(t['median_abs_error_deg'])} | "
        f"{_deg(t['p90_abs_error_deg'])} | {_deg(t['mean_error_deg'])} | {t['flagged']} | "
        f"{t['ok_cases']} | {_deg(t['ok_median_abs_error_deg'])} | "
        f"{_deg(t['ok_p90_abs_error_deg'])} | {t['off_plane_ok_or_flagged']} |\n"
        for t in table
    )
    return head + body


def _deg(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}°"
