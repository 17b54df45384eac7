"""Batch processing: inputs, parallel runs (process pool and Dask), resume after kill -9.

The model-running tests share one local batch of 9 clips: the four real clips of
../shared/data (once), a synthetic pre/post pair rendered at known angles, a pair
derived from the real clips (downscaled), and one truncated (corrupt) file.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rom_measure.batch.inputs import ClipJob, collect_inputs, parse_clip_name, read_manifest
from rom_measure.batch.run import STATE_FILE, read_state
from rom_measure.cli import main
from rom_measure.errors import InputError
from tests.conftest import REPO, ffmpeg

OUTPUTS = ("results.json", "angles.csv", "landmarks.npz", "angles.png", "annotated.mp4")
HEADER = "subject,visit,label,movement,side,path\n"
SYNTH_PEAKS = {"pre": 50.0, "post": 80.0}


# -- fixtures: clips and one local batch ------------------------------------------------------


def _render_synthetic(folder: Path) -> dict[str, Path]:
    """A hip-flexion pre/post pair at known peaks (small, 15 fps), named by the pattern."""
    from rom_measure.synth import ClipSpec, render_clip

    clips = {}
    for label, peak in SYNTH_PEAKS.items():
        spec = ClipSpec("hip-flexion", "left", peak_deg=peak, fps=15.0, width_px=320,
                        height_px=240, still_s=0.6, ramp_s=0.8, hold_s=0.3,
                        supersample=1)  # fmt: skip
        clips[label] = folder / f"S01_v1_{label}_hip-flexion_left.mp4"
        render_clip(spec, clips[label])
    return clips


def _derive(source: Path, target: Path, frames: int = 100) -> Path:
    """A downscaled (360x640) copy of a real clip."""
    subprocess.run([ffmpeg(), "-v", "error", "-y", "-i", str(source), "-vf", "scale=360:640",
                    "-frames:v", str(frames), "-c:v", "libx264", "-pix_fmt", "yuv420p",
                    str(target)], check=True)  # fmt: skip
    return target


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory, shared_data: Path, pose_model: Path) -> dict:
    """Small clips named by the pattern in ``clips/``; the real clips stay in shared/."""
    folder = tmp_path_factory.mktemp("study") / "clips"
    folder.mkdir()
    found: dict[str, Path] = {}
    if importlib.util.find_spec("rom_measure.synth") is not None:
        synth = _render_synthetic(folder)
        found["S01-pre"], found["S01-post"] = synth["pre"], synth["post"]
    real = shared_data / "pose2sim_single"
    found["P02-pre"] = _derive(real / "cam03.mp4", folder / "P02_v1_pre_hip-flexion_right.mp4")
    found["P02-post"] = _derive(real / "cam04.mp4", folder / "P02_v1_post_hip-flexion_right.mp4")
    data = found["P02-pre"].read_bytes()  # moov atom at the end: half a file does not open
    corrupt = folder / "X01_v1_pre_hip-flexion_left.mp4"
    corrupt.write_bytes(data[: len(data) // 2])
    found["corrupt"] = corrupt
    found["real"] = real
    return found


def _manifest_rows(clips: dict, base: Path) -> list[str]:
    real = clips["real"]
    rows = [f"P01,v1,pre,hip-flexion,right,{real / 'cam01.mp4'}",
            f"P01,v1,post,hip-flexion,right,{real / 'cam02.mp4'}",
            f"P01,v1,pre,hip-abduction,left,{real / 'cam03.mp4'}",
            f"P01,v1,post,hip-abduction,left,{real / 'cam04.mp4'}"]  # fmt: skip
    for key, path in clips.items():
        if key in ("real", "corrupt"):
            continue
        subject, label = key.split("-")
        movement_side = "hip-flexion,left" if subject == "S01" else "hip-flexion,right"
        rows.append(f"{subject},v1,{label},{movement_side},{path.relative_to(base).as_posix()}")
    rows.append(f"X01,v1,pre,hip-flexion,left,{clips['corrupt'].relative_to(base).as_posix()}")
    return rows


def _read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def local_run(clips: dict) -> dict:
    """One batch of every clip on the local process pool (2 workers), through the CLI.

    Without annotated videos (the 1080x1920 encodes are slow); the Dask test checks them.
    """
    base = clips["P02-pre"].parent.parent
    manifest = base / "manifest.csv"
    manifest.write_text(HEADER + "\n".join(_manifest_rows(clips, base)) + "\n")
    out = base / "results"
    start = time.perf_counter()
    code = main(["batch", str(manifest), "--out", str(out), "--workers", "2", "--no-annotate",
                 "--allow-root", str(clips["real"])])  # fmt: skip
    return {"code": code, "out": out, "manifest": manifest, "seconds": time.perf_counter() - start,
            "summary": {(r["subject"], r["label"], r["movement"]): r
                        for r in _read_csv(out / "summary.csv")}}  # fmt: skip


# -- inputs (no model) -----------------------------------------------------------------------


def test_clip_name_pattern() -> None:
    assert parse_clip_name("P07_visit2_pre_hip-flexion_left.mp4") == (
        "P07", "visit2", "pre", "hip-flexion", "left")  # fmt: skip
    assert parse_clip_name("a.b-1_2024-05-01_POST_Neck-Rotation_Right.MOV")[2:] == (
        "post", "neck-rotation", "right")  # fmt: skip
    for name, reason in [
        ("P07_pre_hip-flexion_left.mp4", "4 '_'-separated parts"),
        ("P07_v_x_mid_hip-flexion_left.mp4", "6 '_'-separated parts"),
        ("P07_v2_during_hip-flexion_left.mp4", "'during' is not a known label"),
        ("P07_v2_pre_knee-flexion_left.mp4", "'knee-flexion' is not a known movement"),
        ("P07_v2_pre_hip-flexion_both.mp4", "'both' is not a known side"),
        ("P07_v2_pre_hip-flexion_left.txt", "not a video file extension (.txt)"),
        ("-P07_v2_pre_hip-flexion_left.mp4", "subject '-P07'"),
    ]:
        with pytest.raises(ValueError) as info:
            parse_clip_name(name)
        assert reason in str(info.value), (name, str(info.value))


def test_folder_scan_lists_skipped_files_with_reasons(tmp_path: Path) -> None:
    clips = tmp_path / "clips"
    (clips / "day1").mkdir(parents=True)
    (clips / ".cache").mkdir()
    for name in ["day1/P01_v1_pre_hip-flexion_left.mp4", "day1/P01_v1_post_hip-flexion_left.mov",
                 "P02_v1_pre_neck-rotation_right.mp4", "P02_v1_pre_neck-rotation_right.mkv",
                 "notes.txt", "P03_v1_pre_hip.mp4", ".hidden.mp4",
                 ".cache/P04_v1_pre_hip-flexion_left.mp4"]:  # fmt: skip
        (clips / name).write_bytes(b"x")
    out = clips / "results"  # an output folder inside the input folder is left out
    (out / "P09" / "v1").mkdir(parents=True)
    (out / "P09" / "v1" / "P09_v1_pre_hip-flexion_left.mp4").write_bytes(b"x")
    inputs = collect_inputs(clips, out)
    assert [j.key for j in inputs.jobs] == [
        ("P01", "v1", "post", "hip-flexion", "left"),
        ("P01", "v1", "pre", "hip-flexion", "left"),
    ]
    job = inputs.jobs[1]
    assert job.path == (clips / "day1/P01_v1_pre_hip-flexion_left.mp4").resolve()
    assert job.out_dir(Path("/o")) == Path("/o/P01/v1/pre/hip-flexion_left")
    reasons = {s.path: s.reason for s in inputs.skipped}
    assert set(reasons) == {"notes.txt", "P03_v1_pre_hip.mp4", "P02_v1_pre_neck-rotation_right.mp4",
                            "P02_v1_pre_neck-rotation_right.mkv"}  # fmt: skip
    assert "not a video file extension" in reasons["notes.txt"]
    assert "expected 5" in reasons["P03_v1_pre_hip.mp4"]
    assert "several clips for P02/v1/pre/neck-rotation_right" in reasons[
        "P02_v1_pre_neck-rotation_right.mkv"]  # fmt: skip


def test_manifest_errors_name_every_row_and_column(tmp_path: Path) -> None:
    (tmp_path / "clips").mkdir()
    (tmp_path / "clips" / "a.mp4").write_bytes(b"x")
    outside = tmp_path.parent / f"{tmp_path.name}-outside.mp4"
    outside.write_bytes(b"x")
    (tmp_path / "clips" / "link.mp4").symlink_to(outside)
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(HEADER + "\n".join([
        "P01,v1,pre,hip-flexion,left,clips/a.mp4",          # row 2: fine
        "P01,v1,during,hip-flexion,left,clips/a.mp4",       # row 3: label
        "P01,v1,post,knee-bend,up,clips/a.mp4",             # row 4: movement and side
        "P01,v1,post,hip-flexion,left,clips/missing.mp4",   # row 5: path not found
        f"P01,v1,post,neck-rotation,left,../{outside.name}",  # row 6: '..' escape
        f"P01,v1,post,ankle-lunge,left,{outside}",          # row 7: absolute, outside
        "P01,v1,post,neck-flexion,left,clips/link.mp4",     # row 8: link out of the root
        "P01,v1,pre,hip-flexion,left,clips/a.mp4",          # row 9: same as row 2
        "../P01,v1,post,hip-flexion,left,clips/a.mp4",      # row 10: subject
        "P01,v1,post,hip-flexion,left",                     # row 11: too few cells
        "",
        ",v2,post,hip-abduction,right,clips",               # row 13: subject, path a folder
    ]) + "\n")  # fmt: skip
    with pytest.raises(InputError) as info:
        read_manifest(manifest)
    message = str(info.value)
    expected = ["row 3, column 'label': 'during' is not a known label",
                "row 4, column 'movement': 'knee-bend'", "row 4, column 'side': 'up'",
                "row 5, column 'path': clips/missing.mp4 not found",
                "row 6, column 'path': ../", "row 7, column 'path':",
                "row 8, column 'path': clips/link.mp4 resolves to",
                "row 9: P01/v1/pre/hip-flexion_left is already given in row 2",
                "row 10, column 'subject'", "row 11: 5 columns, the header has 6",
                "row 13, column 'subject': subject is empty",
                "row 13, column 'path': clips is not a file"]  # fmt: skip
    for text in expected:
        assert text in message, text
    assert message.startswith(f"{manifest} has 12 bad entries")
    assert "\n  row 2" not in message
    assert message.count("outside the allowed folders") == 3
    # the same through the CLI: exit 2, one message, no traceback, nothing run
    code = main(["batch", str(manifest), "--out", str(tmp_path / "out")])
    assert code == 2
    assert not (tmp_path / "out").exists()


def test_manifest_paths_stay_inside_allowed_roots(tmp_path: Path) -> None:
    study, elsewhere = tmp_path / "study", tmp_path / "elsewhere"
    study.mkdir()
    elsewhere.mkdir()
    (elsewhere / "b.mp4").write_bytes(b"x")
    manifest = study / "m.csv"
    manifest.write_text(HEADER + "P01,v1,pre,hip-flexion,left,../elsewhere/b.mp4\n"
                        f"P01,v1,post,hip-flexion,left,{elsewhere / 'b.mp4'}\n")  # fmt: skip
    with pytest.raises(InputError, match="outside the allowed folders") as info:
        read_manifest(manifest)
    assert "row 2, column 'path'" in str(info.value) and "row 3, column 'path'" in str(info.value)
    jobs = read_manifest(manifest, allow_roots=[elsewhere]).jobs
    assert [j.path for j in jobs] == [(elsewhere / "b.mp4").resolve()] * 2
    assert jobs[0].given == "../elsewhere/b.mp4" and jobs[0].origin == "m.csv row 2"


def test_manifest_header_problems(tmp_path: Path) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text("subject;visit;label;movement;side;path\nP01;v1;pre;hip-flexion;left;a\n")
    with pytest.raises(InputError, match=r"row 1 \(header\) lacks the column\(s\) subject, visit"
                       r".*save it with commas"):  # fmt: skip
        read_manifest(manifest)
    manifest.write_text(HEADER)
    with pytest.raises(InputError, match="lists no clips"):
        read_manifest(manifest)
    (tmp_path / "list.txt").write_text("")
    with pytest.raises(InputError, match=r"neither a folder of clips nor a \.csv manifest"):
        collect_inputs(tmp_path / "list.txt")


# -- the batch (real model) -------------------------------------------------------------------


def _clip_dir(out: Path, subject: str, label: str, movement: str, side: str) -> Path:
    return ClipJob(subject, "v1", label, movement, side, Path(), "", "").out_dir(out)


@pytest.mark.slow
def test_local_batch_end_to_end(local_run: dict, clips: dict) -> None:
    out, summary = local_run["out"], local_run["summary"]
    assert local_run["code"] == 1  # the corrupt clip failed
    assert len(summary) == 9
    corrupt = summary[("X01", "pre", "hip-flexion")]
    assert corrupt["status"] == "failed" and "cannot read" in corrupt["reasons"]
    assert corrupt["rom_deg"] == "" and corrupt["output"] == ""
    for (subject, label, movement), row in summary.items():
        if subject == "X01":
            continue
        assert row["status"] in ("done", "rejected"), row
        folder = out / row["output"]
        assert folder == _clip_dir(out, subject, label, movement, row["side"])
        assert all((folder / name).is_file() for name in (*OUTPUTS[:-1], STATE_FILE)), folder
        assert not (folder / "annotated.mp4").exists()
        results = json.loads((folder / "results.json").read_text())
        assert results["quality"]["verdict"] == row["verdict"]
        assert results["source"]["sha256"] == json.loads((folder / STATE_FILE).read_text())[
            "identity"]["input_sha256"]  # fmt: skip
        if row["status"] == "done":
            assert float(row["rom_deg"]) == pytest.approx(results["rom_deg"], abs=0.006)
        else:
            assert row["verdict"] == "rejected" and row["rom_deg"] == "" and row["reasons"]
    comparisons = {(r["subject"], r["movement"]): r for r in _read_csv(out / "comparisons.csv")}
    assert set(comparisons) >= {("P01", "hip-flexion"), ("P01", "hip-abduction"),
                                ("P02", "hip-flexion")}  # fmt: skip
    for row in comparisons.values():
        assert row["verdict"] in ("improved", "no detectable change", "decreased",
                                  "not comparable", "not available")  # fmt: skip
    visits = ["P01/v1", "P02/v1"]
    if "S01-pre" in clips:  # synthetic pair at known peaks 50 and 80 deg
        visits.append("S01/v1")
        pre, post = summary[("S01", "pre", "hip-flexion")], summary[("S01", "post", "hip-flexion")]
        assert pre["status"] == post["status"] == "done"
        assert float(pre["rom_deg"]) == pytest.approx(SYNTH_PEAKS["pre"], abs=12)
        assert float(post["rom_deg"]) == pytest.approx(SYNTH_PEAKS["post"], abs=12)
        s01 = comparisons[("S01", "hip-flexion")]
        assert s01["verdict"] == "improved" and float(s01["change_deg"]) > 15
        assert s01["pre_status"] == s01["post_status"] == "done"
        visit = json.loads((out / "S01" / "v1" / "comparison.json").read_text())
        assert visit["comparisons"][0]["verdict"] == "improved"
    index = (out / "index.html").read_text()
    has_reports = importlib.util.find_spec("rom_measure.visit.report") is not None
    for visit in visits:
        target = f"{visit}/report.html" if has_reports else visit
        assert f'href="{target}"' in index, target
    assert "X01_v1_pre_hip-flexion_left.mp4" not in index or "cannot read" in index
    assert not list(out.rglob(".*.partial-*"))


@pytest.mark.slow
def test_state_record_rejects_half_written_results(local_run: dict, tmp_path: Path) -> None:
    out = local_run["out"]
    folder = out / local_run["summary"][("P02", "pre", "hip-flexion")]["output"]
    state = json.loads((folder / STATE_FILE).read_text())
    identity = state["identity"]
    copy = shutil.copytree(folder, tmp_path / "clip")
    assert read_state(copy, identity) is not None
    assert read_state(copy, {**identity, "model_sha256": "0" * 64}) is None
    assert read_state(copy, {**identity, "input_sha256": "0" * 64}) is None
    assert read_state(copy, {**identity, "analysis_settings": {}}) is None
    results = (copy / "results.json").read_bytes()
    (copy / "results.json").write_bytes(results[: len(results) // 2])  # half-written
    assert read_state(copy, identity) is None
    (copy / "results.json").write_bytes(results)
    (copy / "angles.png").unlink()  # an output gone
    assert read_state(copy, identity) is None
    (copy / STATE_FILE).write_text(json.dumps(state)[:40])
    assert read_state(copy, identity) is None


@pytest.mark.slow
def test_dask_local_cluster_same_results_and_resume(local_run: dict, clips: dict,
                                                    tmp_path: Path) -> None:  # fmt: skip
    pytest.importorskip("distributed")
    base = local_run["manifest"].parent
    small = [r for r in _manifest_rows(clips, base) if not r.startswith("P01,")]
    manifest = base / "small.csv"
    manifest.write_text(HEADER + "\n".join(small) + "\n")
    out = tmp_path / "dask-results"
    code = main(["batch", str(manifest), "--out", str(out), "--dask-local", "2", "--no-reports"])
    assert code == 1
    rows = _read_csv(out / "summary.csv")
    assert len(rows) == len(small)
    for row in rows:  # the same numbers as the process pool gave
        local = local_run["summary"][(row["subject"], row["label"], row["movement"])]
        assert (row["status"], row["rom_deg"], row["verdict"]) == (
            local["status"], local["rom_deg"], local["verdict"])  # fmt: skip
        if row["status"] != "failed":
            ours = json.loads((out / row["output"] / "results.json").read_text())
            theirs = json.loads((local_run["out"] / row["output"] / "results.json").read_text())
            assert ours["repetitions"] == theirs["repetitions"]
            assert ours["frames_used"] == theirs["frames_used"]
            assert all((out / row["output"] / name).is_file() for name in OUTPUTS)
    assert (out / "comparisons.csv").is_file() and (out / "index.html").is_file()
    # resume on Dask from the process pool's results: the same state records match
    pairs = [r for r in small if r.startswith(("S01,", "P02,"))]
    manifest.write_text(HEADER + "\n".join(pairs) + "\n")
    code = main(["batch", str(manifest), "--out", str(local_run["out"]), "--dask-local", "2",
                 "--no-annotate"])  # fmt: skip
    rows = _read_csv(local_run["out"] / "summary.csv")
    assert {r["status"] for r in rows} == {"skipped"}
    has_rom = all(r["rom_deg"] for r in rows)
    assert code == (0 if has_rom else 1)


@pytest.mark.slow
def test_resume_after_kill_9(clips: dict, tmp_path: Path) -> None:
    psutil = pytest.importorskip("psutil")
    folder = tmp_path / "clips"
    folder.mkdir()
    names = [p for k, p in clips.items() if k not in ("real",)]
    for path in names:
        os.link(path, folder / path.name)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "rom_measure.cli", "batch", str(folder), "--out", str(out),
               "--workers", "1", "--no-annotate", "--no-reports"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=env)  # fmt: skip
    deadline = time.monotonic() + 120
    while not list(out.glob(f"*/*/*/*/{STATE_FILE}")):
        assert process.poll() is None and time.monotonic() < deadline, "no clip finished"
        time.sleep(0.05)
    workers = psutil.Process(process.pid).children(recursive=True)
    process.send_signal(signal.SIGKILL)
    process.wait()
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive, "worker processes outlived the killed batch"
    finished = {p.parent: (p.parent / "results.json").stat().st_mtime_ns
                for p in out.glob(f"*/*/*/*/{STATE_FILE}")}  # fmt: skip
    assert 1 <= len(finished) < len(names) - 1
    assert not (out / "summary.csv").exists()
    code = main(["batch", str(folder), "--out", str(out), "--workers", "2", "--no-annotate",
                 "--no-reports"])  # fmt: skip
    assert code == 1  # the corrupt clip
    rows = {r["output"]: r for r in _read_csv(out / "summary.csv") if r["output"]}
    assert len(rows) == len(names) - 1
    for output, row in rows.items():
        folder_ = out / output
        if folder_ in finished:  # kept, not redone
            assert row["status"] == "skipped"
            assert (folder_ / "results.json").stat().st_mtime_ns == finished[folder_]
        else:
            assert row["status"] in ("done", "rejected")
        state = json.loads((folder_ / STATE_FILE).read_text())
        assert read_state(folder_, state["identity"]) is not None
        assert not (folder_ / "annotated.mp4").exists()
    assert not list(out.rglob(".*.partial-*"))
