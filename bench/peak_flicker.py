"""How far single frames at the top of a repetition stray from the smoothed curve.

    python bench/peak_flicker.py [--split training|held-out|both]

For every clip of the full validation suite filmed as instructed (rendered and
landmarked once, then cached), measured as ``analyze`` does: the largest distance of a
raw frame from the low-pass curve where the curve is above PEAK_TOP_FRAC of the
reported repetition's excursion (``measure.analysis.reported_peak_flicker``), and the ROM
error. Prints, per movement and split, the largest distances, and every result the
``peak_flicker`` check warns about that would otherwise be verdict ok. The check's
line (PEAK_FLICKER_DEG) sits far above what landmark noise gives on the other
movements; the held-out split shows what it catches.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from _splits import splits_from_command_line  # bench/_splits.py


def rows(splits: tuple[str, ...]) -> list[dict]:
    """One row per clip filmed as instructed: distance, error, verdict, findings."""
    from rom_measure.measure.analysis import reported_peak_flicker
    from rom_measure.synth.cache import cached_clip
    from rom_measure.synth.validate import analyze_case, suite

    out = []
    for case in suite():
        if case.split not in splits or not case.as_instructed:
            continue
        _, truth = cached_clip(case.spec())
        result = analyze_case(case)
        if result.rejected:
            continue
        _, largest = reported_peak_flicker(result.rom, result.time_s, result.raw_deg,
                                           result.filtered_deg, result.movement)  # fmt: skip
        codes = {f.code for f in result.quality.findings if f.severity == "warning"}
        out.append({"case": case, "largest": largest, "error": result.rom_deg - truth["rom_deg"],
                    "verdict": result.quality.verdict, "codes": codes})  # fmt: skip
    return out


def main() -> None:
    splits = splits_from_command_line(__doc__)
    from rom_measure.measure.quality import PEAK_FLICKER_DEG

    found = rows(splits)
    by = defaultdict(list)
    for row in found:
        by[(row["case"].split, row["case"].movement)].append(row)
    print(f"largest distance from the curve at the top (deg; * = warning, (error)); "
          f"line {PEAK_FLICKER_DEG:.0f} deg")  # fmt: skip
    for (split, movement), group in sorted(by.items()):
        group.sort(key=lambda r: -r["largest"])
        top = " ".join(f"{r['largest']:.1f}{'*' if r['verdict'] != 'ok' else ''}"
                       f"({r['error']:+.0f})" for r in group[:6])  # fmt: skip
        print(f"  {split:8s} {movement:22s} {top}")
    print("results whose only warning is peak_flicker (verdict ok without it):")
    for row in found:
        if row["codes"] == {"peak_flicker"}:
            c = row["case"]
            print(
                f"  {c.split:8s} {c.movement:20s} {c.side:5s} {c.peak_deg:4.0f} deg {c.body:18s} "
                f"{c.camera:14s} error {row['error']:+5.1f}, {row['largest']:.0f} deg off"
            )
    ok = [r for r in found if r["verdict"] == "ok" and r["case"].movement != "hip-flexion"]
    print(
        f"verdict-ok results of the other movements: largest distance "
        f"{max((r['largest'] for r in ok), default=float('nan')):.1f} deg; "
        f"median {np.median([r['largest'] for r in ok]):.1f} deg"
    )


if __name__ == "__main__":
    main()
