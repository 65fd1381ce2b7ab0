"""The server `ldn-bot serve` runs: Rasa's channels plus the chat page, one Sanic app.

Built like `rasa.core.run.configure_app`, minus what a public deployment must
not expose (`ldn_bot.exposure` says what is open):
- the Rasa HTTP API only when asked for, with a token, read-only (`http_api.py`);
- no version banner on `/`;
- CORS only for the configured origins (the page is served from the same origin as the
  socket.io channel, so the widget needs none);
- REST only on loopback or with a token (`channels/rest.py`);
- a request whose body framing is ambiguous (bad `Content-Length`, `Transfer-Encoding`
  tricks, two `Host` headers) refused with 400 before any body is read
  (`ldn_bot.http_framing`);
- every request answered only when its `Host` names this server (421 otherwise), so a
  DNS-rebinding page cannot reach a loopback server;
- each channel's conversations under its own namespace (`rest:alice`,
  `socketio:<session>`, `slack:U123_C456`, `ldn_bot.senders`), added where every
  channel's messages pass (`_register`), so an id sent on one channel never names
  another channel's conversation.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import re
import signal
import threading
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.run import close_resources, create_http_input_channels, load_agent_on_start
from rasa.core.utils import AvailableEndpoints
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sanic_cors import CORS
from sqlalchemy.exc import SQLAlchemyError

from ldn_bot.article_page import article_page, marked_units
from ldn_bot.exposure import Exposure, RestAccess
from ldn_bot.feedback import FeedbackError, parse_feedback, parse_forget
from ldn_bot.http_framing import refuse_ambiguous_framing
from ldn_bot.knowledge.article import load_article
from ldn_bot.ledger.conversations import answer_of_bot_message, events_of
from ldn_bot.payloads import WIDGET_PAYLOADS, as_sent, button_payloads
from ldn_bot.rest_request import is_json
from ldn_bot.senders import SessionSigner, namespaced
from ldn_bot.settings import settings
from ldn_bot.slack import MemoryEventLedger, RedisEventLedger, SlackConfig
from rasa_project.channels import RestInput, SocketIOInput
from rasa_project.http_api import add_read_only_routes, rasa_api
from rasa_project.tracker_store import ledger_store

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
KEEP_ALIVE_SECONDS = 75
# On SIGTERM or Ctrl-C, how long requests in flight may take to finish (a turn takes well
# under a second; the action call is bounded to 10 s). Open socket.io connections are
# closed after it. With the stores' last writes after it (bounded, also with the database
# locked: what cannot be written is kept in the quarantine file), serve exits within
# about 10 s.
GRACEFUL_SHUTDOWN_SECONDS = 6.0
STORES_AT_EXIT_SECONDS = 4.0
# CORS headers for every route but socket.io's, which Engine.IO answers itself (two
# Access-Control-Allow-Origin headers would make browsers refuse the answer).
CORS_RESOURCES = r"^/(?!socket\.io/).*"
MISDIRECTED_REQUEST = 421
# A Host header that may go into the Content-Security-Policy as it is.
_PLAIN_HOST = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")


def create_app(
    *,
    model_path: Path,
    endpoints: AvailableEndpoints,
    credentials: Path,
    static_dir: Path,
    exposure: Exposure,
    slack: SlackConfig | None = None,
    redis_url: str | None = None,
    action_server: Callable[[], Mapping[str, Any]] | None = None,
) -> Sanic:
    """The Sanic app: channels under /webhooks/, socket.io at /socket.io, the page at /,
    the article it quotes at /article, feedback votes at /api/feedback and a health
    check at /health.

    `exposure` says whether REST is served and with which token, which other origins
    get CORS and whether the read-only Rasa HTTP API is on. Slack
    (/webhooks/slack/webhook) is on only when `slack` settings are given; with
    `redis_url` its de-duplication is shared by every server. `action_server` gives the
    supervisor's view of the action server for /health (`SupervisedActionServer.status`).
    """
    api = rasa_api(exposure.api, endpoints) if exposure.api is not None else None
    # With the API on, both apps share one context: Rasa's handlers find the agent there.
    app = Sanic("ldn_bot", configure_logging=False, ctx=api.ctx if api else None)
    app.config.REQUEST_MAX_SIZE = MAX_BODY_BYTES
    # Longer than a load balancer's idle timeout (60 s on most), so the balancer, not this
    # server, closes idle connections: otherwise a request can race the close and be reset.
    app.config.KEEP_ALIVE_TIMEOUT = KEEP_ALIVE_SECONDS
    app.config.GRACEFUL_SHUTDOWN_TIMEOUT = GRACEFUL_SHUTDOWN_SECONDS
    # 400 and close for a negative or doubled Content-Length, smuggling shapes, two Hosts.
    refuse_ambiguous_framing(app)

    @app.on_request
    async def check_host(request: Request) -> HTTPResponse | None:
        """Every route, socket.io and Slack included: only this server's host names.
        X-Forwarded-Host is not read (a proxy must pass the Host it was asked for)."""
        if exposure.host_allowed(request.headers.get("host")):
            return None
        return response.json(
            {
                "error": "this server does not answer for that Host header: start it with "
                "--allowed-host NAME (or --public-url) for the names clients use"
            },
            status=MISDIRECTED_REQUEST,
        )

    if exposure.cors_origins:
        CORS(
            app,
            resources={CORS_RESOURCES: {"origins": list(exposure.cors_origins)}},
            automatic_options=True,
        )
    if api is not None:
        add_read_only_routes(app, api)
    # Keyed by the ledger salt: servers sharing a database (and LDN_BOT_SALT) share it.
    signer = SessionSigner(settings().salt())
    input_channels = _exposed(create_http_input_channels(None, str(credentials)), exposure, signer)
    if slack is not None:
        from rasa_project.channels.slack import SlackInput

        seen = RedisEventLedger(redis_url) if redis_url else MemoryEventLedger()
        input_channels.append(SlackInput.from_config(slack, ledger=seen))
    _register(input_channels, app)

    @app.on_response
    async def security_headers(request: Request, answer: HTTPResponse) -> None:
        """Every answer: no MIME sniffing, no Referer, never inside another site's frame,
        and a content policy the page satisfies (`content_policy`)."""
        add_security_headers(answer.headers, request.headers.get("host"))

    @app.route("/", methods=["GET", "HEAD"])
    async def index(_: Request) -> HTTPResponse:
        return await response.file(static_dir / "index.html")

    @app.route("/article", methods=["GET", "HEAD"])
    async def article(request: Request) -> HTTPResponse:
        """The article the assistant quotes, the units `?q=s11,s12` names highlighted
        (`ldn_bot.article_page`); any other query gives the plain article."""
        text = settings().article_path
        source = load_article(text)
        marked = marked_units(source, request.args.getlist("q", []))
        return response.html(article_page(source, marked=marked))

    @app.get("/config.js")
    async def config_js(_: Request) -> HTTPResponse:
        config = {
            "socketUrl": "",
            "socketPath": "/socket.io/",
            "feedbackUrl": "./api/feedback",
            "forgetUrl": "./api/forget",
            # What the page's privacy text says is stored, and for how long.
            "retentionDays": settings().retention_days,
            "ledgerText": settings().ledger_text,
        }
        return response.text(
            f"window.LDN_CONFIG = {json.dumps(config)};\n",
            content_type="application/javascript",
        )

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
            events = await loop.run_in_executor(None, events_of, store.ledger.engine, sender_id)
            message_id = answer_of_bot_message(
                sender_id, events, vote.bot_index, hidden=WIDGET_PAYLOADS
            )
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
        """ "Delete this conversation": `ldn-bot forget` for the caller's own web session
        only (its events, ledger rows, votes and set-aside items). The page then starts
        a new conversation with a new session id.

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
            removed = await store.forget(sender_id, settings().salt())
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

    @app.get("/health")
    async def health(request: Request) -> HTTPResponse:
        """The server's state and its stores': "loading" (503) until the model is ready,
        then "ok", or "degraded" while a store cannot reach its database or has set items
        aside ("poisoned": they could not be written; each is logged and kept in the
        quarantine file under var/), or while the action server is unavailable ("actions":
        since when and why; the supervisor restarts it; article questions get "I can't
        answer that right now" meanwhile, the safety replies are unaffected).

        Degraded is still 200: the bot keeps answering (conversations continue from memory
        and what could not be written waits there), so a load balancer must keep sending
        traffic, and restarting the server would lose what waits. Monitoring reads
        "status" and each store's "available", "poisoned" and "last_error". Only memory is
        read here, never the database: this answers while the database is locked.
        """
        agent = getattr(request.app.ctx, "agent", None)
        store = ledger_store(agent)
        conversations = store.health() if store is not None else None
        ledger = store.ledger_writer.stats() if store is not None else None
        ready = agent is not None and agent.is_ready()
        healthy = (
            conversations is None or (conversations.available and not conversations.poisoned)
        ) and (ledger is None or (bool(ledger["available"]) and not ledger["poisoned"]))
        actions = dict(action_server()) if action_server is not None else None
        healthy = healthy and (actions is None or bool(actions["available"]))
        status = "loading" if not ready else "ok" if healthy else "degraded"
        return response.json(
            {
                "status": status,
                "conversations": conversations.as_json() if conversations else None,
                "ledger": dict(ledger) if ledger is not None else None,
                "actions": actions,
            },
            status=200 if ready else 503,
        )

    @app.get("/static/<path:path>")
    async def static(_: Request, path: str) -> HTTPResponse:
        """A file of the page; 404 for anything else (a folder, `..`, a NUL byte)."""
        found = _static_file(static_dir, path)
        if found is None:
            return _error("not found", 404)
        content_type = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
        return await response.file(found, mime_type=content_type)

    app.register_listener(
        partial(load_agent_on_start, str(model_path), endpoints, None), "before_server_start"
    )
    _stop_gracefully(app)
    return app


