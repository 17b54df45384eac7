"""Pre/post comparison judged against the minimal detectable change (MDC95).

A change counts only when it exceeds the larger of the literature MDC95 for the
movement (with its citation) and the tool's own MDC95, estimated from the spread of
the repetitions in the two clips (or, with single repetitions, from each result's
uncertainty). Clips filmed too differently to compare get no verdict.

A verdict resting on a doubtful number says so: when either result has the quality
verdict ``warning`` (or the model lost the limb in some frames), the comparison keeps
its verdict but is marked ``doubtful`` with the reasons, and its ``verdict_text``
reads e.g. "improved (doubtful: post result has warnings)". Only a pair of sound
(``ok``) results gets a firm "improved", "decreased" or "no detectable change".
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from rom_measure._fileio import atomic_write_json, atomic_write_text
from rom_measure._version import __version__
from rom_measure.errors import InputError
from rom_measure.measure.movements import get_movement

__all__ = [
    "COMPARISON_SCHEMA_VERSION",
    "Comparison",
    "compare_results",
    "comparison_to_dict",
    "doubts",
    "load_result",
    "update_visit_comparisons",
    "verdict_text",
    "visit_clip_dir",
    "visit_pairs",
    "write_comparisons",
]

COMPARISON_SCHEMA_VERSION = "1.0"
MDC_FACTOR = 1.96 * math.sqrt(2.0)  # MDC95 = 1.96 x sqrt(2) x SEM
MAX_VIEW_CHANGE_DEG = 15.0
MAX_DISTANCE_RATIO = 1.5
MAX_FPS_RATIO = 2.0

Verdict = Literal[
    "improved", "no detectable change", "decreased", "not comparable", "not available"
]


@dataclass(frozen=True)
class Comparison:
    """Change in ROM between a pre and a post clip of one movement and side."""

    movement: str
    side: str
    pre_rom_deg: float  # mean over repetitions (best if only one)
    post_rom_deg: float
    pre_best_deg: float
    post_best_deg: float
    pre_sd_deg: float
    post_sd_deg: float
    pre_repetitions: int
    post_repetitions: int
    change_deg: float
    change_pct: float
    ci95_deg: tuple[float, float]
    mdc95_deg: float
    mdc_basis: str  # "literature" or "tool"
    literature_mdc95_deg: float
    literature_source: str
    tool_mdc95_deg: float
    verdict: Verdict
    reasons: tuple[str, ...]
    pre_quality: str
    post_quality: str
    doubtful: bool = False  # a verdict resting on a result with warnings
    doubt_reasons: tuple[str, ...] = ()
    verdict_text: str = ""  # the verdict as shown: "improved (doubtful: ...)"


def load_result(path: str | Path) -> dict[str, Any]:
    """Read a ``results.json`` written by ``analyze`` (clear error if it is not one)."""
    import json

    path = Path(path)
    if path.is_dir():
        path = path / "results.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"results file not found: {path}") from None
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read {path}: {error}") from error
    if not isinstance(data, dict) or data.get("schema") != "rom_measure.result":
        raise InputError(f"{path} is not a rom_measure results.json")
    missing = [k for k in ("movement", "side", "quality", "repetitions") if k not in data]
    if missing:
        raise InputError(f"{path} lacks {', '.join(missing)}: not a complete results.json")
    problem = _damage(data)
    if problem:
        raise InputError(f"{path} is damaged or edited: {problem}")
    return data


#: Largest |angle| a results file may hold (deg): beyond it the file was not written so.
_MOST_DEG = 360.0


def _number_ok(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool)
                             and math.isfinite(value))  # fmt: skip


def _angle_ok(value: Any) -> bool:
    return _number_ok(value) and (value is None or abs(value) <= _MOST_DEG)


def _damage(data: dict[str, Any]) -> str | None:
    """What in a results dict could not have been written by ``analyze`` (None: nothing)."""
    from rom_measure.measure.analysis import SCHEMA_VERSION

    version = str(data.get("schema_version", ""))
    if version.split(".")[0] != SCHEMA_VERSION.split(".")[0]:
        return f"results schema version {version or 'missing'}; this tool reads {SCHEMA_VERSION}"
    quality = data["quality"]
    if not isinstance(quality, dict) or quality.get("verdict") not in ("ok", "warning",
                                                                      "rejected"):  # fmt: skip
        return "quality has no verdict (ok, warning or rejected)"
    reasons = quality.get("reasons", [])
    if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
        return "quality reasons are not a list of texts"
    reps = data["repetitions"]
    if not isinstance(reps, list) or not all(isinstance(r, dict) and "rom_deg" in r for r in reps):
        return "repetitions are not a list of repetitions with rom_deg"
    if not all(_angle_ok(r["rom_deg"]) for r in reps):
        return f"a repetition's rom_deg is not an angle of at most {_MOST_DEG:.0f} deg"
    for key in ("rom_deg", "neutral_deg", "peak_deg", "uncertainty_deg"):
        if not _angle_ok(data.get(key)):
            return f"{key} is not an angle of at most {_MOST_DEG:.0f} deg"
    for key, kind in (("view", dict), ("processing", list), ("uncertainty_components_deg", dict)):
        if key in data and not isinstance(data[key], kind):
            return f"{key} is not a {'table' if kind is dict else 'list'}"
    if not all(isinstance(p, dict) and isinstance(p.get("params", {}), dict)
               for p in data.get("processing", [])):  # fmt: skip
        return "processing holds an entry that is not a table with params"
    return _damaged_numbers(data)


def _damaged_numbers(data: dict[str, Any]) -> str | None:
    """The view, frame rate and uncertainty parts compare reads, checked for their kind."""
    view = data.get("view", {})
    for key in ("off_plane_deg", "subject_height_frac"):
        if not _number_ok(view.get(key)):
            return f"view {key} is not a number"
    for key in ("facing", "near_side"):
        if not (view.get(key) is None or isinstance(view[key], str)):
            return f"view {key} is not a text"
    if not _number_ok(data.get("fps")):
        return "fps is not a number"
    parts = data.get("uncertainty_components_deg", {})
    if not all(_angle_ok(v) for v in parts.values()):
        return "an uncertainty component is not an angle"
    return None


def _reps(result: dict[str, Any]) -> np.ndarray:
    return np.array(
        [r["rom_deg"] for r in result.get("repetitions", []) if r["rom_deg"] is not None],
        dtype=np.float64,
    )


def _gain(result: dict[str, Any]) -> float | None:
    step = next((p for p in result.get("processing", []) if p.get("step") == "calibration"), None)
    return step["params"].get("gain") if step else None


def _not_comparable(pre: dict[str, Any], post: dict[str, Any]) -> list[str]:
    reasons = []
    if _gain(pre) != _gain(post):
        reasons.append(f"the clips were analysed with different calibration gains "
                       f"({_gain(pre)} vs {_gain(post)})")  # fmt: skip
    view_pre, view_post = pre.get("view", {}), post.get("view", {})
    off_pre, off_post = view_pre.get("off_plane_deg"), view_post.get("off_plane_deg")
    if (
        off_pre is not None
        and off_post is not None
        and abs(off_pre - off_post) > MAX_VIEW_CHANGE_DEG
    ):
        reasons.append(
            f"the camera angle differs by {abs(off_pre - off_post):.0f} deg between the clips"
        )
    if view_pre.get("near_side") != view_post.get("near_side"):
        reasons.append(
            f"a different side faced the camera ({view_pre.get('near_side')} before, "
            f"{view_post.get('near_side')} after)"
        )
    if view_pre.get("facing") in ("front", "back") and view_pre.get("facing") != view_post.get(
        "facing"
    ):
        reasons.append("one clip is filmed from the front and the other from the back")
    size_pre, size_post = view_pre.get("subject_height_frac"), view_post.get("subject_height_frac")
    if (
        size_pre
        and size_post
        and max(size_pre, size_post) / min(size_pre, size_post) > MAX_DISTANCE_RATIO
    ):
        reasons.append(
            f"the camera distance differs (the person looks {size_post / size_pre:.1f}x "
            "as tall after)"
        )
    fps_pre, fps_post = pre.get("fps"), post.get("fps")
    if fps_pre and fps_post and max(fps_pre, fps_post) / min(fps_pre, fps_post) > MAX_FPS_RATIO:
        reasons.append(f"the frame rates differ ({fps_pre:.0f} vs {fps_post:.0f} fps)")
    return reasons


FIRM_VERDICTS = ("improved", "no detectable change", "decreased")


def _lost_frames(result: dict[str, Any]) -> int:
    step = next((p for p in result.get("processing", []) if p.get("step") == "lost_limb"), None)
    return int(step.get("frames_affected") or 0) if step else 0


def doubts(pre: dict[str, Any], post: dict[str, Any]) -> list[str]:
    """Why a verdict on this pair is doubtful (empty when both results are sound)."""
    found = []
    for name, r in (("pre", pre), ("post", post)):
        if r["quality"]["verdict"] == "warning":
            found.append(f"{name} result has warnings")
        elif _lost_frames(r):
            found.append(f"the model lost the limb in {_lost_frames(r)} frames of the {name} clip")
    return found


def verdict_text(verdict: str, doubt: list[str] | tuple[str, ...]) -> str:
    """The verdict as shown to a reader: marked doubtful with its reasons."""
    return f"{verdict} (doubtful: {'; '.join(doubt)})" if doubt else verdict


def _random_uncertainty(result: dict[str, Any]) -> float:
    """A result's random (repeatability) uncertainty: its noise and neutral components.

    The method's systematic error is left out: it is the same before and after when
    the clips are filmed alike, which the comparability checks make sure of.
    """
    parts = result.get("uncertainty_components_deg") or {}
    return math.hypot(parts.get("peak_noise_deg") or 0.0, parts.get("neutral_deg") or 0.0)


def _tool_mdc(pre_reps: np.ndarray, post_reps: np.ndarray, pre: dict, post: dict) -> float:
    """Tool MDC95 = 1.96 x sqrt(2) x SEM.

    SEM is the larger of the pooled within-clip SD of the repetitions and the RMS of
    the two results' random uncertainties (so one repetition per clip still works).
    """
    groups = [r for r in (pre_reps, post_reps) if r.size >= 2]
    pooled = 0.0
    if groups:
        dof = sum(r.size - 1 for r in groups)
        pooled = math.sqrt(sum(((r - r.mean()) ** 2).sum() for r in groups) / dof)
    rms = math.sqrt(0.5 * (_random_uncertainty(pre) ** 2 + _random_uncertainty(post) ** 2))
    return MDC_FACTOR * max(pooled, rms)


def _ci95(
    pre_reps: np.ndarray, post_reps: np.ndarray, pre: dict, post: dict
) -> tuple[float, float]:
    change = post_reps.mean() - pre_reps.mean()
    if pre_reps.size >= 2 and post_reps.size >= 2:
        from scipy import stats

        var_pre, var_post = (
            pre_reps.var(ddof=1) / pre_reps.size,
            post_reps.var(ddof=1) / post_reps.size,
        )
        se = math.sqrt(var_pre + var_post)
        dof = (
            (var_pre + var_post) ** 2
            / (var_pre**2 / (pre_reps.size - 1) + var_post**2 / (post_reps.size - 1))
            if se > 0
            else 1.0
        )
        half = float(stats.t.ppf(0.975, dof)) * se if se > 0 else 0.0
    else:
        half = 1.96 * math.hypot(_random_uncertainty(pre), _random_uncertainty(post))
    return (float(change - half), float(change + half))


def compare_results(pre: dict[str, Any], post: dict[str, Any]) -> Comparison:
    """Compare two ``results.json`` dicts (or ``Result.to_dict()``) of the same movement."""
    if (pre["movement"], pre["side"]) != (post["movement"], post["side"]):
        raise InputError(
            f"cannot compare {pre['movement']} ({pre['side']}) with "
            f"{post['movement']} ({post['side']})"
        )
    movement = get_movement(pre["movement"])
    literature = max(movement.mdc, key=lambda m: m.mdc95_deg)
    pre_reps, post_reps = _reps(pre), _reps(post)
    reasons: list[str] = []
    verdict: Verdict
    nan = math.nan
    if pre["quality"]["verdict"] == "rejected" or post["quality"]["verdict"] == "rejected":
        which = " and ".join(
            n for n, r in (("pre", pre), ("post", post)) if r["quality"]["verdict"] == "rejected"
        )
        reasons.append(f"the {which} clip has no ROM (quality rejected)")
        verdict = "not available"
    else:
        reasons = _not_comparable(pre, post)
        verdict = "not comparable" if reasons else "no detectable change"
    have_numbers = pre_reps.size > 0 and post_reps.size > 0 and verdict != "not available"
    change = float(post_reps.mean() - pre_reps.mean()) if have_numbers else nan
    tool_mdc = _tool_mdc(pre_reps, post_reps, pre, post) if have_numbers else nan
    mdc = max(literature.mdc95_deg, tool_mdc) if have_numbers else literature.mdc95_deg
    if verdict == "no detectable change" and abs(change) > mdc:
        verdict = "improved" if change > 0 else "decreased"
    for name, r in (("pre", pre), ("post", post)):
        if r["quality"]["verdict"] == "warning":
            reasons.append(f"{name} clip: " + "; ".join(r["quality"]["reasons"]))
    doubt = doubts(pre, post) if verdict in FIRM_VERDICTS else []
    pre_mean = float(pre_reps.mean()) if pre_reps.size else nan
    return Comparison(
        movement=movement.name,
        side=pre["side"],
        pre_rom_deg=pre_mean,
        post_rom_deg=float(post_reps.mean()) if post_reps.size else nan,
        pre_best_deg=float(pre_reps.max()) if pre_reps.size else nan,
        post_best_deg=float(post_reps.max()) if post_reps.size else nan,
        pre_sd_deg=float(pre_reps.std(ddof=1)) if pre_reps.size > 1 else nan,
        post_sd_deg=float(post_reps.std(ddof=1)) if post_reps.size > 1 else nan,
        pre_repetitions=int(pre_reps.size),
        post_repetitions=int(post_reps.size),
        change_deg=change,
        change_pct=100.0 * change / pre_mean if have_numbers and pre_mean > 0 else nan,
        ci95_deg=_ci95(pre_reps, post_reps, pre, post) if have_numbers else (nan, nan),
        mdc95_deg=mdc,
        mdc_basis="tool" if have_numbers and tool_mdc > literature.mdc95_deg else "literature",
        literature_mdc95_deg=literature.mdc95_deg,
        literature_source=f"{literature.source} ({literature.instrument}; {literature.note})",
        tool_mdc95_deg=tool_mdc,
        verdict=verdict,
        reasons=tuple(reasons),
        pre_quality=pre["quality"]["verdict"],
        post_quality=post["quality"]["verdict"],
        doubtful=bool(doubt),
        doubt_reasons=tuple(doubt),
        verdict_text=verdict_text(verdict, doubt),
    )


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 2) if math.isfinite(value) else None
    if isinstance(value, tuple):
        return [_clean(v) for v in value]
    return value


def comparison_to_dict(comparison: Comparison) -> dict[str, Any]:
    return {k: _clean(v) for k, v in vars(comparison).items()}


def write_comparisons(
    comparisons: list[Comparison], out_dir: Path, visit: dict[str, Any] | None = None
) -> dict[str, Path]:
    """Write ``comparison.json`` (versioned) and ``comparison.csv`` (one row per movement)."""
    out_dir = Path(out_dir)
    rows = [comparison_to_dict(c) for c in comparisons]
    document = {
        "schema": "rom_measure.comparison",
        "schema_version": COMPARISON_SCHEMA_VERSION,
        "tool": {"name": "rom_measure", "version": __version__},
        "visit": visit or {},
        "doubt_rule": "a verdict is marked doubtful (doubtful: true, doubt_reasons) when "
        "either result has quality warnings or lost-limb frames; only two sound results give "
        "a firm verdict",
        "mdc_rule": "change counts when |change| > max(literature MDC95, tool MDC95); tool "
        "MDC95 = 1.96 x sqrt(2) x max(pooled repetition SD, RMS random uncertainty)",
        "comparisons": rows,
    }
    paths = {"json": out_dir / "comparison.json", "csv": out_dir / "comparison.csv"}
    buffer = io.StringIO()
    columns = [k for k in rows[0] if k != "reasons"] + ["reasons"] if rows else ["movement"]
    joined = ("reasons", "doubt_reasons")
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                **row,
                "ci95_deg": " to ".join(f"{v}" for v in row["ci95_deg"]),
                **{k: " | ".join(row[k]) for k in joined},
            }
        )
    atomic_write_text(paths["csv"], buffer.getvalue())
    atomic_write_json(paths["json"], document)
    return paths


# -- visits: pre/ and post/ analyses of several movements in one folder ------------------


def visit_clip_dir(visit_dir: Path, label: str, movement: str, side: str) -> Path:
    """Where one analysis of a visit lives: ``VISIT/<label>/<movement>_<side>/``."""
    return Path(visit_dir) / label / f"{movement}_{side}"


def visit_pairs(visit_dir: Path) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(pre, post) result dicts of every movement/side analysed both before and after."""
    pairs = []
    for pre_file in sorted((Path(visit_dir) / "pre").glob("*/results.json")):
        post_file = Path(visit_dir) / "post" / pre_file.parent.name / "results.json"
        if post_file.is_file():
            pairs.append((load_result(pre_file), load_result(post_file)))
    return pairs


def update_visit_comparisons(
    visit_dir: Path, visit: dict[str, Any] | None = None
) -> list[Comparison]:
    """Recompute and write ``comparison.json``/``.csv`` for every pair in the visit."""
    comparisons = [compare_results(pre, post) for pre, post in visit_pairs(visit_dir)]
    if comparisons:
        write_comparisons(comparisons, Path(visit_dir), visit)
    return comparisons
