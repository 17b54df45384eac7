"""The annotated video's cost per encoded frame: resize, drawing, conversion, x264.

    python bench/annotation.py [CLIP] [--frames N]

Decodes the first N frames of CLIP (default: the sports2d demo clip), then times each
step the annotated-video thread does per frame, in CPU milliseconds: the resize to
the review video's size, the skeleton and text drawing, OpenCV's BT.601 yuv420p
conversion, and ffmpeg's x264 (``ultrafast``, one thread, as the tool runs it) fed
yuv420p against bgr24 (where ffmpeg converts itself). Each encoder run twice,
alternating. (The tool feeds bgr24: OpenCV's conversion takes each 2x2 block's colour
from its top-left pixel, which greys out 1 px coloured lines.)
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CLIP = REPO.parent / "shared" / "data" / "sports2d_demo" / "demo.mp4"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _encode_ms(frames: list[np.ndarray], pix_fmt: str, size: tuple[int, int]) -> float:
    """ffmpeg's CPU ms a frame to encode ``frames`` (raw ``pix_fmt``) as the tool does."""
    import imageio_ffmpeg

    width, height = size
    with tempfile.TemporaryDirectory() as tmp:
        command = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo",
                   "-pix_fmt", pix_fmt, "-s", f"{width}x{height}", "-r", "30", "-i", "-", "-an",
                   "-c:v", "libx264", "-preset", "ultrafast", "-crf", "23", "-threads", "1",
                   "-pix_fmt", "yuv420p", "-f", "mp4", str(Path(tmp) / "out.mp4")]  # fmt: skip
        before = _children_cpu()
        process = subprocess.Popen(command, stdin=subprocess.PIPE)
        assert process.stdin is not None
        for frame in frames:
            process.stdin.write(np.ascontiguousarray(frame).data)
        process.stdin.close()
        process.wait()
    return (_children_cpu() - before) / len(frames) * 1000


def _cpu_ms(step, items: list) -> tuple[float, list]:
    start = time.process_time()
    out = [step(item) for item in items]
    return (time.process_time() - start) / len(items) * 1000, out


def main() -> None:
    import cv2

    from rom_measure.media.annotate import _draw_skeleton, _output_size, _put_lines

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip", nargs="?", type=Path, default=DEFAULT_CLIP)
    parser.add_argument("--frames", type=int, default=150)
    args = parser.parse_args()
    capture, frames = cv2.VideoCapture(str(args.clip)), []
    while len(frames) < args.frames:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    size, _ = _output_size((frames[0].shape[1], frames[0].shape[0]))
    points = np.random.default_rng(0).uniform(0.3, 0.7, (33, 2)) * np.array(size)

    def draw(image: np.ndarray) -> np.ndarray:
        image = image.copy()
        _draw_skeleton(image, points, ((23, 25), (23, 11)))
        _put_lines(image, [("t = 1.00 s", (255, 255, 255))], 40, image.shape[0] / 900,
                   max(1, round(image.shape[0] / 360)))  # fmt: skip
        return image

    resize_ms, small = _cpu_ms(lambda f: cv2.resize(f, size, interpolation=cv2.INTER_LINEAR),
                               frames)  # fmt: skip
    draw_ms, drawn = _cpu_ms(draw, small)
    convert_ms, yuv = _cpu_ms(lambda f: cv2.cvtColor(f, cv2.COLOR_BGR2YUV_I420), drawn)
    runs = {"bgr24": [], "yuv420p": []}
    for _ in range(2):
        runs["bgr24"].append(_encode_ms(drawn, "bgr24", size))
        runs["yuv420p"].append(_encode_ms(yuv, "yuv420p", size))
    print(f"{args.clip.name}: {len(frames)} frames {frames[0].shape[1]}x{frames[0].shape[0]} "
          f"-> {size[0]}x{size[1]}; CPU ms a frame")  # fmt: skip
    print(f"  resize {resize_ms:.2f}, drawing {draw_ms:.2f}, BGR -> yuv420p {convert_ms:.2f}")
    for fmt, values in runs.items():
        print(f"  x264 fed {fmt}: " + ", ".join(f"{v:.2f}" for v in values))


if __name__ == "__main__":
    main()