def _stop_gracefully(app: Sanic) -> None:
    """SIGTERM and Ctrl-C: stop accepting, finish what is in flight, write, exit.

    Sanic then runs `before_server_stop`, closes the listening socket (new connections
    are refused), closes idle keep-alive connections and waits up to
    `GRACEFUL_SHUTDOWN_TIMEOUT` for the busy ones before `after_server_stop`. Two gaps are
    closed here: a busy keep-alive connection would stay open for more requests (its
    response now says `Connection: close`, and a request that still comes on it gets a
    503 before anything is stored), and the ledger was flushed *before* the requests in
    flight had finished (it is now flushed after, with the action pool closed).
    """
    app.ctx.stopping = False

    @app.middleware("request")
    async def refuse_when_stopping(request: Request) -> HTTPResponse | None:
        if not request.app.ctx.stopping:
            return None
        if request.stream is not None:
            request.stream.keep_alive = False
        return response.json({"error": "the server is stopping"}, status=503)

    @app.middleware("response")
    async def close_when_stopping(request: Request, _answer: HTTPResponse) -> None:
        if request.app.ctx.stopping and request.stream is not None:
            request.stream.keep_alive = False

    app.register_listener(_on_signal_stop_at_once, "after_server_start")
    app.register_listener(_stop_accepting, "before_server_stop")
    # "after" listeners of shutdown run last-registered first: `_release`, then Rasa's.
    app.register_listener(close_resources, "after_server_stop")
    app.register_listener(_release, "after_server_stop")


