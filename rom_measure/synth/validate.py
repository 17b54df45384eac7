"""Accuracy against ground truth that generalises: a training and a held-out split.

Cases are rendered over body shapes x camera set-ups x movements. The bodies and
camera set-ups of the held-out split never appear in the training split, so anything
fitted on the training split (the per-movement ROM gain) is judged on subjects and
cameras it has never seen. Each case is rendered once (cached), analysed with the
real pose model, and compared with the commanded ROM.
"""

from __future__ import annotations

import csv
import functools
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
from rom_measure.synth.calibration import (
    check_gains,
    fit_calibration,
    fit_warning_errors,
    instructed,
)

__all__ = [
    "CAMERAS",
    "SPLITS",
    "CameraSetup",
    "ValidationCase",
    "analyze_case",
    "cached_landmarks",
    "check_gains",
    "fit_calibration",
    "fit_warning_errors",
    "landmark_cache_path",
    "read_cases",
    "run_validation",
    "suite",
    "summarize",
    "write_validation",
]

ACCURATE_DEG = 5.0
OFF_PLANE_DEG = 30.0
RENDER = {"still_s": 0.6, "ramp_s": 0.6, "hold_s": 0.3, "rest_s": 0.3, "supersample": 1}
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
#: Fractions of the peak of each repetition in the multi-repetition cases.
REP_FRACTIONS = (0.85, 1.0, 0.93)
#: Seated cases per neck movement and split (every suite but the quick one).
SEATED_PER_MOVEMENT = 2


@dataclass(frozen=True)
class CameraSetup:
    """How a clip is filmed: placement, lens, orientation, resolution, frame rate, light, noise.

    ``height_offset_m`` moves the camera up from the default height (waist for hip and
    ankle, head for neck) and the camera is re-aimed at the subject; ``pitch_offset_deg``
    then tilts it further down (a phone propped at an angle). ``fov_deg`` None fits the
    subject to the frame; a value is a fixed lens (the subject shrinks with distance),
    used for hip and ankle clips only: neck clips are framed on head and shoulders as
    the tool instructs. ``long_side_px`` is the 16:9 frame's long side: 1280 (720p, a
    phone or webcam at its usual setting) or 960 (540p, a lower one).
    """

    distance_m: float = 2.5
    height_offset_m: float = 0.0
    pitch_offset_deg: float = 0.0
    fov_deg: float | None = None
    portrait: bool = False
    fps: float = 30.0
    light: float = 1.0
    noise: float = 0.0
    long_side_px: int = 1280

    def size_px(self) -> tuple[int, int]:
        """(width, height) of the 16:9 frame, landscape or portrait."""
        short = self.long_side_px * 9 // 16 // 2 * 2
        return (short, self.long_side_px) if self.portrait else (self.long_side_px, short)


#: Named camera set-ups; the held-out ones differ in every respect from the training ones.
CAMERAS: dict[str, CameraSetup] = {
    # training
    "tripod": CameraSetup(2.5, fps=24.0),
    "far-phone": CameraSetup(4.5, fov_deg=55.0, fps=30.0, noise=1.5),
    "portrait-high": CameraSetup(
        2.8, 0.35, 4.0, portrait=True, fps=30.0, light=0.8, long_side_px=960
    ),
    # held out
    "low-tilted-up": CameraSetup(3.2, -0.45, -6.0, fov_deg=66.0, fps=60.0, long_side_px=960),
    "portrait-dim": CameraSetup(2.2, 0.2, 8.0, portrait=True, fps=24.0, light=0.4, noise=4.0),
    "wide-near": CameraSetup(2.3, 0.1, 0.0, fov_deg=80.0, fps=50.0, noise=2.0, long_side_px=960),
}

#: Bodies and camera set-ups of each split (disjoint; see tests/synth/test_validate.py).
SPLITS: dict[str, dict[str, tuple[str, ...]]] = {
    "training": {
        "bodies": ("base", "average-female", "average-male", "slim-female", "muscular-male"),
        "cameras": ("tripod", "far-phone", "portrait-high"),
    },
    "held-out": {
        "bodies": ("heavy-male", "short-older-female", "tall-male", "heavy-female", "older-male"),
        "cameras": ("low-tilted-up", "portrait-dim", "wide-near"),
    },
}


