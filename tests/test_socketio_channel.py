"""Regression: Rasa 3.6's socket.io channel with `session_persistence: true` never
joins the session's room (`enter_room` not awaited, rasa #13027), so no reply
reaches the browser. Our subclass awaits it."""

from __future__ import annotations

import asyncio
from typing import Any

from rasa.core.channels.socketio import SocketIOInput as StockSocketIOInput

from rasa_project.channels import SocketIOInput


async def _noop(_message: Any) -> None:
    return None


def _rooms_after_session_request(channel: StockSocketIOInput) -> dict[str, Any]:
    channel.blueprint(_noop)
    sio = channel.sio
    assert sio is not None

    async def run() -> dict[str, Any]:
        sio.manager.set_server(sio)
        sid = await sio.manager.connect("engineio-1", "/")
        handler = sio.handlers["/"]["session_request"]
        await handler(sid, {"session_id": "conversation-42"})
        members = sio.manager.rooms["/"].get("conversation-42", {})
        return {"joined": sid in members}

    return asyncio.run(run())


def test_socketio_session_persistence_joins_the_session_room() -> None:
    assert _rooms_after_session_request(SocketIOInput(session_persistence=True))["joined"]


def test_stock_channel_does_not_join_the_room_which_is_why_we_subclass() -> None:
    stock = StockSocketIOInput(session_persistence=True)
    assert not _rooms_after_session_request(stock)["joined"]


def test_bad_session_ids_are_replaced() -> None:
    channel = SocketIOInput(session_persistence=True)
    channel.blueprint(_noop)
    sio = channel.sio
    assert sio is not None

    async def run() -> dict[str, Any]:
        sio.manager.set_server(sio)
        sid = await sio.manager.connect("engineio-2", "/")
        await sio.handlers["/"]["session_request"](sid, {"session_id": "x" * 1000})
        await sio.handlers["/"]["session_request"](sid, "not a dict")
        return sio.manager.rooms["/"]

    rooms = asyncio.run(run())
    assert all(len(room or "") <= 128 for room in rooms)
