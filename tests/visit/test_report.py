"""The clinical report: sections, values, offline self-containment, de-identification, browser."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from rom_measure.cli import main
from rom_measure.errors import InputError
from rom_measure.measure.analysis import AnalysisSettings
from rom_measure.media.blur import blur_face, face_box, face_points
from rom_measure.media.landmark_file import save_landmarks
from rom_measure.visit.compare import load_result, visit_clip_dir
from rom_measure.visit.outputs import analyze_to_folder
from rom_measure.visit.report import Clip, clip_key_frames, save_visit_info, write_report
from tests.conftest import ffmpeg
from tests.stick_figure import ideal_camera, movement_clip

# movement, side, pre peak, post peak, repetitions, post camera off-plane (deg)
STICK_PLAN = [
    ("neck-flexion", "left", 38.0, 50.0, 2, 0.0),  # +12 > MDC95 9.6: improved
    ("hip-flexion", "left", 90.0, 92.0, 1, 0.0),  # +2 < 13: no detectable change
    ("ankle-dorsiflexion", "right", 20.0, 8.0, 2, 0.0),  # -12 > 8.3: decreased
    ("hip-abduction", "right", 35.0, 35.0, 1, 35.0),  # camera moved: not comparable
]
INFO = {"patient": "P-017", "clinician": "AB", "date": "2026-11-25",
        "notes": "Stiff neck <b>after</b> work & sport"}  # fmt: skip


EXACT = AnalysisSettings(calibrate=False)  # stick-figure landmarks: exact angles


def _analyse(visit: Path, label: str, movement: str, side: str, peak: float, reps: int,
             off_plane: float = 0.0) -> None:  # fmt: skip
    series, _ = movement_clip(movement, side, peak, ideal_camera(movement, side, off_plane),
                              reps=reps)  # fmt: skip
    if movement == "neck-flexion":  # the pose-point method reads the stick figure exactly
        series = series.replace(face=None)  # (its mesh in profile is ~1 deg off in perspective)
    landmarks = visit.parent / f"{visit.name}-{label}-{movement}.npz"
    save_landmarks(series, landmarks)
    analyze_to_folder(movement, side, visit_clip_dir(visit, label, movement, side),
                      landmarks=landmarks, settings=EXACT)  # fmt: skip


@pytest.fixture(scope="module")
def stick_visit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A visit analysed from stick-figure landmarks (no video): neck, hip and ankle."""
    visit = tmp_path_factory.mktemp("stick") / "visit"
    for movement, side, pre, post, reps, off in STICK_PLAN:
        _analyse(visit, "pre", movement, side, pre, reps)
        _analyse(visit, "post", movement, side, post, reps, off)
    _analyse(visit, "pre", "neck-rotation", "left", 50.0, 1)  # no post clip
    (visit / "post" / "half-written").mkdir()  # no results.json: incomplete
    return visit


@pytest.fixture(scope="module")
def stick_report(stick_visit: Path) -> str:
    """The stick visit's report.html text (written once)."""
    path = write_report(stick_visit, INFO)
    assert path == stick_visit / "report.html"
    return path.read_text(encoding="utf-8")


def _section(html: str, anchor: str) -> str:
    start = html.index(f'<section class="movement" id="{anchor}">')
    return html[start : html.index("</section>", start)]


