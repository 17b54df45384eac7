"""Many clips at once (``rom-measure batch``): resumable, a process pool or Dask.

The names of the former ``rom_measure.batch`` module (``run_batch``, ``BatchOptions``,
...) still import from here for one release, with a DeprecationWarning; import
them from :mod:`rom_measure.batch.run`.
"""

from __future__ import annotations

from typing import Any

_MOVED = {
    "STATE_FILE": "state",
    "STATUSES": "state",
    "BatchReport": "state",
    "ClipOutcome": "state",
    "ClipTask": "state",
    "read_state": "state",
    "BatchOptions": "run",
    "default_workers": "run",
    "run_batch": "run",
    "run_clip": "worker",
    "LineProgress": "progress",
    "Progress": "progress",
    "TerminalProgress": "progress",
    "register": "command",
}


def __getattr__(name: str) -> Any:
    """The former module's names, loaded on first use (no work at import time)."""
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib
    import warnings

    warnings.warn(
        f"rom_measure.batch.{name} is deprecated; import it from rom_measure.batch.run"
        if _MOVED[name] != "command"
        else "rom_measure.batch.register is deprecated; use rom_measure.batch.command.register",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(f"rom_measure.batch.{_MOVED[name]}"), name)
