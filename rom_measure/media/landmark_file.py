"""Landmark series on disk: ``landmarks.npz`` (arrays plus a JSON header and metadata).

The face mesh (``face`` and ``face_score``, neck movements only) are optional arrays:
files without them load with None, so files written before it existed still read.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from rom_measure._fileio import atomic_path
from rom_measure.errors import InputError
from rom_measure.measure.landmarks import ARRAYS, FORMAT_VERSION, OPTIONAL_ARRAYS, LandmarkSeries

__all__ = ["load_landmarks", "save_landmarks"]


def save_landmarks(series: LandmarkSeries, path: Path) -> None:
    """Write ``.npz`` arrays with the metadata as a JSON string, atomically."""
    header = {"format_version": FORMAT_VERSION, "image_size": list(series.image_size)}
    optional = {name: getattr(series, name).astype(np.float32)
                for name in OPTIONAL_ARRAYS if getattr(series, name) is not None}  # fmt: skip
    with atomic_path(Path(path), suffix=".npz") as tmp:
        np.savez_compressed(
            tmp,
            **{name: getattr(series, name) for name in ARRAYS},
            **optional,
            header=np.array(json.dumps(header)),
            meta=np.array(json.dumps(series.meta, default=str)),
        )


def load_landmarks(path: Path) -> LandmarkSeries:
    """Read a series written by :func:`save_landmarks`."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"landmark file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(str(data["header"]))
            arrays = {name: data[name] for name in ARRAYS}
            optional = {name: data[name] if name in data.files else None
                        for name in OPTIONAL_ARRAYS}  # fmt: skip
            meta = json.loads(str(data["meta"]))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        raise InputError(f"{path} is not a rom_measure landmark file ({error})") from error
    if header.get("format_version") != FORMAT_VERSION:
        raise InputError(
            f"{path} has landmark format {header.get('format_version')}, "
            f"this version reads {FORMAT_VERSION}"
        )
    return LandmarkSeries(image_size=tuple(header["image_size"]), meta=meta, **optional, **arrays)
