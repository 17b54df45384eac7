"""A clip's work order, its outcome, and the ``done.json`` record that makes a batch resumable.

After a clip's results are complete, ``done.json`` (schema ``rom_measure.batch_state``)
is written atomically beside them. It records the input's SHA-256, the settings
(movement, side, analysis settings, annotation, the pose model's SHA-256, the tool
version) and the SHA-256 of ``results.json``. A clip is skipped when its ``done.json``
matches all of these and its outputs are there; anything else (no record, other
settings, a half-written folder) is analysed again from a cleared folder.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rom_measure._fileio import atomic_write_json
from rom_measure._version import __version__
from rom_measure.batch.inputs import BatchInputs, ClipJob
from rom_measure.media.assets import sha256_of

__all__ = [
    "OUTPUT_FILES",
    "STATE_FILE",
    "STATUSES",
    "BatchReport",
    "ClipOutcome",
    "ClipTask",
    "clear_clip_dir",
    "outcome_from_state",
    "read_state",
    "write_state",
]

STATE_FILE = "done.json"
STATE_SCHEMA = "rom_measure.batch_state"
STATE_SCHEMA_VERSION = "1.0"
STATUSES = ("done", "skipped", "failed", "rejected")
OUTPUT_FILES = ("results.json", "angles.csv", "landmarks.npz", "angles.png", "annotated.mp4")


@dataclass(frozen=True)
class ClipTask:
    """One clip's work order (picklable: sent to pool or Dask workers)."""

    index: int
    job: ClipJob
    out_dir: Path
    model: str | None
    model_sha256: str
    settings: dict[str, Any]
    annotate: bool
    threads: int = 1
    progress_topic: str | None = None  # Dask event topic for progress messages
    report_frames: bool = False  # send frame counts while the clip is analysed

    def identity(self, input_sha256: str) -> dict[str, Any]:
        """Everything that determines the clip's results (compared on resume), JSON-normal."""
        return _json_normal(
            {
                "input_sha256": input_sha256,
                "movement": self.job.movement,
                "side": self.job.side,
                "analysis_settings": self.settings,
                "annotate": self.annotate,
                "model_sha256": self.model_sha256,
                "tool_version": __version__,
            }
        )


def _json_normal(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` as it reads back from JSON (tuples become lists), for comparisons."""
    return json.loads(json.dumps(data, sort_keys=True))


@dataclass(frozen=True)
class ClipOutcome:
    """What happened to one clip in this run.

    ``status``: ``done`` (analysed, has a ROM), ``rejected`` (analysed, quality
    rejected: no ROM), ``failed`` (not analysed: unreadable clip or error) or
    ``skipped`` (finished by an earlier run with the same input and settings;
    ``verdict`` tells whether it has a ROM).
    """

    index: int
    job: ClipJob
    status: str
    verdict: str = ""
    rom_deg: float | None = None
    uncertainty_deg: float | None = None
    reasons: tuple[str, ...] = ()
    seconds: float = 0.0
    frames: int | None = None
    worker: str = ""

    @property
    def has_result(self) -> bool:
        return self.status in ("done", "rejected", "skipped")

    @property
    def has_rom(self) -> bool:
        return self.has_result and self.verdict in ("ok", "warning")


@dataclass(frozen=True)
class BatchReport:
    """Outcome of a batch: one outcome per clip (in input order), files written, notes."""

    out: Path
    outcomes: tuple[ClipOutcome, ...]
    inputs: BatchInputs
    comparisons: tuple[dict[str, Any], ...]
    paths: dict[str, Path]
    notes: tuple[str, ...]
    seconds: float
    where: str

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def without_rom(self) -> tuple[ClipOutcome, ...]:
        """Clips failed or rejected (now or in the run whose results were reused)."""
        return tuple(o for o in self.outcomes if not o.has_rom)

    @property
    def exit_code(self) -> int:
        """0: every clip has a ROM; 1: some failed or were rejected."""
        return 1 if self.without_rom else 0


def read_state(out_dir: Path, identity: dict[str, Any]) -> dict[str, Any] | None:
    """The clip's ``done.json`` if it marks complete results for ``identity``, else None."""
    out_dir = Path(out_dir)
    try:
        state = json.loads((out_dir / STATE_FILE).read_text(encoding="utf-8"))
        if state.get("schema") != STATE_SCHEMA or state.get("identity") != identity:
            return None
        if sha256_of(out_dir / "results.json") != state["results_sha256"]:
            return None
        for name, size in state["outputs"].items():
            if (out_dir / name).stat().st_size != size:
                return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return state


def clear_clip_dir(out_dir: Path) -> None:
    """Remove an earlier (other settings, or unfinished) analysis: record first, results next."""
    if not out_dir.is_dir():
        return
    for name in (STATE_FILE, *OUTPUT_FILES):
        with contextlib.suppress(FileNotFoundError):
            (out_dir / name).unlink()
    for partial in out_dir.glob(".*.partial-*"):  # temporaries of a killed writer
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()


def write_state(
    task: ClipTask, paths: dict[str, Path], seconds: float, worker: str = ""
) -> ClipOutcome:
    """Record the clip's finished results in ``done.json`` (written last, atomically)."""
    results = json.loads(paths["results"].read_text(encoding="utf-8"))
    quality = results["quality"]
    state = {
        "schema": STATE_SCHEMA,
        "schema_version": STATE_SCHEMA_VERSION,
        "identity": task.identity(results["source"]["sha256"]),  # the content analysed
        "results_sha256": sha256_of(paths["results"]),
        "outputs": {p.name: p.stat().st_size for p in paths.values()},
        "clip": {**asdict(task.job), "path": str(task.job.path)},
        "verdict": quality["verdict"],
        "rom_deg": results["rom_deg"],
        "uncertainty_deg": results["uncertainty_deg"],
        "reasons": quality["reasons"],
        "frames": results["frames"],
        "seconds": round(seconds, 2),
        "finished_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    atomic_write_json(Path(task.out_dir) / STATE_FILE, state)  # last: marks the clip finished
    status = "rejected" if quality["verdict"] == "rejected" else "done"
    return outcome_from_state(task, state, status, seconds, worker)


def outcome_from_state(
    task: ClipTask, state: dict[str, Any], status: str, seconds: float, worker: str = ""
) -> ClipOutcome:
    """The outcome a ``done.json`` record describes."""
    return ClipOutcome(task.index, task.job, status, state["verdict"], state["rom_deg"],
                       state["uncertainty_deg"], tuple(state["reasons"]), seconds,
                       state.get("frames"), worker)  # fmt: skip
