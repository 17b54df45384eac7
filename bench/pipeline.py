"""Speed and memory of `analyze` as users run it, against a bare MediaPipe loop, in one run.

    python bench/pipeline.py [CLIP] [--movement M --side S] [--repeat N] [--loops N]

Rows (frames/s and share of the bare ``num_poses=1`` loop):
  decode only (OpenCV); bare PoseLandmarker loops (decode, BGR->RGB, detect_for_video,
  model set-up included) with num_poses=1 and 2; the library call ``analyze_video``;
  the CLI ``rom-measure analyze CLIP --out DIR`` as a subprocess, timed to its exit
  (every output file closed), with and without ``--no-annotate``, with the process
  start-up (interpreter + the imports the bare loop makes before its clock) stated
  separately and taken off. Then per-stage times of ``analyze_to_folder`` (decode,
  pose, analysis, the mirrored re-run, outputs, annotation tail after the pose loop; the
  annotated video is drawn and encoded during the pose loop), the peak RSS of the
  CLI for the clip and for it looped ``--loops`` times (median of ``--rss-runs`` runs
  each: one run varies by 5-10%), and the machine's load.
The last line is the ratio the target names: CLI at its defaults / bare num_poses=1 loop.
Figures are best of ``--repeat`` runs, the rows interleaved so that load hits them alike.
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
DEFAULT_CLIP = REPO.parent / "shared" / "data" / "sports2d_demo" / "demo.mp4"


def decode_only(clip: str) -> dict[str, float]:
    import cv2

    start = time.perf_counter()
    cap = cv2.VideoCapture(clip)
    frames = 0
    while cap.read()[0]:
        frames += 1
    return {"frames": frames, "seconds": time.perf_counter() - start}


def bare_loop(clip: str, num_poses: int = 1) -> dict[str, float]:
    import cv2
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    from rom_measure.media.assets import pose_model_path

    path = str(pose_model_path())
    start, cpu = time.perf_counter(), time.process_time()  # model set-up is part of the run
    options = vision.PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=path),
        running_mode=vision.RunningMode.VIDEO, num_poses=num_poses,
    )  # fmt: skip
    landmarker = vision.PoseLandmarker.create_from_options(options)
    cap = cv2.VideoCapture(clip)
    frames, last_ms = 0, -1
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        last_ms = max(int(cap.get(cv2.CAP_PROP_POS_MSEC)), last_ms + 1)
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        landmarker.detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb), last_ms)
        frames += 1
    landmarker.close()
    return {"frames": frames, "seconds": time.perf_counter() - start,
            "cpu": time.process_time() - cpu}  # fmt: skip


def library(clip: str, movement: str, side: str) -> dict[str, float]:
    import mediapipe.tasks.python.vision  # noqa: F401 - imported before the clock, as in bare_loop

    from rom_measure import analyze_video

    start, cpu = time.perf_counter(), time.process_time()
    result = analyze_video(clip, movement, side)
    return {"frames": result.series.frames, "seconds": time.perf_counter() - start,
            "cpu": time.process_time() - cpu}  # fmt: skip


def stages(clip: str, movement: str, side: str, out: str) -> dict[str, float]:
    """analyze_to_folder with each stage timed (wrapped here, for the bench only)."""
    import mediapipe.tasks.python.vision  # noqa: F401

    from rom_measure.media import annotate, pipeline
    from rom_measure.visit import outputs

    spent: dict[str, float] = {}
    wrapped: list[tuple[object, str, object]] = []

    def timed(owner: object, name: str, label: str) -> None:
        inner = getattr(owner, name)
        wrapped.append((owner, name, inner))

        def wrapper(*args: object, **kwargs: object) -> object:
            t0 = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - t0

        setattr(owner, name, wrapper)

    timed(outputs, "landmarks_for", "pose (decode, annotation drawing overlapped)")
    timed(pipeline, "analyze_landmarks", "analysis")
    timed(pipeline, "second_looks", "mirrored re-runs (lost limb, mirror average)")
    timed(outputs, "_write_files", "outputs")
    timed(outputs.StagedAnalysis, "seal", "outputs")
    timed(outputs.StagedAnalysis, "commit", "outputs")
    timed(annotate.AnnotatedVideoWriter, "finish", "annotation tail (after the outputs)")
    start = time.perf_counter()
    try:
        result, _ = outputs.analyze_to_folder(movement, side, Path(out), video=Path(clip))
    finally:
        for owner, name, inner in wrapped:  # as they were (the test suite calls this too)
            setattr(owner, name, inner)
    spent["total"] = time.perf_counter() - start
    spent["frames"] = result.series.frames
    return spent


def child(kind: str, *args: object) -> dict[str, float]:
    """Run one measurement in a fresh interpreter."""
    code = (f"import json, sys; sys.path[:0] = [{str(REPO)!r}, {str(REPO / 'bench')!r}]; "
            f"import pipeline; print(json.dumps(pipeline.{kind}(*{list(args)!r})))")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _env() -> dict[str, str]:
    path = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path}


def timed_process(argv: list[str]) -> tuple[float, float, float]:
    """Wall seconds to exit, peak RSS (MB) and CPU seconds (with the children it waited for)."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_env())
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):  # 1: a rejected result, still written
        raise RuntimeError(f"{argv} failed: {process.stderr.read().decode()[-400:]}")  # type: ignore[union-attr]
    return seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def startup() -> tuple[float, float]:
    code = "import rom_measure.cli, cv2, mediapipe.tasks.python.vision"
    seconds, _, cpu = timed_process([sys.executable, "-c", code])
    return seconds, cpu


