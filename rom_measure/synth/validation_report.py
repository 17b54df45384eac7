"""The validation's Markdown report: both splits, breakdowns, gains, uncertainty coverage."""

from __future__ import annotations

from typing import Any

import numpy as np

from rom_measure.measure.movements import get_movement
from rom_measure.synth.calibration import (
    check_gains,
    fit_calibration,
    fit_warning_errors,
    instructed,
)
from rom_measure.synth.validate import SPLITS, summarize

__all__ = ["format_summary", "report", "uncertainty_coverage"]


def format_summary(table: list[dict[str, Any]], by: str = "movement") -> str:
    """A summary as a Markdown table (for the terminal and the README)."""
    head = (
        f"| {by} | cases | median abs error | 90th pct | mean error | flagged "
        "| verdict ok | ok: max abs error | ok > 5° | stress cases accurate or flagged |\n"
        "|---|---|---|---|---|---|---|---|---|---|\n"
    )
    body = "".join(
        f"| {t[by]} | {t['cases']} | {_deg(t['median_abs_error_deg'])} | "
        f"{_deg(t['p90_abs_error_deg'])} | {_deg(t['mean_error_deg'])} | "
        f"{_share(t['flagged_share'])} | {t['ok_cases']} | {_deg(t['ok_max_abs_error_deg'])} | "
        f"{t['ok_over_5_deg']} | {t['stress_ok_or_flagged']} |\n"
        for t in table
    )
    return head + body


