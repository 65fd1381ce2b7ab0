"""One conversation that cannot be written must never stop the others (issue 12, item 2).

A 2 KB REST body with metadata nested 980 levels deep made `json.dumps` raise
RecursionError in the tracker store's queue; that conversation stayed first in the queue,
so no event and no ledger row of anyone was stored afterwards, `/health` said "ok", and
the queue was dropped at exit without a word. The channels now refuse such metadata;
these tests feed the store directly (as a channel bug or a new channel could), through
Rasa's `FailSafeTrackerStore` as every agent has it, on a real SQLite file.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import FailSafeTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from sqlalchemy.engine import Engine
from strategies import SCALE

from ldn_bot.ledger.conversations import EVENTS
from ldn_bot.ledger.models import LedgerTurn
from rasa_project import patches
from rasa_project.tracker_store import METADATA_DROPPED, LedgerTrackerStore


def nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LedgerTrackerStore:
    monkeypatch.setenv("LDN_BOT_SALT", "test-salt")
    patches.apply()
    return LedgerTrackerStore(
        Domain.empty(),
        host=f"sqlite:///{tmp_path / 'conversations.sqlite'}",
        retry_every=0,
        quarantine_dir=str(tmp_path / "quarantine"),
    )


async def turn(
    rasa: FailSafeTrackerStore, sender: str, text: str, *, metadata: Any = None, odd: Any = None
) -> list[str]:
    """One message as Rasa handles it; returns the user texts the dialogue saw before."""
    tracker = await rasa.get_or_create_tracker(sender)
    seen = [e.text for e in tracker.events if isinstance(e, UserUttered)]
    tracker.update(
        UserUttered(
            text,
            intent={"name": "greet", "confidence": 1.0},
            parse_data={"intent": {"name": "greet", "confidence": 1.0}, "text": text},
            input_channel="rest",
            metadata=metadata,
            message_id=f"{sender}-{text}",
        )
    )
    tracker.update(ActionExecuted("utter_greet"))
    if odd is not None:
        tracker.update(SlotSet("odd", odd))
    tracker.update(BotUttered("hello", metadata={"utter_action": "utter_greet"}))
    tracker.update(ActionExecuted("action_listen"))
    await rasa.save(tracker)
    return seen


def user_texts(engine: Engine) -> dict[str, list[str]]:
    texts: dict[str, list[str]] = {}
    with engine.connect() as connection:
        query = sa.select(EVENTS.c.sender_id, EVENTS.c.data).order_by(EVENTS.c.id)
        for sender, data in connection.execute(query):
            event = json.loads(data)
            if event["event"] == "user":
                texts.setdefault(sender, []).append(event["text"])
    return texts


def ledger_rows(store: LedgerTrackerStore) -> int:
    assert store.ledger_writer.flush()
    with store.ledger.engine.connect() as connection:
        return int(connection.scalar(sa.select(sa.func.count()).select_from(LedgerTurn)) or 0)


def test_one_poison_conversation_does_not_block_the_others(
    store: LedgerTrackerStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="rasa_project.tracker_store")
    errors: list[Exception] = []
    rasa = FailSafeTrackerStore(store, on_tracker_store_error=errors.append)
    others = 100 * SCALE

    async def scenario() -> None:
        await turn(rasa, "mallory", "m1", metadata={"x": nested(980)})  # the body
        await turn(rasa, "mallory", "m2", odd=object())  # JSON cannot hold it at all
        for index in range(others):
            await turn(rasa, f"user{index}", "hi")
            await turn(rasa, f"user{index}", "again")
        assert await turn(rasa, "mallory", "m3") == ["m1", "m2"]  # only the odd slot is out

    asyncio.run(scenario())
    assert errors == [] and rasa._fallback_tracker_store is None  # Rasa never saw an error
    texts = user_texts(store.engine)
    assert texts.pop("mallory") == ["m1", "m2", "m3"]
    assert texts == {f"user{index}": ["hi", "again"] for index in range(others)}
    assert ledger_rows(store) == 2 * others + 3
    health = store.health()
    assert (health.pending_events, health.dropped_events, health.poisoned) == (0, 0, 2)

    with store.engine.connect() as connection:  # m1 stored, its metadata replaced by a note
        query = sa.select(EVENTS.c.data).where(EVENTS.c.type_name == "user")
        first = json.loads(connection.execute(query).scalars().first())
    note = {METADATA_DROPPED: "nested more than 64 levels"}
    assert (first["text"], first["metadata"]) == ("m1", note)
    (kept,) = store.quarantine.read()  # the event JSON cannot hold, kept as far as it can be
    assert (kept["kind"], kept["reason"]) == ("conversation", "TypeError")
    assert [e["event"] for e in kept["items"][0]["events"]] == ["slot"]
    logged = [
        r.getMessage()
        for r in caplog.records
        if r.name == "rasa_project.tracker_store" and r.levelno == logging.ERROR
    ]
    assert len(logged) == 2  # once per poison item
    assert all("mallory" not in line and "m1" not in line for line in logged)  # hashes only
    print(f"\n{2 * others} turns of {others} other conversations stored behind 2 poison items")


def test_nothing_queued_is_dropped_silently_at_shutdown(
    store: LedgerTrackerStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="rasa_project.tracker_store")
    rasa = FailSafeTrackerStore(store, on_tracker_store_error=[].append)

    def down(*_args: Any) -> None:
        raise sa.exc.OperationalError("INSERT", {}, Exception("unable to open database file"))

    async def scenario() -> None:
        await turn(rasa, "alice", "a1")
        sa.event.listen(store.engine.dialect, "do_execute", down)
        await turn(rasa, "alice", "a2")
        await turn(rasa, "bob", "b1")

    asyncio.run(scenario())
    waiting = store.health().pending_events
    assert waiting > 4 + 4  # both turns, and bob's start
    assert store.close(timeout=1) == waiting
    (kept,) = store.quarantine.read()
    assert {item["sender_id"] for item in kept["items"]} == {"alice", "bob"}
    assert sum(len(item["events"]) for item in kept["items"]) == waiting
    assert any(
        f"{waiting} event(s) of 2 conversation(s) not written at exit" in r.getMessage()
        for r in caplog.records
    )
    assert store.health().dropped_events == 0


def test_a_value_error_inside_the_stores_session_never_raises_system_exit(
    store: LedgerTrackerStore,
) -> None:
    # Rasa's own session_scope turns any ValueError into print_error_and_exit.
    with pytest.raises(ValueError, match="one conversation"), store.session_scope():
        raise ValueError("one conversation")


def test_a_sender_id_the_database_cannot_hold_is_that_conversations_failure_only(
    store: LedgerTrackerStore,
) -> None:
    """A lone surrogate in a sender id (F3: a signed Slack event's user) made SQLite raise
    UnicodeEncodeError, a ValueError, and Rasa's session_scope exited the process."""
    errors: list[Exception] = []
    rasa = FailSafeTrackerStore(store, on_tracker_store_error=errors.append)

    async def scenario() -> None:
        for _ in range(2):
            await turn(rasa, "U1\ud800_D1", "hi")  # read and write both fail, nothing exits
        await turn(rasa, "someone", "hi")
        assert await turn(rasa, "someone", "again") == ["hi"]

    asyncio.run(scenario())
    assert errors == [] and rasa._fallback_tracker_store is None
    assert user_texts(store.engine) == {"someone": ["hi", "again"]}
    assert store.health().poisoned >= 1
