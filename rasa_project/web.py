"""The server `ldn-bot serve` runs: Rasa's channels plus the chat page, one Sanic app.

Built like `rasa.core.run.configure_app`, minus what a public deployment must
not expose: no HTTP API (so no model upload), no version banner on `/`.
The page is served from the same origin as the socket.io channel, so no CORS
is needed for the widget.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from functools import partial
from pathlib import Path
from typing import Any

from rasa.core import channels
from rasa.core.run import close_resources, create_http_input_channels, load_agent_on_start
from rasa.core.utils import AvailableEndpoints
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from ldn_bot.feedback import engine_for, record_vote
from ldn_bot.slack import SlackConfig

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024


def create_app(
    *,
    model_path: Path,
    endpoints: AvailableEndpoints,
    credentials: Path,
    static_dir: Path,
    feedback_db: Path,
    slack: SlackConfig | None = None,
) -> Sanic:
    """The Sanic app: channels under /webhooks/, socket.io at /socket.io, the page at /.

    Slack (/webhooks/slack/webhook) is on only when `slack` settings are given.
    """
    app = Sanic("ldn_bot", configure_logging=False)
    app.config.REQUEST_MAX_SIZE = MAX_BODY_BYTES
    input_channels = create_http_input_channels(None, str(credentials))
    if slack is not None:
        from rasa_project.channels.slack import SlackInput

        input_channels.append(SlackInput.from_config(slack))
    channels.channel.register(input_channels, app, route="/webhooks/")
    salt = os.environ.get("LDN_BOT_SALT") or secrets.token_hex(16)

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
        try:
            body: Any = json.loads(request.body or b"")
            record_vote(
                engine_for(feedback_db),
                channel="web",
                sender_id=str(body["session_id"])[:128],
                message_index=int(body["message_index"]),
                vote=str(body["vote"]),
                salt=salt,
            )
        except (ValueError, KeyError, TypeError):
            return response.json({"error": "expected session_id, message_index, vote"}, status=400)
        return response.empty(status=204)

    app.static("/static", str(static_dir), name="static")
    app.register_listener(
        partial(load_agent_on_start, str(model_path), endpoints, None), "before_server_start"
    )
    app.register_listener(close_resources, "after_server_stop")
    return app
