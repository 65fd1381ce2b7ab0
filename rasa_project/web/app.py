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
  channel's messages pass (`rasa_project.channels.registration`), so an id sent on one
  channel never names another channel's conversation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from rasa.core.run import load_agent_on_start
from rasa.core.utils import AvailableEndpoints
from sanic import Sanic
from sanic_cors import CORS

from ldn_bot.exposure import Exposure
from ldn_bot.http_framing import refuse_ambiguous_framing
from ldn_bot.senders import SessionSigner
from ldn_bot.settings import Settings
from ldn_bot.slack import SlackConfig
from rasa_project.channels.context import ChannelContext
from rasa_project.channels.registration import register, served_channels
from rasa_project.http_api import add_read_only_routes, rasa_api
from rasa_project.web.health import add_health_route
from rasa_project.web.lifecycle import stop_gracefully
from rasa_project.web.pages import add_page_routes
from rasa_project.web.security import add_security
from rasa_project.web.votes import add_vote_routes

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
KEEP_ALIVE_SECONDS = 75
# On SIGTERM or Ctrl-C, how long requests in flight may take to finish (a turn takes well
# under a second; the action call is bounded to 10 s). Open socket.io connections are
# closed after it. With the stores' last writes after it (`web.lifecycle`), serve exits
# within about 10 s.
GRACEFUL_SHUTDOWN_SECONDS = 6.0
# CORS headers for every route but socket.io's, which Engine.IO answers itself (two
# Access-Control-Allow-Origin headers would make browsers refuse the answer).
CORS_RESOURCES = r"^/(?!socket\.io/).*"


def create_app(
    cfg: Settings,
    *,
    model_path: Path,
    endpoints: AvailableEndpoints,
    static_dir: Path,
    exposure: Exposure,
    slack: SlackConfig | None = None,
    action_server: Callable[[], Mapping[str, Any]] | None = None,
) -> Sanic:
    """The Sanic app: channels under /webhooks/, socket.io at /socket.io, the page at /,
    the article it quotes at /article, feedback votes at /api/feedback and a health
    check at /health.

    `exposure` says whether REST is served and with which token, which other origins
    get CORS and whether the read-only Rasa HTTP API is on. Slack
    (/webhooks/slack/webhook) is on only when `slack` settings are given; with
    `cfg.redis_url` its de-duplication is shared by every server. `action_server` gives
    the supervisor's view of the action server for /health
    (`SupervisedActionServer.status`).
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
    add_security(app, exposure)
    if exposure.cors_origins:
        CORS(
            app,
            resources={CORS_RESOURCES: {"origins": list(exposure.cors_origins)}},
            automatic_options=True,
        )
    if api is not None:
        add_read_only_routes(app, api)
    # Keyed by the ledger salt: servers sharing a database (and LDN_BOT_SALT) share it.
    signer = SessionSigner(cfg.salt())
    context = ChannelContext(cfg=cfg, exposure=exposure, signer=signer, slack=slack)
    register(served_channels(context), app)
    add_page_routes(app, cfg, static_dir)
    add_vote_routes(app, cfg, exposure, signer)
    add_health_route(app, action_server)
    app.register_listener(
        partial(load_agent_on_start, str(model_path), endpoints, None), "before_server_start"
    )
    stop_gracefully(app)
    return app
