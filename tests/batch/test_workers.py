"""How many local workers a batch starts by default, and the former import path."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from rom_measure.batch import run

GB = 1 << 30


@pytest.mark.parametrize(
    ("cores", "memory", "workers"),
    [
        (1, 64 * GB, 1),
        (2, 64 * GB, 2),  # 2 / 1.2 = 1.67: both cores busy
        (4, 64 * GB, 3),
        (8, 64 * GB, 7),
        (16, 64 * GB, 13),
        (16, 3 * GB + GB // 2, 3),  # memory caps at one worker per GB
        (16, GB // 2, 1),  # never fewer than one
        (16, None, 13),  # memory unknown: cores alone
    ],
)
def test_default_workers_rule(
    monkeypatch: pytest.MonkeyPatch, cores: int, memory: int | None, workers: int
) -> None:
    monkeypatch.setattr(run, "available_cores", lambda: cores)
    monkeypatch.setattr(run, "_available_memory", lambda: memory)
    assert run.default_workers() == workers


def test_available_cores_is_within_the_machine() -> None:
    assert 1 <= run.available_cores() <= (os.cpu_count() or 1)


def test_former_module_names_warn() -> None:
    code = (
        "import warnings\n"
        "with warnings.catch_warnings(record=True) as seen:\n"
        "    warnings.simplefilter('always')\n"
        "    from rom_measure.batch import run_batch, read_state\n"
        "from rom_measure.batch.run import run_batch as new\n"
        "assert run_batch is new and callable(read_state)\n"
        "assert any(issubclass(w.category, DeprecationWarning) for w in seen)\n"
        "import rom_measure.batch as b\n"
        "try:\n"
        "    b.no_such_name\n"
        "except AttributeError:\n"
        "    pass\n"
        "else:\n"
        "    raise AssertionError('unknown names must raise AttributeError')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
