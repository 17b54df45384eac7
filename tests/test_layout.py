"""The package layout: imports run downward only, no cycles, no module too long."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "rom_measure"

BASE = {"_version", "errors", "_fileio", "_deprecated", "_priority", "_options"}
# What each wing may import (besides itself and the base modules).
ALLOWED = {
    "measure": set(),
    "media": {"measure"},
    "visit": {"measure", "media"},
    "console": set(),
    "config": {"measure"},
    "capture": {"measure", "media", "visit", "console"},
    "batch": {"measure", "media", "visit"},
    "synth": {"measure", "media", "visit"},
    "web": {"measure", "media", "visit", "synth"},
    "cli": {"measure", "media", "visit", "console", "config", "capture", "batch", "synth", "web"},
    # The package front and the deprecated one-release shims re-export the core.
    "__init__": {"measure", "media"},
    "analysis": {"measure", "media"},
    "landmarks": {"measure", "media"},
    "movements": {"measure"},
}


def _wing(module: str) -> str:
    """``rom_measure.media.pose`` -> ``media``; base modules -> ``base``."""
    parts = module.split(".")
    head = parts[1] if len(parts) > 1 else "__init__"
    return "base" if head in BASE else head


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every rom_measure module imported anywhere in the file (functions included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _module_name(path).rsplit(".", 0 if path.name == "__init__.py" else 1)[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("rom_measure")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            if name.startswith("rom_measure"):
                # `from rom_measure.x import y` may import the module rom_measure.x.y
                found |= {name} | {f"{name}.{a.name}" for a in node.names if name.count(".") < 1}
    return found


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_imports_run_downward() -> None:
    wrong = []
    for path in _sources():
        wing = _wing(_module_name(path))
        allowed = {"base"} if wing == "base" else ALLOWED[wing] | {wing, "base"}
        for target in _imports(path):
            if _wing(target) not in allowed and target != "rom_measure":
                wrong.append(f"{_module_name(path)} imports {target}")
    assert not wrong, "\n".join(wrong)


def test_no_module_is_too_long() -> None:
    long = [f"{p.relative_to(PACKAGE)}: {n}" for p in _sources()
            if (n := len(p.read_text().splitlines())) > 620]  # fmt: skip
    assert not long


def test_import_does_no_work() -> None:
    """Importing the package loads no model, makes no folder and starts no thread."""
    code = (
        "import sys, threading, rom_measure\n"
        "heavy = ('mediapipe', 'cv2', 'matplotlib', 'scipy.signal')\n"
        "heavy = [m for m in heavy if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "assert threading.active_count() == 1\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("old", ["analysis", "landmarks", "movements"])
def test_old_import_paths_warn(old: str) -> None:
    code = (
        "import warnings\n"
        "with warnings.catch_warnings(record=True) as seen:\n"
        "    warnings.simplefilter('always')\n"
        f"    import rom_measure.{old} as m\n"
        "assert any(issubclass(w.category, DeprecationWarning) for w in seen)\n"
        "assert callable(getattr(m, 'get_movement', None) or getattr(m, 'LandmarkSeries', None)"
        " or getattr(m, 'analyze_video', None))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