def test_report_has_every_section_and_the_verdicts(stick_visit: Path, stick_report: str) -> None:
    html = stick_report
    # header, escaped notes
    for text in (
        "P-017",
        "2026-11-25",
        "AB",
        "Stiff neck &lt;b&gt;after&lt;/b&gt; work &amp; sport",
    ):
        assert text in html
    assert "<b>after</b>" not in html
    # summary table: one row per movement/side, verdicts as pills
    summary = html[html.index('<section id="summary">') : html.index("</section>")]
    assert summary.count("<tr>") == 1 + 5
    for label in ("Improved", "No detectable change", "Decreased", "Not comparable",
                  "Not available"):  # fmt: skip
        assert label in summary
    assert "post/half-written: no results.json" in summary
    # per movement: verdict, numbers, curves, bar chart, key frames note, warnings, videos
    neck = _section(html, "neck-flexion-left")
    assert "Improved" in neck and "+12.0°" in neck and "38.0°" in neck and "50.0°" in neck
    assert "9.6°" in neck  # Fletcher & Bandy MDC95
    ankle = _section(html, "ankle-dorsiflexion-right")
    assert "Decreased" in ankle and "-12.0°" in ankle
    hip = _section(html, "hip-flexion-left")
    assert "No detectable change" in hip and "+2.0°" in hip and "13.0°" in hip
    abduction = _section(html, "hip-abduction-right")
    assert "Not comparable" in abduction and "Filming differed: the camera angle" in abduction
    assert "off the ideal" in abduction  # plain-language quality warning of the post clip
    rotation = _section(html, "neck-rotation-left")
    assert "Not available" in rotation and "no after-treatment clip was recorded" in rotation
    for anchor in ("neck-flexion-left", "hip-flexion-left", "ankle-dorsiflexion-right"):
        section = _section(html, anchor)
        assert section.count("<svg") == 2  # curves (both panels) and bars
        assert 'class="plot curves"' in section and 'class="plot bars"' in section
        assert "video not available" in section and "no annotated video" in section
        if anchor == "neck-flexion-left":  # side-view neck pitch is never ok
            assert "treat this number as approximate" in section
            assert "No quality warnings" not in section
        else:
            assert "No quality warnings" in section
    assert "Normal: AAOS 121 ± 6.4" in hip  # normal ranges in the bar chart
    # appendix: definitions, normals and MDC with sources, method
    appendix = html[html.index('id="appendix"') :]
    for text in ("Head pitch from the face mesh in profile", "Fletcher &amp; Bandy 2008",
                 "Konor 2012, PMID 22666642", "Pua 2008", "1.96 × √2 × SEM",
                 "chin toward the chest is positive", "left hip, left knee"):  # fmt: skip
        assert text in appendix, text
    # visit.json and the comparison exports carry the visit information
    stored = json.loads((stick_visit / "visit.json").read_text())
    assert {k: stored[k] for k in INFO} == INFO
    exported = json.loads((stick_visit / "comparison.json").read_text())
    assert exported["visit"]["patient"] == "P-017" and len(exported["comparisons"]) == 4


def test_report_is_self_contained(stick_report: str) -> None:
    html = stick_report
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<link" not in html and "<script" not in html
    assert "@import" not in html and not re.search(r"url\(\s*['\"]?https?:", html)
    assert "<?xml" not in html and "<!DOCTYPE svg" not in html  # inline SVG, no prologue