async def _on_signal_stop_at_once(app: Sanic, _loop: Any) -> None:
    """SIGTERM and SIGINT refuse new requests at once, even while the event loop is busy.

    Sanic's handlers (`loop.add_signal_handler`) only run when the loop gets to them; under
    load that took long enough for new requests to be answered after the signal. The
    Python-level handler (a no-op that asyncio installs next to its wake-up fd) runs in
    the loop's thread straight away: here it sets the flag the middleware reads. The
    loop, woken through its fd as before, still stops the server.
    """
    if threading.current_thread() is not threading.main_thread():
        return  # signals reach the main thread only (an app run in a test thread)

    def on_signal(_signum: int, _frame: Any) -> None:
        app.ctx.stopping = True

    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, on_signal)


async def _stop_accepting(app: Sanic, _loop: Any) -> None:
    """From now on, responses close their connection and new requests get 503."""
    app.ctx.stopping = True


def content_policy(host: str | None) -> str:
    """The page's Content-Security-Policy: its own scripts, styles, images and fonts only,
    requests (socket.io polling, feedback) and the socket.io WebSocket to this host only,
    never framed. Styles allow 'unsafe-inline': the widget (rasa-webchat's style-loader)
    injects its CSS as <style> elements, with its icon font as a data: URL. No
    'unsafe-eval', no inline scripts."""
    sockets = f" ws://{host} wss://{host}" if host and _PLAIN_HOST.fullmatch(host) else ""
    return (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        f"img-src 'self' data:; font-src 'self' data:; connect-src 'self'{sockets}; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def add_security_headers(headers: Any, host: str | None) -> None:
    """The headers every answer of serve carries (unless its route set them)."""
    for name, value in (
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("X-Frame-Options", "DENY"),
        ("Content-Security-Policy", content_policy(host)),
    ):
        if name not in headers:
            headers[name] = value


def _error(reason: str, status: int) -> HTTPResponse:
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


def _static_file(static_dir: Path, path: str) -> Path | None:
    """The file `path` names inside `static_dir`, or None."""
    parts = path.split("/")
    if "\x00" in path or "\\" in path or any(p in ("", ".", "..") for p in parts):
        return None
    root = static_dir.resolve()
    try:
        found = root.joinpath(*parts).resolve()
        found.relative_to(root)
        return found if found.is_file() else None
    except (ValueError, OSError):  # OSError: a name over 255 bytes, a path over 4 KB
        return None


def _register(input_channels: list[InputChannel], app: Sanic) -> None:
    """Rasa's `channels.channel.register`, with each message's sender id put in the
    namespace of the channel it came from (`rest:alice`): the one place every channel's
    messages pass, whatever id a client sends. There too, a typed `/intent` that is not
    one of our buttons' payloads is read as words (`ldn_bot.payloads`: `/back` rewound
    the conversation)."""
    for channel in input_channels:

        async def handler(message: UserMessage, channel_name: str = channel.name()) -> None:
            sender_id = message.sender_id
            message.sender_id = namespaced(channel_name, sender_id)
            if message.text:
                message.text = as_sent(message.text, _payloads(app))
            await app.ctx.agent.handle_message(message)
            if isinstance(message.output_channel, CollectingOutputChannel):
                # REST answers carry `recipient_id`: the id the client sent, as before.
                for reply in message.output_channel.messages:
                    reply["recipient_id"] = sender_id

        prefix = urljoin("/webhooks/", channel.url_prefix())
        app.blueprint(channel.blueprint(handler), url_prefix=prefix)
    app.ctx.input_channels = input_channels


def _payloads(app: Sanic) -> frozenset[str]:
    """The `/` payloads the agent's domain's buttons send (read once per domain)."""
    domain = app.ctx.agent.domain
    cached = getattr(app.ctx, "payloads", None)
    if cached is None or cached[0] is not domain:
        cached = (domain, button_payloads(domain.responses if domain else {}))
        app.ctx.payloads = cached
    return cached[1]


def _exposed(
    input_channels: list[InputChannel], exposure: Exposure, signer: SessionSigner
) -> list[InputChannel]:
    """The channels of credentials.yml with serve's access settings applied.

    REST and socket.io must be our subclasses (Rasa's have no request checks and no
    origin check); REST is dropped when `exposure` turns it off; socket.io issues its
    session ids with `signer`.
    """
    exposed: list[InputChannel] = []
    for channel in input_channels:
        if channel.name() == "rest":
            if not isinstance(channel, RestInput):
                raise RuntimeError(
                    "credentials.yml: REST must be `rasa_project.channels.RestInput:`, not `rest:`"
                )
            if exposure.rest is RestAccess.OFF:
                continue
            channel = RestInput(token=exposure.rest_token)
        elif channel.name() == "socketio":
            if not isinstance(channel, SocketIOInput):
                raise RuntimeError(
                    "credentials.yml: socket.io must be `rasa_project.channels.SocketIOInput:`"
                )
            channel.cors_allowed_origins = exposure.cors_origins
            channel.session_signer = signer
        exposed.append(channel)
    return exposed


async def _release(app: Sanic, _loop: Any) -> None:
    """Once the requests in flight are done: close the action server's connection pool
    and write the pending ledger rows and conversation events (bounded)."""
    from ldn_bot.runtime import close_action_endpoint, close_stores_at_exit

    agent = getattr(app.ctx, "agent", None)
    await close_action_endpoint(agent)
    await app.loop.run_in_executor(None, close_stores_at_exit, agent, STORES_AT_EXIT_SECONDS)
