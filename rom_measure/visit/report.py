"""Clinical visit report: one self-contained ``report.html`` for a visit folder.

The report shows the visit header, a summary table of every movement with its verdict,
and per movement the angle curves, a pre-vs-post bar chart against the MDC95 band and
the normal ranges, key frames with the overlay, plain-language quality warnings, links
to the annotated videos, and an appendix with the definitions and the method. Plots
are inline SVG and key frames base64 JPEG, so the file opens offline in any browser.

This module words the verdicts and assembles the page; the visit folder is read by
:mod:`~rom_measure.visit.visit_model`, the plots come from
:mod:`~rom_measure.visit.figures`, the key frames and video links from
:mod:`~rom_measure.visit.keyframes`, and the ``report`` command is in
:mod:`~rom_measure.visit.report_command`.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from pathlib import Path
from typing import Any

import numpy as np

from rom_measure._fileio import OutputRun, atomic_write_text, os_error_reason
from rom_measure._version import __version__
from rom_measure.errors import InputError, OutputError
from rom_measure.measure.movements import Movement, get_movement
from rom_measure.visit.compare import (
    MAX_DISTANCE_RATIO,
    MAX_FPS_RATIO,
    MAX_VIEW_CHANGE_DEG,
    write_comparisons,
)
from rom_measure.visit.figures import CLIP_COLOURS, bar_svg, curves_svg, read_angles
from rom_measure.visit.keyframes import (
    BLURRED_VIDEO,
    KEYFRAME_MAX_SIDE,
    KeyFrame,
    clip_key_frames,
    clip_video_link,
)
from rom_measure.visit.outputs import prepare_output_dir
from rom_measure.visit.visit_model import (
    LABELS,
    VERDICTS,
    VISIT_INFO_FILE,
    VISIT_KEYS,
    Clip,
    Entry,
    clip_rom,
    collect_visit,
    deg,
    is_finite,
    load_visit_info,
    merged_visit_info,
    save_visit_info,
)

__all__ = [  # the names this module had before the split stay importable from here
    "BLURRED_VIDEO",
    "CLIP_COLOURS",
    "KEYFRAME_MAX_SIDE",
    "LABELS",
    "REPORT_FILE",
    "VERDICTS",
    "VISIT_INFO_FILE",
    "Clip",
    "Entry",
    "KeyFrame",
    "bar_svg",
    "clip_key_frames",
    "clip_video_link",
    "collect_visit",
    "curves_svg",
    "deg",
    "load_visit_info",
    "read_angles",
    "render_report",
    "save_visit_info",
    "write_report",
]

log = logging.getLogger(__name__)

REPORT_FILE = "report.html"


# -- wording -----------------------------------------------------------------------------


def _plain(text: str) -> str:
    """Message text for clinicians: degrees as °, capitalised."""
    text = re.sub(r"(\d) deg\b", r"\1°", text)
    return text[:1].upper() + text[1:]


def _plain_comparison(text: str) -> str:
    """A comparison reason with before/after instead of pre/post."""
    text = text.replace("pre and post clip", "before- and after-treatment clips")
    word = r"(?<![\w/\\.-]){}(?![\w/\\-]|\.\w)"  # the word, not a part of a file path
    text = re.sub(word.format("pre"), "before-treatment", text)
    return _plain(re.sub(word.format("post"), "after-treatment", text))


def _side_label(movement: Movement, side: str) -> str:
    return "—" if movement.side_meaning.startswith("ignored") else side


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _is_quality_reason(reason: str) -> bool:
    """Comparison reasons that repeat a clip's quality warnings (listed per clip instead)."""
    return reason.startswith(("pre clip:", "post clip:"))


def _verdict_sentence(entry: Entry) -> str:
    c = entry.comparison
    if c is None or entry.verdict in ("not available", "not comparable"):
        lead = {"not available": "No comparison", "not comparable": "No verdict"}[entry.verdict]
        why = [_plain_comparison(r) for r in entry.reasons if not _is_quality_reason(r)]
        return f"{lead}: " + "; ".join(_lower_first(w) for w in why) + "."
    change = f"{deg(c.change_deg, signed=True)} (95% CI {deg(c.ci95_deg[0], True)} to " \
             f"{deg(c.ci95_deg[1], True)})"  # fmt: skip
    mdc = f"the smallest change this measurement can detect (MDC95 {deg(c.mdc95_deg)})"
    if entry.verdict == "improved":
        return f"The range increased by {change}, more than {mdc}."
    if entry.verdict == "decreased":
        return f"The range decreased by {change}, more than {mdc}."
    return f"The change of {change} is within {mdc}: no change can be claimed."


