"""Rasa's socket.io channel with session persistence that actually replies.

Rasa 3.6 calls `sio.enter_room(...)` without `await`; with the python-socketio
5.x that Rasa now installs, `enter_room` is a coroutine, so the socket never
joins the session's room and every reply (emitted to that room) is lost
(rasa issue #13027). This subclass re-registers the `session_request` handler
with the call awaited, and the message handler so that any payload (not an object, a
message that is not text, a huge or unprintable session id) gets an answer or is
ignored, never an exception; messages are capped at 64 KB like HTTP bodies.

Rasa also switches Engine.IO's origin check off (`cors_allowed_origins=[]`), so a page
on any site could open a WebSocket to the bot (browsers apply no CORS to WebSockets).
Here the check is on: the page's own origin, plus `cors_allowed_origins` when serve
is given other origins.

Rasa takes the session id the client chooses, so any client could join and write into
any conversation by naming it. Here the server issues the ids, signed
(`ldn_bot.senders.SessionSigner`): a `session_request` with an id this server signed
continues that conversation (the widget keeps it in localStorage, so a reload goes on);
any other id gets a fresh one in `session_confirm`, and a message whose id is not signed
is ignored. The conversation is stored as `socketio:<random part>` (the namespace is added
where every channel's messages pass, `rasa_project.channels.registration`), and replies
go to the room of the random part. Everything else is Rasa's.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput
from rasa.core.channels.socketio import SocketIOOutput
from sanic import Blueprint

from ldn_bot.knowledge.article import load_article
from ldn_bot.metadata import MAX_METADATA_BYTES, MetadataError, checked_metadata
from ldn_bot.senders import SessionSigner, bare
from ldn_bot.settings import ARTICLE_PATH, settings
from ldn_bot.web_bubbles import VOTE_CLASS, bubble_text, votable
from rasa_project.channels.context import ChannelContext

logger = logging.getLogger(__name__)

OriginCheck = Callable[[str, dict[str, Any]], bool]
MAX_MESSAGE_BYTES = 64 * 1024


# The channel's settings in credentials.yml (which a stock `rasa run` reads), as `serve`
# uses them too.
SOCKETIO_SETTINGS = {
    "user_message_evt": "user_uttered",
    "bot_message_evt": "bot_uttered",
    "session_persistence": True,
}


class SocketIOInput(RasaSocketIOInput):
    """socket.io input whose persistent sessions join their room.

    Attributes:
        cors_allowed_origins: origins besides the server's own allowed to connect from a
            browser (serve sets them from `--cors-origin`); empty means same origin only.
        session_signer: issues and checks session ids; by default keyed by the ledger
            salt (`LDN_BOT_SALT` or `var/salt`), so servers sharing a database share it.
    """

    cors_allowed_origins: tuple[str, ...] = ()
    session_signer: SessionSigner | None = None

    @classmethod
    def name(cls) -> str:
        """The channel's name in `credentials.yml`."""
        return "socketio"

    def get_output_channel(self) -> SocketIOOutput | None:
        """Replies to the conversation's room; None until `blueprint` made the server."""
        if self.sio is None:
            return None
        return _RoomOutput(self.sio, self.bot_message_evt)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Rasa's socket.io server with origins checked, messages bounded in size and
        session ids signed by this server."""
        socketio_webhook = super().blueprint(on_new_message)
        sio = self.sio
        assert sio is not None  # set by the parent's blueprint()
        # Engine.IO checks the Origin of every handshake, polling and WebSocket alike.
        sio.eio.cors_allowed_origins = _allowed_origins(self.cors_allowed_origins)

        # The same size limit as the HTTP routes (Engine.IO's default is 1 MB).
        sio.eio.max_http_buffer_size = MAX_MESSAGE_BYTES

        signer = self.session_signer or SessionSigner(settings().salt())

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: Any = None) -> None:
            """Confirms the browser's session id when this server signed it; anything
            else (none, malformed, guessed, forged) gets a fresh signed one."""
            data = data if isinstance(data, dict) else {}
            session_id = data.get("session_id")
            conversation = signer.verify(session_id)
            if conversation is None:
                session_id = signer.issue()
                conversation = signer.verify(session_id)
            if self.session_persistence:
                await sio.enter_room(sid, conversation, namespace=self.namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: str, data: Any = None) -> None:
            """Rasa's handler, for any payload: a message that is not text is answered as
            an empty one, and a payload without a session id this server signed is
            ignored (as Rasa ignores one without any) instead of raising in the handler."""
            data = data if isinstance(data, dict) else {}
            sender_id = signer.verify(data.get("session_id")) if self.session_persistence else sid
            if sender_id is None:
                logger.warning("socket.io message without a valid session id ignored")
                return
            text = data.get("message")
            metadata = _metadata(data.get(self.metadata_key))
            await on_new_message(
                UserMessage(
                    text if isinstance(text, str) else "",
                    _RoomOutput(sio, self.bot_message_evt),
                    sender_id,
                    input_channel=self.name(),
                    metadata=metadata,
                )
            )

        return socketio_webhook


def _metadata(raw: Any) -> dict[str, Any]:
    """The message's metadata object (Rasa also accepts it as a JSON string), or {} when
    there is none or it is not small, shallow, plain JSON (`checked_metadata`).

    Dropped rather than refused: the person typed the message and gets an answer; the
    widget never sends such metadata, so only a hand-made client does, and the warning
    tells the operator.
    """
    if raw is None:
        return {}
    if isinstance(raw, str):
        if len(raw) > MAX_METADATA_BYTES:
            logger.warning(
                "socket.io message metadata dropped: more than %d bytes", MAX_METADATA_BYTES
            )
            return {}
        try:
            raw = json.loads(raw)
        except (ValueError, RecursionError):
            logger.warning("socket.io message metadata dropped: not a JSON object")
            return {}
    try:
        return checked_metadata(raw)
    except MetadataError as error:
        logger.warning("socket.io message metadata dropped: %s", error)
        return {}


class _RoomOutput(SocketIOOutput):
    """Emits each reply to the room of its conversation: the stored sender id is
    `socketio:<conversation>` (`ldn_bot.senders`), the room is `<conversation>`.

    Each reply is one bubble (Rasa's split it on blank lines), its text as the widget's
    Markdown (`ldn_bot.web_bubbles`): an article answer and its source line together,
    the source linking to the quoted passage. The first reply of the turn that answers or
    refers carries the class the widget puts the turn's thumbs under (one output channel
    serves one message, so one turn)."""

    def __init__(self, sio: Any, bot_message_evt: str) -> None:
        super().__init__(sio, bot_message_evt)
        self._vote_given = False

    async def _send_message(self, socket_id: str, response: Any) -> None:
        await super()._send_message(bare(self.name(), socket_id), response)

    def _bubble(self, text: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        response = kwargs.get("utter_action")
        bubble: dict[str, Any] = {
            "text": bubble_text(
                text,
                response=response,
                citations=kwargs.get("citations"),
                article=load_article(ARTICLE_PATH),
            )
        }
        if not self._vote_given and votable(response):
            self._vote_given = True
            bubble["metadata"] = {"customCss": {"style": "class", "css": VOTE_CLASS}}
        return bubble

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._send_message(recipient_id, self._bubble(text, kwargs))

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        bubble = self._bubble(text, kwargs)
        bubble["quick_replies"] = [
            {"content_type": "text", "title": button["title"], "payload": button["payload"]}
            for button in buttons
        ]
        await self._send_message(recipient_id, bubble)


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


def served(context: ChannelContext) -> SocketIOInput:
    """socket.io as `serve` runs it: the page's channel, its sessions signed."""
    channel = SocketIOInput.from_credentials(dict(SOCKETIO_SETTINGS))
    channel.cors_allowed_origins = context.exposure.cors_origins
    channel.session_signer = context.signer
    return channel
