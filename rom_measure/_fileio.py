"""Atomic file writing: readers never see a half-written output."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

__all__ = [
    "OutputRun",
    "atomic_path",
    "atomic_write_json",
    "atomic_write_text",
    "atomic_writer",
    "recover_folder",
    "sha256_file",
]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(target: Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it over ``target`` on success.

    The temporary file keeps ``target``'s suffix (or ``suffix``) so that writers
    choosing a format by extension (numpy, matplotlib, ffmpeg) still work.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.stem}.partial-", suffix=suffix or target.suffix, dir=target.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get normal permissions
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


@contextlib.contextmanager
def atomic_writer(target: Path, mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temporary file for writing; it replaces ``target`` only if the block succeeds."""
    with atomic_path(target) as tmp, open(tmp, mode, **kwargs) as handle:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())


def atomic_write_text(target: Path, text: str) -> None:
    """Write ``text`` to ``target`` atomically (UTF-8)."""
    with atomic_writer(target, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)


def atomic_write_json(target: Path, data: Any) -> None:
    """Write ``data`` as indented JSON to ``target`` atomically."""
    atomic_write_text(target, json.dumps(data, indent=2, allow_nan=False) + "\n")


def os_error_reason(error: OSError) -> str:
    """An OSError in a few words for a one-line message."""
    if error.errno == errno.ENOSPC:
        return "no space left on the device"
    return error.strerror or str(error)


# --- a run's set of files, swapped into a folder at once ----------------------------

STAGE_PREFIX = ".rom-measure-run-"
_COMMIT_MARK = "COMMIT"
_OWNER = "owner.pid"
_STRAY = re.compile(r"^\..+\.partial-[^/]*$")  # temporary names made by atomic_path


@dataclass
class OutputRun:
    """One run's outputs, written in ``stage`` (a hidden folder inside ``folder``).

    :meth:`commit` moves them over the previous run's files of the names in
    ``names`` (removing those this run did not make) with ``last`` moved last; the
    staging folder records the intent first, so that a run killed half-way through
    the swap is completed by the next one (:func:`recover_folder`).
    """

    folder: Path
    names: tuple[str, ...]
    last: str
    run_id: str = field(default_factory=lambda: f"{time.strftime('%Y%m%dT%H%M%S')}-"
                                                f"{secrets.token_hex(4)}")  # fmt: skip
    stage: Path = field(init=False)
    _made: list[str] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.stage = self.folder / f"{STAGE_PREFIX}{self.run_id}"
        self.stage.mkdir()
        (self.stage / _OWNER).write_text(f"{os.getpid()}\n")

    def commit(self) -> dict[str, Path]:
        """Swap the staged files in; return the final paths by file name."""
        made = self._made if self._made is not None else self.mark_commit()
        _finish_swap(self.folder, self.stage, self.names, made, self.last)
        return {name: self.folder / name for name in made}

    def mark_commit(self) -> list[str]:
        """Record that the swap begins (from here on the run is completed, not undone)."""
        made = [name for name in self.names if (self.stage / name).is_file()]
        intent = {"names": list(self.names), "made": made, "last": self.last}
        with open(self.stage / _COMMIT_MARK, "w") as handle:
            json.dump(intent, handle)
            handle.flush()
            os.fsync(handle.fileno())
        self._made = made
        return made

    def unmark(self) -> None:
        """Take back :meth:`mark_commit` before any file moved (the swap is not begun)."""
        with contextlib.suppress(FileNotFoundError):
            (self.stage / _COMMIT_MARK).unlink()
        self._made = None

    def discard(self) -> None:
        """Remove the stage, unless its swap has begun: then complete it (or leave it to
        :func:`recover_folder`) rather than leave the folder half swapped."""
        if self._made is not None and self.stage.is_dir():
            with contextlib.suppress(OSError):
                _finish_swap(self.folder, self.stage, self.names, self._made, self.last)
            return
        shutil.rmtree(self.stage, ignore_errors=True)


def _finish_swap(
    folder: Path, stage: Path, names: Sequence[str], made: Sequence[str], last: str
) -> None:
    """Remove the old complete-set marker, move the new files in (the marker last) and
    remove the old files of names this run did not make. Safe to run again."""
    if (stage / last).is_file():
        with contextlib.suppress(FileNotFoundError):
            (folder / last).unlink()
    for name in [n for n in names if n != last] + [last]:
        if name in made:
            if (stage / name).is_file():  # else moved in already
                os.replace(stage / name, folder / name)
        else:
            with contextlib.suppress(FileNotFoundError):
                (folder / name).unlink()
    shutil.rmtree(stage, ignore_errors=True)


def _alive(pid_file: Path) -> bool:
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_folder(folder: Path) -> None:
    """Clean what killed runs left in ``folder``.

    A staging folder whose swap had begun is completed; any other one (its run died
    before the swap) is removed, as are stray temporary files of :func:`atomic_path`.
    Staging folders of runs still alive are left alone.
    """
    for entry in Path(folder).iterdir():
        if entry.is_dir() and entry.name.startswith(STAGE_PREFIX):
            if _alive(entry / _OWNER):
                continue
            intent = _read_intent(entry / _COMMIT_MARK)
            if intent is not None:
                _finish_swap(folder, entry, intent["names"], intent["made"], intent["last"])
            else:
                shutil.rmtree(entry, ignore_errors=True)
        elif entry.is_file() and _STRAY.match(entry.name):
            with contextlib.suppress(OSError):
                entry.unlink()


def _read_intent(marker: Path) -> dict[str, Any] | None:
    try:
        intent = json.loads(marker.read_text())
        return intent if {"names", "made", "last"} <= set(intent) else None
    except (OSError, ValueError, TypeError):
        return None  # no marker (or a torn one: the swap had not begun)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
