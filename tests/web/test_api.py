"""The JSON API on a real database (SQLite file, and PostgreSQL when CI provides it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.web.conftest import make_client

CLIP_FORM = {"label": "pre", "movement": "hip-flexion", "side": "left"}


def _patient_and_visit(client) -> tuple[int, int]:
    patient = client.post("/api/patients", json={"code": "P-017", "name": "Ada"}).json()["id"]
    visit = client.post(
        f"/api/patients/{patient}/visits",
        json={"date": "2026-12-02", "clinician": "Dr K", "notes": "knee"},
    )
    return patient, visit.json()["id"]


def test_health_reports_the_version(client) -> None:
    from rom_measure._version import __version__

    assert client.get("/api/health").json() == {"status": "ok", "version": __version__}


def test_patients_visits_and_search(client) -> None:
    patient, visit = _patient_and_visit(client)
    client.post("/api/patients", json={"code": "Q-2", "name": "Bob"})
    assert [p["code"] for p in client.get("/api/patients", params={"q": "p-0"}).json()] == ["P-017"]
    assert [p["code"] for p in client.get("/api/patients", params={"q": "bob"}).json()] == ["Q-2"]
    assert len(client.get("/api/patients").json()) == 2
    record = client.get(f"/api/patients/{patient}").json()
    assert record["visits"][0]["id"] == visit
    assert record["visits"][0]["date"] == "2026-12-02"
    assert record["visits"][0]["clinician"] == "Dr K"


def test_invalid_input_gets_one_line_errors(client) -> None:
    patient, _ = _patient_and_visit(client)
    duplicate = client.post("/api/patients", json={"code": "P-017"})
    assert duplicate.status_code == 400
    assert "exists already" in duplicate.json()["error"]
    assert client.post("/api/patients", json={"name": "no code"}).status_code == 400
    bad_date = client.post(f"/api/patients/{patient}/visits", json={"date": "02/12/2026"})
    assert bad_date.status_code == 400
    assert "YYYY-MM-DD" in bad_date.json()["error"]
    assert client.get("/api/patients/999").status_code == 404


def test_upload_is_queued_with_a_generated_name(client, small_clip: Path) -> None:
    _, visit = _patient_and_visit(client)
    with small_clip.open("rb") as handle:
        answer = client.post(
            f"/api/visits/{visit}/clips",
            data=CLIP_FORM,
            files={"file": ("../../../evil name.mp4", handle)},
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "queued"
    clip = client.get(f"/api/clips/{answer.json()['id']}").json()
    assert clip["status"] == "queued"
    assert clip["result"] is None
    assert clip["file_name"] == "evil name.mp4"  # shown, but never used as a path
    data_dir = Path(client.app.state.settings.data_dir)
    stored = [p for p in data_dir.rglob("*.mp4")]
    assert len(stored) == 1
    assert stored[0].parent.name == "clips"
    assert "evil" not in str(stored[0])
    assert stored[0].read_bytes() == small_clip.read_bytes()
    assert not list(data_dir.parent.glob("evil*"))


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({**CLIP_FORM, "label": "../pre"}, "label must be pre or post"),
        ({**CLIP_FORM, "movement": "../../etc"}, "unknown movement"),
        ({**CLIP_FORM, "side": "left/../../x"}, "side must be left or right"),
    ],
)
def test_path_tricks_in_fields_are_refused(
    client, small_clip: Path, form: dict, message: str
) -> None:
    _, visit = _patient_and_visit(client)
    with small_clip.open("rb") as handle:
        answer = client.post(
            f"/api/visits/{visit}/clips", data=form, files={"file": ("clip.mp4", handle)}
        )
    assert answer.status_code == 400
    assert message in answer.json()["error"]
    assert not list(Path(client.app.state.settings.data_dir).rglob("*.mp4"))


def test_a_non_video_upload_is_rejected_and_not_kept(client) -> None:
    _, visit = _patient_and_visit(client)
    answer = client.post(
        f"/api/visits/{visit}/clips",
        data=CLIP_FORM,
        files={"file": ("clip.mp4", b"this is not a video" * 100)},
    )
    assert answer.status_code == 400
    assert "not a readable video" in answer.json()["error"]
    data_dir = Path(client.app.state.settings.data_dir)
    assert not [p for p in data_dir.rglob("*") if p.is_file() and "clips" in p.parts]


def test_an_oversized_upload_is_rejected(tmp_path: Path, small_clip: Path) -> None:
    size = small_clip.stat().st_size
    with make_client(tmp_path / "data", max_upload_bytes=size - 1) as client:
        _, visit = _patient_and_visit(client)
        with small_clip.open("rb") as handle:
            answer = client.post(
                f"/api/visits/{visit}/clips", data=CLIP_FORM, files={"file": ("clip.mp4", handle)}
            )
        assert answer.status_code == 413
        assert "larger than the limit" in answer.json()["error"]
        stored = [p for p in (tmp_path / "data").rglob("*") if p.is_file() and "clips" in p.parts]
        assert not stored


def test_a_request_without_the_csrf_token_is_refused(client) -> None:
    token = client.headers.pop("X-CSRF-Token")
    assert client.post("/api/patients", json={"code": "X"}).status_code == 403
    forged = client.post("/api/patients", json={"code": "X"}, headers={"X-CSRF-Token": "0" * 64})
    assert forged.status_code == 403
    # a token is bound to its browser: another browser's token does not work here
    other = make_client(Path(client.app.state.settings.data_dir))
    assert (
        client.post(
            "/api/patients",
            json={"code": "X"},
            headers={"X-CSRF-Token": other.headers["X-CSRF-Token"]},
        ).status_code
        == 403
    )
    assert client.get("/api/patients").json() == []
    assert (
        client.post(
            "/api/patients", json={"code": "X"}, headers={"X-CSRF-Token": token}
        ).status_code
        == 200
    )


def test_delete_removes_rows_and_files(client, small_clip: Path) -> None:
    patient, visit = _patient_and_visit(client)
    with small_clip.open("rb") as handle:
        clip = client.post(
            f"/api/visits/{visit}/clips", data=CLIP_FORM, files={"file": ("clip.mp4", handle)}
        ).json()["id"]
    data_dir = Path(client.app.state.settings.data_dir)
    assert list((data_dir / "patients").rglob("*.mp4"))
    assert client.delete(f"/api/patients/{patient}").json() == {"deleted": patient}
    assert client.get(f"/api/patients/{patient}").status_code == 404
    assert client.get(f"/api/visits/{visit}").status_code == 404
    assert client.get(f"/api/clips/{clip}").status_code == 404
    assert not list((data_dir / "patients").iterdir())


def test_errors_are_plain_without_traceback(client) -> None:
    def boom() -> None:
        raise RuntimeError("secret internals /etc/passwd")

    client.app.add_api_route("/api/boom", boom)
    client.app.add_api_route("/boom", boom)
    for path in ("/api/boom", "/boom"):
        answer = client.get(path)
        assert answer.status_code == 500
        assert "Traceback" not in answer.text
        assert "secret internals" not in answer.text
    page = client.get("/no/such/page")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")


def test_accounts_require_login(tmp_path: Path) -> None:
    from rom_measure.web import security

    with make_client(tmp_path / "data") as client:
        with client.app.state.sessions() as db:
            security.add_account(db, "kim", "correct horse")
        assert client.get("/api/patients").status_code == 401
        assert client.get("/", follow_redirects=False).status_code == 303
        assert (
            client.post("/api/login", json={"name": "kim", "password": "wrong pass"}).status_code
            == 401
        )
        assert client.post(
            "/api/login", json={"name": "kim", "password": "correct horse"}
        ).json() == {"account": "kim"}
        assert client.get("/api/patients").status_code == 200
        client.post("/api/logout")
        assert client.get("/api/patients").status_code == 401
        with client.app.state.sessions() as db:
            from rom_measure.web.models import Account

            stored = db.query(Account).one().password_hash
        assert stored.startswith("$argon2") and "correct horse" not in stored


def test_an_announced_oversized_body_is_refused_before_reading(tmp_path: Path) -> None:
    with make_client(tmp_path / "data", max_upload_bytes=1000) as client:
        _, visit = _patient_and_visit(client)
        answer = client.post(
            f"/api/visits/{visit}/clips",
            data=CLIP_FORM,
            files={"file": ("clip.mp4", b"\0" * 200_000)},
        )
        assert answer.status_code == 413
        assert "larger than the limit" in answer.json()["error"]