@dataclass(frozen=True)
class ValidationCase:
    """One rendered clip of the suite (``posture``: ``standing`` or ``seated`` on a chair)."""

    split: str
    movement: str
    side: str
    peak_deg: float
    body: str
    camera: str
    off_plane_deg: float = 0.0
    repetitions: int = 1
    bystander: bool = False
    posture: str = "standing"

    @property
    def as_instructed(self) -> bool:
        """Filmed as the tool instructs (in the movement plane, one person in frame).

        Seated neck clips are as instructed too (the tool accepts either posture).
        """
        return not self.off_plane_deg and not self.bystander

    def spec(self):  # -> rom_measure.synth.ClipSpec
        from rom_measure.synth import ClipSpec
        from rom_measure.synth.framing import _WINDOWS, tilt_in_frame
        from rom_measure.synth.movements import region

        cam = CAMERAS[self.camera]
        width, height = cam.size_px()
        reps = None
        if self.repetitions > 1:
            reps = tuple(round(f * self.peak_deg, 1) for f in REP_FRACTIONS[: self.repetitions])
        camera_height = None
        if cam.height_offset_m:
            camera_height = _WINDOWS[region(self.movement)][0] + cam.height_offset_m
            camera_height -= _drop_m(self.body, self.posture)
        fov = None if region(self.movement) == "neck" else cam.fov_deg
        pitch_offset = cam.pitch_offset_deg
        if pitch_offset:
            pitch_offset, fov = tilt_in_frame(
                self.movement, self.side, pitch_offset, _body_scale(self.body),
                _drop_m(self.body, self.posture), width_px=width, height_px=height,
                distance_m=cam.distance_m, height_m=camera_height, fov_deg=fov,
            )  # fmt: skip
            pitch_offset, fov = round(pitch_offset, 1), fov and round(fov, 1)
        return ClipSpec(
            self.movement,
            self.side,
            peak_deg=self.peak_deg,
            fps=cam.fps,
            width_px=width,
            height_px=height,
            distance_m=cam.distance_m,
            off_plane_deg=self.off_plane_deg,
            camera_height_m=camera_height,
            fov_deg=fov,
            seed=_seed(self),
            body=self.body,
            pitch_offset_deg=pitch_offset,
            light=cam.light,
            noise=cam.noise,
            rep_peaks_deg=reps,
            bystander=self.bystander,
            posture=self.posture,
            **RENDER,
        )


def _drop_m(body: str, posture: str) -> float:
    """How much lower the head of ``body`` is in ``posture`` than standing."""
    if posture == "standing":
        return 0.0
    from rom_measure.synth.body import load_body
    from rom_measure.synth.posture import posture_drop_m

    return posture_drop_m(load_body(shape=body), posture)


@functools.cache
def _body_scale(body: str) -> float:
    """Height of ``body`` relative to the base body (the framing window scales with it)."""
    if body == "base":
        return 1.0
    from rom_measure.synth.body import load_body
    from rom_measure.synth.clip import BASE_HEIGHT_M

    return float(load_body(shape=body).vertices_m[:, 1].max() / BASE_HEIGHT_M)


def _seed(case: ValidationCase) -> int:
    """A stable appearance seed per body and camera (no dependence on hash salting)."""
    names = list(CAMERAS)
    bodies = [b for split in SPLITS.values() for b in split["bodies"]]
    return 1 + bodies.index(case.body) * 10 + names.index(case.camera)


def _split_cases(
    split: str, movements: Iterable[str], per_movement: int | None, stress: bool = True
) -> list:
    """Cases of one split; with ``stress`` also the stress and the seated neck cases."""
    bodies, cameras = SPLITS[split]["bodies"], SPLITS[split]["cameras"]
    pairs = list(itertools.product(bodies, cameras))
    out = []
    for m_index, movement in enumerate(movements):
        chosen = pairs if per_movement is None else _spread(pairs, per_movement, m_index)
        for i, (body, camera) in enumerate(chosen):
            k = i + m_index  # every third case: three repetitions
            out.append(_alternating(split, movement, k, body, camera, 1 + (k % 3 == 2) * 2))
        if stress:  # stress cases (must be accurate or flagged):
            body, camera = pairs[m_index % len(pairs)]
            peak = PEAKS_DEG[movement][0]
            out.append(ValidationCase(split, movement, "left", peak, body, camera, OFF_PLANE_DEG))
            body, camera = pairs[(m_index + 7) % len(pairs)]
            out.append(ValidationCase(split, movement, "right", peak, body, camera, bystander=True))
        if stress and movement.startswith("neck-"):
            out.extend(_seated_cases(split, movement, pairs, m_index))
    return out


