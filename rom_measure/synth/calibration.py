"""What the validation fits on its training split, and the check of it on the held-out split.

Per movement, a ROM gain (through the origin) and the method error that goes into each
result's uncertainty; per warning code, the extra error of the results that carry it.
All of it is fitted on the *sound* results of the training split: the verdict-ok ones,
and for a method that is approximate by design (its results are always ``warning``),
those whose only warning is that the method is approximate. A gain corrects the
under-reading of sound measurements; failures are flagged, not scaled.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = [
    "MIN_FIT_CASES",
    "check_gains",
    "fit_calibration",
    "fit_warning_errors",
    "instructed",
    "sound",
]

#: Fewer sound training results than this: no gain is fitted (the method keeps 1.0).
MIN_FIT_CASES = 5
#: A warning seen on fewer training results than this gets the pooled figure.
MIN_WARNING_CASES = 3


def instructed(row: dict[str, Any]) -> bool:
    """Filmed as the tool instructs: in the movement plane, nobody else in view."""
    return not row["off_plane_deg"] and not row.get("bystander")


def sound(row: dict[str, Any]) -> bool:
    """A result a gain may be fitted on: ``ok``, or only flagged as an approximate method."""
    if row["verdict"] == "ok":
        return True
    return row["verdict"] == "warning" and row.get("flags", "").split() == ["approximate_method"]


def _gain_through_origin(measured: np.ndarray, true: np.ndarray) -> float:
    return float(true @ measured / (measured @ measured))


def _unseen_errors(
    measured: np.ndarray, true: np.ndarray, bodies: np.ndarray, cameras: np.ndarray
) -> np.ndarray:
    """Each case's error with the gain fitted on the cases of other bodies and cameras."""
    errors = np.full(true.size, np.nan)
    for i in range(true.size):
        others = (bodies != bodies[i]) & (cameras != cameras[i])
        if others.any():
            errors[i] = _gain_through_origin(measured[others], true[others]) * measured[i] - true[i]
    return errors


def _rms(errors: np.ndarray) -> float | None:
    return round(float(np.sqrt(np.mean(errors**2))), 2) if errors.size else None


def _uncorrected(rows: list[dict[str, Any]], applied: float) -> tuple[np.ndarray, np.ndarray]:
    """Measured ROM without the applied gain, and the true ROM."""
    measured = np.array([r["measured_rom_deg"] / applied for r in rows], dtype=float)
    return measured, np.array([r["true_rom_deg"] for r in rows], dtype=float)


def fit_calibration(rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per movement: the ROM gain fitted on the given (training) cases, and the error left.

    A least-squares fit through the origin of true against uncorrected measured ROM
    (measured / applied gain) on the sound results filmed as instructed;
    ``residual_rms_deg`` is their RMS error after the fitted gain. ``unseen_rms_deg``
    is the RMS error of each case with the gain fitted on the cases of the other
    bodies and cameras: what the method makes of a body and a camera it was not fitted
    on, so the method error the uncertainty uses (the in-sample residual is smaller).

    With fewer than MIN_FIT_CASES sound results the gain is ``None`` (no correction:
    1.0), and ``residual_rms_deg`` is the RMS error without a gain of every reported
    result filmed as instructed.
    """
    from rom_measure.measure.movements import get_movement

    reported = [r for r in rows if r["measured_rom_deg"] is not None and instructed(r)]
    fits: dict[str, dict[str, Any]] = {}
    for movement in dict.fromkeys(r["movement"] for r in reported):
        applied = get_movement(movement).calibration_gain
        everything = [r for r in reported if r["movement"] == movement]
        mine = [r for r in everything if sound(r)]
        if len(mine) < MIN_FIT_CASES:
            measured, true = _uncorrected(everything, applied)
            fits[movement] = {"gain": None, "applied_gain": applied, "cases": len(mine),
                              "residual_rms_deg": _rms(measured - true),
                              "unseen_rms_deg": None}  # fmt: skip
            continue
        measured, true = _uncorrected(mine, applied)
        gain = _gain_through_origin(measured, true)
        unseen = _unseen_errors(measured, true, np.array([r["body"] for r in mine]),
                                np.array([r["camera"] for r in mine]))  # fmt: skip
        fits[movement] = {
            "gain": round(gain, 3),
            "applied_gain": applied,
            "cases": len(mine),
            "residual_rms_deg": _rms(gain * measured - true),
            "unseen_rms_deg": _rms(unseen[np.isfinite(unseen)]),
        }
    return fits


def fit_warning_errors(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Per warning code: the RMS error of the (training) results with that warning.

    Every reported result with verdict ``warning`` counts, filmed as instructed or not,
    for each of its warning codes (``approximate_method`` aside: its method error is
    already in the uncertainty). ``pooled_deg`` is the RMS over all those results;
    codes seen on fewer than MIN_WARNING_CASES results are left to it.
    """
    errors: dict[str, list[float]] = {}
    pooled: list[float] = []
    for row in rows:
        codes = set(row["flags"].split()) - {"approximate_method"}
        if row["verdict"] != "warning" or row["error_deg"] is None or not codes:
            continue
        pooled.append(row["error_deg"])
        for code in codes:
            errors.setdefault(code, []).append(row["error_deg"])

    def rms(values: list[float]) -> float:
        return round(float(np.sqrt(np.mean(np.square(values)))), 1)

    return {
        "codes": {code: {"cases": len(v), "rms_deg": rms(v)} for code, v in sorted(errors.items())
                  if len(v) >= MIN_WARNING_CASES},
        "pooled_deg": rms(pooled) if pooled else None,
        "pooled_cases": len(pooled),
    }  # fmt: skip


def check_gains(
    fits: dict[str, dict[str, Any]], held_out: Iterable[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Does each training-fitted gain improve the held-out split? (else it should be 1.0).

    Compares the held-out median absolute error with the fitted gain against no gain
    (uncorrected ROM = measured / applied gain), on the results the gain is meant for:
    the sound ones filmed as instructed (a turn beyond a method's valid range, say, is
    warned and not what its gain corrects). A movement without a fitted gain is left out.
    """
    from rom_measure.measure.movements import get_movement

    out = {}
    rows = [r for r in held_out if r["measured_rom_deg"] is not None and instructed(r)]
    for movement, fit in fits.items():
        mine = [r for r in rows if r["movement"] == movement and sound(r)]
        if not mine or fit["gain"] is None:
            continue
        raw, true = _uncorrected(mine, get_movement(movement).calibration_gain)
        with_gain = float(np.median(np.abs(fit["gain"] * raw - true)))
        without = float(np.median(np.abs(raw - true)))
        out[movement] = {
            "cases": len(mine),
            "median_abs_error_with_gain_deg": round(with_gain, 2),
            "median_abs_error_without_gain_deg": round(without, 2),
            "keep_gain": with_gain < without,
            "recommended_gain": fit["gain"] if with_gain < without else 1.0,
        }
    return out
