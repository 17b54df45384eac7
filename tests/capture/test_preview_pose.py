"""The live preview's pose: one tracked person per frame, a sparse look for others."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rom_measure.capture.live import LiveAnalyzer
from rom_measure.capture.preview_pose import PreviewPose
from rom_measure.measure.movements import get_movement


def _frames(clip: Path, every: int, stop: int) -> list[np.ndarray]:
    import cv2

    from rom_measure.media.sources import VideoFileSource

    source = VideoFileSource(clip)
    frames = [cv2.resize(f.bgr, (640, round(640 * f.bgr.shape[0] / f.bgr.shape[1])))
              for i, f in zip(range(stop), source, strict=False) if i % every == 0]  # fmt: skip
    source.close()
    return frames


def _people(frames: list[np.ndarray], pose_model: Path) -> tuple[list[int], int]:
    """People the preview shows per frame, and the most the tracker returned for one frame."""
    backend = PreviewPose(pose_model, check_s=0.0)  # look for others on every frame
    analyzer = LiveAnalyzer(get_movement("hip-flexion"), "left", backend)
    returned: list[int] = []
    detect = backend.detect

    def counted(rgb: np.ndarray, timestamp_ms: int) -> list:
        people = detect(rgb, timestamp_ms)
        returned.append(len(people))
        return people

    backend.detect = counted  # type: ignore[method-assign]
    try:
        shown = [analyzer.update(bgr, seq).people for seq, bgr in enumerate(frames)]
    finally:
        backend.close()
    return shown, max(returned)


@pytest.mark.slow
def test_a_second_person_still_turns_the_light_amber(shared_data: Path, pose_model: Path) -> None:
    shown, tracked = _people(_frames(shared_data / "sports2d_demo/demo.mp4", 15, 150), pose_model)
    assert tracked == 1  # the tracker asks for one person only
    assert max(shown) >= 2, shown  # the sparse look still sees the second one


def test_one_person_is_one_person(shared_data: Path, pose_model: Path) -> None:
    shown, _ = _people(_frames(shared_data / "pose2sim_single/cam02.mp4", 10, 40), pose_model)
    assert shown == [1] * len(shown)
