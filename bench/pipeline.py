"""Speed and memory of `analyze` against a bare MediaPipe loop, in the same run.

    python bench/pipeline.py [CLIP] [--repeat N]

Prints frames/s of (a) a bare PoseLandmarker loop (OpenCV decode, BGR->RGB,
detect_for_video) and (b) rom_measure's analysis (landmarks + angles + ROM, no files
written), their ratio, and the peak RSS of each in a fresh process, for the clip and
for the same clip looped 4x (peak RSS should not grow with clip length).
Target: analyze >= 0.9x the bare loop.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CLIP = REPO.parent / "shared" / "data" / "pose2sim_single" / "cam01.mp4"


def bare_loop(clip: str) -> dict[str, float]:
    import cv2
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    from rom_measure.media.assets import pose_model_path

    start = time.perf_counter()  # like analyze: model set-up is part of the run
    options = vision.PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(pose_model_path())),
        running_mode=vision.RunningMode.VIDEO, num_poses=2,
    )  # fmt: skip
    landmarker = vision.PoseLandmarker.create_from_options(options)
    cap = cv2.VideoCapture(clip)
    frames, last_ms = 0, -1
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        last_ms = max(int(cap.get(cv2.CAP_PROP_POS_MSEC)), last_ms + 1)
        image = mp.Image(
            image_format=mp.ImageFormat.SRGB, data=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        )
        landmarker.detect_for_video(image, last_ms)
        frames += 1
    return {"frames": frames, "seconds": time.perf_counter() - start}


def analyze(clip: str) -> dict[str, float]:
    import mediapipe.tasks.python.vision  # noqa: F401 - imported before the clock, as in bare_loop

    from rom_measure import analyze_video

    start = time.perf_counter()
    result = analyze_video(clip, "hip-flexion", "right")
    return {"frames": result.series.frames, "seconds": time.perf_counter() - start}


def child(kind: str, clip: str) -> dict[str, float]:
    """Run one measurement in a fresh interpreter and add its peak RSS."""
    code = (f"import json, resource, sys; sys.path.insert(0, {str(REPO / 'bench')!r}); "
            f"import pipeline; r = pipeline.{kind}({clip!r}); "
            "r['peak_rss_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024; "
            "print(json.dumps(r))")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def looped(clip: Path, times: int, folder: Path) -> Path:
    import imageio_ffmpeg

    listing = folder / "list.txt"
    listing.write_text("".join(f"file '{clip.resolve()}'\n" for _ in range(times)))
    out = folder / f"looped{times}{clip.suffix}"
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-v",
            "error",
            "-y",
            "-f",
            "concat",
            "-safe",
            "0",
            "-i",
            str(listing),
            "-c",
            "copy",
            str(out),
        ],
        check=True,
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip", nargs="?", type=Path, default=DEFAULT_CLIP)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    from rom_measure.media.assets import pose_model_path

    pose_model_path()  # provision before timing
    with tempfile.TemporaryDirectory() as tmp:
        long_clip = looped(args.clip, 4, Path(tmp))
        print(f"clip: {args.clip}  (and a 4x loop of it for memory)")
        rows = []
        for label, clip in (("1x", args.clip), ("4x", long_clip)):
            for _ in range(args.repeat):  # interleaved so machine load hits both alike
                bare, ours = child("bare_loop", str(clip)), child("analyze", str(clip))
                rows.append((label, bare, ours))
        print(
            f"{'clip':>4} {'bare fps':>9} {'analyze fps':>12} {'ratio':>6} "
            f"{'bare RSS MB':>12} {'analyze RSS MB':>15}"
        )
        for label, bare, ours in rows:
            bare_fps = bare["frames"] / bare["seconds"]
            our_fps = ours["frames"] / ours["seconds"]
            print(
                f"{label:>4} {bare_fps:9.1f} {our_fps:12.1f} {our_fps / bare_fps:6.2f} "
                f"{bare['peak_rss_mb']:12.0f} {ours['peak_rss_mb']:15.0f}"
            )


if __name__ == "__main__":
    main()
