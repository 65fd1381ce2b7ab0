"""The assistant in this process: a Rasa `Agent` with its action server, one turn at a time.

What `ldn-bot ask` and `ldn-bot chat` run (`ldn_bot.assistant.Assistant`), and what
`serve` closes at exit (the ledger's pending rows, the events kept during an outage).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from ldn_bot.assistant import Progress, TurnResult
from ldn_bot.payloads import as_sent, button_payloads
from ldn_bot.routing import Route, response_name, route_for
from ldn_bot.settings import Settings
from rasa_project.action_process import ActionServer, SupervisedActionServer
from rasa_project.endpoints import endpoints
from rasa_project.training import ensure_model, quiet_rasa

logger = logging.getLogger(__name__)


class InProcessAssistant:
    """The trained model loaded in-process (a Rasa `Agent`), one turn at a time."""

    def __init__(self, agent: Any) -> None:
        self.agent = agent

    @classmethod
    async def load(
        cls, cfg: Settings, model: Path, *, action_url: str, action_secret: str | None = None
    ) -> InProcessAssistant:
        """The agent for `model`, its actions on `action_url` (signed with `action_secret`)."""
        quiet_rasa(cfg)
        from rasa.core.agent import load_agent

        agent = await load_agent(
            model_path=str(model), endpoints=endpoints(cfg, action_url, action_secret)
        )
        if agent is None or not agent.is_ready():
            raise RuntimeError(f"could not load the model {model}")
        return cls(agent)

    async def ask(self, text: str, sender_id: str) -> TurnResult:
        """Send one message and collect the turn's replies, route, intent and citations."""
        from rasa_project.tracker_store import ledger_store

        channel = RecordingOutputChannel()
        # As on every served channel (`rasa_project.channels.registration`): a typed
        # `/intent` that is not one of our buttons' payloads is read as words (`/back`
        # rewound the conversation).
        sent = as_sent(text, self.payloads)
        await self.agent.handle_message(UserMessage(sent, channel, sender_id, input_channel="cli"))
        store = ledger_store(self.agent)
        record = store.latest_turn(sender_id) if store is not None else None
        citations: list[str] = []
        for message in channel.sent:
            for unit in message.get("citations") or []:
                if unit not in citations:
                    citations.append(unit)
        route = route_for(response_name(message) for message in channel.sent)
        with_text = [message for message in channel.sent if message.get("text")]
        return TurnResult(
            question=text,
            replies=[message["text"] for message in with_text],
            route=route.value,
            intent=record.intent if record else None,
            confidence=_confidence(record.confidence) if record else None,
            citations=citations if route is Route.ARTICLE_ANSWER else [],
            guard_rule=record.guard_rule if record else None,
            guard_source=record.guard_source if record else None,
            responses=tuple(response_name(message) for message in with_text),
            buttons=tuple(_buttons(channel.sent)),
        )

    @functools.cached_property
    def payloads(self) -> frozenset[str]:
        """The `/` payloads of our buttons, which a message may send as they are."""
        domain = self.agent.domain
        return button_payloads(domain.responses if domain is not None else {})


def _buttons(sent: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    """The (title, payload) of each quick reply offered in a turn's messages."""
    for message in sent:
        for button in message.get("buttons") or message.get("quick_replies") or ():
            if isinstance(button, dict):
                title, payload = button.get("title"), button.get("payload")
                if isinstance(title, str) and isinstance(payload, str):
                    yield title, payload


class RecordingOutputChannel(CollectingOutputChannel):
    """Keeps every message as Rasa sent it, metadata (response name, citations) included."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[dict[str, Any]] = []

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        """Keep `message` whole, then collect it as Rasa's channel does."""
        self.sent.append(dict(message))
        await super().send_response(recipient_id, message)


async def close_action_endpoint(agent: Any) -> None:
    """Close the action server's connection pool (at exit, before the loop closes)."""
    close = getattr(getattr(agent, "action_endpoint", None), "close", None)
    if close is not None:
        await close()


def flush_ledger(agent: Any, timeout: float = 10.0) -> None:
    """Wait for the ledger rows of the turns handled so far, and try once more to write
    the conversation events kept in memory during a database outage (at exit)."""
    from rasa_project.tracker_store import ledger_store

    store = ledger_store(agent)
    if store is None:
        return
    if not store.ledger_writer.flush(timeout):
        logger.error("ledger: some turns were still pending at exit")
    waiting = store.health().pending_events
    if waiting and not store.write_waiting(timeout):
        logger.error("conversations: %s events could not be written at exit", waiting)


def close_stores_at_exit(agent: Any, timeout: float = 4.0) -> None:
    """At serve's exit: write the pending ledger rows and the conversation events kept in
    memory, within about `timeout` seconds in all, even with the database locked; what
    cannot be written goes to the quarantine file (`LedgerTrackerStore.close`).

    A third of the budget for the ledger rows to land (the rest are kept), then one write
    attempt for the waiting events (SQLite gives up on a locked database after its 2 s
    busy timeout) with what is left. The store's own exit hook alone (up to 10 s for the
    events, then 10 s for the rows, after a first attempt) took serve's exit to 20 s with
    the database locked.
    """
    from rasa_project.tracker_store import ledger_store

    store = ledger_store(agent)
    if store is None:
        return
    deadline = time.monotonic() + timeout
    store.ledger_writer.close(timeout / 3)  # written, or kept in the quarantine file
    try:
        store.close(max(deadline - time.monotonic(), 1.0))
    except Exception:  # the attempt outlasted the budget; it still keeps what fails
        logger.exception("conversations: the last write attempt at exit did not finish in time")


def _confidence(value: Any) -> float | None:
    return None if value is None else round(float(value), 4)


@contextlib.contextmanager
def running_assistant(
    cfg: Settings, progress: Progress = lambda _msg: None, *, supervised: bool = False
) -> Iterator[tuple[InProcessAssistant, asyncio.AbstractEventLoop]]:
    """Model (trained if needed), action server and agent, torn down on exit.

    `supervised`: the action server is restarted when it dies or hangs (the terminal
    chat: a long session must not lose its article answers to one crash).
    """
    model = ensure_model(cfg, progress)
    progress("Starting the action server...")
    server = SupervisedActionServer(cfg) if supervised else ActionServer(cfg)
    with server as actions:
        progress("Loading the model...")
        loop = asyncio.new_event_loop()
        try:
            assistant = loop.run_until_complete(
                InProcessAssistant.load(
                    cfg, model, action_url=actions.url, action_secret=actions.secret
                )
            )
            try:
                yield assistant, loop
            finally:
                flush_ledger(assistant.agent)
                loop.run_until_complete(close_action_endpoint(assistant.agent))
        finally:
            loop.close()
