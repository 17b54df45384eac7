"""How much a second pose model adds on this machine: the ceiling of `batch`'s speed-up.

    python bench/parallel_ceiling.py [--runs N] [CLIP]

The bare PoseLandmarker (VIDEO mode, one pose) runs ``--runs`` times on one decoded
frame: in one process, then in two processes at once (as two batch workers), then in
two threads of one process. Printed: runs per second and the speed-up over one
process, with the CPU seconds. On 2 cores that are hyperthreads of one physical core,
the second model adds far less than 2x, whatever the batch scheduling does.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CLIP = REPO.parent / "shared" / "data" / "sports2d_demo" / "demo.mp4"


def _frame(clip: str):
    import cv2

    capture = cv2.VideoCapture(clip)
    ok, bgr = capture.read()
    capture.release()
    if not ok:
        raise SystemExit(f"cannot read {clip}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _landmarker():
    from rom_measure.media.assets import pose_model_path
    from rom_measure.media.pose import MediaPipePose

    return MediaPipePose(pose_model_path(), max_people=1)


def runs(clip: str, count: int, start: threading.Barrier | None = None) -> float:
    """Wall seconds of ``count`` model runs (set-up and the first run not timed)."""
    rgb = _frame(clip)
    model = _landmarker()
    model.detect(rgb, 0)
    if start is not None:
        start.wait()
    wall = time.perf_counter()
    for i in range(count):
        model.detect(rgb, 40 * (i + 1))
    seconds = time.perf_counter() - wall
    model.close()
    return seconds


def _process(clip: str, count: int, barrier_at: float) -> tuple[float, float]:
    while time.time() < barrier_at:  # both processes start their runs together
        time.sleep(0.005)
    rgb = _frame(clip)
    model = _landmarker()
    model.detect(rgb, 0)
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(count):
        model.detect(rgb, 40 * (i + 1))
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip", nargs="?", default=str(DEFAULT_CLIP))
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    n = args.runs
    print(f"{os.cpu_count()} CPUs; load before: {os.getloadavg()[0]:.2f}; {n} runs each")
    with ProcessPoolExecutor(max_workers=1) as pool:
        one = pool.submit(_process, args.clip, n, time.time()).result()
    with ProcessPoolExecutor(max_workers=2) as pool:
        at = time.time() + 8.0  # time for both to import and load the model
        both = [f.result() for f in [pool.submit(_process, args.clip, n, at) for _ in range(2)]]
    barrier = threading.Barrier(2)
    walls: list[float] = []
    workers = [threading.Thread(target=lambda: walls.append(runs(args.clip, n, barrier)))
               for _ in range(2)]  # fmt: skip
    cpu = time.process_time()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    threads = [(wall, 0.0) for wall in walls]
    threads[0] = (walls[0], time.process_time() - cpu)  # the process's CPU (set-up included)
    rate_one = n / one[0]
    print(f"{'what ran':<28} {'runs/s':>8} {'speed-up':>9} {'CPU s':>7}")
    print(f"{'one process':<28} {rate_one:8.1f} {1.0:9.2f} {one[1]:7.1f}")
    for label, pair in (("two processes at once", both), ("two threads (CPU: +set-up)", threads)):
        rate = 2 * n / max(w for w, _ in pair)
        print(f"{label:<28} {rate:8.1f} {rate / rate_one:9.2f} {sum(c for _, c in pair):7.1f}")


if __name__ == "__main__":
    main()
