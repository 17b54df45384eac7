"""Rendered synthetic clips, cached by their specification (for demo, validate and tests)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

from rom_measure.media.assets import cache_dir

__all__ = ["cached_clip"]

#: Spec fields added after RENDER_VERSION 1, left out of the key at their defaults.
_NEW_DEFAULTS = {
    "body": "base",
    "pitch_offset_deg": 0.0,
    "light": 1.0,
    "noise": 0.0,
    "rep_peaks_deg": None,
    "bystander": False,
    "posture": "standing",
}


def cached_clip(spec, folder: Path | None = None) -> tuple[Path, dict]:
    """Render ``spec`` (a :class:`rom_measure.synth.ClipSpec`) once; return (mp4, truth dict).

    Clips live under ``<cache>/synthetic/`` named by a digest of the specification, so
    the same spec is rendered only once, and concurrent renders of one spec are safe
    (the writer renames complete files into place).
    """
    from filelock import FileLock

    from rom_measure.synth import RENDER_VERSION, load_truth, render_clip, truth_path_for

    fields = asdict(spec)
    for name, default in _NEW_DEFAULTS.items():  # older specs keep their cache names
        if fields.get(name) == default:
            fields.pop(name)
    key = json.dumps({"render_version": RENDER_VERSION, **fields}, sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    folder = Path(folder or cache_dir() / "synthetic")
    folder.mkdir(parents=True, exist_ok=True)
    body = "" if spec.body == "base" else f"{spec.body}_"
    video = folder / f"{spec.movement}_{spec.side}_{body}{digest}.mp4"
    with FileLock(str(video) + ".lock", timeout=900):
        truth_file = truth_path_for(video)
        if not (video.is_file() and truth_file.is_file()):
            render_clip(spec, video)
    truth = load_truth(truth_file)
    return video, {"rom_deg": truth.rom_deg, "peak_deg": truth.peak_deg,
                   "repetitions": truth.repetitions, "camera": truth.camera}  # fmt: skip
