"""The sparse count of people in view (PeopleCounter) and its hold between counts."""

from __future__ import annotations

import threading

import numpy as np

from rom_measure.media.pose import PeopleCounter, PoseObservation, estimate_landmarks
from rom_measure.media.sources import Frame


class Crowd:
    """A stand-in backend seeing ``people[frame]`` people (frame read from the pixels)."""

    model_name = "crowd"

    def __init__(self, people: list[int]) -> None:
        self.people = people
        self.calls: list[int] = []
        self.threads: set[str] = set()
        self.closed = False

    def detect(self, rgb: np.ndarray, timestamp_ms: int) -> list[PoseObservation]:
        frame = int(rgb[0, 0, 0])
        self.calls.append(frame)
        self.threads.add(threading.current_thread().name)
        marks = np.full((33, 3), 0.5, dtype=np.float32)
        ones = np.ones(33, dtype=np.float32)
        return [PoseObservation(marks, ones, ones, marks)] * self.people[frame]

    def close(self) -> None:
        self.closed = True


def _frames(count: int, fps: float = 30.0):
    for i in range(count):
        yield Frame(i, i / fps, np.full((4, 4, 3), i, dtype=np.uint8))


def test_counts_every_half_second_and_holds_them() -> None:
    seen = [1] * 40 + [3] * 50  # a bystander (two) enters at frame 40 (1.33 s)
    crowd, tracker = Crowd(seen), Crowd([1] * 90)
    counter = PeopleCounter(crowd, every_s=0.5)
    series = estimate_landmarks(_frames(90), tracker, (4, 4), counter=counter)
    counter.close()
    assert crowd.calls == [0, 15, 30, 45, 60, 75]
    assert crowd.closed
    assert crowd.threads - {threading.current_thread().name}  # counted in the background
    expected = np.array([1] * 45 + [3] * 45)
    np.testing.assert_array_equal(series.people, expected)


def test_the_tracked_count_is_kept_when_larger() -> None:
    counter = PeopleCounter(Crowd([0] * 10), every_s=0.5)
    series = estimate_landmarks(_frames(10), Crowd([1] * 10), (4, 4), counter=counter)
    counter.close()
    np.testing.assert_array_equal(series.people, np.ones(10))
