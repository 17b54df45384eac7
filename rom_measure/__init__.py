"""rom_measure: joint range of motion from video, as a measuring instrument.

Public API (heavy dependencies such as MediaPipe load only when used)::

    from rom_measure import analyze_video, analyze_landmarks, MOVEMENTS
    result = analyze_video("clip.mp4", "hip-flexion", "left")
    result.rom_deg, result.rom.uncertainty_deg, result.quality.verdict
"""

from ._version import __version__
from .analysis import AnalysisSettings, Result, analyze_landmarks, analyze_video
from .errors import AssetError, InputError, RomMeasureError
from .landmarks import Landmark, LandmarkSeries, load_landmarks
from .movements import MOVEMENTS, Movement, get_movement

__all__ = [
    "MOVEMENTS",
    "AnalysisSettings",
    "AssetError",
    "InputError",
    "Landmark",
    "LandmarkSeries",
    "Movement",
    "Result",
    "RomMeasureError",
    "__version__",
    "analyze_landmarks",
    "analyze_video",
    "get_movement",
    "load_landmarks",
]
