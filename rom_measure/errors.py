"""Exceptions whose message is meant for the user: one line, no traceback."""

from __future__ import annotations

__all__ = ["AssetError", "InputError", "OutputError", "RomMeasureError"]


class RomMeasureError(Exception):
    """Base class: the CLI prints ``str(error)`` on one line and exits non-zero."""

    exit_code = 2


class InputError(RomMeasureError):
    """A file, option or value given by the user cannot be used."""


class AssetError(RomMeasureError):
    """The pose model or body model could not be provisioned."""

    exit_code = 3


class OutputError(RomMeasureError):
    """An output could not be written (e.g. the disk is full); nothing partial is left."""

    exit_code = 4
