"""Background threads run at a lower priority than the pose model (Linux)."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from rom_measure._priority import BACKGROUND_NICENESS, lower_this_thread, made_in_background

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="per-thread priorities are Linux's")


def _nice() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@linux_only
def test_only_the_calling_thread_is_lowered_and_its_children_inherit() -> None:
    before = _nice()
    seen: dict[str, int] = {}

    def child() -> None:
        seen["child"] = _nice()

    def work() -> None:
        lower_this_thread()
        seen["thread"] = _nice()
        inner = threading.Thread(target=child)
        inner.start()
        inner.join()

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    assert seen["thread"] == min(19, before + BACKGROUND_NICENESS)
    assert seen["child"] == seen["thread"]
    assert _nice() == before  # the caller keeps its priority


@linux_only
def test_made_in_background_returns_what_a_lowered_thread_made() -> None:
    made = made_in_background(_nice)
    assert made == min(19, _nice() + BACKGROUND_NICENESS)


def test_made_in_background_reraises_the_factorys_error() -> None:
    def broken() -> None:
        raise ValueError("no model")

    with pytest.raises(ValueError, match="no model"):
        made_in_background(broken)
