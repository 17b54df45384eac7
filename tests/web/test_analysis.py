"""Real analyses through the API: worker processes, the pose model, rendered clips."""

from __future__ import annotations

import csv
import io
import time
import zipfile
from pathlib import Path

import pytest

from tests.web.conftest import make_client

TOLERANCE_DEG = 6.0
CLIP = {
    "movement": "hip-flexion",
    "side": "left",
    "width_px": 640,
    "height_px": 360,
    "supersample": 1,
    "still_s": 1.0,
    "ramp_s": 0.8,
    "hold_s": 0.3,
}


@pytest.fixture(scope="session")
def rendered() -> dict[str, tuple[Path, float]]:
    """Pre (50 deg) and post (80 deg) hip flexion clips with their true ROM."""
    try:
        from rom_measure.errors import RomMeasureError
        from rom_measure.synth import ClipSpec
        from rom_measure.synth.cache import cached_clip

        clips = {}
        for label, peak in (("pre", 50.0), ("post", 80.0)):
            video, truth = cached_clip(ClipSpec(peak_deg=peak, **CLIP))
            clips[label] = (video, truth["rom_deg"])
        return clips
    except (ImportError, RomMeasureError) as error:
        pytest.skip(f"cannot render the synthetic body: {error}")


def _start(data_dir: Path, pose_model: Path):
    from fastapi.testclient import TestClient

    from rom_measure.web.app import create_app
    from rom_measure.web.config import WebSettings

    app = create_app(WebSettings(data_dir=data_dir, model=str(pose_model), annotate=False))
    client = TestClient(app, raise_server_exceptions=False)
    client.__enter__()  # runs the lifespan: workers start, queued clips resume
    client.headers["X-CSRF-Token"] = client.get("/api/session").json()["csrf_token"]
    return client


def _upload(client, visit: int, label: str, video: Path) -> int:
    with video.open("rb") as handle:
        answer = client.post(
            f"/api/visits/{visit}/clips",
            data={"label": label, "movement": "hip-flexion", "side": "left"},
            files={"file": (video.name, handle)},
        )
    assert answer.status_code == 200, answer.text
    return answer.json()["id"]


def _wait(
    client, clip: int, wanted: tuple[str, ...] = ("done", "failed"), limit_s: float = 300
) -> dict:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        state = client.get(f"/api/clips/{clip}").json()
        if state["status"] in wanted:
            return state
        time.sleep(0.2)
    raise AssertionError(f"clip {clip} still {state['status']}")


def test_pre_post_visit_end_to_end(tmp_path: Path, pose_model: Path, rendered: dict) -> None:
    client = _start(tmp_path / "data", pose_model)
    try:
        patient = client.post("/api/patients", json={"code": "P-1"}).json()["id"]
        visit = client.post(f"/api/patients/{patient}/visits", json={"date": "2026-12-02"})
        visit = visit.json()["id"]
        clips = {label: _upload(client, visit, label, rendered[label][0]) for label in rendered}
        for label, clip in clips.items():
            state = _wait(client, clip)
            assert state["status"] == "done", state["error"]
            assert state["result"]["schema"] == "rom_measure.result"
            assert state["verdict"] != "rejected"
            assert abs(state["rom_deg"] - rendered[label][1]) <= TOLERANCE_DEG
        comparison = client.get(f"/api/visits/{visit}/comparisons").json()
        [row] = comparison["comparisons"]
        assert row["verdict"] == "improved"
        assert abs(row["change_deg"] - 30.0) <= 2 * TOLERANCE_DEG
        history = client.get(
            f"/api/patients/{patient}/history", params={"movement": "hip-flexion", "side": "left"}
        ).json()
        [entry] = history["visits"]
        assert entry["date"] == "2026-12-02"
        assert entry["comparison"]["verdict"] == "improved"
        assert entry["asymmetry"] == {"pre": None, "post": None}  # one side only
        report = client.get(f"/api/visits/{visit}/report")
        assert report.status_code == 200 and "P-1" in report.text
        archive = zipfile.ZipFile(
            io.BytesIO(client.get(f"/api/patients/{patient}/export.zip").content)
        )
        names = archive.namelist()
        assert "patient.json" in names
        assert any(n.endswith("pre/hip-flexion_left/results.json") for n in names)
        assert any(n.endswith("report.html") for n in names)
        rows = list(csv.DictReader(io.StringIO(client.get("/api/study.csv").text)))
        assert sorted(r["label"] for r in rows) == ["post", "pre"]
        assert {r["patient_code"] for r in rows} == {"P-1"}
    finally:
        client.__exit__(None, None, None)


def test_a_restart_mid_analysis_resumes_the_queue(
    tmp_path: Path, pose_model: Path, rendered: dict
) -> None:
    data_dir = tmp_path / "data"
    client = _start(data_dir, pose_model)
    try:
        patient = client.post("/api/patients", json={"code": "P-2"}).json()["id"]
        visit = client.post(f"/api/patients/{patient}/visits", json={}).json()["id"]
        first = _upload(client, visit, "pre", rendered["pre"][0])
        second = _upload(client, visit, "post", rendered["post"][0])
        _wait(client, first, ("running", "done"))
        client.app.state.queue.kill()  # the server dies mid-analysis
    finally:
        client.__exit__(None, None, None)
    states = {
        c: make_client(data_dir).get(f"/api/clips/{c}").json()["status"] for c in (first, second)
    }
    assert set(states.values()) <= {"queued", "running"}, states
    client = _start(data_dir, pose_model)  # restart: both resume
    try:
        for clip, label in ((first, "pre"), (second, "post")):
            state = _wait(client, clip)
            assert state["status"] == "done", state["error"]
            assert abs(state["rom_deg"] - rendered[label][1]) <= TOLERANCE_DEG
    finally:
        client.__exit__(None, None, None)


def test_a_worker_that_dies_fails_its_clip_only(
    tmp_path: Path, pose_model: Path, rendered: dict
) -> None:
    import os
    import signal

    client = _start(tmp_path / "data", pose_model)
    try:
        patient = client.post("/api/patients", json={"code": "P-3"}).json()["id"]
        visit = client.post(f"/api/patients/{patient}/visits", json={}).json()["id"]
        first = _upload(client, visit, "pre", rendered["pre"][0])
        second = _upload(client, visit, "post", rendered["post"][0])
        _wait(client, first, ("running",))
        pool = client.app.state.queue._pool
        for process in list(pool._processes.values()):
            os.kill(process.pid, signal.SIGKILL)  # e.g. the kernel's out-of-memory killer
        state = _wait(client, first)
        assert state["status"] == "failed"
        assert "analysis process stopped" in state["error"]
        state = _wait(client, second)
        assert state["status"] == "done", state["error"]
    finally:
        client.__exit__(None, None, None)
