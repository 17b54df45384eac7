"""Live quality lights over a WebSocket: the page sends downscaled JPEG frames, the
server answers each with the lights, the skeleton and the live angle.

Protocol (``/ws/live?movement=M&side=S``): binary messages are JPEG frames; the text
message ``reset`` takes the next second as the live angle's zero. Each frame gets
one JSON answer ``{"seq", "signals": [{"name", "state", "message"}], "ready",
"angle_deg", "landmarks": [[x, y, visibility] * 33] | null, "pose_ms"}``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from rom_measure.web import security

__all__ = ["LiveHooks", "router", "state_message"]

log = logging.getLogger(__name__)
router = APIRouter()
MAX_FRAME_BYTES = 2_000_000


@dataclass(frozen=True)
class LiveHooks:
    """The guided-recording pieces, handed in by the caller (the CLI owns the capture wing).

    ``analyzer(movement, side, backend)`` returns an object with ``update(bgr, seq)`` ->
    a LiveState and ``reset_baseline()``; ``instructions(movement, side)`` returns the
    (camera placement, movement) texts.
    """

    analyzer: Callable[[Any, str, Any], Any]
    instructions: Callable[[str, str], tuple[str, str]]


def state_message(state: Any) -> dict[str, Any]:
    """The JSON answer for one :class:`rom_measure.capture.live.LiveState`."""
    marks = None
    if state.image is not None:
        marks = [[round(float(x), 4), round(float(y), 4), round(float(v), 3)]
                 for (x, y, _), v in zip(state.image, state.visibility, strict=True)]  # fmt: skip
    angle = state.angle_deg
    return {
        "seq": state.seq,
        "signals": [
            {"name": s.name, "state": s.state, "message": s.message} for s in state.signals
        ],
        "ready": state.ready,
        "angle_deg": round(angle, 1) if math.isfinite(angle) else None,
        "landmarks": marks,
        "pose_ms": round(state.pose_ms, 1),
    }


def _allowed(websocket: WebSocket) -> bool:
    app = websocket.app
    origin = websocket.headers.get("origin")
    host = websocket.headers.get("host", "")
    if origin and origin.split("://", 1)[-1] != host:
        return False  # another site's page
    sid = websocket.cookies.get(security.SESSION_COOKIE)
    with app.state.sessions() as db:
        if app.state.settings.require_login or security.has_accounts(db):
            return security.session_account(db, sid) is not None
    return True


def _analyzer(hooks: LiveHooks, movement: str, side: str, model: str | None) -> Any:
    from rom_measure.measure.movements import check_side, get_movement
    from rom_measure.media.assets import pose_model_path
    from rom_measure.media.pose import MediaPipePose

    move, side = get_movement(movement), check_side(side)
    return hooks.analyzer(move, side, MediaPipePose(pose_model_path(model)))


def _analyse(analyzer: Any, data: bytes, seq: int) -> dict[str, Any] | None:
    import cv2
    import numpy as np

    frame = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if frame is None:
        return None
    return state_message(analyzer.update(frame, seq))


@router.websocket("/ws/live")
async def live(websocket: WebSocket, movement: str, side: str) -> None:
    if not _allowed(websocket):
        await websocket.close(code=1008)
        return
    await websocket.accept()
    loop = asyncio.get_running_loop()
    hooks = websocket.app.state.live
    try:
        if hooks is None:
            raise RuntimeError("live lights are not available in this server")
        analyzer = await loop.run_in_executor(
            None, _analyzer, hooks, movement, side, websocket.app.state.settings.model
        )
    except Exception as error:  # unknown movement, missing model: one line to the page
        await websocket.send_text(json.dumps({"error": str(error).splitlines()[0][:300]}))
        await websocket.close()
        return
    seq = 0
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            if message.get("text") == "reset":
                analyzer.reset_baseline()
                continue
            data = message.get("bytes")
            if not data or len(data) > MAX_FRAME_BYTES:
                continue
            seq += 1
            answer = await loop.run_in_executor(None, _analyse, analyzer, data, seq)
            if answer is not None:
                await websocket.send_text(json.dumps(answer))
    except WebSocketDisconnect:
        pass
    finally:
        analyzer.backend.close()
