"""Deprecated: ``rom_measure.movements`` moved to
``rom_measure.measure.movements``.

Kept for one release; import from the new place (or from ``rom_measure``).
"""

from __future__ import annotations

import warnings
from typing import Any

import rom_measure.measure.movements

warnings.warn(
    "rom_measure.movements is deprecated; import from rom_measure.measure.movements",
    DeprecationWarning,
    stacklevel=2,
)

_MODULES = (rom_measure.measure.movements,)


def __getattr__(name: str) -> Any:
    for module in _MODULES:
        if hasattr(module, name):
            return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
