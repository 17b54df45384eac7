"""One typed configuration: the settings dataclasses, read from a TOML file.

The defaults live in the dataclasses (:class:`~rom_measure.measure.analysis.AnalysisSettings`
for the measurement, :class:`OutputSettings` and :class:`RunSettings` here). A clinic
overrides them in ``rom-measure.toml`` (working folder) or ``--config FILE``::

    [analysis]
    lowpass_hz = 5.0      # absent: each movement's own cut-off
    outlier_sigmas = 3.5

    [output]
    annotate = false
    blur_faces = true
    folder = "/data/rom"  # default --out of batch (relative: to this file's folder)

    [run]
    workers = 2

Every unknown key and bad value is named in one message. Command-line flags override
the file: :func:`apply_to_parsers` turns the settings into the commands' argparse
defaults (:data:`FLAGS` says which setting feeds which option), so a command needs no
change to follow the file.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import math
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rom_measure.errors import InputError
from rom_measure.measure.analysis import AnalysisSettings

__all__ = [
    "CONFIG_NAME",
    "FLAGS",
    "ConfigError",
    "OutputSettings",
    "RunSettings",
    "Settings",
    "apply_to_parsers",
    "find_config",
    "load_settings",
    "settings_toml",
]

CONFIG_NAME = "rom-measure.toml"


class ConfigError(InputError):
    """The configuration file cannot be used (exit code 2)."""


@dataclass(frozen=True)
class OutputSettings:
    """What the commands write."""

    folder: Path | None = None  # default --out of batch (None: it must be given)
    annotate: bool = True  # write annotated.mp4
    blur_faces: bool = False  # blur faces in the visit report's images and videos
    report: bool = True  # write the HTML reports (demo, batch)


@dataclass(frozen=True)
class RunSettings:
    """How the commands run."""

    workers: int | None = None  # parallel processes (None: the command's own default)
    model: Path | None = None  # pose landmarker .task file (None: the cached full model)


@dataclass(frozen=True)
class Settings:
    """Every setting in force."""

    analysis: AnalysisSettings = field(default_factory=AnalysisSettings)
    output: OutputSettings = field(default_factory=OutputSettings)
    run: RunSettings = field(default_factory=RunSettings)


# setting -> (argparse dest, commands it applies to; None: every command with that option)
FLAGS: dict[str, tuple[str, frozenset[str] | None]] = {
    "analysis.lowpass_hz": ("lowpass_hz", None),
    "analysis.calibrate": ("calibrate", None),
    "output.folder": ("out", frozenset({"batch"})),
    "output.annotate": ("annotate", None),
    "output.blur_faces": ("blur_faces", None),
    "output.report": ("report", None),
    "output.reports": ("reports", None),  # batch spells it in the plural
    "run.workers": ("workers", None),
    "run.model": ("model", None),
}
_ALIASES = {"output.reports": "output.report"}

# (lowest, strict): values must be above (strict) or at least ``lowest``
_LIMITS: dict[str, tuple[float, bool]] = {
    "analysis.lowpass_hz": (0.0, True),
    "analysis.max_gap_s": (0.0, False),
    "analysis.outlier_window_s": (0.0, True),
    "analysis.outlier_sigmas": (0.0, True),
    "analysis.segment_tolerance": (0.0, True),
    "run.workers": (1, False),
}


def find_config(explicit: str | Path | None, cwd: Path | None = None) -> Path | None:
    """``explicit`` (which must exist), else ``rom-measure.toml`` in ``cwd`` if there."""
    if explicit is not None:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"configuration file not found: {path}")
        return path
    local = (cwd or Path.cwd()) / CONFIG_NAME
    return local if local.is_file() else None


def load_settings(path: Path | None) -> Settings:
    """The settings in force: the defaults, overridden by the TOML file at ``path``."""
    if path is None:
        return Settings()
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read configuration file {path}: {error}") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from error
    problems: list[str] = []
    sections = {}
    for section in dataclasses.fields(Settings):
        table = data.pop(section.name, {})
        if not isinstance(table, dict):
            problems.append(f"[{section.name}] must be a table, not {_show(table)}")
            table = {}
        sections[section.name] = _section(section.name, section.default_factory, table,
                                          Path(path).parent, problems)  # fmt: skip
    for unknown in data:
        problems.append(f"unknown section {unknown!r}{_hint(unknown, _field_names(Settings))}")
    if problems:
        raise ConfigError(f"{path}: " + "; ".join(problems))
    return Settings(**sections)


def _field_names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def _hint(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(choices)})"


def _show(value: Any) -> str:
    return json.dumps(value, default=str) if not isinstance(value, dict) else "a table"


def _section(name: str, cls: Any, table: dict[str, Any], base_dir: Path,
             problems: list[str]) -> Any:  # fmt: skip
    """One table as its dataclass; relative paths are taken from the file's folder."""
    hints = typing.get_type_hints(cls)
    values = {}
    for key, value in table.items():
        where = f"{name}.{key}"
        if key not in hints:
            problems.append(f"unknown key {where}{_hint(key, list(hints))}")
            continue
        problem = _check(where, hints[key], value)
        if problem:
            problems.append(problem)
        elif _base(hints[key]) is Path:
            values[key] = base_dir / Path(value).expanduser()  # an absolute path stays as it is
        else:
            values[key] = float(value) if _base(hints[key]) is float else value
    return cls(**values)


