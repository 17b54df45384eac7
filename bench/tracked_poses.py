"""One pose against two: held-out accuracy of each tracker set-up with its own fitted gains.

    python bench/tracked_poses.py [--per-movement N] [--out DIR]

For each ``TRACKED_POSES`` value the landmarks of every case (training and held-out,
``per_movement`` cases per movement plus the stress cases) are made once (cached by
pipeline signature); the per-movement gains are fitted on the training split only
(``fit_calibration``) and the held-out split is measured as ``analyze`` does with
those gains. Prints per movement the held-out median / p90 / max |error|, verdicts
and ok > 5 deg counts, and writes the rows and fits to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rom_measure.measure import movements  # noqa: E402
from rom_measure.media import pipeline  # noqa: E402
from rom_measure.synth import validate, validation_report  # noqa: E402


def landmarks_all(cases: list, configs: tuple[int, ...]) -> None:
    from rom_measure.synth.cache import cached_clip

    for i, case in enumerate(cases):
        video, _ = cached_clip(case.spec())
        for poses in configs:
            pipeline.TRACKED_POSES = poses
            t0 = time.perf_counter()
            validate.cached_landmarks(video)
            print(f"[{i + 1}/{len(cases)}] {poses} pose(s) {case.movement} {case.body} "
                  f"{case.camera}: {time.perf_counter() - t0:.1f} s", flush=True)  # fmt: skip


def with_gains(gains: dict[str, float]) -> dict:
    saved = dict(movements.MOVEMENTS)
    for name, gain in gains.items():
        movements.MOVEMENTS[name] = replace(movements.MOVEMENTS[name], calibration_gain=gain)
    return saved


def held_out_table(rows: list[dict]) -> list[dict]:
    import numpy as np

    table = []
    for line in validate.summarize(rows):
        mine = [r for r in rows if r["movement"] == line["movement"] and validate._instructed(r)]
        errors = [abs(r["error_deg"]) for r in mine if r["error_deg"] is not None]
        verdicts = {v: sum(r["verdict"] == v for r in mine) for v in ("ok", "warning", "rejected")}
        table.append({**line, "max_abs_error_deg": round(float(np.max(errors)), 2)
                      if errors else None, "verdicts": verdicts})  # fmt: skip
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-movement", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("tracked_poses_out"))
    parser.add_argument("--configs", default="2,1")
    args = parser.parse_args()
    configs = tuple(int(c) for c in args.configs.split(","))
    args.out.mkdir(parents=True, exist_ok=True)
    training = validate.suite(split="training", per_movement=args.per_movement)
    held = validate.suite(split="held-out", per_movement=args.per_movement)
    landmarks_all(training + held, configs)
    summary = {}
    for poses in configs:
        pipeline.TRACKED_POSES = poses
        train_rows = validate.run_validation(training)
        fits = validate.fit_calibration(train_rows)
        saved = with_gains({m: f["gain"] for m, f in fits.items()})
        try:
            held_rows = validate.run_validation(held)
        finally:
            movements.MOVEMENTS.clear()
            movements.MOVEMENTS.update(saved)
        validate.write_validation(train_rows + held_rows, args.out / f"poses{poses}")
        summary[poses] = {"fits": fits, "held_out": held_out_table(held_rows)}
        print(f"\n## {poses} pose(s): held-out with gains fitted on training")
        print(validation_report.format_summary(validate.summarize(held_rows)))
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    for poses, part in summary.items():
        print(f"\n{poses} pose(s) | movement | gain | median | p90 | max | ok/warn/rej | ok>5")
        for line in part["held_out"]:
            v = line["verdicts"]
            print(f"  {line['movement']:<22} {part['fits'][line['movement']]['gain']:.3f} "
                  f"{line['median_abs_error_deg']} {line['p90_abs_error_deg']} "
                  f"{line['max_abs_error_deg']} {v['ok']}/{v['warning']}/{v['rejected']} "
                  f"{line['ok_over_5_deg']}")  # fmt: skip


if __name__ == "__main__":
    main()
