"""Old import paths kept for one release: a module whose names moved elsewhere."""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["moved_module"]


def moved_module(old: str, *new: str) -> Callable[[str], Any]:
    """Warn that ``old`` moved to the ``new`` modules; return its module ``__getattr__``."""
    warnings.warn(f"{old} is deprecated; import from {' or '.join(new)}",
                  DeprecationWarning, stacklevel=3)  # fmt: skip
    modules = [importlib.import_module(name) for name in new]

    def __getattr__(name: str) -> Any:
        for module in modules:
            if hasattr(module, name):
                return getattr(module, name)
        raise AttributeError(f"module {old!r} has no attribute {name!r}")

    return __getattr__
