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
import signal
import sys
import textwrap
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ldn_bot.logs import configure_logging
from ldn_bot.settings import Settings, settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from ldn_bot.runtime import Assistant, TurnResult

ASK_CONCURRENCY = 4

CHAT_HELP = """Commands:
  /help      this help
  /sources   the article's sentences the last answer quoted, and the article's address
  /debug     show or hide each turn's route, intent, confidence and guard rule
  /restart   start a new conversation
  /quit      leave (Ctrl-D, or Ctrl-C twice at an empty prompt, works too)
  1, 2, ...  pick one of the numbered choices under a reply
Ctrl-C clears the line (or stops waiting for an answer).
Ask anything about what the article says about low-dose naltrexone (LDN) and MS."""

CHAT_COMMANDS = ("/help", "/sources", "/debug", "/restart", "/quit", "/exit")
GOODBYE = "Goodbye, and take care. For anything about your own treatment, ask your doctor."
ARTICLE_URL = "https://www.medicalnewstoday.com/articles/325455.php"
_DISCLAIMER = frozenset({"utter_disclaimer"})


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

    disclaimer_shown = False

    def emit(result: TurnResult) -> None:
        nonlocal disclaimer_shown
        if args.json:
            print(json.dumps(result.as_json(), ensure_ascii=False), flush=True)
            return
        # Each line is a conversation of its own, and each starts with the disclaimer:
        # shown once, at the top, not under every question.
        disclaimers = [r for r in result.replies if r not in result.shown(without=_DISCLAIMER)]
        if disclaimers and not disclaimer_shown:
            print(f"{disclaimers[0]}\n")
            disclaimer_shown = True
        print(f"> {result.question}")
        for reply in result.shown(without=_DISCLAIMER):
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
    """The interactive shell: readline history, slash commands, numbered quick replies.

    Ctrl-C clears the line, like a shell, or stops waiting for an answer; a second one at
    an empty prompt, Ctrl-D or /quit leaves. The action server started here is in its own
    session (the terminal's Ctrl-C never reaches it) and supervised (restarted if it dies).
    """
    import readline

    from ldn_bot.runtime import running_assistant

    history = cfg.var_dir / "chat_history"
    history.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        readline.read_history_file(history)
    readline.set_history_length(1000)

    with running_assistant(cfg, _progress, supervised=True) as (assistant, loop):
        turns = InterruptibleTurns(assistant, loop)
        chat = Chat(cfg, turns.ask)
        # The disclaimer is the conversation's first reply too, but a first turn that
        # Ctrl-C stopped waiting for never shows it.
        print(
            "LDN-bot: answers from one article (Medical News Today, 2019), not medical advice;"
            " dose questions go to your doctor. Type /help for commands."
        )
        armed = False  # the last key was a Ctrl-C: another at an empty prompt leaves
        while True:
            try:
                line = input("you> ")
            except EOFError:
                print()
                break
            except KeyboardInterrupt:
                typed = readline.get_line_buffer()
                print()
                if armed and not typed:
                    break
                armed = True
                if not typed:
                    print("(Ctrl-C again or Ctrl-D to leave)")
                continue
            armed = False
            if not chat.handle(line):
                break
        print(GOODBYE)
        turns.finish()
    with contextlib.suppress(OSError):
        readline.write_history_file(history)
    return 0


