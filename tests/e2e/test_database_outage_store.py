"""The database going away and coming back, at the conversation store: the dialogue goes
on from memory, nothing stored is lost or changed, and what happened meanwhile is stored once
the database is back.

Rasa's `FailSafeTrackerStore` runs around our store on a SQLite file whose statements fail
while an outage is "on" (a SQLAlchemy hook raising the driver's own error), and on a real
PostgreSQL whose table another session holds locked.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import FailSafeTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from sqlalchemy.engine import Engine
from stored_events import stored_rows, user_texts

from ldn_bot.ledger.health import describe
from rasa_project import patches
from rasa_project.tracker_store import LedgerTrackerStore

UNREACHABLE = "unable to open database file"


class Outage:
    """Makes `engine`'s statements fail as SQLite's driver does when the file is unreachable
    (or, with `rejecting`, as a database refusing the rows of one conversation). Raised
    where the driver runs a statement, so SQLAlchemy wraps them as it wraps real errors."""

    def __init__(self, engine: Engine) -> None:
        self.rejecting: str | None = None
        self.down = False
        for name in ("do_execute", "do_executemany", "do_execute_no_params"):
            sa.event.listen(engine.dialect, name, self._check)

    def _check(self, _cursor: Any, statement: str, *rest: Any) -> None:
        if self.down:
            raise sqlite3.OperationalError(UNREACHABLE)
        if self.rejecting is not None and self.rejecting in repr(rest):
            raise sqlite3.DataError("value too long")


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LedgerTrackerStore]:
    monkeypatch.setenv("LDN_BOT_SALT", "test-salt")
    patches.apply()  # as `ldn-bot` runs Rasa: new trackers come from our store
    yield LedgerTrackerStore(
        Domain.empty(),
        host=f"sqlite:///{tmp_path / 'conversations.sqlite'}",
        retry_every=0,
        quarantine_dir=str(tmp_path / "quarantine"),
    )


def failsafe(store: LedgerTrackerStore, errors: list[Exception]) -> FailSafeTrackerStore:
    """Rasa's wrapper, as every agent has it; `errors` collects what it would fall back on."""
    return FailSafeTrackerStore(store, on_tracker_store_error=errors.append)


async def turn(rasa: FailSafeTrackerStore, sender: str, text: str) -> list[str]:
    """One message as Rasa handles it: fetch (or create), add the turn, save. Returns the
    user texts the dialogue saw before this message."""
    tracker = await rasa.get_or_create_tracker(sender)
    seen = [e.text for e in tracker.events if isinstance(e, UserUttered)]
    tracker.update(UserUttered(text, intent={"name": "greet", "confidence": 1.0}))
    tracker.update(ActionExecuted("utter_greet"))
    tracker.update(BotUttered("hello", metadata={"utter_action": "utter_greet"}))
    tracker.update(ActionExecuted("action_listen"))
    await rasa.save(tracker)
    return seen


def messages(caplog: pytest.LogCaptureFixture, text: str) -> int:
    return sum(text in record.getMessage() for record in caplog.records)


def test_turns_during_an_outage_are_stored_in_order_once_the_database_is_back(
    store: LedgerTrackerStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="rasa_project.tracker_store")
    outage = Outage(store.engine)
    errors: list[Exception] = []
    rasa = failsafe(store, errors)

    async def scenario() -> None:
        for text in ("a1", "a2"):
            await turn(rasa, "alice", text)
        before = stored_rows(store.engine)

        outage.down = True
        assert await turn(rasa, "alice", "a3") == ["a1", "a2"]  # from memory
        assert await turn(rasa, "alice", "a4") == ["a1", "a2", "a3"]
        assert await turn(rasa, "bob", "b1") == []  # new: a fresh conversation
        assert await turn(rasa, "bob", "b2") == ["b1"]
        health = store.health()
        assert not health.available and health.since is not None
        assert health.pending_events == 2 * 4 + (1 + 2 * 4)  # bob's starts with action_listen
        assert health.last_error == f"OperationalError: {UNREACHABLE}"
        outage.down = False
        assert stored_rows(store.engine) == before  # nothing written, nothing changed

        assert await turn(rasa, "alice", "a5") == ["a1", "a2", "a3", "a4"]
        after = stored_rows(store.engine)
        assert after[: len(before)] == before
        assert user_texts(store.engine, "alice") == ["a1", "a2", "a3", "a4", "a5"]
        assert user_texts(store.engine, "bob") == ["b1", "b2"]
        assert len(after) == len(before) + 3 * 4 + 9  # every event once
        health = store.health()
        assert (health.available, health.pending_events, health.dropped_events) == (True, 0, 0)

        # a server that never saw the outage reads the same conversations back
        fresh = LedgerTrackerStore(Domain.empty(), host=str(store.engine.url))
        assert await turn(failsafe(fresh, errors), "bob", "b3") == ["b1", "b2"]
        assert await turn(rasa, "bob", "b4") == ["b1", "b2", "b3"]  # read again
        assert user_texts(store.engine, "bob") == ["b1", "b2", "b3", "b4"]

    asyncio.run(scenario())
    assert errors == []  # Rasa never saw an error, so never swapped in its in-memory store
    assert rasa._fallback_tracker_store is None
    # once per outage (the ledger, on the same engine, logs its own line)
    assert messages(caplog, "conversations: the database is unreachable") == 1
    assert messages(caplog, "conversations: the database is back") == 1


