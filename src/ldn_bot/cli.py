"""`ldn-bot`: the terminal chat, the batch mode and the training command."""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import dataclasses
import json
import os
import re
import sys
import textwrap
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from ldn_bot.logs import configure_logging
from ldn_bot.settings import Settings, settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from ldn_bot.runtime import Assistant, TurnResult

ASK_CONCURRENCY = 4

CHAT_HELP = """Commands:
  /help      this help
  /sources   citations of the last answer
  /restart   start a new conversation
  /quit      leave (Ctrl-D works too)
Ask anything about what the article says about low-dose naltrexone (LDN) and MS."""


def _progress(message: str) -> None:
    print(f"· {message}", file=sys.stderr, flush=True)


def cmd_train(cfg: Settings, _args: argparse.Namespace) -> int:
    from ldn_bot.runtime import ensure_model, model_path

    existed = model_path(cfg).exists()
    path = ensure_model(cfg, _progress)
    print(f"{'Up to date' if existed else 'Trained'}: {path.relative_to(cfg.root)}")
    return 0


def _questions(args: argparse.Namespace) -> Iterable[str]:
    if args.questions:
        yield from args.questions
        return
    for raw in sys.stdin.buffer:
        yield raw.decode("utf-8", errors="replace").rstrip("\r\n")


def cmd_ask(cfg: Settings, args: argparse.Namespace) -> int:
    """One JSON object (or readable block) per question, in order.

    Lines are separate conversations unless `--session` is given, so up to
    `ASK_CONCURRENCY` of them are answered at once (the action server works while Rasa
    parses the next); the output keeps the input's order.
    """
    from ldn_bot.runtime import running_assistant

    def emit(result: TurnResult) -> None:
        if args.json:
            print(json.dumps(result.as_json(), ensure_ascii=False), flush=True)
        else:
            print(f"> {result.question}")
            for reply in result.replies:
                print(textwrap.indent(reply, "  "))
            print(f"  [{result.route}]\n", flush=True)

    async def answer_all(assistant: Assistant) -> None:
        loop = asyncio.get_running_loop()
        lines = iter(_questions(args))
        in_flight = 1 if args.session else ASK_CONCURRENCY
        pending: collections.deque[asyncio.Future[TurnResult]] = collections.deque()
        while (line := await loop.run_in_executor(None, next, lines, None)) is not None:
            sender = args.session or f"ask-{uuid.uuid4().hex}"
            pending.append(asyncio.ensure_future(assistant.ask(line, sender)))
            while pending and (pending[0].done() or len(pending) >= in_flight):
                emit(await pending.popleft())
        while pending:
            emit(await pending.popleft())

    progress = _progress if not args.json else lambda _m: None
    with running_assistant(cfg, progress) as (assistant, loop):
        loop.run_until_complete(answer_all(assistant))
    return 0


def cmd_chat(cfg: Settings, _args: argparse.Namespace) -> int:
    """The interactive shell: readline history, slash commands, Ctrl-D to leave."""
    import readline

    from ldn_bot.runtime import running_assistant

    history = cfg.var_dir / "chat_history"
    history.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        readline.read_history_file(history)
    readline.set_history_length(1000)

    with running_assistant(cfg, _progress) as (assistant, loop):
        sender = f"chat-{uuid.uuid4().hex}"
        last_citations: list[str] = []
        print(
            "LDN-bot: answers from one article (Medical News Today, 2019). Type /help for commands."
        )
        while True:
            try:
                line = input("you> ")
            except EOFError:
                print()
                break
            except KeyboardInterrupt:
                print()
                continue
            command = line.strip().lower()
            if command in {"/quit", "/exit"}:
                break
            if command == "/help":
                print(CHAT_HELP)
                continue
            if command == "/restart":
                sender, last_citations = f"chat-{uuid.uuid4().hex}", []
                print("(new conversation)")
                continue
            if command == "/sources":
                print(_sources(cfg, last_citations))
                continue
            result = loop.run_until_complete(assistant.ask(line, sender))
            for reply in result.replies:
                print(_wrap(reply))
            if result.citations:
                last_citations = result.citations
    with contextlib.suppress(OSError):
        readline.write_history_file(history)
    return 0


def _store(cfg: Settings) -> Engine:
    """The conversation and ledger database, its ledger tables brought up to date."""
    from ldn_bot.ledger.schema import migrate
    from ldn_bot.ledger.store import engine_for

    engine = engine_for(cfg.conversations_url)
    migrate(engine)
    return engine


