"""The TOML configuration: defaults in one place, every bad entry named, flags override."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from rom_measure.cli import build_parser, main
from rom_measure.config import ConfigError, Settings, load_settings
from rom_measure.measure.analysis import AnalysisSettings
from rom_measure.media.landmark_file import save_landmarks

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

CLINIC = """
[analysis]
lowpass_hz = 4
outlier_sigmas = 3.5

[output]
annotate = false
blur_faces = true
report = false
folder = "rom-results"

[run]
workers = 3
"""


def write(folder: Path, text: str, name: str = "clinic.toml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def parse(settings: Settings, *argv: str):
    return build_parser(settings).parse_args(list(argv))


def test_no_file_means_the_dataclass_defaults() -> None:
    assert load_settings(None) == Settings()
    assert Settings().analysis == AnalysisSettings()


def test_file_values_are_typed_and_relative_paths_follow_the_file(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, CLINIC))
    assert settings.analysis.lowpass_hz == 4.0 and isinstance(settings.analysis.lowpass_hz, float)
    assert settings.analysis.outlier_sigmas == 3.5
    assert settings.analysis.max_gap_s == AnalysisSettings().max_gap_s  # not in the file
    assert (settings.output.annotate, settings.output.blur_faces) == (False, True)
    assert settings.output.folder == tmp_path / "rom-results"
    assert settings.run.workers == 3


def test_flags_override_the_file_which_overrides_the_defaults(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, CLINIC))
    analyze = ("analyze", "clip.mp4", "-m", "hip-flexion", "-s", "left")
    args = parse(settings, *analyze)
    assert (args.annotate, args.lowpass_hz, args.calibrate) == (False, 4.0, True)
    args = parse(settings, *analyze, "--annotate", "--lowpass-hz", "7", "--no-calibration")
    assert (args.annotate, args.lowpass_hz, args.calibrate) == (True, 7.0, False)
    assert parse(Settings(), *analyze).annotate is True  # no file: the default

    args = parse(settings, "batch", "clips")  # --out is required unless the file gives it
    assert (args.out, args.workers, args.annotate, args.reports) == (
        tmp_path / "rom-results", 3, False, False)  # fmt: skip
    args = parse(settings, "batch", "clips", "--out", "elsewhere", "-j", "1", "--reports")
    assert (args.out, args.workers, args.reports) == (Path("elsewhere"), 1, True)
    with pytest.raises(SystemExit):
        parse(Settings(), "batch", "clips")
    assert parse(settings, "validate").workers == 3
    assert parse(settings, "report", "visit").blur_faces is True
    assert parse(settings, "report", "visit", "--no-blur-faces").blur_faces is False


def test_working_folder_file_is_found_and_config_flag_wins(
    capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "[run]\nworkers = 5\n", "rom-measure.toml")
    other = write(tmp_path, "[run]\nworkers = 2\n")
    assert main(["config", "--show"]) == 0
    shown = capsys.readouterr().out
    assert tomllib.loads(shown)["run"]["workers"] == 5
    assert str(tmp_path / "rom-measure.toml") in shown
    assert main(["config", "--show", "--config", str(other)]) == 0  # after the command
    assert tomllib.loads(capsys.readouterr().out)["run"]["workers"] == 2
    assert main(["--config", str(other), "config"]) == 0  # or before it
    assert tomllib.loads(capsys.readouterr().out)["run"]["workers"] == 2


def test_show_round_trips(tmp_path: Path, capsys) -> None:
    clinic = write(tmp_path, CLINIC)
    assert main(["config", "--show", "--config", str(clinic)]) == 0
    shown = write(tmp_path, capsys.readouterr().out, "shown.toml")
    assert load_settings(shown) == load_settings(clinic)
    assert main(["config", "--show", "--config", str(tmp_path / "none.toml")]) == 2


BAD = """
[analysis]
lowpass = 6.0
outlier_sigmas = "3"
max_gap_s = -1
calibrate = 1

[output]
annotate = "no"

[run]
workers = 0

[ouput]
folder = "x"
"""


def test_every_bad_key_and_value_is_named_in_one_line(tmp_path: Path, capsys) -> None:
    bad = write(tmp_path, BAD)
    with pytest.raises(ConfigError) as error:
        load_settings(bad)
    message = str(error.value)
    for part in ["unknown key analysis.lowpass (did you mean 'lowpass_hz'?)",
                 'analysis.outlier_sigmas must be a number, not "3"',
                 "analysis.max_gap_s must be at least 0, not -1",
                 "analysis.calibrate must be true or false, not 1",
                 'output.annotate must be true or false, not "no"',
                 "run.workers must be at least 1, not 0",
                 "unknown section 'ouput' (did you mean 'output'?)"]:  # fmt: skip
        assert part in message
    assert main(["--config", str(bad), "movements"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"rom-measure: error: {bad}: ")


@pytest.mark.parametrize("text, part", [
    ("[analysis\nlowpass_hz = 1", "is not valid TOML"),
    ("analysis = 3", "[analysis] must be a table, not 3"),
    ("[analysis]\nlowpass_hz = 0", "analysis.lowpass_hz must be above 0, not 0"),
    ("[analysis]\nlowpass_hz = nan", "analysis.lowpass_hz must be finite"),
    ("[run]\nmodel = \"\"", "run.model must be a path (text string)"),
])  # fmt: skip
def test_malformed_files(tmp_path: Path, capsys, text: str, part: str) -> None:
    assert main(["--config", str(write(tmp_path, text)), "movements"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and part in err[0], err


def test_analysis_settings_from_the_file_reach_the_result(tmp_path: Path, capsys) -> None:
    from tests.stick_figure import ideal_camera, movement_clip

    series, _ = movement_clip("hip-flexion", "left", 50.0, ideal_camera("hip-flexion", "left"))
    save_landmarks(series, tmp_path / "landmarks.npz")
    clinic = write(tmp_path, "[analysis]\nlowpass_hz = 4.5\nmax_gap_s = 0.1\n")
    base = ["analyze", "--landmarks", str(tmp_path / "landmarks.npz"), "-m", "hip-flexion",
            "-s", "left", "--json", "--config", str(clinic)]  # fmt: skip

    def steps(*extra: str) -> dict[str, dict]:
        assert main([*base, *extra]) == 0
        return {p["step"]: p["params"] for p in json.loads(capsys.readouterr().out)["processing"]}

    used = steps()
    assert used["butterworth_zero_phase"]["cutoff_hz"] == 4.5
    assert used["fill_short_gaps"]["max_gap_s"] == 0.1
    assert steps("--lowpass-hz", "3")["butterworth_zero_phase"]["cutoff_hz"] == 3.0