def uncertainty_coverage(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per verdict (ok, warning): the share of the reported results filmed as instructed
    whose error is within 1 and 2 reported (standard) uncertainties. A calibrated standard
    uncertainty covers about 68% and 95%."""
    out = []
    for verdict in ("ok", "warning"):
        mine = [r for r in rows if instructed(r) and r["verdict"] == verdict
                and r.get("error_deg") is not None and r.get("uncertainty_deg")]  # fmt: skip
        ratio = np.array([abs(r["error_deg"]) / r["uncertainty_deg"] for r in mine])
        out.append({"verdict": verdict, "cases": len(mine),
                    "within_1u": float(np.mean(ratio <= 1.0)) if mine else None,
                    "within_2u": float(np.mean(ratio <= 2.0)) if mine else None})  # fmt: skip
    return out


def _coverage_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "### the reported uncertainty: errors within 1 and 2 uncertainties "
        "(expected about 68% and 95%)\n",
        "| split | verdict | cases | within 1 u | within 2 u |",
        "|---|---|---|---|---|",
    ]
    for split in SPLITS:
        for line in uncertainty_coverage([r for r in rows if r["split"] == split]):
            if line["cases"]:
                within = f"{_share(line['within_1u'])} | {_share(line['within_2u'])}"
                lines.append(f"| {split} | {line['verdict']} | {line['cases']} | {within} |")
    return "\n".join(lines) + "\n"


def report(rows: list[dict[str, Any]]) -> str:
    """Both splits per movement, held-out breakdowns, and the gain check (Markdown)."""
    parts = []
    for split in SPLITS:
        mine = [r for r in rows if r["split"] == split]
        if mine:
            parts.append(
                f"### {split} split ({len(mine)} clips)\n\n{format_summary(summarize(mine))}"
            )
    for split in SPLITS:
        parts.extend(_posture_tables(split, [r for r in rows if r["split"] == split]))
    held = [r for r in rows if r["split"] == "held-out"]
    for by in ("body", "camera"):
        if held:
            parts.append(f"### held-out split by {by}\n\n{format_summary(summarize(held, by), by)}")
    training = [r for r in rows if r["split"] == "training"]
    if training and held:
        parts.append(_gain_table(fit_calibration(training), held))
    if any(line["cases"] for line in uncertainty_coverage(rows)):
        parts.append(_coverage_table(rows))
    if training and held:
        parts.append(_warning_table(training, held))
    return "\n".join(parts)


def _gain_table(fits: dict[str, dict[str, Any]], held: list[dict[str, Any]]) -> str:
    """Per movement: the gain fitted on training, its held-out check, the method errors."""
    lines = [
        "### per-movement gain and method error: fitted on training, checked on held-out\n",
        "Fitted on the sound training results (verdict ok, or only flagged as an approximate "
        "method), checked on the sound held-out ones.\n",
        "| movement | sound training results | fitted gain | applied gain | held-out median abs "
        "error with / without | keep | training RMS: in-sample / unseen body and camera "
        "| applied method error | held-out ok RMS |\n|---|---|---|---|---|---|---|---|---|",
    ]
    checks = check_gains(fits, held)
    for movement, fit in fits.items():
        check = checks.get(movement)
        if fit["gain"] is None:
            gain, versus, keep = "too few: 1.0", "—", "—"
        else:
            gain = f"{fit['gain']:.3f}"
            versus = (
                f"{check['median_abs_error_with_gain_deg']:.1f}° / "
                f"{check['median_abs_error_without_gain_deg']:.1f}°"
                if check
                else "—"
            )
            keep = "—" if not check else "yes" if check["keep_gain"] else "no (set 1.0)"
        lines.append(
            f"| {movement} | {fit['cases']} | {gain} | {fit['applied_gain']:.3f} | {versus} | "
            f"{keep} | {_deg(fit['residual_rms_deg'])} / {_deg(fit['unseen_rms_deg'])} | "
            f"{get_movement(movement).method_error_deg:.1f}° | {_deg(_ok_rms(held, movement))} |"
        )  # fmt: skip
    return "\n".join(lines) + "\n"


def _ok_rms(rows: list[dict[str, Any]], movement: str) -> float | None:
    """RMS error of the verdict-ok results of ``movement`` filmed as instructed."""
    errors = [r["error_deg"] for r in rows if r["movement"] == movement and r["verdict"] == "ok"
              and r["error_deg"] is not None and instructed(r)]  # fmt: skip
    return float(np.sqrt(np.mean(np.square(errors)))) if errors else None


def _warning_table(training: list[dict[str, Any]], held: list[dict[str, Any]]) -> str:
    """Per warning code: the RMS error on each split and the figure the tool applies."""
    from rom_measure.measure.quality import WARNING_ERROR_DEG, WARNING_ERROR_POOLED_DEG

    fits = {"training": fit_warning_errors(training), "held-out": fit_warning_errors(held)}
    lines = [
        "### warning errors: the RMS error of the results with each warning (added to their "
        "uncertainty)\n",
        "| warning | training cases | training RMS | applied | held-out cases | held-out RMS |",
        "|---|---|---|---|---|---|",
    ]
    codes = sorted({c for f in fits.values() for c in f["codes"]} | set(WARNING_ERROR_DEG))
    for code in codes:
        cells = [fits[s]["codes"].get(code) for s in SPLITS]
        shown = [(str(c["cases"]), _deg(c["rms_deg"])) if c else ("—", "—") for c in cells]
        applied = WARNING_ERROR_DEG.get(code, WARNING_ERROR_POOLED_DEG)
        lines.append(f"| {code} | {shown[0][0]} | {shown[0][1]} | {applied:.1f}° | "
                     f"{shown[1][0]} | {shown[1][1]} |")  # fmt: skip
    pooled = [fits[s] for s in SPLITS]
    lines.append(f"| any other (pooled) | {pooled[0]['pooled_cases']} | "
                 f"{_deg(pooled[0]['pooled_deg'])} | {WARNING_ERROR_POOLED_DEG:.1f}° | "
                 f"{pooled[1]['pooled_cases']} | {_deg(pooled[1]['pooled_deg'])} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def _posture_tables(split: str, rows: list[dict[str, Any]]) -> list[str]:
    """The neck movements of a split by posture, overall and per movement (if any seated)."""
    neck = [{"posture": "standing", **r} for r in rows if r["movement"].startswith("neck-")]
    if not any(r["posture"] != "standing" for r in neck):
        return []
    key = "movement, posture"
    pairs = [{**r, key: f"{r['movement']}, {r['posture']}"} for r in neck]
    pairs.sort(key=lambda r: r[key])
    return [
        f"### {split} split, neck movements by posture\n\n"
        f"{format_summary(summarize(neck, 'posture'), 'posture')}\n"
        f"{format_summary(summarize(pairs, key), key)}"
    ]


def _share(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


def _deg(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}°"