def test_visit_info_is_reused_and_checked(stick_visit: Path, capsys) -> None:
    save_visit_info(stick_visit, INFO)
    html = write_report(stick_visit, {"clinician": "CD"}).read_text(encoding="utf-8")
    assert "P-017" in html and "CD" in html and "2026-11-25" in html
    assert json.loads((stick_visit / "visit.json").read_text())["clinician"] == "CD"
    with pytest.raises(InputError, match="invalid date"):
        write_report(stick_visit, {"date": "25/11/2026"})
    assert main(["report", str(stick_visit), "--date", "yesterday"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rom-measure: error: invalid date") and err.count("\n") == 1


def test_cli_writes_the_report(stick_visit: Path, tmp_path: Path, capsys) -> None:
    (stick_visit / "report.html").unlink(missing_ok=True)
    code = main(["report", str(stick_visit), "--patient", "P-017", "--clinician", "AB",
                 "--notes", "first visit", "--date", "2026-11-25", "--blur-faces"])  # fmt: skip
    assert code == 0 and (stick_visit / "report.html").is_file()
    html = (stick_visit / "report.html").read_text(encoding="utf-8")
    assert "first visit" in html and "face blurred" in html
    assert not re.search(r'href="[^"]*annotated\.mp4"', html)  # never an unblurred video
    assert main(["report", str(tmp_path)]) == 2
    assert "holds no analyses" in capsys.readouterr().err


def test_blur_changes_the_face_box_only() -> None:
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
    points = np.array([[150.0, 80.0], [170.0, 80.0], [160.0, 95.0], [np.nan, np.nan]])
    blurred = blur_face(image, points)
    x0, y0, x1, y1 = face_box(points, image.shape)
    assert x0 < 150 and x1 > 170 and y0 < 80 and y1 > 95  # covers the landmarks
    inside = np.zeros(image.shape[:2], bool)
    inside[y0:y1, x0:x1] = True
    assert np.array_equal(blurred[~inside], image[~inside])
    diff = np.abs(blurred.astype(int) - image.astype(int))[inside]
    assert diff.mean() > 40  # noise is gone
    assert blurred[inside].std() < 0.3 * image[inside].std()
    everything = blur_face(image, np.full((3, 2), np.nan))  # nothing locates the face
    assert np.abs(everything.astype(int) - image.astype(int)).mean() > 40


# -- with the pose model on a real clip ---------------------------------------------------


@pytest.fixture(scope="module")
def real_clip(shared_data: Path, pose_model: Path, tmp_path_factory) -> Path:
    """cam01 analysed once for hip flexion (right), no annotated video (speed)."""
    folder = tmp_path_factory.mktemp("real") / "hip-flexion_right"
    video = shared_data / "pose2sim_single" / "cam01.mp4"
    analyze_to_folder("hip-flexion", "right", folder, video=video, annotate=False)
    return folder


def _face_box_in_key_frame(folder: Path, frame, image: np.ndarray) -> tuple[int, ...]:
    from rom_measure.media.landmark_file import load_landmarks

    series = load_landmarks(folder / "landmarks.npz")
    scale = image.shape[1] / series.image_size[0]
    return face_box(face_points(series.pixels(), frame) * scale, image.shape)


def test_real_clip_report_key_frames_and_blur(real_clip: Path, tmp_path: Path) -> None:
    visit = tmp_path / "visit"
    for label in ("pre", "post"):
        shutil.copytree(real_clip, visit_clip_dir(visit, label, "hip-flexion", "right"))
    html = write_report(visit, INFO).read_text(encoding="utf-8")
    section = _section(html, "hip-flexion-right")
    images = re.findall(r'<img src="data:image/jpeg;base64,([^"]+)"', section)
    assert len(images) == 4  # neutral and peak, before and after
    assert "Before · neutral" in section and "After · peak of the largest repetition" in section
    assert "off the ideal" in section  # cam01 is oblique: the warning is shown
    import cv2

    first = cv2.imdecode(np.frombuffer(base64.b64decode(images[0]), np.uint8), cv2.IMREAD_COLOR)
    assert max(first.shape[:2]) == 560 and first.std() > 20

    clip = Clip("pre", real_clip, load_result(real_clip))
    plain, why = clip_key_frames(clip, blur_faces=False)
    blurred, _ = clip_key_frames(clip, blur_faces=True)
    assert not why and [k.kind for k in plain] == ["neutral", "peak"]
    for a, b in zip(plain, blurred, strict=True):
        x0, y0, x1, y1 = _face_box_in_key_frame(real_clip, a.frame, a.image)
        changed = np.abs(a.image.astype(int) - b.image.astype(int)).max(axis=2) > 0
        inside = np.zeros(changed.shape, bool)
        inside[y0:y1, x0:x1] = True
        assert changed[inside].mean() > 0.3  # the face is altered
        assert not changed[~inside].any()  # nothing else is


def test_annotated_video_blurs_faces(real_clip: Path, tmp_path: Path, shared_data: Path) -> None:
    """``write_annotated_video(blur_faces=True)`` on a small copy of the clip."""
    import cv2

    from rom_measure.measure.analysis import analyze_landmarks
    from rom_measure.media.annotate import write_annotated_video
    from rom_measure.media.landmark_file import load_landmarks

    small = tmp_path / "small.mp4"
    subprocess.run([ffmpeg(), "-v", "error", "-i", str(shared_data / "pose2sim_single" /
                    "cam01.mp4"), "-vf", "scale=270:480", "-c:v", "libx264", "-crf", "12",
                    "-pix_fmt", "yuv420p", str(small)], check=True)  # fmt: skip
    series = load_landmarks(real_clip / "landmarks.npz")
    result = analyze_landmarks(series, "hip-flexion", "right")
    result = dataclasses.replace(result, series=series.replace(image_size=(270, 480)))
    frames = {}
    for blur in (False, True):
        target = write_annotated_video(result, small, tmp_path / f"a{blur}.mp4", blur_faces=blur)
        capture = cv2.VideoCapture(str(target))
        frames[blur] = capture.read()[1].astype(int)
        capture.release()
    x0, y0, x1, y1 = face_box(face_points(result.series.pixels(), 0), frames[True].shape)
    diff = np.abs(frames[True] - frames[False]).mean(axis=2)
    inside = np.zeros(diff.shape, bool)
    inside[y0:y1, x0:x1] = True
    margin = np.zeros(diff.shape, bool)  # codec blocks may spill a little around the box
    margin[max(0, y0 - 16) : y1 + 16, max(0, x0 - 16) : x1 + 16] = True
    changed = diff > 15
    assert changed[inside].mean() > 0.1  # the face is blurred
    assert changed[~margin].mean() < 0.01  # elsewhere only codec noise


def _print_rules(html: str) -> dict[str, dict[str, str]]:
    """The ``@media print`` rules of the report's style sheet: selector -> declarations."""
    start = html.index("@media print {") + len("@media print {")
    depth, end = 1, start
    while depth:
        depth += {"{": 1, "}": -1}.get(html[end], 0)
        end += 1
    block = re.sub(r"/\*.*?\*/", "", html[start : end - 1], flags=re.S)
    rules: dict[str, dict[str, str]] = {}
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", block):
        declarations = dict(
            (k.strip(), v.strip()) for k, _, v in (d.partition(":") for d in body.split(";")) if v
        )
        for selector in selectors.split(","):
            rules.setdefault(" ".join(selector.split()), {}).update(declarations)
    return rules


class _Headings(HTMLParser):
    """For each ``<h4>``: its parent's class and how many children the parent has."""

    VOID = frozenset({"br", "img", "meta", "hr", "input", "link"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[list] = []  # [tag, class, children, has h4 first]
        self.kept: list[tuple[str, int]] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if self.stack:
            parent = self.stack[-1]
            parent[3] = parent[3] or (tag == "h4" and parent[2] == 0)
            parent[2] += 1
        if tag not in self.VOID:
            self.stack.append([tag, dict(attrs).get("class") or "", 0, False])

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        while self.stack:
            name, classes, children, first_h4 = self.stack.pop()
            if first_h4:
                self.kept.append((classes, children))
            if name == tag:
                break


def _heading_blocks(html: str) -> list[tuple[str, int]]:
    parser = _Headings()
    parser.feed(html[html.index("<main>") :])
    return parser.kept


def test_printing_keeps_blocks_whole(stick_report: str) -> None:
    """Printed to PDF, no figure, table row or report part is cut across two pages."""
    rules = _print_rules(stick_report)
    for selector in ("figure", ".part", ".tiles", ".sentence", "ul.warnings", ".appendix .def",
                     "tr", "header.visit"):  # fmt: skip
        assert rules[selector].get("break-inside") == "avoid", selector
    assert rules["thead"]["display"] == "table-header-group"  # repeated on every page
    assert rules["section.movement"]["break-before"] == "page"
    assert rules[".appendix"]["break-before"] == "page"
    assert all(rules[h]["break-after"] == "avoid" for h in ("h2", "h3", "h4", ".mhead"))
    # every sub-heading is the first child of a block that also holds its content
    kept = _heading_blocks(stick_report)
    assert len(kept) == 5 * 5 + 6  # five per movement section, six in the appendix
    assert all(classes in ("part", "def") and children > 1 for classes, children in kept)
    assert "@media screen and (max-width" in stick_report  # the narrow layout is not printed


# -- the report in a real browser ---------------------------------------------------------


def test_report_renders_in_headless_chromium(stick_report: str, tmp_path: Path) -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Chromium is not installed (Debian package 'chromium')")
    import cv2

    report = tmp_path / "report.html"
    report.write_text(stick_report, encoding="utf-8")
    shot = tmp_path / "report.png"
    subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-quic", f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
         "--window-size=1280,2000", report.resolve().as_uri()],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    image = cv2.imread(str(shot))
    assert image is not None and image.shape[:2] == (2000, 1280)
    assert image.std() > 25
    coarse = (image // 16).astype(np.int32).reshape(-1, 3)
    colours = np.unique(coarse[:, 0] * 256 + coarse[:, 1] * 16 + coarse[:, 2])
    assert len(colours) > 40  # text, table, verdict pills and plots, not a blank page
    # the verdict colours are on screen (improved green, decreased red)
    for bgr in ((0x45, 0x7B, 0x1E), (0x1E, 0x26, 0xB3)):
        assert (np.abs(image.astype(int) - bgr).max(axis=2) < 12).sum() > 200


def test_a_verdict_on_a_warning_result_is_marked_doubtful(tmp_path: Path) -> None:
    """A post result with a quality warning keeps its verdict, marked doubtful everywhere."""
    visit = tmp_path / "visit"
    _analyse(visit, "pre", "hip-flexion", "left", 60.0, 2)
    _analyse(visit, "post", "hip-flexion", "left", 80.0, 2)
    post = visit_clip_dir(visit, "post", "hip-flexion", "left") / "results.json"
    data = json.loads(post.read_text())
    data["quality"]["verdict"] = "warning"
    data["quality"]["reasons"] = ["the head left the picture in 10% of frames"]
    post.write_text(json.dumps(data))
    html = write_report(visit, INFO).read_text(encoding="utf-8")
    hip = _section(html, "hip-flexion-left")
    assert "Improved (doubtful)" in hip
    assert "This verdict is doubtful: after-treatment result has warnings" in hip


def test_a_failed_report_write_leaves_the_previous_report_set(
    stick_visit: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from rom_measure.visit import report as report_module

    assert main(["report", str(stick_visit), "--patient", "P-AAA"]) == 0
    before = {n: (stick_visit / n).read_bytes() for n in ("visit.json", "report.html")}
    real_write = report_module.atomic_write_text

    def full_disk(path: Path, text: str) -> None:
        if Path(path).name == "report.html":  # visit.json is already staged by now
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(path, text)

    monkeypatch.setattr(report_module, "atomic_write_text", full_disk)
    capsys.readouterr()
    code = main(["report", str(stick_visit), "--patient", "P-BBB"])
    err = capsys.readouterr().err
    assert code == 4 and "Traceback" not in err and err.count("\n") == 1
    assert "no space left on the device" in err
    after = {n: (stick_visit / n).read_bytes() for n in ("visit.json", "report.html")}
    assert after == before and b"P-AAA" in after["visit.json"]
    assert not [p for p in stick_visit.iterdir() if p.name.startswith(".rom-measure-run-")]


def test_before_and_after_replace_pre_and_post_but_not_inside_paths() -> None:
    from rom_measure.visit.report import _plain_comparison

    assert (
        _plain_comparison("the post clip has warnings") == "The after-treatment clip has warnings"
    )
    assert _plain_comparison("angles differ (pre 3°, post 9°).") == \
        "Angles differ (before-treatment 3°, after-treatment 9°)."  # fmt: skip
    path = "cannot read visit/post/hip-flexion_left/results.json or pre.json"
    assert _plain_comparison(path) == "C" + path[1:]
