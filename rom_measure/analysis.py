"""Deprecated: ``rom_measure.analysis`` moved to
``rom_measure.measure.analysis`` and ``rom_measure.media.pipeline``.

Kept for one release; import from the new place (or from ``rom_measure``).
"""

from __future__ import annotations

import warnings
from typing import Any

import rom_measure.measure.analysis
import rom_measure.media.pipeline

warnings.warn(
    "rom_measure.analysis is deprecated; import from "
    "rom_measure.measure.analysis or rom_measure.media.pipeline",
    DeprecationWarning,
    stacklevel=2,
)

_MODULES = (
    rom_measure.measure.analysis,
    rom_measure.media.pipeline,
)


def __getattr__(name: str) -> Any:
    for module in _MODULES:
        if hasattr(module, name):
            return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
