"""The report's figures as inline SVG (matplotlib ``Figure`` objects, no pyplot state).

:func:`curves_svg` draws the angle against time before and after treatment, with the
neutral, the repetitions and their peaks; :func:`bar_svg` draws before and after ROM
with their uncertainty, the MDC95 band around before, and the published normal ranges.
"""

from __future__ import annotations

import csv
import io
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from rom_measure.visit.visit_model import LABELS, VERDICTS, Clip, Entry, clip_rom, deg, is_finite

__all__ = ["CLIP_COLOURS", "bar_svg", "curves_svg", "read_angles"]

log = logging.getLogger(__name__)

CLIP_COLOURS = {"pre": "#8a9bb0", "post": "#1f4e79"}


def _svg(figure: Any) -> str:
    """The figure as an inline ``<svg>`` element (text as text, no metadata)."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None,
                   "Format": None, "Type": None})  # fmt: skip
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _style_axes(axes: Any) -> None:
    for spine in ("top", "right"):
        axes.spines[spine].set_visible(False)
    for spine in ("left", "bottom"):
        axes.spines[spine].set_color("#9aa5b1")
    axes.tick_params(colors="#3d4852", labelsize=8.5)
    axes.grid(alpha=0.25, lw=0.6)


def read_angles(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``angles.csv`` as (time_s, raw_deg, filtered_deg); None when missing or unreadable."""
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        columns = [
            np.array([float(r[k]) if r[k] else np.nan for r in rows])
            for k in ("time_s", "raw_deg", "filtered_deg")
        ]
    except (OSError, KeyError, ValueError) as error:
        log.warning("cannot read %s: %s", path, error)
        return None
    return (columns[0], columns[1], columns[2]) if rows else None


def _curve_panel(axes: Any, label: str, clip: Clip | None) -> None:
    title = f"{LABELS[label]} treatment"
    data = read_angles(clip.folder / "angles.csv") if clip and clip.result else None
    if data is None or clip is None or clip.result is None:
        axes.set_title(title, fontsize=10, loc="left", color="#3d4852")
        axes.text(0.5, 0.5, "no angle curve (clip missing)" if clip is None else
                  "no angle curve", ha="center", va="center", transform=axes.transAxes,
                  color="#8c8c8c", fontsize=9)  # fmt: skip
        axes.set_xticks([])
        return
    t, raw, filtered = data
    result = clip.result
    colour = CLIP_COLOURS[label]
    for i, rep in enumerate(result.get("repetitions", [])):
        if is_finite(rep.get("start_s")) and is_finite(rep.get("end_s")):
            axes.axvspan(rep["start_s"], rep["end_s"], color=colour, alpha=0.07 + 0.05 * (i % 2),
                         lw=0)  # fmt: skip
    neutral = result.get("neutral", {})
    if is_finite(neutral.get("angle_deg")):
        axes.axvspan(neutral["start_s"], neutral["end_s"], ymax=0.06, color="#2e8b57", alpha=0.5,
                     lw=0)  # fmt: skip
        axes.axhline(neutral["angle_deg"], color="#2e8b57", lw=1.1, ls="--")
        axes.annotate(f"neutral {deg(neutral['angle_deg'])}", (t[-1], neutral["angle_deg"]),
                      textcoords="offset points", xytext=(0, 4), ha="right", fontsize=8,
                      color="#2e8b57")  # fmt: skip
    axes.plot(t, raw, ".", ms=2.2, color="#b8c0c8", zorder=2)
    axes.plot(t, filtered, "-", lw=1.8, color=colour, zorder=3)
    for i, rep in enumerate(result.get("repetitions", []), start=1):
        if is_finite(rep.get("peak_deg")):
            axes.plot([rep["peak_s"]], [rep["peak_deg"]], "v", color="#c0392b", ms=6, zorder=4)
            axes.annotate(f"rep {i}: {deg(rep['rom_deg'])}", (rep["peak_s"], rep["peak_deg"]),
                          textcoords="offset points", xytext=(0, 7), ha="center", fontsize=8,
                          color="#1a202c")  # fmt: skip
    rom = "no ROM (rejected)" if not clip.ok else f"ROM {deg(clip_rom(result))}"
    axes.set_title(f"{title} — {rom}", fontsize=10, loc="left", color="#1a202c")
    axes.set_xlabel("time (s)", fontsize=8.5, color="#3d4852")