def _warnings(entry: Entry) -> list[str]:
    out = []
    for label, clip in entry.clips.items():
        name = f"{LABELS[label]} treatment"
        if clip.result is None:
            out.append(f"{name}: the analysis cannot be read ({clip.error}).")
            continue
        quality = clip.result["quality"]
        prefix = f"{name} (clip rejected, no ROM)" if quality["verdict"] == "rejected" else name
        out += [f"{prefix}: {_plain(r).rstrip('.')}." for r in quality.get("reasons", [])]
    if entry.verdict == "not comparable":
        out += [f"Filming differed: {_lower_first(_plain_comparison(r)).rstrip('.')}."
                for r in entry.reasons
                if not _is_quality_reason(r)]  # fmt: skip
    return out


# -- assembling the page -----------------------------------------------------------------


def _clip_cell(clip: Clip | None) -> dict[str, str]:
    """Before/after cell: value, ± uncertainty, repetitions (short and long)."""
    cell = {"text": "—", "unc": "", "detail": "", "long_detail": ""}
    if clip is None or clip.result is None:
        cell["detail"] = cell["long_detail"] = "not recorded" if clip is None else "unreadable"
        return cell
    if not clip.ok:
        cell.update(text="no ROM", detail="rejected", long_detail="quality: rejected")
        return cell
    reps = [r["rom_deg"] for r in clip.result["repetitions"] if is_finite(r.get("rom_deg"))]
    detail = f"{len(reps)} rep" + ("s" if len(reps) != 1 else "")
    if len(reps) > 1:
        detail += f", SD {deg(float(np.std(reps, ddof=1)))}"
    best = f", best {deg(max(reps))}" if len(reps) > 1 else ""
    cell.update(text=deg(clip_rom(clip.result)), unc=deg(clip.result.get("uncertainty_deg")),
                detail=detail, long_detail=detail + best)  # fmt: skip
    return cell


def _numbers(entry: Entry) -> dict[str, str]:
    c = entry.comparison
    if c is None or not is_finite(c.change_deg):
        return {"change": "—", "pct": "", "ci": "", "mdc": deg(c.mdc95_deg) if c else "—",
                "mdc_basis": ""}  # fmt: skip
    return {"change": deg(c.change_deg, signed=True),
            "pct": f"{c.change_pct:+.0f}%" if is_finite(c.change_pct) else "",
            "ci": f"95% CI {deg(c.ci95_deg[0], True)} to {deg(c.ci95_deg[1], True)}",
            "mdc": deg(c.mdc95_deg),
            "mdc_basis": "this tool" if c.mdc_basis == "tool" else "published"}  # fmt: skip


def _entry_context(visit_dir: Path, entry: Entry, blur_faces: bool) -> dict[str, Any]:
    css, _, verdict_label = VERDICTS[entry.verdict]
    sentence = _verdict_sentence(entry)
    if entry.comparison is not None and entry.comparison.doubtful:
        verdict_label += " (doubtful)"
        doubt = "; ".join(_plain_comparison(r) for r in entry.comparison.doubt_reasons)
        sentence += f" This verdict is doubtful: {_lower_first(doubt).rstrip('.')}."
    frames, frame_notes, videos = [], [], []
    for label in LABELS:
        clip = entry.clips.get(label)
        if clip is None:
            frame_notes.append(f"{LABELS[label]}: no clip recorded.")
            continue
        found, why = clip_key_frames(clip, blur_faces)
        frames += found
        if why:
            frame_notes.append(f"{LABELS[label]}: {why}.")
        href, note = clip_video_link(visit_dir, clip, blur_faces)
        videos.append({"label": LABELS[label], "href": href, "note": note})
    side = _side_label(entry.movement, entry.side)
    return {
        "anchor": f"{entry.movement.name}-{entry.side}",
        "title": entry.movement.title,
        "side": side,
        "heading": entry.movement.title + ("" if side == "—" else f" — {side}"),
        "verdict": entry.verdict, "verdict_css": css, "verdict_label": verdict_label,
        "sentence": sentence,
        "pre": _clip_cell(entry.clips.get("pre")),
        "post": _clip_cell(entry.clips.get("post")),
        **_numbers(entry),
        "curves_svg": curves_svg(entry), "bar_svg": bar_svg(entry),
        "frames": frames, "frame_notes": frame_notes, "videos": videos,
        "warnings": _warnings(entry), "clip_count": len(entry.clips),
        "has_band": entry.comparison is not None and is_finite(entry.comparison.pre_rom_deg),
        "normals": "; ".join(n.label for n in entry.movement.normal),
    }  # fmt: skip


def _landmark_names(movement: Movement, sides: set[str]) -> str:
    names: list[str] = []
    for side in sorted(sides):
        for mark in movement.required(side):
            name = mark.name.lower().replace("_", " ")
            if name not in names:
                names.append(name)
    return ", ".join(names)


