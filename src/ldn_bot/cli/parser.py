"""The `ldn-bot` command line: its commands, options and their checks."""

from __future__ import annotations

import argparse
import os
from datetime import datetime, timezone
from typing import Any


class UsageError(Exception):
    """An argument that parses but does not make sense: exit 2 with the command's usage."""


def _port(text: str) -> int:
    """A port option: a number from 1 to 65535."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 1 to 65535, not {text!r}")
    return port


def _version() -> str:
    """The installed package's version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ldn-bot")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """Every command with its options; `usage_of` names the parser whose usage an error shows."""
    parser = argparse.ArgumentParser(
        prog="ldn-bot",
        description="An assistant that answers from one article about low-dose naltrexone "
        "(LDN) and MS, and refers every dose question to a doctor.",
    )
    parser.add_argument("--version", action="version", version=f"ldn-bot {_version()}")
    store = argparse.ArgumentParser(add_help=False)
    store.add_argument(
        "--database-url",
        help="conversations and ledger database "
        "(default: LDN_BOT_DATABASE_URL, else SQLite in var/)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str, **kwargs: Any) -> argparse.ArgumentParser:
        """A subcommand whose one-line summary is in `ldn-bot --help` and on its own help."""
        found = sub.add_parser(
            name, help=summary, description=summary[:1].upper() + summary[1:] + ".", **kwargs
        )
        found.set_defaults(usage_of=found)
        return found

    command("train", "train the model if data or config changed")
    command("chat", "talk to the assistant in this terminal")
    ask = command("ask", "answer questions from arguments or stdin, one per line")
    ask.add_argument("questions", nargs="*", help="questions; read from stdin when none")
    ask.add_argument("--json", action="store_true", help="one JSON object per question")
    ask.add_argument("--session", help="continue one conversation with this id across all lines")
    serve = command(
        "serve", "run the web chat, REST, socket.io and Slack on one server", parents=[store]
    )
    serve.add_argument(
        "--redis-url", help="Redis lock store for several servers (default: LDN_BOT_REDIS_URL)"
    )
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default: localhost)")
    serve.add_argument("--port", type=_port, default=5005, help="web and Rasa port (default: 5005)")
    serve.add_argument(
        "--action-port", type=_port, default=5055, help="action server port (default: 5055)"
    )
    serve.add_argument(
        "--enable-api",
        action="store_true",
        help="serve the read-only Rasa HTTP API (needs a token; also LDN_BOT_API=1)",
    )
    serve.add_argument(
        "--api-token", help="token of the HTTP API's ?token= (better: LDN_BOT_API_TOKEN)"
    )
    serve.add_argument(
        "--api-jwt-secret",
        help="HS256 secret of HTTP API JWTs (better: LDN_BOT_API_JWT_SECRET)",
    )
    serve.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="another site allowed to use this server from a browser, e.g. "
        "https://clinic.example (repeatable; default: LDN_BOT_CORS_ORIGINS, else none)",
    )
    serve.add_argument(
        "--rest-token",
        help="require 'Authorization: Bearer TOKEN' on REST; without one REST is served "
        "on loopback only (better: LDN_BOT_REST_TOKEN)",
    )
    serve.add_argument(
        "--public-url",
        default=os.environ.get("LDN_BOT_PUBLIC_URL"),
        help="the public https address of this server (its host is an allowed Host "
        "header; also prints Slack's Request URL)",
    )
    serve.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a host name (or NAME:PORT) browsers and proxies use to reach this server, "
        "besides 127.0.0.1, localhost and [::1]; other Host headers get 421 "
        "(repeatable; default: LDN_BOT_ALLOWED_HOSTS, comma-separated)",
    )
    forget = command(
        "forget",
        "delete a person's conversations, ledger rows, votes and set-aside items",
        parents=[store],
    )
    forget.add_argument(
        "sender_id",
        help="a conversation id as stored (rest:ID, socketio:SESSION, slack:USER_CHANNEL) "
        "for that conversation only, or a bare id for it on every channel: a REST sender, "
        "the web session id the browser keeps, a Slack user id (U123: every conversation "
        "of that user), an `ask --session` id",
    )
    purge = command("purge", "delete everything older than the retention period", parents=[store])
    purge.add_argument(
        "--days", type=int, help="keep this many days (default: LDN_BOT_RETENTION_DAYS, 90)"
    )
    purge.add_argument("--yes", action="store_true", help="delete without asking")
    purge.add_argument("--dry-run", action="store_true", help="only say what would be deleted")
    report = command(
        "report",
        "write the HTML report of the ledger, or its unanswered questions to label",
        parents=[store],
    )
    report.add_argument("--since", type=_date, help="only turns from this date (YYYY-MM-DD)")
    report.add_argument(
        "--out",
        help="the HTML file (default: report.html, none with --export-nlu unless given)",
    )
    report.add_argument(
        "--export-nlu",
        metavar="FILE",
        help="write the unanswered questions as candidate NLU examples for a person to label "
        "(Rasa 3 YAML; never into data/)",
    )
    return parser


def _date(text: str) -> datetime:
    """A `YYYY-MM-DD` option as midnight UTC."""
    try:
        return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"expected a date like 2026-11-01, not {text!r}"
        ) from error
