"""`ldn-bot serve`: check what the server will expose, then hand over to the runtime."""

from __future__ import annotations

import argparse
import dataclasses
import os
import re

from ldn_bot.assistant import Runtime, ServeOptions
from ldn_bot.cli.progress import progress
from ldn_bot.exposure import Exposure, exposure_from
from ldn_bot.ports import check_port_free, listening_socket
from ldn_bot.settings import Settings
from ldn_bot.slack import WEBHOOK_PATH, SlackConfig, public_base


def cmd_serve(cfg: Settings, args: argparse.Namespace, runtime: Runtime) -> int:
    """Everything a deployment needs on this machine: Rasa + channels + page, action server.

    Settings that do not add up and ports held by another program stop it at once, before
    anything heavy loads. SIGTERM or Ctrl-C stop it gracefully (`rasa_project.web.lifecycle`:
    requests in flight get their replies, new ones are refused) within about 10 s, and
    exit 0. An action server that cannot be started at start stops it (exit 1); later, one
    that dies, hangs or finds its port taken leaves it degraded (article questions get "I
    can't answer that right now", /health says why) while the supervisor restarts it.
    """
    exposure = exposure_from(
        host=args.host,
        environ=os.environ,
        enable_api=args.enable_api,
        api_token=args.api_token,
        api_jwt_secret=args.api_jwt_secret,
        cors_origins=args.cors_origin,
        rest_token=args.rest_token,
        port=args.port,
        public_url=args.public_url,
        allowed_hosts=args.allowed_host,
    )
    slack = SlackConfig.from_env(os.environ)
    if slack is not None and args.public_url:  # answers in Slack link to /article there
        slack = dataclasses.replace(slack, public_url=public_base(args.public_url))
    check_port_free(args.action_port, option="--action-port")
    with listening_socket(args.host, args.port) as sock:
        local = f"http://{args.host}:{args.port}"
        options = ServeOptions(
            host=args.host,
            port=args.port,
            sock=sock,
            action_port=args.action_port,
            exposure=exposure,
            slack=slack,
            on_up=lambda: announce(cfg, local, exposure, slack, args.public_url),
        )
        runtime.serve(cfg, options, progress)
    return 0


def announce(
    cfg: Settings, local: str, exposure: Exposure, slack: SlackConfig | None, public: str | None
) -> None:
    """What a person starting the server needs to know, once it answers."""
    print(f"ldn-bot is up: open {local}/  (Ctrl-C stops everything)", flush=True)
    for line in exposure.summary(local):
        print(line, flush=True)
    print(f"Conversations and ledger: {redacted(cfg.conversations_url)}", flush=True)
    if cfg.redis_url:
        print(f"Lock store: {redacted(cfg.redis_url)}", flush=True)
    if cfg.database_url and not os.environ.get("LDN_BOT_SALT"):
        progress("LDN_BOT_SALT is not set: servers sharing this database must share it")
    if slack is None:
        print(
            "Slack: off (set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to switch it on)", flush=True
        )
        return
    base = (public or "https://YOUR-PUBLIC-HOST").rstrip("/")
    print(f"Slack: on. Request URL to paste into your Slack app: {base}{WEBHOOK_PATH}")
    print(
        f"       (this server answers it at {local}{WEBHOOK_PATH}; Slack needs HTTPS)", flush=True
    )


def redacted(url: str) -> str:
    """A database or Redis URL with its password hidden, for printing."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not an SQLAlchemy URL (Redis): hide what follows a colon before @
        return re.sub(r":[^:@/]*@", ":***@", url)