def cli(clip: Path, movement: str, side: str, out: Path, *extra: str) -> tuple[float, float, float]:
    argv = [sys.executable, "-m", "rom_measure.cli", "analyze", str(clip), "-m", movement,
            "-s", side, "--out", str(out), *extra]  # fmt: skip
    return timed_process(argv)


def looped(clip: Path, times: int, folder: Path) -> Path:
    import imageio_ffmpeg

    listing = folder / "list.txt"
    listing.write_text("".join(f"file '{clip.resolve()}'\n" for _ in range(times)))
    out = folder / f"looped{times}{clip.suffix}"
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "concat", "-safe", "0",
               "-i", str(listing), "-c", "copy", str(out)]  # fmt: skip
    subprocess.run(command, check=True)
    return out


def _span(values: list[float]) -> str:
    return f"{min(values):.0f}-{max(values):.0f}"


def _frames(clip: Path) -> int:
    return int(decode_only(str(clip))["frames"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip", nargs="?", type=Path, default=DEFAULT_CLIP)
    parser.add_argument("--movement", "-m", default="hip-flexion")
    parser.add_argument("--side", "-s", default="left")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--loops", type=int, default=20, help="long clip for peak RSS")
    parser.add_argument(
        "--rss-runs",
        type=int,
        default=3,
        help="runs of each clip for the peak RSS (one run varies by 5-10%%)",
    )
    args = parser.parse_args()
    from rom_measure.media.assets import pose_model_path

    pose_model_path()  # provision before timing
    clip, move, side = args.clip, args.movement, args.side
    frames = _frames(clip)
    print(f"clip: {clip} ({frames} frames); load before: {os.getloadavg()[0]:.2f}")
    best: dict[str, float] = {}
    cpu: dict[str, float] = {}

    def keep(label: str, seconds: float, cpu_s: float = float("nan")) -> None:
        if seconds < best.get(label, float("inf")):
            best[label], cpu[label] = seconds, cpu_s

    def keep_child(label: str, figures: dict[str, float]) -> None:
        keep(label, figures["seconds"], figures.get("cpu", float("nan")))

    rss_1: list[float] = []

    def keep_cli(label: str, figures: tuple[float, float, float]) -> None:
        keep(label, figures[0], figures[2])
        if label == "CLI (defaults)":
            rss_1.append(figures[1])

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        for _ in range(args.repeat):
            keep("start-up", *startup())
            keep_child("decode only (OpenCV)", child("decode_only", str(clip)))
            keep_child("bare loop, num_poses=1", child("bare_loop", str(clip), 1))
            keep_child("bare loop, num_poses=2", child("bare_loop", str(clip), 2))
            keep_child("library analyze_video", child("library", str(clip), move, side))
            keep_cli("CLI --no-annotate", cli(clip, move, side, out, "--no-annotate"))
            keep_cli("CLI (defaults)", cli(clip, move, side, out))
        split = child("stages", str(clip), move, side, str(Path(tmp) / "stages"))
        rss_1 += [cli(clip, move, side, out)[1] for _ in range(args.rss_runs - len(rss_1))]
        long_clip = looped(clip, args.loops, Path(tmp))
        rss_n = [cli(long_clip, move, side, out)[1] for _ in range(args.rss_runs)]
    start_s = best["start-up"]
    bare = best["bare loop, num_poses=1"]
    print(f"\n{'what ran':<42} {'seconds':>8} {'frames/s':>9} {'share of bare':>14} "
          f"{'CPU s':>6}")  # fmt: skip
    for label, seconds in best.items():
        if label == "start-up":
            continue
        is_cli = label.startswith("CLI")
        own = seconds - start_s if is_cli else seconds
        own_cpu = cpu[label] - cpu["start-up"] if is_cli else cpu[label]
        name = f"{label} (minus start-up)" if is_cli else label
        share = "" if label.startswith("decode") else f"{bare / own:.2f}"
        print(f"{name:<42} {own:8.2f} {frames / own:9.1f} {share:>14} {own_cpu:6.1f}")
    print(f"{'process start-up (python + imports)':<42} {start_s:8.2f} {'':>9} {'':>14} "
          f"{cpu['start-up']:6.1f}")  # fmt: skip
    print("\nper stage of analyze_to_folder (one run, seconds):")
    print(f"  {'decode only (for scale)':<36} {best['decode only (OpenCV)']:6.2f}")
    for label, seconds in split.items():
        if label != "frames":
            print(f"  {label:<36} {seconds:6.2f}")
    one, many = statistics.median(rss_1), statistics.median(rss_n)
    print(f"\npeak RSS of the CLI, median of {len(rss_1)} and {len(rss_n)} runs: 1x {one:.0f} MB "
          f"({_span(rss_1)}), {args.loops}x {many:.0f} MB ({_span(rss_n)}): "
          f"{(many / one - 1) * 100:+.1f}%")  # fmt: skip
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"on {os.cpu_count()} cores")  # fmt: skip
    ratio = bare / (best["CLI (defaults)"] - start_s)
    print(f"rom-measure analyze CLIP --out DIR (defaults, minus start-up) / bare num_poses=1 loop: "
          f"{ratio:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
