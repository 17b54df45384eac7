"""Command-line option types shared by the commands (no rom_measure imports)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from typing import Any

__all__ = ["number"]


def number(kind: type = float, lowest: float | None = None,
           strict: bool = False) -> Callable[[str], Any]:  # fmt: skip
    """An argparse ``type``: a finite ``kind`` at least (``strict``: above) ``lowest``."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            wanted = "a whole number" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"must be {wanted}, not {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be finite, not {text}")
        if lowest is not None and (value < lowest or (strict and value == lowest)):
            bound = "above" if strict else "at least"
            raise argparse.ArgumentTypeError(f"must be {bound} {lowest:g}, not {text}")
        return value

    return parse
