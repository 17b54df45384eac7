"""The ``--split training|held-out|both`` option the validation benches share."""

from __future__ import annotations

import argparse

SPLITS = ("training", "held-out")


def add_split_option(parser: argparse.ArgumentParser, default: str = "both") -> None:
    """Add ``--split`` (one of the validation suite's splits, or both)."""
    parser.add_argument("--split", choices=(*SPLITS, "both"), default=default)


def chosen_splits(args: argparse.Namespace) -> tuple[str, ...]:
    """The splits ``--split`` names, in suite order."""
    return SPLITS if args.split == "both" else (args.split,)


def splits_from_command_line(doc: str, default: str = "both") -> tuple[str, ...]:
    """Parse a bench whose only option is ``--split`` (``doc``: its module docstring)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    add_split_option(parser, default)
    return chosen_splits(parser.parse_args())
