"""`ldn-bot`: the terminal chat, the batch mode and the training command."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import textwrap
import uuid
from collections.abc import Iterable, Sequence

from ldn_bot.settings import Settings, settings

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
    """One JSON object (or readable block) per question, in order."""
    from ldn_bot.runtime import running_assistant

    with running_assistant(cfg, _progress if not args.json else lambda _m: None) as (
        assistant,
        loop,
    ):
        for question in _questions(args):
            sender = args.session or f"ask-{uuid.uuid4().hex}"
            result = loop.run_until_complete(assistant.ask(question, sender))
            if args.json:
                print(json.dumps(result.as_json(), ensure_ascii=False), flush=True)
            else:
                print(f"> {question}")
                for reply in result.replies:
                    print(textwrap.indent(reply, "  "))
                print(f"  [{result.route}]\n", flush=True)
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


def cmd_serve(cfg: Settings, args: argparse.Namespace) -> int:
    """Everything a deployment needs on this machine: Rasa + channels + page, action server."""
    from ldn_bot.runtime import SupervisedActionServer, endpoints, ensure_model, quiet_rasa
    from ldn_bot.slack import WEBHOOK_PATH, SlackConfig
    from rasa_project.web import create_app

    slack = SlackConfig.from_env(os.environ)  # a half-set Slack stops here, before training
    model = ensure_model(cfg, _progress)
    static_dir = cfg.root / "web" / "static"
    if not (static_dir / "vendor" / "webchat.js").exists():
        _progress("the chat widget is not built (run `make web`): the page will not load")
    quiet_rasa()
    with SupervisedActionServer(cfg, port=args.action_port) as actions:
        app = create_app(
            model_path=model,
            endpoints=endpoints(cfg, actions.url),
            credentials=cfg.credentials_path,
            static_dir=static_dir,
            feedback_db=cfg.var_dir / "feedback.sqlite",
            slack=slack,
        )
        local = f"http://{args.host}:{args.port}"
        print(f"ldn-bot is up: open {local}/  (Ctrl-C stops everything)", flush=True)
        print(f"REST: POST {local}/webhooks/rest/webhook", flush=True)
        if slack is None:
            print("Slack: off (set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to switch it on)")
        else:
            public = (args.public_url or "https://YOUR-PUBLIC-HOST").rstrip("/")
            print(f"Slack: on. Request URL to paste into your Slack app: {public}{WEBHOOK_PATH}")
            print(f"       (this server answers it at {local}{WEBHOOK_PATH}; Slack needs HTTPS)")
        app.run(host=args.host, port=args.port, workers=1, access_log=False, motd=False)
    return 0


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
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("train", help="train the model if data or config changed")
    sub.add_parser("chat", help="interactive terminal chat")
    ask = sub.add_parser("ask", help="answer questions from arguments or stdin (one per line)")
    ask.add_argument("questions", nargs="*", help="questions; read from stdin when none")
    ask.add_argument("--json", action="store_true", help="one JSON object per question")
    ask.add_argument("--session", help="continue one conversation with this id across all lines")
    serve = sub.add_parser("serve", help="web chat, REST and socket.io on one server")
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default: localhost)")
    serve.add_argument("--port", type=int, default=5005, help="web and Rasa port (default: 5005)")
    serve.add_argument("--action-port", type=int, default=5055, help="action server port")
    serve.add_argument(
        "--public-url",
        default=os.environ.get("LDN_BOT_PUBLIC_URL"),
        help="the public https address of this server, to print Slack's Request URL",
    )
    return parser


COMMANDS = {"train": cmd_train, "chat": cmd_chat, "ask": cmd_ask, "serve": cmd_serve}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not os.environ.get("LDN_BOT_DEBUG"):
        os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    cfg = settings()
    try:
        return COMMANDS[args.command](cfg, args)
    except KeyboardInterrupt:
        return 130
    except RuntimeError as error:
        print(f"ldn-bot: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
