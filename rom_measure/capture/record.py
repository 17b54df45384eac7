"""Guided recording of pre/post clips from a camera, a stream or a file.

The recorder is split by idea; this module gathers its public names:

- :mod:`~rom_measure.capture.feeds`: camera, stream and file feeds, and the capture thread;
- :mod:`~rom_measure.capture.writer`: the clip writer, capture timestamps, ``recording.json``;
- :mod:`~rom_measure.capture.flow`: the state machine of one take (countdown, still, move, keys);
- :mod:`~rom_measure.capture.preview_pose`: pose on the newest frame for the live preview;
- :mod:`~rom_measure.capture.session`: options, protocols, the session and the analysis;
- :mod:`~rom_measure.capture.command`: the thin ``record`` command line.
"""

from __future__ import annotations

from rom_measure.capture.command import cmd_record, register
from rom_measure.capture.feeds import CameraFeed, Capture, Feed, FileFeed, open_feed
from rom_measure.capture.flow import TakeFlow
from rom_measure.capture.preview_pose import PoseWorker
from rom_measure.capture.session import (
    PROTOCOLS,
    RecordOptions,
    Reporter,
    TakeOutcome,
    analyse_clip,
    protocol_steps,
    record_session,
)
from rom_measure.capture.writer import ClipWriter

__all__ = [
    "PROTOCOLS",
    "CameraFeed",
    "Capture",
    "ClipWriter",
    "Feed",
    "FileFeed",
    "PoseWorker",
    "RecordOptions",
    "Reporter",
    "TakeFlow",
    "TakeOutcome",
    "analyse_clip",
    "cmd_record",
    "open_feed",
    "protocol_steps",
    "record_session",
    "register",
]
