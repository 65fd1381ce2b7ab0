"""What the command line needs from a running assistant, and nothing of how it runs.

`ldn_bot.cli` is framework-free: it parses arguments, shows turns and manages the stores.
Training, the in-process assistant and the server are Rasa's, behind `Runtime`;
`rasa_project.runtime.RasaRuntime` implements it and the `ldn-bot` entry point
(`rasa_project.main`) passes it in. So the dependency points one way: the Rasa glue
imports the core, never the reverse (import-linter checks it, `make lint`).
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import socket
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ldn_bot.exposure import Exposure
    from ldn_bot.settings import Settings
    from ldn_bot.slack import SlackConfig

Progress = Callable[[str], None]
"""Where long steps say what they do (one line each; stderr in the terminal)."""

_NOT_JSON = {"not_json": True}


@dataclass(frozen=True)
class TurnResult:
    """One question and everything the assistant sent back (the `ask --json` object)."""

    question: str
    replies: list[str]
    route: str
    intent: str | None
    confidence: float | None
    citations: list[str]
    guard_rule: str | None = None  # the guard rule that decided, if one did
    guard_source: str | None = None  # message | window | context (`ldn_bot.guard.conversation`)
    # For the terminal, not in `ask --json`: each reply's response name (parallel to
    # `replies`) and the quick replies offered, as (title, payload).
    responses: tuple[str, ...] = dataclasses.field(default=(), metadata=_NOT_JSON)
    buttons: tuple[tuple[str, str], ...] = dataclasses.field(default=(), metadata=_NOT_JSON)

    def as_json(self) -> dict[str, Any]:
        """The fields `ask --json` prints (not the terminal-only ones)."""
        return {
            field.name: copy.deepcopy(getattr(self, field.name))
            for field in dataclasses.fields(self)
            if not field.metadata.get("not_json")
        }

    def shown(self, *, without: frozenset[str] = frozenset()) -> list[str]:
        """The replies, without those of the responses named in `without`."""
        names = self.responses or ("",) * len(self.replies)
        return [text for text, name in zip(self.replies, names, strict=True) if name not in without]


class Assistant(Protocol):
    """A loaded assistant answering one message at a time."""

    async def ask(self, text: str, sender_id: str) -> TurnResult:
        """Send one message of `sender_id`'s conversation and collect the turn."""
        ...


Running = AbstractContextManager[tuple[Assistant, asyncio.AbstractEventLoop]]
"""An assistant and the event loop its turns run on, torn down on exit."""


@dataclass(frozen=True)
class ServeOptions:
    """What `ldn-bot serve` decided before anything heavy loads.

    Attributes:
        host: interface the socket is bound to.
        port: the web, REST, socket.io and Slack port.
        sock: that port, bound already (before anything heavy loads).
        action_port: the action server's port.
        exposure: what the server exposes, and to whom (`ldn_bot.exposure`).
        slack: the Slack channel's settings, or None when it is off.
        on_up: called once the model is loaded and the socket accepts connections.
    """

    host: str
    port: int
    sock: socket.socket
    action_port: int
    exposure: Exposure
    slack: SlackConfig | None
    on_up: Callable[[], None]


class Runtime(Protocol):
    """Training, the in-process assistant and the server: the CLI's one way into Rasa."""

    def model_path(self, cfg: Settings) -> Path:
        """Where the model for the current data and config is (or will be) kept."""
        ...

    def ensure_model(self, cfg: Settings, progress: Progress) -> Path:
        """The trained model for the current data and config, training it if missing."""
        ...

    def running_assistant(
        self, cfg: Settings, progress: Progress, *, supervised: bool = False
    ) -> Running:
        """Model, action server and agent in this process, torn down on exit."""
        ...

    def serve(self, cfg: Settings, options: ServeOptions, progress: Progress) -> None:
        """Run the server until it is stopped; `RuntimeError` if it never came up."""
        ...
