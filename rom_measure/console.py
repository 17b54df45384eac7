"""Results and comparisons as short tables on the terminal (shared by the commands)."""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["print_comparison", "print_json", "print_result"]


def print_json(data: dict[str, Any]) -> None:
    """A result or comparison dict as indented JSON on stdout (strict: no NaN)."""
    print(json.dumps(data, indent=2, allow_nan=False))


def _fmt(value: float | None, unit: str = "°") -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.1f}{unit}"


def print_result(result: Any) -> None:
    """A short table: the numbers, then the verdict with its reasons."""
    rom = result.rom
    rejected = result.rejected
    rows = [
        ("movement", f"{result.movement.name} ({result.side})"),
        ("ROM", "not reported" if rejected else
         f"{_fmt(rom.rom_deg)} ± {_fmt(rom.uncertainty_deg)} (best of {len(rom.repetitions)})"),
        ("mean ± SD", "—" if rejected or len(rom.repetitions) < 2 else
         f"{_fmt(rom.rom_mean_deg)} ± {_fmt(rom.rom_sd_deg)}"),
        ("neutral", "—" if rejected else _fmt(rom.neutral.angle_deg)),
        ("peak", "—" if rejected else _fmt(rom.peak_deg)),
        ("repetitions", "—" if rejected else ", ".join(_fmt(r.rom_deg) for r in rom.repetitions)),
        ("frames used", f"{result.frames_used}/{result.series.frames} at "
                        f"{result.series.fps:.1f} fps"),
        ("view", f"{_fmt(result.view.off_plane_deg)} off the ideal, facing {result.view.facing}"),
        ("quality", result.quality.verdict.upper()),
    ]  # fmt: skip
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
    for reason in result.quality.reasons:
        print(f"  {'':<{width}}  - {reason}")


def _verdict(c: Any) -> str:
    """ "IMPROVED", or "IMPROVED (doubtful: post result has warnings)"."""
    doubt = getattr(c, "doubt_reasons", ())
    return c.verdict.upper() + (f" (doubtful: {'; '.join(doubt)})" if doubt else "")


def print_comparison(c: Any) -> None:
    """One comparison as a short table."""
    ci = f"{_fmt(c.ci95_deg[0])} to {_fmt(c.ci95_deg[1])}"
    rows = [
        ("movement", f"{c.movement} ({c.side})"),
        ("pre", f"{_fmt(c.pre_rom_deg)} (mean of {c.pre_repetitions}, best "
                f"{_fmt(c.pre_best_deg)})"),
        ("post", f"{_fmt(c.post_rom_deg)} (mean of {c.post_repetitions}, best "
                 f"{_fmt(c.post_best_deg)})"),
        ("change", f"{_fmt(c.change_deg)} ({_fmt(c.change_pct, '%')}), 95% CI {ci}"),
        ("MDC95", f"{_fmt(c.mdc95_deg)} ({c.mdc_basis}; literature: {c.literature_source})"),
        ("verdict", _verdict(c)),
    ]  # fmt: skip
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
    for reason in c.reasons:
        print(f"  {'':<{width}}  - {reason}")
