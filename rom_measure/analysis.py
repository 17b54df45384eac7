"""Deprecated: ``rom_measure.analysis``
moved to ``rom_measure.measure.analysis`` and ``rom_measure.media.pipeline``.

Kept for one release; import from the new place (or from ``rom_measure``).
"""

from rom_measure._deprecated import moved_module

__getattr__ = moved_module(__name__, "rom_measure.measure.analysis", "rom_measure.media.pipeline")
