"""The server `ldn-bot serve` runs: Rasa's channels plus the chat page, one Sanic app.

Built like `rasa.core.run.configure_app`, minus what a public deployment must
not expose (`ldn_bot.exposure` says what is open):
- the Rasa HTTP API only when asked for, with a token, read-only (`http_api.py`);
- no version banner on `/`;
- CORS only for the configured origins (the page is served from the same origin as the
  socket.io channel, so the widget needs none);
- REST only on loopback or with a token (`channels/rest.py`).
"""

from __future__ import annotations

import json
import logging
import signal
import threading
from functools import partial
from pathlib import Path
from typing import Any

from rasa.core import channels
from rasa.core.channels.channel import InputChannel
from rasa.core.run import close_resources, create_http_input_channels, load_agent_on_start
from rasa.core.utils import AvailableEndpoints
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sanic_cors import CORS
from sqlalchemy.exc import SQLAlchemyError

from ldn_bot.exposure import Exposure, RestAccess
from ldn_bot.ledger.conversations import events_of, turn_of_bot_message
from ldn_bot.slack import MemoryEventLedger, RedisEventLedger, SlackConfig
from rasa_project.channels import RestInput, SocketIOInput
from rasa_project.http_api import add_read_only_routes, rasa_api
from rasa_project.tracker_store import ledger_store

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
KEEP_ALIVE_SECONDS = 75
# On SIGTERM or Ctrl-C, how long requests in flight may take to finish (a turn takes well
# under a second; the action call is bounded to 10 s). Open socket.io connections are
# closed after it. With the ledger flush after it, serve exits within about 10 s.
GRACEFUL_SHUTDOWN_SECONDS = 6.0
LEDGER_FLUSH_AT_EXIT_SECONDS = 3.0
# CORS headers for every route but socket.io's, which Engine.IO answers itself (two
# Access-Control-Allow-Origin headers would make browsers refuse the answer).
CORS_RESOURCES = r"^/(?!socket\.io/).*"


def create_app(
    *,
    model_path: Path,
    endpoints: AvailableEndpoints,
    credentials: Path,
    static_dir: Path,
    exposure: Exposure,
    slack: SlackConfig | None = None,
    redis_url: str | None = None,
) -> Sanic:
    """The Sanic app: channels under /webhooks/, socket.io at /socket.io, the page at /,
    feedback votes at /api/feedback and a health check at /health.

    `exposure` says whether REST is served and with which token, which other origins
    get CORS and whether the read-only Rasa HTTP API is on. Slack
    (/webhooks/slack/webhook) is on only when `slack` settings are given; with
    `redis_url` its de-duplication is shared by every server.
    """
    api = rasa_api(exposure.api, endpoints) if exposure.api is not None else None
    # With the API on, both apps share one context: Rasa's handlers find the agent there.
    app = Sanic("ldn_bot", configure_logging=False, ctx=api.ctx if api else None)
    app.config.REQUEST_MAX_SIZE = MAX_BODY_BYTES
    # Longer than a load balancer's idle timeout (60 s on most), so the balancer, not this
    # server, closes idle connections: otherwise a request can race the close and be reset.
    app.config.KEEP_ALIVE_TIMEOUT = KEEP_ALIVE_SECONDS
    app.config.GRACEFUL_SHUTDOWN_TIMEOUT = GRACEFUL_SHUTDOWN_SECONDS
    if exposure.cors_origins:
        CORS(
            app,
            resources={CORS_RESOURCES: {"origins": list(exposure.cors_origins)}},
            automatic_options=True,
        )
    if api is not None:
        add_read_only_routes(app, api)
    input_channels = _exposed(create_http_input_channels(None, str(credentials)), exposure)
    if slack is not None:
        from rasa_project.channels.slack import SlackInput

        seen = RedisEventLedger(redis_url) if redis_url else MemoryEventLedger()
        input_channels.append(SlackInput.from_config(slack, ledger=seen))
    channels.channel.register(input_channels, app, route="/webhooks/")

    @app.get("/")
    async def index(_: Request) -> HTTPResponse:
        return await response.file(static_dir / "index.html")

    @app.get("/config.js")
    async def config_js(_: Request) -> HTTPResponse:
        config = {"socketUrl": "", "socketPath": "/socket.io/", "feedbackUrl": "./api/feedback"}
        return response.text(
            f"window.LDN_CONFIG = {json.dumps(config)};\n",
            content_type="application/javascript",
        )

    @app.post("/api/feedback")
    async def feedback(request: Request) -> HTTPResponse:
        """A vote on a bot message of a web conversation, tied to its ledger row."""
        try:
            body: Any = json.loads(request.body or b"")
            session_id = str(body["session_id"])[:128]
            bot_index = int(body["bot_index"])
            vote = str(body["vote"])
            if bot_index < 0 or vote not in ("up", "down"):
                raise ValueError(vote)
        except (ValueError, KeyError, TypeError):
            return response.json({"error": "expected session_id, bot_index, vote"}, status=400)
        store = ledger_store(request.app.ctx.agent)
        if store is None:
            return response.json({"error": "feedback is unavailable right now"}, status=503)
        try:
            # The turn's ledger row is written in the background: let it land first.
            await request.app.loop.run_in_executor(None, store.ledger_writer.flush, 2.0)
            events = await request.app.loop.run_in_executor(
                None, events_of, store.ledger.engine, session_id
            )
            await request.app.loop.run_in_executor(
                None,
                partial(
                    store.ledger.record_vote,
                    channel="web",
                    sender_id=session_id,
                    bot_index=bot_index,
                    vote=vote,
                    message_id=turn_of_bot_message(session_id, events, bot_index),
                ),
            )
        except SQLAlchemyError:
            logger.exception("feedback: the vote could not be stored")
            return response.json({"error": "feedback is unavailable right now"}, status=503)
        return response.empty(status=204)

    @app.get("/health")
    async def health(request: Request) -> HTTPResponse:
        """The server's state and its stores': "loading" (503) until the model is ready,
        then "ok", or "degraded" while a store cannot reach its database or has set items
        aside ("poisoned": they could not be written; each is logged and kept in the
        quarantine file under var/).

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
        status = "loading" if not ready else "ok" if healthy else "degraded"
        return response.json(
            {
                "status": status,
                "conversations": conversations.as_json() if conversations else None,
                "ledger": dict(ledger) if ledger is not None else None,
            },
            status=200 if ready else 503,
        )

    app.static("/static", str(static_dir), name="static")
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


def _exposed(input_channels: list[InputChannel], exposure: Exposure) -> list[InputChannel]:
    """The channels of credentials.yml with serve's access settings applied.

    REST and socket.io must be our subclasses (Rasa's have no request checks and no
    origin check); REST is dropped when `exposure` turns it off.
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
        exposed.append(channel)
    return exposed


async def _release(app: Sanic, _loop: Any) -> None:
    """Once the requests in flight are done: close the action server's connection pool
    and write the pending ledger rows and conversation events (bounded)."""
    from ldn_bot.runtime import close_action_endpoint, flush_ledger

    agent = getattr(app.ctx, "agent", None)
    await close_action_endpoint(agent)
    await app.loop.run_in_executor(None, flush_ledger, agent, LEDGER_FLUSH_AT_EXIT_SECONDS)
