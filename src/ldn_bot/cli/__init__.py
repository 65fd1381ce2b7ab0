"""`ldn-bot`: the terminal chat, batch questions, the server and the stores' upkeep.

Framework-free: the commands that need Rasa (train, ask, chat, serve) reach it through
the `ldn_bot.assistant.Runtime` that the entry point (`rasa_project.main`) passes in.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Callable, Sequence

from ldn_bot.assistant import Runtime
from ldn_bot.cli.chat import cmd_chat
from ldn_bot.cli.commands import cmd_ask, cmd_forget, cmd_purge, cmd_report, cmd_train
from ldn_bot.cli.parser import UsageError, build_parser
from ldn_bot.cli.serve import cmd_serve, redacted
from ldn_bot.logs import configure_logging
from ldn_bot.settings import Settings

Command = Callable[[Settings, argparse.Namespace, Runtime], int]

COMMANDS: dict[str, Command] = {
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


def main(argv: Sequence[str] | None, *, runtime: Runtime, cfg: Settings) -> int:
    """Run one command with the settings the entry point built; the exit status.

    Options that override settings (`--database-url`, `--redis-url`) are applied here,
    once, and the result is passed to the command and everything it starts.
    """
    os.umask(PRIVATE_UMASK)  # inherited by the action server serve starts
    args, unknown = build_parser().parse_known_args(argv)
    if unknown:  # argparse would show the top-level usage: show the command's
        args.usage_of.error(f"unrecognized arguments: {' '.join(unknown)}")
    if args.command == "serve" and args.port == args.action_port:
        args.usage_of.error(f"--port and --action-port must differ (both {args.port})")
    configure_logging()
    overrides = {
        name: getattr(args, name)
        for name in ("database_url", "redis_url")
        if getattr(args, name, None)
    }
    if overrides:
        cfg = dataclasses.replace(cfg, **overrides)
    try:
        return COMMANDS[args.command](cfg, args, runtime)
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
            f"ldn-bot: cannot use the database {redacted(cfg.conversations_url)} "
            f"({type(error.orig).__name__}): is it running, and is the URL right?",
            file=sys.stderr,
        )
        return 1