def cmd_forget(cfg: Settings, args: argparse.Namespace) -> int:
    """Delete one person's conversations, ledger rows, feedback votes and set-aside items."""
    from ldn_bot.ledger.conversations import forget

    removed = forget(
        _store(cfg), args.sender_id, salt=cfg.salt(), quarantine_dir=cfg.quarantine_dir
    )
    if not (removed.events or removed.turns or removed.votes or removed.quarantined):
        print(f"Nothing stored for {args.sender_id!r}.")
    else:
        print(f"Forgot {args.sender_id!r}: removed {removed}.")
    return 0


def cmd_purge(cfg: Settings, args: argparse.Namespace) -> int:
    """Delete everything older than the retention period."""
    from ldn_bot.ledger.conversations import purge

    days = cfg.retention_days if args.days is None else args.days
    if days < 0:
        raise RuntimeError("the retention period must be 0 days or more")
    before = datetime.now(timezone.utc) - timedelta(days=days)
    removed = purge(_store(cfg), before=before, quarantine_dir=cfg.quarantine_dir)
    print(
        f"Purged everything before {before:%Y-%m-%d %H:%M} UTC ({days} days kept): "
        f"removed {removed}."
    )
    return 0


def cmd_report(cfg: Settings, args: argparse.Namespace) -> int:
    """The HTML report and a short summary in the terminal."""
    from ldn_bot.ledger.report import collect, render_html, summary_text

    data = collect(_store(cfg), since=args.since)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(data), encoding="utf-8")
    print(summary_text(data))
    print(f"Report written to {out}")
    return 0


def _date(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"expected a date like 2026-11-01, not {text!r}"
        ) from error


def cmd_serve(cfg: Settings, args: argparse.Namespace) -> int:
    """Everything a deployment needs on this machine: Rasa + channels + page, action server.

    Ports held by another program stop it at once, before anything heavy loads. SIGTERM
    or Ctrl-C stop it gracefully (`rasa_project.web`: requests in flight get their
    replies, new ones are refused) within about 10 s, and exit 0. An action server that
    cannot be started at start stops it (exit 1); later, one that dies, hangs or finds its
    port taken leaves it degraded (article questions get "I can't answer that right
    now", /health says why) while the supervisor restarts it with backoff.
    """
    from ldn_bot.exposure import exposure_from
    from ldn_bot.runtime import (
        SupervisedActionServer,
        check_port_free,
        endpoints,
        ensure_model,
        listening_socket,
        quiet_rasa,
    )
    from ldn_bot.slack import WEBHOOK_PATH, SlackConfig
    from rasa_project.web import create_app

    # Settings that do not add up stop here, before training.
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
    check_port_free(args.action_port, option="--action-port")
    web_socket = listening_socket(args.host, args.port)
    model = ensure_model(cfg, _progress)
    static_dir = cfg.root / "web" / "static"
    if not (static_dir / "vendor" / "webchat.js").exists():
        _progress("the chat widget is not built (run `make web`): the page will not load")
    quiet_rasa()

    actions = SupervisedActionServer(cfg, port=args.action_port)
    with web_socket, actions:
        app = create_app(
            model_path=model,
            endpoints=endpoints(cfg, actions.url, actions.secret),
            credentials=cfg.credentials_path,
            static_dir=static_dir,
            exposure=exposure,
            slack=slack,
            redis_url=cfg.redis_url,
            action_server=actions.status,
        )
        local = f"http://{args.host}:{args.port}"
        print(f"ldn-bot is up: open {local}/  (Ctrl-C stops everything)", flush=True)
        for line in exposure.summary(local):
            print(line, flush=True)
        print(f"Conversations and ledger: {_redacted(cfg.conversations_url)}", flush=True)
        if cfg.redis_url:
            print(f"Lock store: {_redacted(cfg.redis_url)}", flush=True)
        if cfg.database_url and not os.environ.get("LDN_BOT_SALT"):
            _progress("LDN_BOT_SALT is not set: servers sharing this database must share it")
        if slack is None:
            print("Slack: off (set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to switch it on)")
        else:
            public = (args.public_url or "https://YOUR-PUBLIC-HOST").rstrip("/")
            print(f"Slack: on. Request URL to paste into your Slack app: {public}{WEBHOOK_PATH}")
            print(f"       (this server answers it at {local}{WEBHOOK_PATH}; Slack needs HTTPS)")
        app.run(sock=web_socket, workers=1, access_log=False, motd=False)
    return 0


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not an SQLAlchemy URL (Redis): hide what follows a colon before @
        return re.sub(r":[^:@/]*@", ":***@", url)


