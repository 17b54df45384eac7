"""Fixtures shared by the synthetic-body tests."""

from __future__ import annotations

import pytest

from rom_measure.errors import RomMeasureError


@pytest.fixture(scope="module")
def body():
    """The CC0 synthetic body (skips when it cannot be provisioned)."""
    from rom_measure.synth import load_body

    try:
        return load_body()
    except RomMeasureError as exc:  # body not provisioned (offline)
        pytest.skip(f"synthetic body unavailable: {exc}")