def _appendix(entries: list[Entry]) -> list[dict[str, Any]]:
    sides: dict[str, set[str]] = {}
    for e in entries:
        sides.setdefault(e.movement.name, set()).add(e.side)
    out = []
    for name, used in sides.items():
        m = get_movement(name)
        out.append({
            "title": m.title, "name": m.name, "definition": m.definition,
            "zero": m.zero_reference, "sign": m.sign, "side": m.side_meaning,
            "view": f"{m.view} view, {m.plane} plane", "landmarks": _landmark_names(m, used),
            "normals": [f"{n.label} (source: {n.source})" for n in m.normal],
            "mdcs": [f"{x.mdc95_deg:.1f}° with {x.instrument} (source: {x.source}"
                     + (f"; {x.note})" if x.note else ")") for x in m.mdc],
            "method_error": deg(m.method_error_deg), "filter": f"{m.lowpass_hz:g} Hz",
        })  # fmt: skip
    return out


def _method() -> dict[str, str]:
    return {
        "view_change": f"{MAX_VIEW_CHANGE_DEG:.0f}°",
        "distance_ratio": f"{MAX_DISTANCE_RATIO:g}",
        "fps_ratio": f"{MAX_FPS_RATIO:g}",
    }


def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("rom_measure.visit", "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["deg"] = deg
    return env


def render_report(visit_dir: Path, visit_info: dict[str, str], blur_faces: bool = False) -> str:
    """The report's HTML for the visit folder (nothing is written except blurred videos)."""
    from markupsafe import Markup
    from matplotlib import rc_context

    visit_dir = Path(visit_dir)
    entries, notes = collect_visit(visit_dir)
    rc = {"svg.fonttype": "none", "font.size": 9}
    with rc_context(rc):
        contexts = [_entry_context(visit_dir, e, blur_faces) for e in entries]
    for ctx in contexts:
        ctx["curves_svg"], ctx["bar_svg"] = Markup(ctx["curves_svg"]), Markup(ctx["bar_svg"])
    models = sorted({str(c.result.get("model")) for e in entries for c in e.clips.values()
                     if c.result and c.result.get("model")})  # fmt: skip
    return _environment().get_template("report.html.j2").render(
        visit={k: visit_info.get(k) or "" for k in VISIT_KEYS}, entries=contexts, notes=notes,
        appendix=_appendix(entries),
        method=_method(), blur_faces=blur_faces, version=__version__, models=models,
        generated=dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M"),
        verdicts=VERDICTS, counts=_counts(entries),
    )  # fmt: skip


def _counts(entries: list[Entry]) -> list[tuple[str, str, int]]:
    return [(VERDICTS[v][0], VERDICTS[v][2], n) for v in VERDICTS
            if (n := sum(e.verdict == v for e in entries))]  # fmt: skip


def write_report(
    visit_dir: Path, visit_info: dict[str, str | None] | None = None, blur_faces: bool = False
) -> Path:
    """Write ``VISIT/report.html`` (and ``visit.json``, ``comparison.json``/``.csv``).

    Args:
        visit_dir: the visit folder with ``pre/`` and ``post/`` analyses.
        visit_info: patient (pseudonymous id), date (YYYY-MM-DD), clinician, notes;
            missing values come from an earlier ``visit.json``; the date defaults to today.
        blur_faces: de-identify the key frames and link face-blurred annotated videos
            (written next to the originals as ``annotated_blurred.mp4`` when missing).

    Returns:
        The report's path.
    """
    visit_dir = Path(visit_dir)
    if not visit_dir.is_dir():
        raise InputError(f"visit folder not found: {visit_dir}")
    entries, _ = collect_visit(visit_dir)
    if not entries:
        raise InputError(f"{visit_dir} holds no analyses (expected pre/<movement>_<side>/ "
                         "and post/<movement>_<side>/ folders with results.json)")  # fmt: skip
    info = merged_visit_info(visit_dir, visit_info)
    comparisons = [e.comparison for e in entries if e.comparison is not None]
    html = render_report(visit_dir, info, blur_faces)
    _write_report_set(prepare_output_dir(visit_dir), info, comparisons, html)
    target = visit_dir / REPORT_FILE
    log.info("report written to %s", target)
    return target


#: The files a report writes as one set (the visit's analyses are not among them).
REPORT_SET = (VISIT_INFO_FILE, "comparison.json", "comparison.csv", REPORT_FILE)


def _write_report_set(visit_dir: Path, info: dict, comparisons: list, html: str) -> None:
    """visit.json, comparison.json/.csv and report.html, swapped in together (a failed
    write leaves the previous set whole). With no readable pair, comparison.json/.csv
    are removed: they would describe pairs the report does not show."""
    try:
        run = OutputRun(visit_dir, REPORT_SET, REPORT_FILE)
        try:
            save_visit_info(run.stage, info)
            if comparisons:
                write_comparisons(comparisons, run.stage, info)
            atomic_write_text(run.stage / REPORT_FILE, html)
            run.commit()
        finally:
            run.discard()
    except OSError as error:
        raise OutputError(f"cannot write the report to {visit_dir}: "
                          f"{os_error_reason(error)}") from error  # fmt: skip