def _wrap(reply: str, width: int = 100) -> str:
    """A reply as an indented block, each paragraph wrapped on its own."""
    paragraphs = [p for p in reply.split("\n") if p.strip()]
    lines = [
        textwrap.fill(p, width=width, initial_indent="     ", subsequent_indent="     ")
        for p in paragraphs
    ]
    return "bot> " + "\n".join(lines)[5:]


def _sources(cfg: Settings, citations: Sequence[str]) -> str:
    if not citations:
        return "No article answer yet: ask a question first."
    from ldn_bot.knowledge.base import knowledge_base

    kb = knowledge_base(cfg.article_path)
    return "\n".join(f"[{unit}] {kb.unit_text(unit)}" for unit in citations)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ldn-bot", description=__doc__)
    store = argparse.ArgumentParser(add_help=False)
    store.add_argument(
        "--database-url",
        help="conversations and ledger database "
        "(default: LDN_BOT_DATABASE_URL, else SQLite in var/)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("train", help="train the model if data or config changed")
    sub.add_parser("chat", help="interactive terminal chat")
    ask = sub.add_parser("ask", help="answer questions from arguments or stdin (one per line)")
    ask.add_argument("questions", nargs="*", help="questions; read from stdin when none")
    ask.add_argument("--json", action="store_true", help="one JSON object per question")
    ask.add_argument("--session", help="continue one conversation with this id across all lines")
    serve = sub.add_parser(
        "serve", parents=[store], help="web chat, REST, socket.io and Slack on one server"
    )
    serve.add_argument(
        "--redis-url", help="Redis lock store for several servers (default: LDN_BOT_REDIS_URL)"
    )
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default: localhost)")
    serve.add_argument("--port", type=int, default=5005, help="web and Rasa port (default: 5005)")
    serve.add_argument("--action-port", type=int, default=5055, help="action server port")
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
    forget = sub.add_parser(
        "forget",
        parents=[store],
        help="delete a person's conversations, ledger rows, votes and set-aside items",
    )
    forget.add_argument(
        "sender_id",
        help="a conversation id as stored (rest:ID, socketio:SESSION, slack:USER_CHANNEL) "
        "for that conversation only, or a bare id for it on every channel: a REST sender, "
        "the web session id the browser keeps, a Slack user id (U123: every conversation "
        "of that user), an `ask --session` id",
    )
    purge = sub.add_parser(
        "purge", parents=[store], help="delete everything older than the retention period"
    )
    purge.add_argument(
        "--days", type=int, help="keep this many days (default: LDN_BOT_RETENTION_DAYS, 90)"
    )
    report = sub.add_parser("report", parents=[store], help="HTML report of the ledger")
    report.add_argument("--since", type=_date, help="only turns from this date (YYYY-MM-DD)")
    report.add_argument("--out", default="report.html", help="the HTML file (default: report.html)")
    return parser


COMMANDS = {
    "train": cmd_train,
    "chat": cmd_chat,
    "ask": cmd_ask,
    "serve": cmd_serve,
    "forget": cmd_forget,
    "purge": cmd_purge,
    "report": cmd_report,
}


# Files and folders this process creates are its user's only (0600 / 0700): var/ holds
# sender ids and message text (conversations.sqlite and its -wal/-shm, logs, chat history).
PRIVATE_UMASK = 0o077


def main(argv: Sequence[str] | None = None) -> int:
    os.umask(PRIVATE_UMASK)  # inherited by the action server serve starts
    args = build_parser().parse_args(argv)
    configure_logging()
    if not os.environ.get("LDN_BOT_DEBUG"):
        os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    cfg = settings()
    overrides = {
        name: getattr(args, name)
        for name in ("database_url", "redis_url")
        if getattr(args, name, None)
    }
    if overrides:
        cfg = dataclasses.replace(cfg, **overrides)
    try:
        return COMMANDS[args.command](cfg, args)
    except KeyboardInterrupt:
        return 130
    except RuntimeError as error:
        print(f"ldn-bot: {error}", file=sys.stderr)
        return 1
    except Exception as error:
        from sqlalchemy.exc import OperationalError

        if not isinstance(error, OperationalError):
            raise
        print(
            f"ldn-bot: cannot use the database {_redacted(cfg.conversations_url)} "
            f"({type(error.orig).__name__}): is it running, and is the URL right?",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
