"""Regression: Rasa 3.6's socket.io channel with `session_persistence: true` never
joins the session's room (`enter_room` not awaited, rasa #13027), so no reply
reaches the browser. Our subclass awaits it."""

from __future__ import annotations

import asyncio
from typing import Any

from rasa.core.channels.socketio import SocketIOInput as StockSocketIOInput

from ldn_bot.senders import SessionSigner
from rasa_project.channels import SocketIOInput

SIGNER = SessionSigner("socketio-test-secret")


async def _noop(_message: Any) -> None:
    return None


def _rooms_after_session_request(
    channel: StockSocketIOInput, session_id: str, room: str
) -> dict[str, Any]:
    channel.blueprint(_noop)
    sio = channel.sio
    assert sio is not None

    async def run() -> dict[str, Any]:
        sio.manager.set_server(sio)
        sid = await sio.manager.connect("engineio-1", "/")
        handler = sio.handlers["/"]["session_request"]
        await handler(sid, {"session_id": session_id})
        members = sio.manager.rooms["/"].get(room, {})
        return {"joined": sid in members}

    return asyncio.run(run())


def _ours() -> SocketIOInput:
    channel = SocketIOInput(session_persistence=True)
    channel.session_signer = SIGNER
    return channel


def test_socketio_session_persistence_joins_the_session_room() -> None:
    session = SIGNER.issue()
    room = SIGNER.verify(session)
    assert room is not None
    assert _rooms_after_session_request(_ours(), session, room)["joined"]


def test_stock_channel_does_not_join_the_room_which_is_why_we_subclass() -> None:
    stock = StockSocketIOInput(session_persistence=True)
    assert not _rooms_after_session_request(stock, "conversation-42", "conversation-42")["joined"]


def test_a_client_chosen_session_id_joins_no_room_of_that_name() -> None:
    assert not _rooms_after_session_request(_ours(), "conversation-42", "conversation-42")["joined"]


def test_bad_session_ids_are_replaced() -> None:
    channel = _ours()
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
