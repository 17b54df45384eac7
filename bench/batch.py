"""Batch throughput: clips/min and frames/s for 1, 2 and N workers against the bare loop.

    python bench/batch.py [CLIP ...] [--copies K] [--workers 1 2 4] [--defaults] [--dask]
                          [--rounds R]

Runs, each in a fresh interpreter and in the same session: (a) the bare MediaPipe
loop of bench/pipeline.py over every clip in turn (one process), and (b)
``rom_measure.batch.run.run_batch`` on a manifest of the same clips (each listed K
times under different subjects) with 1, 2 and N (= cores) local workers and with the
default worker count, into a fresh output folder (no annotated videos or reports
unless asked, as the bare loop writes nothing; ``--defaults`` writes both, as
``rom-measure batch`` does). Prints wall time, clips/min, frames/s, speed relative
to the bare loop and to one worker, the peak RSS of the largest worker process and
of the batch process itself. ``--dask`` adds a run on a local Dask cluster of N
workers (time only). The last line is the issue's target ratio: clips/min of the
default worker count over one worker. With ``--rounds R`` (default 3) the batch runs are
repeated R times, in alternating order (the machine's speed drifts from minute to
minute: single rounds of the same code gave 1.38 to 1.66); the table shows each run's
median (the lower middle one for an even count) and the last line the median of the
rounds' ratios. The bare loop runs once, before the rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "pose2sim_single"
DEFAULT_CLIPS = [SHARED / f"cam0{i}.mp4" for i in range(1, 5)]


def bare(clips: list[str]) -> dict[str, float]:
    """The bare PoseLandmarker loop over every clip, one after the other."""
    sys.path.insert(0, str(REPO / "bench"))
    import pipeline

    frames, seconds = 0, 0.0
    for clip in clips:
        run = pipeline.bare_loop(clip)
        frames += run["frames"]
        seconds += run["seconds"]
    return {"clips": len(clips), "frames": frames, "seconds": seconds}


def batch(
    manifest: str, out: str, workers: int | None, annotate: bool, dask: bool, reports: bool = False
) -> dict[str, float]:
    """One batch run (``workers`` None: the default); frames are summed from the results."""
    from rom_measure.batch.inputs import read_manifest
    from rom_measure.batch.run import BatchOptions, LineProgress, run_batch

    inputs = read_manifest(Path(manifest), allow_roots=[Path("/")])
    options = BatchOptions(workers=None if dask else workers, annotate=annotate, reports=reports,
                           dask_local=workers if dask else None)  # fmt: skip
    with open(os.devnull, "w") as quiet:
        start = time.perf_counter()
        report = run_batch(inputs, Path(out), options, LineProgress(quiet))
        seconds = time.perf_counter() - start
    statuses = {s: report.count(s) for s in ("done", "rejected", "failed", "skipped")}
    return {"clips": len(report.outcomes), "frames": sum(o.frames or 0 for o in report.outcomes),
            "seconds": seconds, **statuses}  # fmt: skip


def child(kind: str, *args: object) -> dict[str, float]:
    """Run ``kind`` in a fresh interpreter; add its own and its largest child's peak RSS
    and the CPU time of it and all its children (workers, ffmpeg), start-up included."""
    code = (f"import json, resource, sys; sys.path.insert(0, {str(REPO / 'bench')!r}); "
            f"import batch as b; r = b.{kind}(*json.loads(sys.argv[1])); "
            "r['rss_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024; "
            "r['worker_rss_mb'] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024; "
            "r['cpu_s'] = sum(u.ru_utime + u.ru_stime for u in map(resource.getrusage, "
            "(resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))); "
            "print(json.dumps(r))")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code, json.dumps(list(args))],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips", nargs="*", type=Path, default=DEFAULT_CLIPS)
    parser.add_argument("--copies", type=int, default=2, help="times each clip is listed")
    parser.add_argument("--workers", type=int, nargs="+", help="default: 1, 2 and cores")
    parser.add_argument("--annotate", action="store_true", help="also write annotated videos")
    parser.add_argument("--reports", action="store_true", help="also write the visit reports")
    parser.add_argument("--defaults", action="store_true", help="--annotate and --reports")
    parser.add_argument("--dask", action="store_true", help="add a local Dask cluster run")
    parser.add_argument("--rounds", type=int, default=3, help="repetitions of the batch runs")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    from rom_measure.batch.run import available_cores, default_workers
    from rom_measure.media.assets import pose_model_path

    pose_model_path()  # provision before timing
    cores = available_cores()
    annotate, reports = args.annotate or args.defaults, args.reports or args.defaults
    workers = args.workers or sorted({1, 2, cores})
    clips = [str(c.resolve()) for c in args.clips]
    with tempfile.TemporaryDirectory() as tmp:
        manifest = Path(tmp) / "manifest.csv"
        combos = [(label, movement, side) for movement in ("hip-flexion", "hip-abduction")
                  for side in ("right", "left") for label in ("pre", "post")]  # fmt: skip
        rows = [f"S{k:02d},v1,{','.join(combos[i % len(combos)])},{clip}"
                for k in range(args.copies) for i, clip in enumerate(clips)]  # fmt: skip
        manifest.write_text("subject,visit,label,movement,side,path\n" + "\n".join(rows) + "\n")
        print(f"{len(rows)} clips ({len(clips)} clips x{args.copies}); {cores} cores; default "
              f"{default_workers()} workers; annotate {annotate}, reports {reports}; "
              f"load average {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
        bare_run = child("bare", clips * args.copies)
        runs: list[tuple[str, int | None, bool]] = [
            (f"batch, {n} worker{'s' * (n > 1)}", n, False) for n in workers
        ]
        runs.append((f"batch, default ({default_workers()})", None, False))
        if args.dask:
            runs.append((f"batch, Dask local {cores}", cores, True))
        rounds: list[dict[str, dict[str, float]]] = []
        for index in range(args.rounds):
            done: dict[str, dict[str, float]] = {}
            for name, n, dask in runs if index % 2 == 0 else runs[::-1]:
                out = Path(tmp) / f"out-{index}-{len(done)}"
                done[name] = child("batch", str(manifest), str(out), n, annotate, dask, reports)
            rounds.append(done)
        results = [("bare loop, 1 process", bare_run)] + [
            (name, _median_run([r[name] for r in rounds])) for name, _, _ in runs
        ]

    def per_minute(r: dict[str, float]) -> float:
        return 60 * r["clips"] / r["seconds"]

    base_fps = results[0][1]["frames"] / results[0][1]["seconds"]
    one = next((r for name, r in results if name == "batch, 1 worker"), None)
    print(
        f"{'run':<22} {'wall s':>7} {'clips/min':>9} {'frames/s':>9} {'vs bare':>8} "
        f"{'vs 1 wkr':>8} {'worker MB':>10} {'main MB':>8} {'CPU s/clip':>10}"
    )
    for name, r in results:
        fps = r["frames"] / r["seconds"]
        worker = "—" if name.startswith(("bare", "batch, Dask")) else f"{r['worker_rss_mb']:.0f}"
        versus = (
            "—"
            if one is None or name.startswith("bare")
            else f"{per_minute(r) / per_minute(one):.2f}"
        )
        print(
            f"{name:<22} {r['seconds']:7.1f} {per_minute(r):9.1f} {fps:9.1f} "
            f"{fps / base_fps:8.2f} {versus:>8} {worker:>10} {r['rss_mb']:8.0f} "
            f"{r['cpu_s'] / r['clips']:10.2f}"
        )
    print(f"load average now {os.getloadavg()[0]:.1f}")
    default_name = runs[-2 if args.dask else -1][0]
    if "batch, 1 worker" in rounds[0]:
        ratios = [r["batch, 1 worker"]["seconds"] / r[default_name]["seconds"] for r in rounds]
        print("rounds' ratios: " + ", ".join(f"{x:.2f}" for x in ratios))
        print(
            f"default workers ({default_workers()}) vs 1 worker, clips/min: "
            f"{statistics.median(ratios):.2f} (median of {len(ratios)}; target >= 1.5)"
        )


def _median_run(runs: list[dict[str, float]]) -> dict[str, float]:
    """The run with the median wall time (its own frames and memory with it)."""
    return sorted(runs, key=lambda r: r["seconds"])[(len(runs) - 1) // 2]


if __name__ == "__main__":
    main()