def curves_svg(entry: Entry) -> str:
    """Angle against time, before and after side by side (same angle scale)."""
    figure = _figure(9.6, 2.9)
    axes = figure.subplots(1, 2, sharey=True)
    for ax, label in zip(axes, LABELS, strict=True):
        _style_axes(ax)
        _curve_panel(ax, label, entry.clips.get(label))
    axes[0].set_ylabel(f"{entry.movement.title.lower()} (°)", fontsize=8.5, color="#3d4852")
    top = axes[0].get_ylim()
    axes[0].set_ylim(top[0], top[1] + 0.12 * (top[1] - top[0]))  # room for the peak labels
    return _svg(figure)


def _bar_rows(entry: Entry) -> list[tuple[str, str, float, float]]:
    """(kind, label, value or low, uncertainty or high) rows, top to bottom."""
    rows: list[tuple[str, str, float, float]] = []
    for label in LABELS:
        clip = entry.clips.get(label)
        result = clip.result if clip else None
        value = clip_rom(result) if clip and clip.ok else math.nan
        unc = (result or {}).get("uncertainty_deg") or math.nan
        rows.append(("clip", label, value, unc))
    rows += [("norm", f"Normal: {n.label}", n.low_deg, n.high_deg) for n in entry.movement.normal]
    return rows


def bar_svg(entry: Entry) -> str:
    """Before and after ROM (± uncertainty), the MDC95 band around before, normal ranges."""
    rows = _bar_rows(entry)
    figure = _figure(9.6, 0.42 * len(rows) + 0.95)
    axes = figure.add_subplot()
    _style_axes(axes)
    axes.grid(axis="y", visible=False)
    y = np.arange(len(rows))[::-1].astype(float)
    verdict_colour = VERDICTS[entry.verdict][1]
    c = entry.comparison
    pre_value = rows[0][2]
    if c is not None and is_finite(pre_value) and is_finite(c.mdc95_deg):
        axes.fill_betweenx(
            [y[1] - 0.45, y[0] + 0.45],
            pre_value - c.mdc95_deg,
            pre_value + c.mdc95_deg,
            color="#f2c14e",
            alpha=0.28,
            lw=0,
        )
        axes.annotate(f"before ± MDC95 ({deg(c.mdc95_deg)})", (pre_value, y[0] + 0.45),
                      textcoords="offset points", xytext=(0, 2), ha="center", va="bottom",
                      fontsize=8, color="#8a6100")  # fmt: skip
    highs = [0.0]
    for yi, (kind, label, a, b) in zip(y, rows, strict=True):
        if kind == "norm":
            axes.barh(yi, max(b - a, 0.6), left=a if b > a else a - 0.3, height=0.42,
                      color="#cfe3d4", edgecolor="#7fb08d", lw=0.8)  # fmt: skip
            highs.append(b)
        elif is_finite(a):
            colour = CLIP_COLOURS["pre"] if label == "pre" else verdict_colour
            axes.barh(yi, a, height=0.6, color=colour)
            if is_finite(b):
                axes.errorbar(a, yi, xerr=b, color="#1a202c", capsize=3, lw=1)
            text = f"{deg(a)}" + (f" ± {deg(b)}" if is_finite(b) else "")
            axes.annotate(
                text,
                (a + (b if is_finite(b) else 0), yi),
                textcoords="offset points",
                xytext=(6, -3),
                fontsize=9,
                color="#1a202c",
                fontweight="bold",
            )
            highs.append(a + (b if is_finite(b) else 0))
        else:
            clip = entry.clips.get(label)
            text = "not recorded" if clip is None else "no ROM (rejected or unreadable)"
            axes.text(0.5, yi, text, va="center", fontsize=9, color="#8c8c8c")
    axes.set_yticks(y, [f"{LABELS[r[1]]} treatment" if r[0] == "clip" else r[1] for r in rows],
                    fontsize=8.5)  # fmt: skip
    axes.set_xlim(0, 1.18 * max(highs) + 5)
    axes.set_xlabel(f"{entry.movement.title} ROM (°): mean of the repetitions, ± standard "
                    "uncertainty", fontsize=8.5, color="#3d4852")  # fmt: skip
    return _svg(figure)