def test_the_store_writes_on_its_own_when_no_message_follows_the_outage(
    store: LedgerTrackerStore,
) -> None:
    outage = Outage(store.engine)
    store.retry_every = 0.05

    async def scenario() -> int:
        rasa = failsafe(store, [])
        outage.down = True
        await turn(rasa, "carol", "c1")
        assert store.health().pending_events == 5
        outage.down = False
        deadline = asyncio.get_running_loop().time() + 10
        while store.health().pending_events and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)
        return store.health().pending_events

    assert asyncio.run(scenario()) == 0
    assert user_texts(store.engine, "carol") == ["c1"]
    assert store.health().available


def test_a_conversation_the_database_rejects_does_not_hold_back_the_others(
    store: LedgerTrackerStore,
) -> None:
    outage = Outage(store.engine)

    async def scenario() -> None:
        rasa = failsafe(store, [])
        outage.down = True
        await turn(rasa, "too-long-id", "x1")
        await turn(rasa, "dave", "d1")
        outage.down, outage.rejecting = False, "too-long-id"
        await turn(rasa, "dave", "d2")

    asyncio.run(scenario())
    assert user_texts(store.engine, "dave") == ["d1", "d2"]
    assert user_texts(store.engine, "too-long-id") == []
    health = store.health()
    assert (health.available, health.pending_events, health.dropped_events) == (True, 0, 0)
    assert health.poisoned == 1  # set aside, not dropped: kept in the quarantine file
    assert health.last_error == "DataError: value too long"
    (kept,) = store.quarantine.read()
    assert (kept["kind"], kept["reason"]) == ("conversation", "DataError: value too long")
    assert kept["items"][0]["sender_id"] == "too-long-id"
    assert [e["text"] for e in kept["items"][0]["events"] if e["event"] == "user"] == ["x1"]


def test_events_beyond_max_pending_are_dropped_counted_and_logged_once(
    store: LedgerTrackerStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="rasa_project.tracker_store")
    outage = Outage(store.engine)
    store.max_pending = 5

    async def scenario() -> None:
        rasa = failsafe(store, [])
        outage.down = True
        await turn(rasa, "erin", "e1")  # 5 events: kept
        await turn(rasa, "erin", "e2")  # over the limit: dropped
        assert await turn(rasa, "erin", "e3") == ["e1", "e2"]  # the dialogue goes on
        outage.down = False
        # once the database is back, memory is what the database holds again
        assert await turn(rasa, "erin", "e4") == ["e1"]

    asyncio.run(scenario())
    assert user_texts(store.engine, "erin") == ["e1", "e4"]
    assert store.health().dropped_events == 8
    assert messages(caplog, "further events are not stored") == 1


def test_errors_are_described_without_the_statements_parameters() -> None:
    error = sa.exc.OperationalError(
        "INSERT INTO events (data) VALUES (?)",
        ("how much LDN should I take?",),
        sqlite3.OperationalError("disk I/O error\nmore detail"),
    )
    assert describe(error) == "OperationalError: disk I/O error"


@pytest.mark.services
def test_a_locked_postgresql_table_does_not_block_the_event_loop(
    pg_redis: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another session holds `LOCK TABLE events` (ACCESS EXCLUSIVE, reads blocked too) for
    a few seconds: statements give up after `lock_timeout` (an outage), the turns go on
    from memory, a timer on the event loop keeps ticking, and everything is written in
    order once the lock is gone."""
    monkeypatch.setenv("LDN_BOT_SALT", "test-salt")
    patches.apply()
    url = pg_redis["LDN_BOT_DATABASE_URL"]
    with sa.create_engine(url, future=True).begin() as connection:
        connection.execute(sa.text("DROP TABLE IF EXISTS events CASCADE"))
    store = LedgerTrackerStore(
        Domain.empty(), host=url, retry_every=0.5, quarantine_dir=str(tmp_path)
    )
    rasa = failsafe(store, [])
    hold = 6.0
    locker = sa.create_engine(url, future=True)

    async def scenario() -> tuple[float, float, int]:
        await turn(rasa, "pat", "p0")
        ticks: list[float] = []

        async def tick() -> None:  # the loop's heartbeat: gaps show a blocked loop
            while True:
                ticks.append(time.monotonic())
                await asyncio.sleep(0.05)

        heartbeat = asyncio.create_task(tick())
        with locker.connect() as connection:
            transaction = connection.begin()
            connection.execute(sa.text("LOCK TABLE events IN ACCESS EXCLUSIVE MODE"))
            started, longest, sent = time.monotonic(), 0.0, 0
            while time.monotonic() - started < hold:
                sent += 1
                begin = time.monotonic()
                await turn(rasa, "pat", f"p{sent}")
                longest = max(longest, time.monotonic() - begin)
            assert store.health().pending_events > 0
            transaction.commit()
        deadline = time.monotonic() + 30
        while store.health().pending_events and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        heartbeat.cancel()
        gap = max(later - earlier for earlier, later in itertools.pairwise(ticks))
        return longest, gap, sent

    longest, gap, sent = asyncio.run(scenario())
    assert user_texts(store.engine, "pat") == [f"p{n}" for n in range(sent + 1)]
    assert store.health().available and store.health().dropped_events == 0
    assert gap < hold / 2  # the event loop never waited for the lock
    print(f"\nPostgreSQL table locked {hold:.0f} s: {sent} turns, longest {longest:.2f} s, "
          f"longest event-loop gap {gap:.2f} s; all stored in order")  # fmt: skip
