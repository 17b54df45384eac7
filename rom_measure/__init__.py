"""rom_measure: joint range of motion from video, as a measuring instrument.

Public API (heavy dependencies such as MediaPipe load only when used)::

    from rom_measure import analyze_video, analyze_landmarks, MOVEMENTS
    result = analyze_video("clip.mp4", "hip-flexion", "left")
    result.rom_deg, result.rom.uncertainty_deg, result.quality.verdict
"""

from rom_measure._version import __version__
from rom_measure.errors import AssetError, InputError, RomMeasureError
from rom_measure.measure.analysis import AnalysisSettings, Result, analyze_landmarks
from rom_measure.measure.landmarks import Landmark, LandmarkSeries
from rom_measure.measure.movements import MOVEMENTS, Movement, get_movement
from rom_measure.media.landmark_file import load_landmarks
from rom_measure.media.pipeline import analyze_video

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
