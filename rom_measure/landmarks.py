"""Deprecated: ``rom_measure.landmarks`` moved to
``rom_measure.measure.landmarks`` and ``rom_measure.media.landmark_file``.

Kept for one release; import from the new place (or from ``rom_measure``).
"""

from __future__ import annotations

import warnings
from typing import Any

import rom_measure.measure.landmarks
import rom_measure.media.landmark_file

warnings.warn(
    "rom_measure.landmarks is deprecated; import from "
    "rom_measure.measure.landmarks or rom_measure.media.landmark_file",
    DeprecationWarning,
    stacklevel=2,
)

_MODULES = (
    rom_measure.measure.landmarks,
    rom_measure.media.landmark_file,
)


def __getattr__(name: str) -> Any:
    for module in _MODULES:
        if hasattr(module, name):
            return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