class InterruptibleTurns:
    """Turns of the terminal chat that Ctrl-C stops waiting for.

    While a turn runs, SIGINT is the event loop's (`add_signal_handler`): it never raises
    `KeyboardInterrupt` inside Rasa's code (which would leave the conversation half
    written). The turn goes on in the background and its replies are dropped; the next
    turn of the conversation waits for it (Rasa's lock), and `finish()` for all of them.
    """

    def __init__(self, assistant: Assistant, loop: asyncio.AbstractEventLoop) -> None:
        self.assistant = assistant
        self.loop = loop
        self.dropped: set[asyncio.Task[TurnResult]] = set()

    def ask(self, text: str, sender: str) -> TurnResult | None:
        """The turn's result, or None when Ctrl-C stopped the wait."""
        task = self.loop.create_task(self.assistant.ask(text, sender))
        try:
            self.loop.run_until_complete(self._wait(task))
        finally:
            # uvloop (Rasa's loop) leaves its own handler in place when the loop is not
            # running: the prompt's Ctrl-C must raise KeyboardInterrupt again.
            signal.signal(signal.SIGINT, signal.default_int_handler)
        if task.done():
            return task.result()
        print()  # after the terminal's "^C"
        self.dropped.add(task)
        task.add_done_callback(self.dropped.discard)
        return None

    @staticmethod
    async def _wait(task: asyncio.Task[TurnResult]) -> None:
        """Until the turn ends or Ctrl-C comes (the handler is added and removed while
        the loop runs: uvloop ignores a removal while it does not)."""
        loop = asyncio.get_running_loop()
        interrupted = loop.create_future()

        def on_sigint() -> None:
            if not interrupted.done():
                interrupted.set_result(None)

        loop.add_signal_handler(signal.SIGINT, on_sigint)
        try:
            await asyncio.wait({task, interrupted}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            loop.remove_signal_handler(signal.SIGINT)
            interrupted.cancel()

    def finish(self, timeout: float = 30.0) -> None:
        """Let the turns Ctrl-C left behind end (their conversation is stored)."""
        if self.dropped:
            self.loop.run_until_complete(asyncio.wait(set(self.dropped), timeout=timeout))


class Chat:
    """What the terminal chat does with one line (no terminal here: testable as it is)."""

    def __init__(
        self,
        cfg: Settings,
        ask: Callable[[str, str], TurnResult | None],
        out: Callable[[str], None] = print,
    ) -> None:
        self.cfg = cfg
        self.ask = ask
        self.out = out
        self.sender = _chat_sender()
        self.debug = False
        self.citations: list[str] | None = None  # None: no reply yet
        self.choices: tuple[tuple[str, str], ...] = ()

    def handle(self, line: str) -> bool:
        """Act on `line`; False when the person leaves."""
        text = line.strip()
        if not text:
            return True  # an empty line sends nothing
        if text.startswith("/"):
            return self.command(text)
        if text.isdigit() and 1 <= int(text) <= len(self.choices):
            title, payload = self.choices[int(text) - 1]
            self.out(f"(you chose: {title})")
            self.turn(payload)
            return True
        self.turn(line)
        return True

    def command(self, text: str) -> bool:
        command = text.split()[0].lower()
        if command in {"/quit", "/exit"}:
            return False
        if command == "/help":
            self.out(CHAT_HELP)
        elif command == "/restart":
            self.sender, self.citations, self.choices = _chat_sender(), None, ()
            self.out("(new conversation)")
        elif command == "/sources":
            self.out(_sources(self.cfg, self.citations))
        elif command == "/debug":
            self.debug = not self.debug
            self.out(f"(debug {'on' if self.debug else 'off'})")
        else:
            self.out(f"unknown command {command!r}, see /help")
        return True

    def turn(self, text: str) -> None:
        result = self.ask(text, self.sender)
        if result is None:
            self.out("(stopped waiting: that answer is dropped)")
            return
        for reply in result.replies:
            self.out(_wrap(reply))
        self.citations = list(result.citations)
        self.choices = result.buttons
        if self.choices:
            self.out(
                "     "
                + "   ".join(f"[{n}] {title}" for n, (title, _) in enumerate(self.choices, 1))
            )
        if self.debug:
            self.out(_debug_line(result))


def _chat_sender() -> str:
    return f"chat-{uuid.uuid4().hex}"


def _debug_line(result: TurnResult) -> str:
    confidence = "-" if result.confidence is None else f"{result.confidence:.2f}"
    guard = result.guard_rule or "none"
    if result.guard_rule and result.guard_source:
        guard += f" ({result.guard_source})"
    return (
        f"     · route {result.route}, intent {result.intent or '-'} ({confidence}), "
        f"guard rule {guard}"
    )


def _store(cfg: Settings) -> Engine:
    """The conversation and ledger database, its ledger tables brought up to date."""
    from ldn_bot.ledger.engine import engine_for
    from ldn_bot.ledger.schema import migrate

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
    """Delete everything older than the retention period, after saying what and asking."""
    from ldn_bot.ledger.conversations import purge, purge_preview

    days = cfg.retention_days if args.days is None else args.days
    if days < 0:
        raise UsageError(f"--days must be 0 or more, not {days}")
    before = datetime.now(timezone.utc) - timedelta(days=days)
    engine = _store(cfg)
    found = purge_preview(engine, before=before, quarantine_dir=cfg.quarantine_dir)
    print(f"Older than {days} days (before {before:%Y-%m-%d %H:%M} UTC): {found}.")
    if not (found.events or found.turns or found.votes or found.quarantined):
        print("Nothing to delete.")
        return 0
    if args.dry_run:
        print("Dry run: nothing deleted.")
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            print("Not deleted: confirm with --yes (no terminal to ask on).", file=sys.stderr)
            return 1
        try:
            answer = input("Delete them for good? [y/N] ")
        except EOFError:
            answer = ""
        if answer.strip().lower() not in {"y", "yes"}:
            print("Nothing deleted.")
            return 1
    removed = purge(engine, before=before, quarantine_dir=cfg.quarantine_dir)
    print(f"Purged: removed {removed}.")
    return 0


def cmd_report(cfg: Settings, args: argparse.Namespace) -> int:
    """The HTML report and a short summary in the terminal; with --export-nlu, the
    unanswered questions as candidate NLU examples (and the HTML only when --out is given)."""
    from ldn_bot.ledger.report import collect, render_html, summary_text
    from ldn_bot.ledger.report.model import TOP_QUESTIONS
    from ldn_bot.ledger.report.nlu_export import nlu_yaml

    export = Path(args.export_nlu) if args.export_nlu else None
    if export is not None:
        _check_export_path(cfg, export)
    html_out = Path(args.out) if args.out else (None if export else Path("report.html"))
    data = collect(_store(cfg), since=args.since, top=EXPORT_QUESTIONS if export else TOP_QUESTIONS)
    if html_out is not None:
        html_out.parent.mkdir(parents=True, exist_ok=True)
        html_out.write_text(render_html(data), encoding="utf-8")
    print(summary_text(data))
    if html_out is not None:
        print(f"Report written to {html_out}")
    if export is not None:
        export.parent.mkdir(parents=True, exist_ok=True)
        export.write_text(nlu_yaml(data), encoding="utf-8")
        print(
            f"{len(data.questions)} candidate NLU example(s) written to {export}: "
            "label them, then move the ones you keep into data/ by hand"
        )
    return 0


EXPORT_QUESTIONS = 10_000  # per group: the export lists every unanswered question


def _check_export_path(cfg: Settings, path: Path) -> None:
    """The export is a worklist, never training data: not in data/ (which `train` reads),
    not a folder."""
    target = path.resolve()
    data_dir = (cfg.root / "data").resolve()
    if target == data_dir or data_dir in target.parents:
        raise UsageError(
            f"--export-nlu: {path} is in {data_dir}, which training reads; write it "
            "elsewhere and move the examples you label by hand"
        )
    if target.is_dir():
        raise UsageError(f"--export-nlu: {path} is a folder; give a file name")
    if target.suffix not in {".yml", ".yaml"}:
        raise UsageError(f"--export-nlu: {path} should end in .yml or .yaml (Rasa YAML)")


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
    from ldn_bot.slack import WEBHOOK_PATH, SlackConfig, public_base
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
    if slack is not None and args.public_url:  # answers in Slack link to /article there
        slack = dataclasses.replace(slack, public_url=public_base(args.public_url))
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
        up = threading.Event()

        def announce(*_: object) -> None:
            """Once the model is loaded and the socket accepts connections, not before."""
            up.set()
            print(f"ldn-bot is up: open {local}/  (Ctrl-C stops everything)", flush=True)
            for line in exposure.summary(local):
                print(line, flush=True)
            print(f"Conversations and ledger: {_redacted(cfg.conversations_url)}", flush=True)
            if cfg.redis_url:
                print(f"Lock store: {_redacted(cfg.redis_url)}", flush=True)
            if cfg.database_url and not os.environ.get("LDN_BOT_SALT"):
                _progress("LDN_BOT_SALT is not set: servers sharing this database must share it")
            if slack is None:
                print(
                    "Slack: off (set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to switch it on)",
                    flush=True,
                )
            else:
                public = (args.public_url or "https://YOUR-PUBLIC-HOST").rstrip("/")
                print(
                    f"Slack: on. Request URL to paste into your Slack app: {public}{WEBHOOK_PATH}"
                )
                print(
                    f"       (this server answers it at {local}{WEBHOOK_PATH}; Slack needs HTTPS)",
                    flush=True,
                )

        app.register_listener(announce, "after_server_start")
        _progress("Loading the model...")
        app.run(sock=web_socket, workers=1, access_log=False, motd=False)
    if not up.is_set():
        raise RuntimeError("serve stopped before it was up (see the messages above)")
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


def _sources(cfg: Settings, citations: Sequence[str] | None) -> str:
    """The sentences the last reply quoted, with their ids and the article's address."""
    if citations is None:
        return "No answer yet: ask a question first."
    if not citations:
        return "The last reply quoted nothing from the article."
    from ldn_bot.knowledge.base import knowledge_base

    kb = knowledge_base(cfg.article_path)
    quoted = [f"[{unit}] {kb.unit_text(unit)}" for unit in citations]
    return "\n".join([*quoted, f"From: {kb.article.citation} {ARTICLE_URL}"])


class UsageError(Exception):
    """An argument that parses but does not make sense: exit 2 with the command's usage."""


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 1 to 65535, not {text!r}")
    return port


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ldn-bot")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
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
    args, unknown = build_parser().parse_known_args(argv)
    if unknown:  # argparse would show the top-level usage: show the command's
        args.usage_of.error(f"unrecognized arguments: {' '.join(unknown)}")
    if args.command == "serve" and args.port == args.action_port:
        args.usage_of.error(f"--port and --action-port must differ (both {args.port})")
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
    except UsageError as error:
        args.usage_of.error(str(error))  # exits 2
        raise
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
