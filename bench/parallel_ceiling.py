"""How much a second pose model adds on this machine: the ceiling of `batch`'s speed-up.

    python bench/parallel_ceiling.py [--runs N] [CLIP]

The bare PoseLandmarker (VIDEO mode, one pose) runs ``--runs`` times on one decoded
frame: in one process, then in two processes at once (as two batch workers), then in
two threads of one process. Printed: runs per second and the speed-up over one
process, with the CPU seconds; then the CPU cost of one count by the people counter
(over frames spread through the clip). Where the second model adds nearly 2x, a
batch's shortfall from 2x comes from the work around the model (decoding, the
annotated video, the counter, the reports), which one worker already runs on the
other core.
"""

from __future__ import annotations

import argparse
import functools
import os
import threading
import time
from collections.abc import Callable
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


def runs(clip: str, count: int, ready: Callable[[], object] | None = None) -> tuple[float, float]:
    """Wall and process CPU seconds of ``count`` model runs; the set-up and the first run
    are not timed, and ``ready`` (if given) is waited on after them."""
    rgb = _frame(clip)
    model = _landmarker()
    model.detect(rgb, 0)
    if ready is not None:
        ready()
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(count):
        model.detect(rgb, 40 * (i + 1))
    figures = time.perf_counter() - wall, time.process_time() - cpu
    model.close()
    return figures


def _wait_until(when: float) -> None:
    while time.time() < when:
        time.sleep(0.005)


def _process(clip: str, count: int, start_at: float) -> tuple[float, float]:
    """:func:`runs` in a worker process, its runs starting at ``start_at`` (epoch s)."""
    return runs(clip, count, functools.partial(_wait_until, start_at))


def people_count_ms(clip: str, count: int) -> float:
    """CPU ms of one count by the people counter's landmarker (IMAGE mode, two poses)."""
    import cv2

    from rom_measure.media.assets import pose_model_path
    from rom_measure.media.pose import MediaPipePose

    capture = cv2.VideoCapture(clip)
    frames = []
    while len(frames) < count and capture.grab():
        if int(capture.get(cv2.CAP_PROP_POS_FRAMES)) % 10 == 1:  # every 10th frame
            frames.append(cv2.cvtColor(capture.retrieve()[1], cv2.COLOR_BGR2RGB))
    capture.release()
    model = MediaPipePose(pose_model_path(), max_people=2, video=False)
    model.detect(frames[0], 0)
    cpu = time.process_time()
    for rgb in frames:
        model.detect(rgb, 0)
    spent, count = time.process_time() - cpu, len(frames)
    model.close()
    return 1000 * spent / count


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
    threads: list[tuple[float, float]] = []
    workers = [threading.Thread(target=lambda: threads.append(runs(args.clip, n, barrier.wait)))
               for _ in range(2)]  # fmt: skip
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    count_ms = people_count_ms(args.clip, 20)
    rate_one = n / one[0]
    print(f"{'what ran':<28} {'runs/s':>8} {'speed-up':>9} {'CPU s':>7}")
    print(f"{'one process':<28} {rate_one:8.1f} {1.0:9.2f} {one[1]:7.1f}")
    # the CPU of two processes adds up; each thread's figure is its whole process's
    for label, pair, cpu in (
        ("two processes at once", both, sum(c for _, c in both)),
        ("two threads of one process", threads, max(c for _, c in threads)),
    ):
        rate = 2 * n / max(w for w, _ in pair)
        print(f"{label:<28} {rate:8.1f} {rate / rate_one:9.2f} {cpu:7.1f}")
    print(f"\none people count (the counter's 2-pose IMAGE-mode landmarker, every 0.5 s of a "
          f"clip): {count_ms:.0f} ms CPU")  # fmt: skip


if __name__ == "__main__":
    main()
