"""The whole workflow in a real browser (Debian chromium via Playwright) on a real server.

Chromium's fake camera plays a rendered clip at known angles (looped), so the page's
getUserMedia, live lights, MediaRecorder and upload all run for real.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ffmpeg

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS_ENV = "ROM_MEASURE_SCREENSHOTS"  # also copy the screenshots there
TOLERANCE_DEG = 8.0  # the browser re-encodes the clip (VP8) before the analysis
CLIP = {"movement": "hip-flexion", "side": "left", "width_px": 480, "height_px": 360,
        "fps": 24.0, "supersample": 1, "still_s": 2.5, "ramp_s": 0.8, "hold_s": 0.3}  # fmt: skip
LOOP_S = 2 * 2.5 + 2 * 0.8 + 0.3
RECORD_S = 6.0

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fake_cameras(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, float]]:
    """A .y4m fake-camera file and the true ROM for the pre (50 deg) and post (80 deg) clips."""
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not CHROMIUM.is_file():
        pytest.skip(f"no Debian chromium at {CHROMIUM} (.ci/run installs it)")
    try:
        from rom_measure.errors import RomMeasureError
        from rom_measure.synth import ClipSpec
        from rom_measure.synth.cache import cached_clip
    except ImportError as error:
        pytest.skip(f"cannot render: {error}")
    folder = tmp_path_factory.mktemp("camera")
    cameras = {}
    for label, peak in (("pre", 50.0), ("post", 80.0)):
        try:
            video, truth = cached_clip(ClipSpec(peak_deg=peak, **CLIP))
        except RomMeasureError as error:
            pytest.skip(f"cannot render the synthetic body: {error}")
        y4m = folder / f"{label}.y4m"
        subprocess.run([ffmpeg(), "-v", "error", "-y", "-i", str(video), "-pix_fmt", "yuv420p",
                        str(y4m)], check=True)  # fmt: skip
        cameras[label] = (y4m, truth["rom_deg"])
    return cameras


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, pose_model: Path) -> Iterator[str]:
    """uvicorn with the app (live lights included) on a free loopback port."""
    import uvicorn

    from rom_measure.cli import _live_hooks
    from rom_measure.web.app import create_app
    from rom_measure.web.config import WebSettings

    settings = WebSettings(data_dir=tmp_path_factory.mktemp("clinic"), model=str(pose_model),
                           annotate=False)  # fmt: skip
    port = _free_port()
    config = uvicorn.Config(create_app(settings, live=_live_hooks()), host="127.0.0.1",
                            port=port, log_level="warning", ws="websockets-sansio")  # fmt: skip
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not instance.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(timeout=30)


def _browser(playwright, y4m: Path):
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=["--no-sandbox", "--use-fake-ui-for-media-stream",
              "--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={y4m}"],
    )  # fmt: skip


def _shot(page, name: str, folder: Path) -> None:
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get(SCREENSHOTS_ENV):
        target = Path(os.environ[SCREENSHOTS_ENV])
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target / path.name)


def _record(playwright, url: str, y4m: Path, label: str, folder: Path) -> tuple[float, float]:
    """Record one clip through the page; returns (measured ROM, live-lights frames/s)."""
    browser = _browser(playwright, y4m)
    try:
        page = browser.new_context(viewport={"width": 1200, "height": 800}).new_page()
        page.goto(f"{url}&countdown=0&still=0&duration={RECORD_S}")
        page.wait_for_function("window.liveStats && window.liveStats.answers >= 20", timeout=90_000)
        fps = page.evaluate("window.liveStats.fps")
        lights = page.eval_on_selector_all("#lights li", "els => els.map(e => e.className)")
        assert all(state in ("green", "amber", "red") for state in lights), lights
        if label == "pre":
            _shot(page, "web_recording", folder)
        # start at the beginning of the camera's loop: its still start is then recorded
        page.wait_for_function(f"(document.querySelector('#video').currentTime % {LOOP_S}) < 0.4",
                               polling=20, timeout=20_000)  # fmt: skip
        page.click("#start")
        verdict = page.wait_for_selector("#verdict", timeout=240_000)
        rom = verdict.get_attribute("data-rom")
        assert verdict.get_attribute("data-verdict") in ("ok", "warning"), verdict.inner_text()
        assert page.is_visible("#redo")
        return float(rom), fps
    finally:
        browser.close()


def test_record_pre_and_post_in_the_browser(server: str, fake_cameras: dict,
                                            tmp_path: Path) -> None:  # fmt: skip
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = _browser(playwright, fake_cameras["pre"][0])
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        page.goto(server)
        page.fill("#new-patient input[name=code]", "P-042")
        page.fill("#new-patient input[name=name]", "Browser Test")
        page.click("#new-patient button")
        page.wait_for_url("**/patients/*")
        patient_url = page.url
        page.fill("#new-visit input[name=clinician]", "Dr Chromium")
        page.check("#new-visit input[value='hip-flexion:left']")
        page.click("#new-visit button")
        page.wait_for_url("**/visits/*")
        visit_url = page.url
        record_url = page.get_attribute("#record-pre-hip-flexion-left", "href")
        browser.close()
        measured = {}
        for label in ("pre", "post"):
            url = server + record_url.replace("label=pre", f"label={label}")
            measured[label] = _record(playwright, url, fake_cameras[label][0], label, tmp_path)
        for label, (rom, fps) in measured.items():
            assert abs(rom - fake_cameras[label][1]) <= TOLERANCE_DEG, (label, rom)
            assert fps >= 8.0, f"live lights at {fps:.1f} frames/s"
        browser = _browser(playwright, fake_cameras["pre"][0])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(visit_url)
        verdict = page.wait_for_selector("#comparisons td.verdict", timeout=30_000)
        assert verdict.inner_text().startswith("improved")
        _shot(page, "web_visit", tmp_path)
        page.goto(patient_url)
        page.wait_for_selector("figure.history svg circle.post", timeout=30_000)
        points = page.eval_on_selector_all(
            "figure.history svg circle.point",
            "els => els.map(e => [e.classList[1], +e.dataset.rom])",
        )
        assert sorted(p[0] for p in points) == ["post", "pre"]
        for label, rom in points:
            assert rom == pytest.approx(measured[label][0], abs=0.01)
        assert page.is_visible("figure.history svg .mdc-band")
        _shot(page, "web_history", tmp_path)
        page.goto(server)
        _shot(page, "web_patients", tmp_path)
        browser.close()
        print(
            f"\nlive lights: {measured['pre'][1]:.1f} / {measured['post'][1]:.1f} frames/s; "
            f"ROM pre {measured['pre'][0]:.1f} (true {fake_cameras['pre'][1]:.1f}), "
            f"post {measured['post'][0]:.1f} (true {fake_cameras['post'][1]:.1f})"
        )
