"""Silencing the model's native log lines (fd 2) from several threads at once."""

from __future__ import annotations

import os
import threading

from rom_measure.media.pose import quiet_native_logs


def _fd2() -> tuple[int, int]:
    stat = os.fstat(2)
    return stat.st_dev, stat.st_ino


def test_fd2_comes_back_when_threads_leave_in_any_order() -> None:
    devnull = os.stat(os.devnull)
    before = _fd2()
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[tuple[int, int]] = []

    def first() -> None:  # enters first, leaves first
        with quiet_native_logs():
            a_in.set()
            b_in.wait(5)
            seen.append(_fd2())
        a_out.set()

    def second() -> None:  # enters while the first is inside, leaves last
        a_in.wait(5)
        with quiet_native_logs():
            b_in.set()
            a_out.wait(5)
            seen.append(_fd2())  # still silenced after the first has left

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert seen == [(devnull.st_dev, devnull.st_ino)] * 2
    assert _fd2() == before


def test_a_process_forked_while_silenced_has_its_stderr() -> None:
    before = _fd2()
    with quiet_native_logs():
        child = os.fork()
        if child == 0:  # the child: fd 2 is the parent's original again
            os._exit(0 if _fd2() == before else 1)
        _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert _fd2() == before
