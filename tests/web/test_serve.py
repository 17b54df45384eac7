"""The ``serve`` command: binding beyond loopback needs clinician accounts."""

from __future__ import annotations

from pathlib import Path

import pytest

from rom_measure.cli import main

pytest.importorskip("fastapi", reason="the web extra is not installed")


def test_all_interfaces_without_accounts_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    code = main(["serve", "--host", "0.0.0.0", "--data-dir", str(tmp_path), "--no-browser"])
    assert code != 0
    err = capsys.readouterr().err
    assert "refusing to listen on 0.0.0.0 without clinician accounts" in err
    assert "Traceback" not in err


def test_add_user_then_the_check_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rom_measure.web.serve import check_bind

    monkeypatch.setenv("ROM_MEASURE_PASSWORD", "long enough pw")
    assert main(["serve", "--data-dir", str(tmp_path), "--add-user", "kim"]) == 0
    check_bind("0.0.0.0", has_accounts=True)  # no error
    check_bind("127.0.0.1", has_accounts=False)
    with pytest.raises(Exception, match="without clinician accounts"):
        check_bind("192.168.1.20", has_accounts=False)


def test_short_passwords_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("ROM_MEASURE_PASSWORD", "short")
    assert main(["serve", "--data-dir", str(tmp_path), "--add-user", "kim"]) != 0
    assert "at least 8 characters" in capsys.readouterr().err
