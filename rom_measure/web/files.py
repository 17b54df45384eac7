"""The data folder: generated names only, atomic moves, uploads checked to be video.

Layout (every name generated; a user-supplied name never becomes a path)::

    DATA/patients/<patient uid>/<visit uid>/clips/<clip uid>.<ext>    uploaded videos
    DATA/patients/<patient uid>/<visit uid>/runs/<clip uid>/          one analysis each
    DATA/patients/<patient uid>/<visit uid>/{pre,post}/<movement>_<side>/  the current ones
    DATA/patients/<patient uid>/<visit uid>/comparison.json, report.html
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from pathlib import Path

from rom_measure.errors import InputError

__all__ = [
    "VIDEO_SUFFIXES",
    "UploadTooLarge",
    "check_video",
    "new_uid",
    "promote_run",
    "safe_suffix",
    "visit_dir",
]

VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".webm", ".mkv", ".avi")
CHUNK = 1 << 20


class UploadTooLarge(InputError):
    """The upload exceeds the configured limit."""


def new_uid() -> str:
    return uuid.uuid4().hex


def safe_suffix(filename: str | None) -> str:
    """The file's video suffix if it is a known one, else ``.video`` (never a path part)."""
    suffix = Path(os.path.basename((filename or "").replace("\\", "/"))).suffix.lower()
    return suffix if suffix in VIDEO_SUFFIXES else ".video"


def patient_dir(data_dir: Path, patient_uid: str) -> Path:
    return Path(data_dir) / "patients" / patient_uid


def visit_dir(data_dir: Path, patient_uid: str, visit_uid: str) -> Path:
    return patient_dir(data_dir, patient_uid) / visit_uid


async def save_upload(upload: object, target: Path, limit: int) -> int:
    """Stream an upload to ``target`` (atomically), refusing more than ``limit`` bytes."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".upload-", suffix=target.suffix, dir=target.parent)
    size = 0
    try:
        with os.fdopen(fd, "wb") as handle:
            while chunk := await upload.read(CHUNK):  # type: ignore[attr-defined]
                size += len(chunk)
                if size > limit:
                    message = f"the file is larger than the limit of {limit / 1e6:.0f} MB"
                    raise UploadTooLarge(message)
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        if size == 0:
            raise InputError("the file is empty")
        check_video(Path(tmp_name))
        os.replace(tmp_name, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
    return size


def check_video(path: Path) -> None:
    """Decode one frame with OpenCV; a one-line :class:`InputError` if it is not video."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    try:
        ok, frame = capture.read() if capture.isOpened() else (False, None)
    finally:
        capture.release()
    if not ok or frame is None or frame.size == 0:
        raise InputError("the file is not a readable video (no frame could be decoded)")


def promote_run(run_dir: Path, current_dir: Path) -> None:
    """Make a finished analysis the current one for its label/movement/side."""
    current_dir.parent.mkdir(parents=True, exist_ok=True)
    staged = current_dir.with_name(f".{current_dir.name}.{new_uid()}")
    shutil.copytree(run_dir, staged)
    old = current_dir.with_name(f".{current_dir.name}.old-{new_uid()}")
    with contextlib.suppress(FileNotFoundError):
        os.rename(current_dir, old)
    os.rename(staged, current_dir)
    shutil.rmtree(old, ignore_errors=True)


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
