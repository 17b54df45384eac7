"""Shared fixtures: the real clips in ../shared/data, the pose model, small test videos."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
# ROM_MEASURE_SHARED_DATA: where the clips are when the checkout is not beside shared/
# (e.g. a git worktree).
SHARED_DATA = Path(os.environ.get("ROM_MEASURE_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "pose2sim_single" / "cam01.mp4").is_file():
        pytest.skip(f"real clips not found at {SHARED_DATA} (the project's shared/ folder)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def pose_model() -> Path:
    """The cached pose model bundle (built from the mediapipe 0.10.21 wheel on first use)."""
    from rom_measure.media.assets import pose_model_path

    return pose_model_path()


def ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def make_test_video(path: Path, *args: str, frames: int = 30, size: str = "160x120") -> Path:
    """A small synthetic test-pattern clip written by the bundled ffmpeg."""
    subprocess.run(
        [ffmpeg(), "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size={size}:rate=30",
         "-frames:v", str(frames), *args, "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path)],
        check=True,
    )  # fmt: skip
    return path


@pytest.fixture(scope="session")
def test_videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("videos")
    plain = make_test_video(folder / "plain.mp4", "-movflags", "+faststart", frames=60)
    vfr = make_test_video(
        folder / "vfr.mp4", "-vf", "setpts='if(lt(N,30),N/30,1+(N-30)/10)/TB'",
        "-fps_mode", "vfr", frames=60,
    )  # fmt: skip
    rotated = folder / "rotated.mp4"
    subprocess.run([ffmpeg(), "-v", "error", "-y", "-display_rotation", "90", "-i", str(plain),
                    "-c", "copy", str(rotated)], check=True)  # fmt: skip
    truncated = folder / "truncated.mp4"
    data = plain.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    not_video = folder / "notes.mp4"
    not_video.write_text("this is not a video\n")
    empty = folder / "empty.mp4"
    empty.write_bytes(b"")
    return {"plain": plain, "vfr": vfr, "rotated": rotated, "truncated": truncated,
            "not_video": not_video, "empty": empty}  # fmt: skip


def assert_close_or_nan(a: np.ndarray, b: np.ndarray, atol: float) -> None:
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    np.testing.assert_allclose(a[~np.isnan(a)], b[~np.isnan(b)], atol=atol)
