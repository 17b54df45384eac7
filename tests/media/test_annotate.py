"""The annotated video's colours: flat patches and a 1 px coloured line survive encoding."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.conftest import make_test_video

GREY, RED, WHITE, BLACK = (128, 128, 128), (40, 40, 220), (255, 255, 255), (0, 0, 0)  # BGR


def _frame() -> np.ndarray:
    image = np.full((240, 320, 3), GREY, np.uint8)
    image[120:240, 0:80] = RED
    image[120:240, 80:160] = WHITE
    image[120:240, 160:240] = BLACK
    image[120:240, 281] = RED  # one pixel wide, in an odd column
    return image


def test_colours_survive_the_review_video(tmp_path: Path) -> None:
    import cv2

    from rom_measure.media.annotate import AnnotatedVideoWriter

    clip = make_test_video(tmp_path / "clip.mp4", frames=10, size="320x240")  # its frame rate
    writer = AnnotatedVideoWriter(tmp_path / "annotated.mp4", clip, "hip-flexion", "left")
    for index in range(10):
        writer.add(_frame(), index / 30, None)
    video = writer.finish(None)
    capture = cv2.VideoCapture(str(video))
    ok, decoded = capture.read()
    capture.release()
    assert ok and decoded.shape == (240, 320, 3)
    inner = np.s_[140:220]
    for colour, columns in ((RED, np.s_[10:70]), (WHITE, np.s_[90:150]), (BLACK, np.s_[170:230])):
        mean = decoded[inner, columns].reshape(-1, 3).mean(0)
        assert np.abs(mean - colour).max() < 6, (colour, mean)  # no range or channel slip
    line = decoded[inner, 281].astype(float).mean(0)
    assert line[2] - line[1] > 25, line  # the thin red line keeps some red (chroma averaged)