def _base(hint: Any) -> Any:
    """``float | None`` -> ``float``."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return next(a for a in typing.get_args(hint) if a is not type(None))
    return hint


def _check(where: str, hint: Any, value: Any) -> str | None:
    base = _base(hint)
    wanted = {bool: "true or false", int: "a whole number", float: "a number",
              str: "a text string", Path: "a path (text string)"}[base]  # fmt: skip
    if base is bool:
        fits = isinstance(value, bool)
    elif base is float:
        fits = isinstance(value, int | float) and not isinstance(value, bool)
    elif base is int:
        fits = isinstance(value, int) and not isinstance(value, bool)
    else:
        fits = isinstance(value, str) and value != ""
    if not fits:
        return f"{where} must be {wanted}, not {_show(value)}"
    if base in (int, float) and not math.isfinite(value):
        return f"{where} must be finite, not {value}"
    if where in _LIMITS:
        lowest, strict = _LIMITS[where]
        if value < lowest or (strict and value == lowest):
            return f"{where} must be {'above' if strict else 'at least'} {lowest:g}, not {value}"
    return None


def _value(settings: Settings, key: str) -> Any:
    section, name = _ALIASES.get(key, key).split(".")
    return getattr(getattr(settings, section), name)


def apply_to_parsers(commands: dict[str, argparse.ArgumentParser], settings: Settings) -> None:
    """Make ``settings`` the defaults of the commands' options (flags still override).

    A setting left at None keeps the command's own default. An option that the file
    makes no longer required (batch ``--out``) becomes optional, and a switch gets its
    opposite (``--annotate`` beside ``--no-annotate``) so the command line can undo
    the file.
    """
    for command, parser in commands.items():
        for key, (dest, only) in FLAGS.items():
            actions = [a for a in parser._actions if a.dest == dest and a.option_strings]
            if not actions or (only is not None and command not in only):
                continue
            _add_opposite_switch(parser, actions[0])
            value = _value(settings, key)
            if value is None:
                continue
            parser.set_defaults(**{dest: str(value) if dest == "model" else value})
            for action in actions:
                action.required = False


def _add_opposite_switch(parser: argparse.ArgumentParser, action: argparse.Action) -> None:
    """``--no-x`` (store_false) gets ``--x``; ``--x`` (store_true) gets ``--no-x``."""
    if not isinstance(action, argparse._StoreTrueAction | argparse._StoreFalseAction):
        return
    flag = max(action.option_strings, key=len)
    positive = isinstance(action, argparse._StoreTrueAction)
    opposite = f"--no-{flag[2:]}" if positive else f"--{flag.removeprefix('--no-')}"
    if opposite in parser._option_string_actions:
        return
    parser.add_argument(opposite, dest=action.dest,
                        action="store_false" if positive else "store_true",
                        help=f"undo {flag} (e.g. set by the config file)")  # fmt: skip


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))  # a TOML basic string


def settings_toml(settings: Settings, source: Path | None) -> str:
    """The settings as a TOML file (unset values as comments), for ``config --show``."""
    origin = str(source) if source else "built-in defaults (no rom-measure.toml here)"
    lines = [
        f"# rom-measure settings in force, from {origin}",
        "# command-line flags override them",
    ]
    for section in dataclasses.fields(Settings):
        lines += ["", f"[{section.name}]"]
        for item in dataclasses.fields(getattr(settings, section.name)):
            value = getattr(getattr(settings, section.name), item.name)
            if value is None:
                lines.append(f"# {item.name} = (unset: each command's or movement's own default)")
            else:
                lines.append(f"{item.name} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"
