"""Side-view neck flexion/extension: pose-point pitch (old) vs the face mesh in profile (new).

Cases: the validation suite's neck-flexion and neck-extension cases
(``suite(per_movement=4)``: in-plane, seated and stress clips, both splits) and an
experiment set (``extra``: 12 training and 6 held-out in-plane clips a movement at
20-50 deg, standing and seated). Both methods are measured with ``approximate`` lifted,
to see the verdict each would get. The new method's gain is fitted on the training
split's in-plane verdict-ok results only (as ``validate.fit_calibration`` does).

    python bench/pitch_cases.py run OUT.json      # measure (caches mesh landmarks once)
    python bench/pitch_cases.py report OUT.json   # fit on training, tables per split
"""

from __future__ import annotations

import itertools
import json
import sys
from dataclasses import asdict, replace
from typing import Any

import numpy as np

from rom_measure.synth.validate import SPLITS, ValidationCase, suite

NAMES = ("neck-flexion", "neck-extension")
FLEX_PEAKS, EXT_PEAKS = (25.0, 35.0, 45.0, 50.0), (20.0, 30.0, 40.0, 45.0)


def extra_cases(split: str) -> list[ValidationCase]:
    """In-plane pitch cases over bodies, cameras, peaks, repetitions and postures."""
    pairs = list(itertools.product(SPLITS[split]["bodies"], SPLITS[split]["cameras"]))
    out = []
    for m_index, (movement, peaks) in enumerate(zip(NAMES, (FLEX_PEAKS, EXT_PEAKS), strict=True)):
        for i in range(12 if split == "training" else 6):
            offset = 3 if split == "held-out" else 0
            body, camera = pairs[(i * 4 + m_index * 7 + offset) % len(pairs)]
            out.append(ValidationCase(split, movement, ("left", "right")[i % 2],
                                      peaks[(i + m_index) % 4], body, camera,
                                      repetitions=3 if i % 3 == 2 else 1,
                                      posture="seated" if i % 4 == 1 else "standing"))  # fmt: skip
    return out


def all_cases() -> list[tuple[str, ValidationCase]]:
    suite_cases = [("suite", c) for c in suite(per_movement=4) if c.movement in NAMES]
    extra = [("extra", c) for s in SPLITS for c in extra_cases(s)]
    return suite_cases + extra


def methods(movement: str) -> dict[str, Any]:
    """The old and new method of ``movement`` (gain 1 for the new), ``approximate`` lifted."""
    from rom_measure.measure.head_angles import mesh_pitch_angle as pitch
    from rom_measure.measure.movements import MIN_PROFILE_MESH_SHARE, get_movement

    shipped = get_movement(movement)
    old = shipped.without_mesh or shipped
    new = replace(shipped, calibration_gain=1.0, approximate=None, face_mesh=True,
                  without_mesh=old, min_mesh_share=MIN_PROFILE_MESH_SHARE)  # fmt: skip
    if movement == "neck-extension":
        new = replace(new, angle=lambda series, side: -pitch(series, side))
    return {"old": replace(old, approximate=None), "new": new}


def measure(move: Any, series: Any, video: Any, side: str) -> dict[str, Any]:
    from rom_measure.measure.analysis import analyze_landmarks
    from rom_measure.media.pipeline import with_second_opinion

    result = with_second_opinion(analyze_landmarks(series, move, side), video)
    rom = result.rom_deg
    return {"rom": float(rom) if np.isfinite(rom) else None,
            "gain": result.movement.calibration_gain, "verdict": result.quality.verdict,
            "flags": [f.code for f in result.quality.findings if f.severity != "info"],
            "fallback": any(f.code == "no_face_mesh" for f in result.quality.findings)}  # fmt: skip


