"""Deprecated: ``rom_measure.landmarks``
moved to ``rom_measure.measure.landmarks`` and ``rom_measure.media.landmark_file``.

Kept for one release; import from the new place (or from ``rom_measure``).
"""

from rom_measure._deprecated import moved_module

__getattr__ = moved_module(
    __name__, "rom_measure.measure.landmarks", "rom_measure.media.landmark_file"
)
