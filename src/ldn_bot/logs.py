"""Log lines that user input cannot forge.

Messages, sender ids and Slack text reach the logs (Rasa's own debug lines quote the
user's text). Each record's line is written with newlines and other control characters
escaped (`ldn_bot.inputs.printable`), so a message can never start a line of its own;
a traceback keeps its lines but each is indented under a `|`, so only a record starts at
the left margin.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from ldn_bot.inputs import printable

FORMAT = "%(asctime)s %(levelname)-8s %(name)s: %(message)s"
LEVEL_VARIABLE = "LDN_BOT_LOG_LEVEL"


class OneLineFormatter(logging.Formatter):
    """A formatter whose records are one line each, plus indented tracebacks."""

    def __init__(self, fmt: str = FORMAT, *args: Any, **kwargs: Any) -> None:
        super().__init__(fmt, *args, **kwargs)

    def formatMessage(self, record: logging.LogRecord) -> str:
        """The record's line with control characters escaped."""
        return printable(super().formatMessage(record))

    def formatException(self, ei: Any) -> str:
        """The traceback, each line indented under a `|`."""
        return _indented(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        """The stack, each line indented under a `|`."""
        return _indented(super().formatStack(stack_info))


def _indented(text: str) -> str:
    return "\n".join(f"    | {printable(line)}" for line in text.splitlines())


def log_level() -> int:
    """The level from `LDN_BOT_LOG_LEVEL` (DEBUG, INFO, WARNING...; default WARNING)."""
    name = os.environ.get(LEVEL_VARIABLE, "WARNING").upper()
    level = logging.getLevelName(name)
    return level if isinstance(level, int) else logging.WARNING


def configure_logging(level: int | None = None) -> None:
    """Every record of this process to stderr through `OneLineFormatter`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLineFormatter())
    logging.basicConfig(level=level or log_level(), handlers=[handler], force=True)
