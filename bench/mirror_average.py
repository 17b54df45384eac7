"""Which movements the mirrored picture's reading makes more accurate (mirror_average).

    python bench/mirror_average.py [--movements M,M,...] [--workers N]

For every validation case filmed as instructed (both splits; rendered once, then
cached), the pose model reads the whole clip again on the mirrored frames. Printed per
movement and split, over the cases whose own reading is verdict ok: the RMS error of
the picture's reading, of the mirrored reading, and of their mean, and the correlation
of the two errors. The mean helps where the errors are opposite (the model's error
depends on which way the person faces); the movements with ``mirror_average`` were
chosen on the training split. Both readings use the movement's current gain (for the
averaged movements it was fitted on the mean), so compare the columns, not the gains.
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor

import numpy as np

DEFAULT = "hip-flexion,hip-extension,hip-abduction,ankle-dorsiflexion"


def read_both(case) -> dict:
    """(split, movement, true ROM, own ROM, mirrored ROM, own verdict) of one case."""
    from rom_measure.measure.analysis import analyze_landmarks
    from rom_measure.media.mirror import mirrored_landmarks
    from rom_measure.synth.cache import cached_clip
    from rom_measure.synth.validate import cached_landmarks

    video, truth = cached_clip(case.spec())
    own = analyze_landmarks(cached_landmarks(video), case.movement, case.side)
    whole = [(0.0, float(own.time_s[-1]) + 0.1)]
    mirrored = analyze_landmarks(mirrored_landmarks(video, whole, stride=1), case.movement,
                                 case.side)  # fmt: skip
    return {"split": case.split, "movement": case.movement, "true": truth["rom_deg"],
            "own": own.rom_deg, "mirrored": mirrored.rom_deg,
            "verdict": own.quality.verdict}  # fmt: skip


def main() -> None:
    from rom_measure.synth.validate import suite

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--movements", default=DEFAULT)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    wanted = args.movements.split(",")
    cases = [c for c in suite() if c.movement in wanted and c.as_instructed]
    with ProcessPoolExecutor(args.workers) as pool:
        rows = list(pool.map(read_both, cases))
    print("| movement | split | ok cases | own RMS | mirrored RMS | mean RMS | error correlation |")
    print("|---|---|---|---|---|---|---|")
    for movement in wanted:
        for split in ("training", "held-out"):
            mine = [r for r in rows if r["movement"] == movement and r["split"] == split
                    and r["verdict"] == "ok" and np.isfinite(r["mirrored"])]  # fmt: skip
            if len(mine) < 3:
                continue
            true = np.array([r["true"] for r in mine])
            own = np.array([r["own"] for r in mine]) - true
            other = np.array([r["mirrored"] for r in mine]) - true

            def rms(e: np.ndarray) -> float:
                return float(np.sqrt(np.mean(e**2)))

            print(
                f"| {movement} | {split} | {len(mine)} | {rms(own):.2f}° | {rms(other):.2f}° "
                f"| {rms((own + other) / 2):.2f}° | {np.corrcoef(own, other)[0, 1]:+.2f} |"
            )


if __name__ == "__main__":
    main()
