"""Side-view neck flexion: is its error the side, the camera or the repetitions?

    python bench/neck_flexion_sides.py

In the suite, the largest neck flexion errors are all "right side, 25 deg, three
repetitions" cases at one camera. This renders (once, then cached) training-split
clips that change one of those at a time, and reads each clip as analysed and as a
left-right mirrored copy (ffmpeg ``hflip``, analysed as the other side), to see
whether a mirror average (as hip extension uses) would cancel the error.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: (side, peak, body, camera, repetitions), training bodies and cameras only.
CASES = [
    (side, 25.0, body, camera, reps)
    for body in ("average-female", "slim-female")
    for side, camera, reps in (("right", "portrait-high", 3), ("right", "portrait-high", 1),
                               ("left", "portrait-high", 3), ("right", "tripod", 3))
]  # fmt: skip


def mirrored_copy(video: Path, folder: Path) -> Path:
    """The clip flipped left-right, nearly lossless."""
    import imageio_ffmpeg

    out = folder / f"{video.stem}_hflip.mp4"
    if not out.exists():
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-i",
                        str(video), "-vf", "hflip", "-c:v", "libx264", "-crf", "12",
                        "-pix_fmt", "yuv420p", str(out)], check=True)  # fmt: skip
    return out


def analyze_rom(video: Path, side: str) -> float | None:
    """ROM (deg) from ``rom-measure analyze`` at its defaults, or None if rejected."""
    cli = str(Path(sys.executable).with_name("rom-measure"))
    with tempfile.TemporaryDirectory() as out:
        run = subprocess.run([cli, "analyze", str(video), "-m", "neck-flexion", "-s", side,
                              "--out", out, "--no-annotate", "--json"],
                             capture_output=True, text=True, cwd=REPO)  # fmt: skip
        return json.loads(run.stdout)["rom_deg"] if run.returncode == 0 else None


def main() -> None:
    from rom_measure.synth.validate import ValidationCase, run_case

    with tempfile.TemporaryDirectory() as folder:
        print("side | camera | reps | body | true | error | error of the mirrored copy")
        for side, peak, body, camera, reps in CASES:
            case = ValidationCase("training", "neck-flexion", side, peak, body, camera,
                                  repetitions=reps)  # fmt: skip
            row = run_case(case)
            other = "left" if side == "right" else "right"
            mirrored = analyze_rom(mirrored_copy(Path(row["video"]), Path(folder)), other)
            flip = "rejected" if mirrored is None else f"{mirrored - row['true_rom_deg']:+.1f}"
            error = "rejected" if row["error_deg"] is None else f"{row['error_deg']:+.1f}"
            print(f"{side} | {camera} | {reps} | {body} | {row['true_rom_deg']:.0f} | "
                  f"{error} | {flip}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
