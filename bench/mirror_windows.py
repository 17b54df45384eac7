"""What shorter or sparser mirror-average re-reads cost in accuracy (hip extension, abduction).

    python bench/mirror_windows.py NEUTRAL_S PEAK_HALF_WINDOW_S STRIDE [--split S]

Runs the validation cases of the two mirror-averaged movements with the re-read's
neutral window (s), the half-width of its peak window (s) and its frame stride set as
given (rom_measure.measure.mirror_average.NEUTRAL_S, PEAK_HALF_WINDOW_S and the
stride of rom_measure.media.mirror.mirrored_landmarks), and prints per movement and
split, over the clips filmed as instructed: verdict-ok count, RMS and largest error of
the ok results, the mean and SD of measured/true (gain-free spread), and the
not_mirror_averaged warnings. Choose on the training split (the default); the gains
were fitted with the current windows (0.5 0.1 2).
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from _splits import add_split_option, chosen_splits  # bench/_splits.py

MOVEMENTS = ("hip-extension", "hip-abduction")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("neutral_s", type=float)
    parser.add_argument("peak_half_window_s", type=float)
    parser.add_argument("stride", type=int)
    add_split_option(parser, default="training")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    from rom_measure.measure import mirror_average
    from rom_measure.media import mirror

    mirror_average.NEUTRAL_S = args.neutral_s
    mirror_average.PEAK_HALF_WINDOW_S = args.peak_half_window_s
    mirror.mirrored_landmarks.__defaults__ = (None, args.stride)  # (model, stride)
    from rom_measure.synth.validate import run_validation, suite

    cases = [c for c in suite() if c.movement in MOVEMENTS
             and c.split in chosen_splits(args)]  # fmt: skip
    rows = run_validation(cases, workers=args.workers)  # forked workers keep the settings
    for movement in MOVEMENTS:
        for split in ("training", "held-out"):
            clean = [r for r in rows if r["movement"] == movement and r["split"] == split
                     and not r["off_plane_deg"] and not r["bystander"]]  # fmt: skip
            ok = [r for r in clean if r["verdict"] == "ok"]
            if not ok:
                continue
            errors = np.array([r["error_deg"] for r in ok])
            ratio = np.array([r["measured_rom_deg"] / r["true_rom_deg"] for r in ok])
            warned = sum("not_mirror_averaged" in r["flags"] for r in clean)
            print(f"{movement:14} {split:9} ok {len(ok):2}/{len(clean)} "
                  f"RMS {math.sqrt(np.mean(errors**2)):.2f} max {np.abs(errors).max():.2f} "
                  f"measured/true {ratio.mean():.3f} SD {ratio.std():.3f} "
                  f"not_mirror_averaged {warned}")  # fmt: skip


if __name__ == "__main__":
    main()
