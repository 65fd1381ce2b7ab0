"""The page's own requests about a conversation: a vote on an answer, "delete this
conversation". Both only for a session id this server signed, from its own page."""

from __future__ import annotations

import asyncio
import logging
from functools import partial

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy.exc import SQLAlchemyError

from ldn_bot.exposure import Exposure
from ldn_bot.feedback import FeedbackError, parse_feedback, parse_forget
from ldn_bot.ledger.conversations import answer_of_bot_message, events_of
from ldn_bot.payloads import WIDGET_PAYLOADS
from ldn_bot.rest_request import is_json
from ldn_bot.senders import SessionSigner, namespaced
from ldn_bot.settings import Settings
from rasa_project.channels import SocketIOInput
from rasa_project.tracker_store import ledger_store

logger = logging.getLogger(__name__)

# How long a vote waits for the events of the turn it names to be stored.
EVENTS_WAIT_SECONDS = 2.0


def add_vote_routes(app: Sanic, cfg: Settings, exposure: Exposure, signer: SessionSigner) -> None:
    """`POST /api/feedback` and `POST /api/forget` on `app`."""

    @app.post("/api/feedback")
    async def feedback(request: Request) -> HTTPResponse:
        """A vote on a bot message of the caller's own web conversation, tied to its
        ledger row; one per message (the last counts).

        415 unless the body is JSON; 403 from another site (the `Origin` must be this
        server's or a configured CORS origin; browsers send it on every POST, so none
        means not our page) or for a session id this server did not sign; 400 for a
        malformed vote (`ldn_bot.feedback`); 404 for a message the conversation does
        not have.
        """
        if not is_json(request.headers.get("content-type")):
            return _error("send the vote as 'Content-Type: application/json'", 415)
        if not _same_site(request, exposure):
            return _error("votes are taken from this server's own page only", 403)
        try:
            vote = parse_feedback(request.body)
        except FeedbackError as error:
            return _error(str(error), 400)
        conversation = signer.verify(vote.session_id)
        if conversation is None:
            return _error("not a session of this server: reload the page", 403)
        sender_id = namespaced(SocketIOInput.name(), conversation)
        store = ledger_store(request.app.ctx.agent)
        if store is None:
            return _error("feedback is unavailable right now", 503)
        loop = request.app.loop
        try:
            # The turn's ledger row is written in the background: let it land first.
            await loop.run_in_executor(None, store.ledger_writer.flush, 2.0)
            message_id = None
            deadline = loop.time() + EVENTS_WAIT_SECONDS
            while message_id is None:
                events = await loop.run_in_executor(None, events_of, store.ledger.engine, sender_id)
                message_id = answer_of_bot_message(
                    sender_id, events, vote.bot_index, hidden=WIDGET_PAYLOADS
                )
                if message_id is not None or loop.time() >= deadline:
                    break
                # Rasa sends a turn's replies before it stores the turn: a vote cast at
                # once can come before the events it names are written.
                await asyncio.sleep(0.1)
            if message_id is None:  # none, or a welcome message: not an answer
                return _error("this conversation has no such answer", 404)
            await loop.run_in_executor(
                None,
                partial(
                    store.ledger.record_vote,
                    channel=SocketIOInput.name(),
                    sender_id=sender_id,
                    bot_index=vote.bot_index,
                    vote=vote.vote,
                    message_id=message_id,
                ),
            )
        except SQLAlchemyError:
            logger.exception("feedback: the vote could not be stored")
            return _error("feedback is unavailable right now", 503)
        return response.empty(status=204)

    @app.post("/api/forget")
    async def forget_conversation(request: Request) -> HTTPResponse:
        """The "Delete this conversation" button: `ldn-bot forget` for the caller's own
        web session only (its events, ledger rows, votes and set-aside items). The page
        then starts a new conversation with a new session id.

        415 unless the body is JSON; 403 from another site or for a session id this server
        did not sign (nothing is deleted); 400 for a malformed body; 503 when the
        database cannot be reached. 200 with what was removed.
        """
        if not is_json(request.headers.get("content-type")):
            return _error("send the request as 'Content-Type: application/json'", 415)
        if not _same_site(request, exposure):
            return _error("conversations are deleted from this server's own page only", 403)
        try:
            session_id = parse_forget(request.body)
        except FeedbackError as error:
            return _error(str(error), 400)
        conversation = signer.verify(session_id)
        if conversation is None:
            return _error("not a session of this server: reload the page", 403)
        sender_id = namespaced(SocketIOInput.name(), conversation)
        store = ledger_store(request.app.ctx.agent)
        if store is None:
            return _error("deleting is unavailable right now", 503)
        try:
            removed = await store.forget(sender_id, cfg.salt())
        except (SQLAlchemyError, OSError):
            logger.exception("forget: the conversation could not be deleted")
            return _error("deleting is unavailable right now", 503)
        return response.json(
            {
                "deleted": {
                    "events": removed.events,
                    "turns": removed.turns,
                    "votes": removed.votes,
                    "set_aside": removed.quarantined,
                }
            }
        )


def _error(reason: str, status: int) -> HTTPResponse:
    """A JSON error answer."""
    return response.json({"error": reason}, status=status)


def _same_site(request: Request, exposure: Exposure) -> bool:
    """Whether the request's `Origin` is this server (the host it was asked for, already
    checked against the allowed hosts) or a configured CORS origin."""
    origin = request.headers.get("origin")
    if not origin:
        return False
    if origin in exposure.cors_origins:
        return True
    return origin.lower() in own_origins(
        request.scheme, request.headers.get("host"), request.headers.get("x-forwarded-proto")
    )


def own_origins(scheme: str, host: str | None, forwarded_proto: str | None) -> set[str]:
    """This server's origins, scheme included, as the socket.io origin check takes them
    (`rasa_project.channels.socketio._own_origins`): the request's own scheme, or the
    one a proxy names in X-Forwarded-Proto (trusted there too), with the Host header
    (already checked against the allowed hosts; X-Forwarded-Host is not read)."""
    if not host:
        return set()
    schemes = {scheme.lower()}
    if forwarded_proto:
        schemes.add(forwarded_proto.split(",")[0].strip().lower())
    return {f"{name}://{host.lower()}" for name in schemes if name in ("http", "https")}
