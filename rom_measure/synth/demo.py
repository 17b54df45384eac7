"""The offline demo: a synthetic visit with one pre/post pair per region.

The cases (``samples/demo_cases.json``, shipped in the package) name a movement and
the true peak angle before and after; the clips are rendered from the CC0 body on
first use (cached), analysed like any clip, compared, and reported, and the true and
measured ROMs are printed side by side.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rom_measure.errors import InputError

if TYPE_CHECKING:
    from rom_measure.visit.compare import Comparison

__all__ = ["DemoCase", "load_cases", "run_demo"]


@dataclass(frozen=True)
class DemoCase:
    """One movement of the demo visit, with its true peak angles."""

    region: str
    movement: str
    side: str
    pre_peak_deg: float
    post_peak_deg: float


def load_cases(path: Path | None = None) -> tuple[list[DemoCase], dict[str, Any]]:
    """Read a demo manifest (default: the packaged ``demo_cases.json``)."""
    try:
        text = (
            Path(path).read_text(encoding="utf-8")
            if path
            else resources.files("rom_measure.samples").joinpath("demo_cases.json").read_text()
        )
        data = json.loads(text)
        cases = [DemoCase(**case) for case in data["cases"]]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise InputError(f"cannot read the demo cases ({error})") from error
    return cases, data.get("render", {})


def _spec(case: DemoCase, peak_deg: float, render: dict[str, Any], seed: int):
    from rom_measure.synth import ClipSpec

    return ClipSpec(case.movement, case.side, peak_deg=peak_deg, seed=seed, **render)


def run_demo(
    out_dir: Path,
    cases_file: Path | None = None,
    annotate: bool = True,
    report: bool = True,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Render (or reuse), analyse, compare and report the demo visit in ``out_dir``."""
    from rom_measure.synth.cache import cached_clip
    from rom_measure.visit.compare import update_visit_comparisons, visit_clip_dir
    from rom_measure.visit.outputs import analyze_to_folder, prepare_output_dir

    cases, render = load_cases(cases_file)
    out_dir = prepare_output_dir(out_dir)
    rows = []
    for case in cases:
        for label, peak in (("pre", case.pre_peak_deg), ("post", case.post_peak_deg)):
            log(f"{case.movement} ({case.side}) {label}: rendering/analysing a {peak:g}° clip ...")
            video, truth = cached_clip(_spec(case, peak, render, seed=0))
            result, _ = analyze_to_folder(
                case.movement,
                case.side,
                visit_clip_dir(out_dir, label, case.movement, case.side),
                video=video,
                annotate=annotate,
            )
            rows.append(
                {
                    "movement": case.movement,
                    "side": case.side,
                    "label": label,
                    "true_rom_deg": truth["rom_deg"],
                    "measured_rom_deg": result.rom_deg,
                    "uncertainty_deg": result.rom.uncertainty_deg,
                    "verdict": result.quality.verdict,
                    "video": str(video),
                }
            )
    visit = {
        "patient": "DEMO-001",
        "clinician": "rom-measure demo",
        "notes": "Synthetic subject rendered at known angles.",
    }
    comparisons = update_visit_comparisons(out_dir, visit)
    report_path = _write_report(out_dir, visit) if report else None
    _print_table(rows, comparisons, log)
    log(f"\nvisit folder: {out_dir}")
    if report_path:
        log(f"report:       {report_path}")
    return rows


def _write_report(out_dir: Path, visit: dict[str, Any]) -> Path | None:
    try:
        from rom_measure.visit.report import write_report
    except ImportError:  # the report module is optional in this version
        return None
    return write_report(out_dir, visit)


def _print_table(
    rows: list[dict[str, Any]], comparisons: list[Comparison], log: Callable[[str], None]
) -> None:
    log("\nmovement              side   clip  true ROM  measured ROM      error  quality")
    for r in rows:
        measured = r["measured_rom_deg"]
        shown = (
            f"{measured:6.1f}° ± {r['uncertainty_deg']:.1f}" if math.isfinite(measured) else "   —"
        )
        error = f"{measured - r['true_rom_deg']:+6.1f}°" if math.isfinite(measured) else "     —"
        log(
            f"{r['movement']:<21} {r['side']:<6} {r['label']:<5} {r['true_rom_deg']:7.1f}°  "
            f"{shown:<16} {error}  {r['verdict']}"
        )
    log("\nchange (post − pre) judged against MDC95:")
    for c in comparisons:
        log(
            f"  {c.movement} ({c.side}): {c.change_deg:+.1f}° vs MDC95 {c.mdc95_deg:.1f}° "
            f"-> {c.verdict_text}"
        )