def run(out: str) -> None:
    from rom_measure.synth.cache import cached_clip
    from rom_measure.synth.validate import cached_landmarks

    rows = []
    for source, case in all_cases():
        video, truth = cached_clip(case.spec())
        series = cached_landmarks(video, face_mesh=True)
        row = {"source": source, **asdict(case), "truth": truth["rom_deg"]}
        for name, move in methods(case.movement).items():
            row[name] = measure(move, series, video, case.side)
        rows.append(row)
        print(json.dumps(row), flush=True)
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(rows, handle, indent=1)


def _instructed(row: dict) -> bool:
    return not row["off_plane_deg"] and not row["bystander"]


_KEY = ("split", "movement", "side", "peak_deg", "body", "camera", "off_plane_deg",
        "repetitions", "bystander", "posture")  # fmt: skip


def _unique(rows: list[dict]) -> list[dict]:
    """Rows of distinct cases (the experiment set repeats a few suite cases)."""
    seen: dict[tuple, dict] = {}
    for row in rows:
        key = tuple(row[k] for k in _KEY)
        seen.setdefault(key, row)
    return list(seen.values())


def fit_gain(rows: list[dict], movement: str) -> float:
    """Gain through the origin on the training split's in-plane ``ok`` new-method results."""
    mine = [r for r in rows if r["split"] == "training" and r["movement"] == movement
            and _instructed(r) and r["new"]["verdict"] == "ok"
            and not r["new"]["fallback"]]  # fmt: skip
    raw = np.array([r["new"]["rom"] / r["new"]["gain"] for r in mine])
    true = np.array([r["truth"] for r in mine])
    return float(true @ raw / (raw @ raw)) if raw.size else 1.0


def _value(row: dict, method: str, gain: float) -> float | None:
    result = row[method]
    if result["rom"] is None or method == "old" or result["fallback"]:
        return result["rom"]
    return result["rom"] / result["gain"] * gain


def table_row(rows: list[dict], method: str, gain: float) -> str:
    """median / p90 |error|, ok count, ok max |error|, ok > 5 deg, stress ok > 5 deg."""
    inst = [r for r in rows if _instructed(r) and _value(r, method, gain) is not None]
    errors = np.abs([_value(r, method, gain) - r["truth"] for r in inst])
    ok = np.abs([_value(r, method, gain) - r["truth"] for r in inst
                 if r[method]["verdict"] == "ok"])  # fmt: skip
    stress = [r for r in rows if not _instructed(r)]
    bad = sum(r[method]["verdict"] == "ok" and abs(_value(r, method, gain) - r["truth"]) > 5
              for r in stress)  # fmt: skip
    worst = f"{ok.max():.1f}" if ok.size else "—"
    return (f"{sum(_instructed(r) for r in rows)} | {errors.size} | {np.median(errors):.1f} | "
            f"{np.percentile(errors, 90):.1f} | {ok.size} | {worst} | {int((ok > 5).sum())} | "
            f"{bad}/{len(stress)}")  # fmt: skip


def report(path: str) -> None:
    with open(path, encoding="utf-8") as handle:
        everything = json.load(handle)
    print(
        "| movement | cases from | split | method | gain | in-plane | reported | median | p90 "
        "| ok | ok max | ok > 5 | stress ok > 5 |\n" + "|---" * 13 + "|"
    )
    for source in ("suite", "all"):
        rows = _unique([r for r in everything if source == "all" or r["source"] == source])
        for movement in NAMES:
            mine = [r for r in rows if r["movement"] == movement]
            gains = {"old": get_gain(movement), "new": fit_gain(mine, movement)}
            for split in SPLITS:
                for method in ("old", "new"):
                    part = [r for r in mine if r["split"] == split]
                    print(f"| {movement} | {source} | {split} | {method} | {gains[method]:.3f} | "
                          f"{table_row(part, method, gains[method])} |")  # fmt: skip


def get_gain(movement: str) -> float:
    return methods(movement)["old"].calibration_gain


if __name__ == "__main__":
    {"run": run, "report": report}[sys.argv[1]](sys.argv[2])
