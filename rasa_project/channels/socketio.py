"""Rasa's socket.io channel with session persistence that actually replies.

Rasa 3.6 calls `sio.enter_room(...)` without `await`; with the python-socketio
5.x that Rasa now installs, `enter_room` is a coroutine, so the socket never
joins the session's room and every reply (emitted to that room) is lost
(rasa issue #13027). This subclass re-registers the `session_request` handler
with the call awaited.

Rasa also switches Engine.IO's origin check off (`cors_allowed_origins=[]`), so a page
on any site could open a WebSocket to the bot (browsers apply no CORS to WebSockets).
Here the check is on: the page's own origin, plus `cors_allowed_origins` when serve
is given other origins. Everything else is Rasa's.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput
from sanic import Blueprint

OriginCheck = Callable[[str, dict[str, Any]], bool]


class SocketIOInput(RasaSocketIOInput):
    """socket.io input whose persistent sessions join their room.

    Attributes:
        cors_allowed_origins: origins besides the server's own allowed to connect from a
            browser (serve sets them from `--cors-origin`); empty means same origin only.
    """

    cors_allowed_origins: tuple[str, ...] = ()

    @classmethod
    def name(cls) -> str:
        return "socketio"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        socketio_webhook = super().blueprint(on_new_message)
        sio = self.sio
        assert sio is not None  # set by the parent's blueprint()
        # Engine.IO checks the Origin of every handshake, polling and WebSocket alike.
        sio.eio.cors_allowed_origins = _allowed_origins(self.cors_allowed_origins)

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: dict[str, Any] | None) -> None:
            data = data if isinstance(data, dict) else {}
            session_id = data.get("session_id") or uuid.uuid4().hex
            if not isinstance(session_id, str) or len(session_id) > 128:
                session_id = uuid.uuid4().hex
            if self.session_persistence:
                await sio.enter_room(sid, session_id, namespace=self.namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)

        return socketio_webhook


def _allowed_origins(extra: tuple[str, ...]) -> OriginCheck | None:
    """Engine.IO's `cors_allowed_origins`: None is its own same-origin check (the Host
    header, with the scheme from X-Forwarded-Proto); a list would drop the page's own
    origin, so other origins get a check that allows both."""
    if not extra:
        return None

    def allowed(origin: str, environ: dict[str, Any]) -> bool:
        return origin in extra or origin in _own_origins(environ)

    return allowed


def _own_origins(environ: dict[str, Any]) -> set[str]:
    """The server's origin as Engine.IO computes it for `cors_allowed_origins=None`."""
    host = environ.get("HTTP_HOST")
    if not host:
        return set()
    scheme = environ.get("wsgi.url_scheme", "http")
    forwarded_scheme = environ.get("HTTP_X_FORWARDED_PROTO", scheme).split(",")[0].strip()
    forwarded_host = environ.get("HTTP_X_FORWARDED_HOST", host).split(",")[0].strip()
    return {f"{scheme}://{host}", f"{forwarded_scheme}://{forwarded_host}"}