def _seated_cases(split: str, movement: str, pairs: list, m_index: int) -> list:
    """Two seated cases of a neck movement (the first with three repetitions)."""
    out = []
    for i, (body, camera) in enumerate(_spread(pairs, SEATED_PER_MOVEMENT, m_index + 2)):
        reps = 3 if i == 0 else 1
        out.append(_alternating(split, movement, i + m_index + 1, body, camera, reps, "seated"))
    return out


def _alternating(
    split: str, movement: str, k: int, body: str, camera: str, reps: int, posture: str = "standing"
) -> ValidationCase:
    """The ``k``-th case of a movement: sides and the two peaks alternate with ``k``."""
    side, peak = ("left", "right")[k % 2], PEAKS_DEG[movement][k % 2]
    return ValidationCase(split, movement, side, peak, body, camera, repetitions=reps,
                          posture=posture)  # fmt: skip


def _spread(pairs: list, n: int, offset: int) -> list:
    """``n`` body/camera pairs, rotated per movement so every body and camera recurs."""
    return [pairs[(offset * 4 + i * (len(pairs) // max(n, 1) + 1)) % len(pairs)] for i in range(n)]


def suite(
    quick: bool = False, split: str | None = None, per_movement: int | None = None
) -> list[ValidationCase]:
    """The validation cases.

    Args:
        quick: a CI-sized suite: one hip, ankle and neck movement, two cases per split.
        split: only this split (``training`` or ``held-out``); None = both.
        per_movement: cases per movement and split (a subset spread over bodies and
            cameras); None = every body x camera pair. Both add two stress cases per
            movement and split (30 deg off the movement plane; a bystander in view)
            and two seated cases per neck movement and split.
    """
    from rom_measure.synth.movements import MOVEMENTS

    splits = [split] if split else list(SPLITS)
    if quick:
        movements: tuple[str, ...] = ("hip-flexion", "ankle-dorsiflexion", "neck-rotation")
        return [c for s in splits for c in _split_cases(s, movements, 1, stress=False)]
    return [c for s in splits for c in _split_cases(s, MOVEMENTS, per_movement)]


def landmark_cache_path(video: Path, signature: dict[str, Any]) -> Path:
    """Where the landmarks of ``video`` made by the pipeline ``signature`` are cached."""
    import hashlib
    import json

    digest = hashlib.sha256(json.dumps(signature, sort_keys=True).encode()).hexdigest()[:12]
    return video.with_suffix(f".landmarks-{digest}.npz")


def cached_landmarks(video: Path, face_mesh: bool = False):  # -> LandmarkSeries
    """``video``'s landmarks from the current pipeline, run once per clip and signature."""
    from rom_measure.errors import InputError
    from rom_measure.media.landmark_file import load_landmarks, save_landmarks
    from rom_measure.media.pipeline import pipeline_signature, video_landmarks

    signature = pipeline_signature(face_mesh=face_mesh)
    saved = landmark_cache_path(video, signature)
    if saved.is_file():
        try:
            series = load_landmarks(saved)
        except InputError:
            series = None
        if series is not None and series.meta.get("pipeline") == signature:
            return series
    series = video_landmarks(video, face_mesh=face_mesh)
    save_landmarks(series, saved)
    return series


def analyze_case(case: ValidationCase):  # -> rom_measure.measure.analysis.Result
    """Render (or reuse) one case's clip and measure it as ``analyze`` does."""
    from rom_measure.measure.movements import get_movement
    from rom_measure.media.pipeline import measure_series
    from rom_measure.synth.cache import cached_clip

    video, _ = cached_clip(case.spec())
    series = cached_landmarks(video, get_movement(case.movement).face_mesh)
    return measure_series(series, video, case.movement, case.side)


def run_case(case: ValidationCase) -> dict[str, Any]:
    """Render (or reuse) and measure one case as ``analyze`` does; never raises for a bad one.

    The landmarks are cached beside the clip keyed by the pipeline signature; the
    measurement (checks, mirrored second opinion) runs each time.
    """
    from rom_measure.synth.cache import cached_clip

    video, truth = cached_clip(case.spec())
    result = analyze_case(case)
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


def summarize(rows: Iterable[dict[str, Any]], by: str = "movement") -> list[dict[str, Any]]:
    """Per value of ``by`` (movement, body, camera, posture): errors of the instructed cases.

    ``cases`` counts the clips filmed as instructed; the error columns are over the
    reported ROMs among them (``rejected`` has none); ``ok_*`` over the verdict-ok ones.
    ``stress_ok_or_flagged`` counts the stress clips (off-plane, bystander) that are
    within 5 deg or not ``ok``.
    """
    table = []
    rows = [{"posture": "standing", **r} for r in rows]  # rows from before postures
    for value in dict.fromkeys(r[by] for r in rows):
        mine = [r for r in rows if r[by] == value and instructed(r)]
        stress = [r for r in rows if r[by] == value and not instructed(r)]
        errors = np.array([r["error_deg"] for r in mine if r["error_deg"] is not None])
        ok = np.array(
            [r["error_deg"] for r in mine if r["error_deg"] is not None and r["verdict"] == "ok"]
        )
        table.append(
            {
                by: value,
                "cases": len(mine),
                "reported": int(errors.size),
                "median_abs_error_deg": _stat(np.median, np.abs(errors)),
                "p90_abs_error_deg": _stat(lambda e: np.percentile(e, 90), np.abs(errors)),
                "mean_error_deg": _stat(np.mean, errors),
                "flagged_share": round(sum(r["verdict"] != "ok" for r in mine) / len(mine), 2)
                if mine
                else None,
                "ok_cases": int(ok.size),
                "ok_max_abs_error_deg": _stat(np.max, np.abs(ok)),
                "ok_over_5_deg": int(np.sum(np.abs(ok) > ACCURATE_DEG)),
                "stress_ok_or_flagged": f"{sum(_accurate_or_flagged(r) for r in stress)}"
                f"/{len(stress)}",
            }
        )
    return table


def _stat(function: Callable[[np.ndarray], float], values: np.ndarray) -> float | None:
    return round(float(function(values)), 2) if values.size else None


def _csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()


#: Columns a validation_cases.csv must have to be re-reported.
_CASE_COLUMNS = ("split", "movement", "body", "camera", "off_plane_deg", "true_rom_deg",
                 "measured_rom_deg", "error_deg", "verdict", "flags")  # fmt: skip


def read_cases(path: Path) -> list[dict[str, Any]]:
    """Rows of a ``validation_cases.csv`` back as typed dictionaries (to re-report).

    A file that is missing, not a cases CSV, or holds no case of a known split is a
    one-line :class:`InputError` naming the file (and the line).
    """
    from rom_measure.errors import InputError

    try:
        with open(path, encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in _CASE_COLUMNS if c not in (reader.fieldnames or ())]
            if missing:
                raise InputError(f"{path} is not a validation_cases.csv (no column "
                                 f"{', '.join(missing)})")  # fmt: skip
            rows = [_typed_case(raw, path, reader.line_num) for raw in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        why = getattr(error, "strerror", None) or str(error)
        raise InputError(f"cannot read {path}: {why}") from error
    unknown = sorted({r["split"] for r in rows} - set(SPLITS))
    if unknown:
        raise InputError(f"{path}: unknown split {unknown[0]!r} (known: {', '.join(SPLITS)})")
    if not rows:
        raise InputError(f"{path} holds no cases")
    return rows


def _typed_case(raw: dict[str, Any], path: Path, line: int) -> dict[str, Any]:
    from rom_measure.errors import InputError

    numbers = ("peak_deg", "off_plane_deg", "true_rom_deg", "measured_rom_deg", "error_deg",
               "uncertainty_deg", "off_plane_estimate_deg")  # fmt: skip
    if None in raw or None in raw.values():
        raise InputError(f"{path}, line {line}: not as many fields as the header has")
    row: dict[str, Any] = dict(raw)
    try:
        for key in numbers:
            if key in row:
                row[key] = float(row[key]) if row[key] not in ("", None) else None
        row["repetitions"] = int(row.get("repetitions") or 1)
    except (TypeError, ValueError) as error:
        raise InputError(f"{path}, line {line}: {error}") from None
    row["bystander"] = row.get("bystander") == "True"
    row["posture"] = row.get("posture") or "standing"
    return row


def write_validation(rows: list[dict[str, Any]], out_dir: Path) -> dict[str, Path]:
    """Write ``validation_cases.csv`` and ``validation_summary.csv`` (per split and movement)."""
    out_dir = Path(out_dir)
    paths = {
        "cases": out_dir / "validation_cases.csv",
        "summary": out_dir / "validation_summary.csv",
    }
    atomic_write_text(paths["cases"], _csv(rows))
    table = [
        {"split": split, **line}
        for split in SPLITS
        for line in summarize([r for r in rows if r["split"] == split])
    ]
    atomic_write_text(paths["summary"], _csv(table))
    return paths
