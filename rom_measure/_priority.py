"""Background work that yields the CPU to the pose model (Linux thread priorities).

A thread's nice value is inherited by the threads and processes it starts. OpenCV's
shared worker pool is started by the first thread that makes a parallel cv2 call; in
``analyze`` that is the decoding thread (normal priority), since the annotated-video
thread only starts work once a frame has been decoded and converted.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable
from typing import TypeVar

__all__ = ["BACKGROUND_NICENESS", "lower_this_thread", "made_in_background"]

T = TypeVar("T")

#: How much nicer than the pose model the background threads run (annotated-video
#: drawing and its ffmpeg encoder, the people counter). On 2 cores they took CPU from
#: the model at its own priority; niced, they use the time it leaves (bench/pipeline.py).
BACKGROUND_NICENESS = 10


def lower_this_thread(by: int = BACKGROUND_NICENESS) -> None:
    """Lower the calling thread's priority by ``by``; threads and processes it starts
    inherit it. Only on Linux, where a thread has its own nice value; elsewhere a no-op."""
    if sys.platform != "linux":
        return
    tid = threading.get_native_id()
    with contextlib.suppress(OSError):  # not permitted: it runs at the normal priority
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + by))


def made_in_background(factory: Callable[[], T]) -> T:
    """``factory()`` run in a thread of lowered priority and waited for: the native
    threads it starts (e.g. a MediaPipe graph's) inherit that priority."""
    made: list[T] = []
    failed: list[BaseException] = []

    def run() -> None:
        lower_this_thread()
        try:
            made.append(factory())
        except BaseException as error:  # re-raised in the caller
            failed.append(error)

    worker = threading.Thread(target=run, name="rom_measure-background-setup")
    worker.start()
    worker.join()
    if failed:
        raise failed[0]
    return made[0]
