"""Frame sources: container timestamps, variable frame rate, rotation, bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rom_measure import InputError
from rom_measure.media.sources import VideoFileSource, open_source, prefetch


def test_timestamps_come_from_the_container(test_videos: dict[str, Path]) -> None:
    source = VideoFileSource(test_videos["vfr"])
    times = np.array([f.time_s for f in source])
    steps = np.diff(times)
    assert len(times) == 60
    np.testing.assert_allclose(steps[:29], 1 / 30, atol=1e-3)
    np.testing.assert_allclose(steps[30:], 1 / 10, atol=1e-3)  # the slow half is really slow


def test_rotation_metadata_is_honoured(test_videos: dict[str, Path]) -> None:
    source = VideoFileSource(test_videos["rotated"])
    first = next(iter(source))
    assert source.size == (120, 160)
    assert first.bgr.shape[:2] == (160, 120)


def test_frames_at_gives_the_same_pictures_at_the_same_indices(
    test_videos: dict[str, Path],
) -> None:
    full = {f.index: f.bgr for f in VideoFileSource(test_videos["plain"])}
    assert not np.array_equal(full[7], full[8])  # an off-by-one would show
    picked = list(VideoFileSource(test_videos["plain"]).frames_at([41, 0, 7]))
    assert [f.index for f in picked] == [0, 7, 41]
    for frame in picked:
        np.testing.assert_array_equal(frame.bgr, full[frame.index])
    assert list(VideoFileSource(test_videos["plain"]).frames_at([])) == []
    assert [f.index for f in VideoFileSource(test_videos["plain"]).frames_at([59, 99])] == [59]


def test_prefetch_keeps_order_and_reraises(test_videos: dict[str, Path]) -> None:
    frames = list(prefetch(VideoFileSource(test_videos["plain"])))
    assert [f.index for f in frames] == list(range(60))
    with pytest.raises(InputError, match=r"truncated|no decodable|cannot read"):
        list(prefetch(VideoFileSource(test_videos["truncated"])))


@pytest.mark.parametrize(
    ("name", "message"),
    [("not_video", "cannot read"), ("empty", "cannot read|no decodable"),
     ("truncated", "truncated|cannot read")],
)  # fmt: skip
def test_bad_files_give_clear_errors(test_videos: dict[str, Path], name: str, message: str):
    with pytest.raises(InputError, match=message):
        list(VideoFileSource(test_videos[name]))


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        VideoFileSource(tmp_path / "nope.mp4")
    with pytest.raises(InputError, match="not a file"):
        VideoFileSource(tmp_path)


def test_open_source_picks_the_kind(test_videos: dict[str, Path]) -> None:
    assert isinstance(open_source(test_videos["plain"]), VideoFileSource)
    with pytest.raises(InputError, match="cannot open camera"):
        open_source("97")  # no such camera index


def test_capture_times_saved_beside_a_clip_are_used(
    test_videos: dict[str, Path], tmp_path: Path, pose_model: Path
) -> None:
    """A recorded clip's exact capture times (record's sidecar) win over the container's."""
    import shutil

    from rom_measure.media.pipeline import video_landmarks
    from rom_measure.media.sources import timestamps_path

    clip = tmp_path / "clip.mp4"
    shutil.copy(test_videos["plain"], clip)
    times = np.cumsum(np.r_[0.0, np.full(59, 0.05)])  # 20 fps, though the file says 30
    rows = "".join(f"{i},{t:.6f}\n" for i, t in enumerate(times))
    timestamps_path(clip).write_text("frame,time_s\n" + rows)
    series = video_landmarks(clip, pose_model)
    np.testing.assert_allclose(series.time_s, times)
    assert "capture times" in series.meta["time_base"]
    timestamps_path(clip).write_text("frame,time_s\n0,0.0\n1,0.05\n")  # does not fit: ignored
    np.testing.assert_allclose(np.diff(video_landmarks(clip, pose_model).time_s), 1 / 30, atol=1e-3)


def test_frames_within_a_window_match_the_full_decode(test_videos: dict[str, Path]) -> None:
    """Frames skipped by ``keep`` are not returned; the kept ones are the same pictures."""
    full = list(VideoFileSource(test_videos["plain"]))
    keep = lambda t: 0.5 <= t <= 1.0  # noqa: E731
    some = list(VideoFileSource(test_videos["plain"]).frames(keep))
    wanted = [f for f in full if keep(f.time_s)]
    assert 0 < len(some) == len(wanted) < len(full)
    assert [f.index for f in some] == [f.index for f in wanted]
    for a, b in zip(some, wanted, strict=True):
        assert a.time_s == pytest.approx(b.time_s)
        np.testing.assert_array_equal(a.bgr, b.bgr)


def test_seek_goes_on_from_the_same_frames_as_a_full_decode(test_videos: dict[str, Path]) -> None:
    full = list(VideoFileSource(test_videos["plain"]))
    source = VideoFileSource(test_videos["plain"])
    source.seek(full[20].time_s)
    after = list(source)  # to the end: no truncation error after a seek
    assert len(after) == len(full) - 20
    for a, b in zip(after, full[20:], strict=True):
        assert a.time_s == pytest.approx(b.time_s)
        np.testing.assert_array_equal(a.bgr, b.bgr)


def test_clips_up_to_1080p_decode_in_one_thread_with_the_same_frames(
    test_videos: dict[str, Path],
) -> None:
    import cv2

    from rom_measure.media.sources import _capture

    single = _capture(str(test_videos["plain"]), one_thread=True)
    default = cv2.VideoCapture(str(test_videos["plain"]))
    assert single.get(cv2.CAP_PROP_N_THREADS) == 1
    for _ in range(10):
        (ok_a, a), (ok_b, b) = single.read(), default.read()
        assert ok_a and ok_b
        np.testing.assert_array_equal(a, b)


def test_frames_above_1080p_keep_ffmpegs_threads(tmp_path: Path) -> None:
    import cv2

    from rom_measure.media.sources import ONE_THREAD_MAX_PIXELS, _capture
    from tests.conftest import make_test_video

    big = make_test_video(tmp_path / "big.mp4", frames=2, size="2560x1440")
    capture = _capture(str(big), one_thread=True)
    width, height = capture.get(cv2.CAP_PROP_FRAME_WIDTH), capture.get(cv2.CAP_PROP_FRAME_HEIGHT)
    assert width * height > ONE_THREAD_MAX_PIXELS
    assert capture.get(cv2.CAP_PROP_N_THREADS) != 1 or cv2.getNumberOfCPUs() == 1


def test_a_source_decoded_apart_from_the_model_keeps_ffmpegs_threads(
    test_videos: dict[str, Path],
) -> None:
    import cv2

    beside = VideoFileSource(test_videos["plain"])
    apart = VideoFileSource(test_videos["plain"], beside_the_model=False)
    assert beside._cap.get(cv2.CAP_PROP_N_THREADS) == 1
    assert apart._cap.get(cv2.CAP_PROP_N_THREADS) != 1 or cv2.getNumberOfCPUs() == 1
    assert [f.time_s for f in beside] == [f.time_s for f in apart]
