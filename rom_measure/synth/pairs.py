"""Pre/post pairs at known changes: does ``compare`` call a real change "improved"?

Each pair films one body with one camera set-up twice, as a clinician would before and
after a session: three repetitions each (85%, 100%, 93% of the peak), the post clip's
peak larger by a known amount. A change of at least the movement's MDC95 + 3 deg must be
judged "improved"; one of at most MDC95 - 3 deg "no detectable change"; in between either
verdict is right. Pairs come from both splits; nothing here is fitted.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from rom_measure._fileio import atomic_write_text
from rom_measure.synth.validate import (
    PEAKS_DEG,
    REP_FRACTIONS,
    SPLITS,
    ValidationCase,
    _csv,
    _spread,
)

__all__ = [
    "MARGIN_DEG",
    "PairCase",
    "expected_verdict",
    "pair_cases",
    "run_pair",
    "run_pairs",
    "summarize",
    "write_pairs",
]

#: The band around the MDC95 in which either verdict is right.
MARGIN_DEG = 3.0
#: How far past (or short of) the MDC95 the pairs' true changes are set.
STEP_DEG = 5.0


@dataclass(frozen=True)
class PairCase:
    """A pre clip and a post clip of one subject and camera, the post peak raised."""

    pre: ValidationCase
    post_peak_deg: float

    @property
    def post(self) -> ValidationCase:
        return replace(self.pre, peak_deg=self.post_peak_deg)

    @property
    def true_change_deg(self) -> float:
        """Change of the mean repetition ROM (what ``compare`` compares)."""
        mean_fraction = float(np.mean(REP_FRACTIONS[: self.pre.repetitions]))
        return (self.post_peak_deg - self.pre.peak_deg) * mean_fraction


def literature_mdc(movement: str) -> float:
    """The movement's largest literature MDC95 (the floor of the tool's MDC)."""
    from rom_measure.measure.movements import get_movement

    return max(m.mdc95_deg for m in get_movement(movement).mdc)


def expected_verdict(movement: str, true_change_deg: float) -> str | None:
    """The verdict a true change calls for; None inside the MDC95 +- 3 deg band."""
    mdc = literature_mdc(movement)
    if true_change_deg >= mdc + MARGIN_DEG:
        return "improved"
    if abs(true_change_deg) <= mdc - MARGIN_DEG:
        return "no detectable change"
    return None


def pair_cases(split: str | None = None) -> list[PairCase]:
    """Two pairs per movement and split: a real change and one below the MDC95."""
    from rom_measure.synth.movements import MOVEMENTS

    out = []
    for name in [split] if split else list(SPLITS):
        combos = list(itertools.product(SPLITS[name]["bodies"], SPLITS[name]["cameras"]))
        for m_index, movement in enumerate(MOVEMENTS):
            low = PEAKS_DEG[movement][1]
            fraction = float(np.mean(REP_FRACTIONS))
            mdc = literature_mdc(movement)
            steps = ((mdc + STEP_DEG) / fraction, max(0.0, mdc - STEP_DEG) / fraction)
            for i, ((body, camera), step) in enumerate(
                zip(_spread(combos, 2, m_index + 2), steps, strict=True)
            ):
                side = ("left", "right")[(m_index + i) % 2]
                pre = ValidationCase(name, movement, side, low, body, camera, repetitions=3)
                out.append(PairCase(pre, round(low + step, 1)))
    return out


def run_pair(pair: PairCase) -> dict[str, Any]:
    """Measure both clips as ``analyze`` would and compare them as ``compare`` would."""
    from rom_measure.synth.validate import analyze_case
    from rom_measure.visit.compare import compare_results

    pre, post = analyze_case(pair.pre), analyze_case(pair.post)
    comparison = compare_results(pre.to_dict(), post.to_dict())
    expected = expected_verdict(pair.pre.movement, pair.true_change_deg)
    change = comparison.change_deg
    return {
        **{k: v for k, v in asdict(pair.pre).items() if k != "peak_deg"},
        "pre_peak_deg": pair.pre.peak_deg,
        "post_peak_deg": pair.post_peak_deg,
        "true_change_deg": round(pair.true_change_deg, 2),
        "measured_change_deg": round(change, 2) if math.isfinite(change) else None,
        "mdc95_deg": round(comparison.mdc95_deg, 2),
        "expected": expected or "either",
        "verdict": comparison.verdict,
        "doubtful": comparison.doubtful,
        "right": expected is None or comparison.verdict == expected,
        "pre_quality": comparison.pre_quality,
        "post_quality": comparison.post_quality,
    }


def run_pairs(
    pairs: list[PairCase],
    workers: int = 1,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Run the pairs (in ``workers`` processes); rows come back in order."""
    rows: list[dict[str, Any]] = []
    with ProcessPoolExecutor(max_workers=workers) if workers > 1 else nullcontext() as pool:
        for row in pool.map(run_pair, pairs) if pool else map(run_pair, pairs):
            rows.append(row)
            if progress:
                progress(row)
    return rows


def write_pairs(rows: list[dict[str, Any]], out_dir: Path) -> Path:
    """Write ``validation_pairs.csv``."""
    path = Path(out_dir) / "validation_pairs.csv"
    atomic_write_text(path, _csv(rows))
    return path


def summarize(rows: list[dict[str, Any]]) -> str:
    """Per split and region: how many pairs got the verdict their true change calls for."""
    from rom_measure.synth.movements import region

    lines = [
        "| split | region | pairs | right verdict | of which doubtful | wrong |",
        "|---|---|---|---|---|---|",
    ]
    keys = dict.fromkeys((r["split"], region(r["movement"])) for r in rows)
    for split, reg in keys:
        mine = [r for r in rows if r["split"] == split and region(r["movement"]) == reg]
        right = [r for r in mine if r["right"]]
        wrong = ", ".join(
            f"{r['movement']} {r['true_change_deg']:+.1f}° → {r['verdict']}"
            for r in mine
            if not r["right"]
        )
        lines.append(
            f"| {split} | {reg} | {len(mine)} | {len(right)} | "
            f"{sum(bool(r['doubtful']) for r in right)} | {wrong or '—'} |"
        )
    return "\n".join(lines) + "\n"
