"""The ledger's privacy controls, through Rasa's tracker store (the `ledger_store` fixture)
on real SQLite files and a real PostgreSQL server (started by scripts/services.sh):
`forget` deletes one person's data (a namespaced or a bare id), `purge` what is older
than a cutoff, both reach what the stores set aside, and the salt file is private and
stable."""

from __future__ import annotations

import asyncio
import os
import stat
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from ledger_db import conversation, rows
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ldn_bot.ledger.conversations import (
    EVENTS,
    events_of,
    forget,
    purge,
)
from ldn_bot.ledger.models import LedgerTurn
from ldn_bot.ledger.quarantine import Quarantine
from ldn_bot.ledger.store import sender_hash
from ldn_bot.settings import Settings
from rasa_project.tracker_store import LedgerTrackerStore


def test_forget_deletes_one_persons_data_and_nothing_else(ledger_store: LedgerTrackerStore) -> None:
    now = time.time()
    for sender in ("U1_D1", "U1_C9", "U10_D2", "U1", "someone-else"):
        asyncio.run(ledger_store.save(conversation(sender, [("hi", "greet", "utter_greet")], now)))
    assert ledger_store.ledger_writer.flush()
    engine = ledger_store.ledger.engine
    ledger_store.ledger.record_vote(
        channel="slack", sender_id="U1_D1", bot_index=0, vote="down", message_id=None
    )

    removed = forget(engine, "U1", salt="test-salt")

    assert (removed.conversations, removed.turns, removed.votes) == (3, 3, 1)
    assert removed.events == 3 * 4
    with engine.connect() as connection:
        left = set(connection.scalars(select(EVENTS.c.sender_id).distinct()))
    assert left == {"U10_D2", "someone-else"}
    assert {t.sender_hash for t in rows(engine, LedgerTurn)} == {
        sender_hash("U10_D2", "test-salt"),
        sender_hash("someone-else", "test-salt"),
    }
    assert forget(engine, "U1", salt="test-salt").turns == 0


def test_purge_deletes_everything_older_than_the_cutoff(ledger_store: LedgerTrackerStore) -> None:
    old = (datetime.now(timezone.utc) - timedelta(days=100)).timestamp()
    asyncio.run(ledger_store.save(conversation("old", [("hi", "greet", "utter_greet")], old)))
    asyncio.run(
        ledger_store.save(conversation("new", [("hi", "greet", "utter_greet")], time.time()))
    )
    assert ledger_store.ledger_writer.flush()
    engine = ledger_store.ledger.engine

    removed = purge(engine, before=datetime.now(timezone.utc) - timedelta(days=90))

    assert (removed.events, removed.turns) == (4, 1)
    with Session(engine, future=True) as session:
        assert session.scalar(select(func.count()).select_from(LedgerTurn)) == 1
    assert events_of(engine, "old") == [] and len(events_of(engine, "new")) == 2


def test_the_salt_file_is_private_and_stable(
    cfg: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LDN_BOT_SALT", raising=False)
    local = replace(cfg, var_dir=tmp_path)
    first = local.salt()
    assert first == local.salt() and len(first) == 64
    assert stat.S_IMODE(os.stat(tmp_path / "salt").st_mode) == 0o600


def test_forget_takes_a_namespaced_or_a_bare_id(ledger_store: LedgerTrackerStore) -> None:
    now = time.time()
    senders = ("rest:alice", "socketio:alice", "slack:U1_D1", "slack:U1_C9", "rest:U1", "rest:bob")
    for sender in senders:
        asyncio.run(ledger_store.save(conversation(sender, [("hi", "greet", "utter_greet")], now)))
    assert ledger_store.ledger_writer.flush()
    engine = ledger_store.ledger.engine

    def left() -> set[str]:
        with engine.connect() as connection:
            return set(connection.scalars(select(EVENTS.c.sender_id).distinct()))

    assert forget(engine, "rest:alice", salt="test-salt").conversations == 1
    assert left() == set(senders) - {"rest:alice"}
    assert forget(engine, "slack:U1", salt="test-salt").conversations == 2  # that user's only
    assert left() == {"socketio:alice", "rest:U1", "rest:bob"}
    removed = forget(engine, "alice", salt="test-salt")  # a bare id: every channel
    assert (removed.conversations, removed.turns) == (1, 1)
    assert left() == {"rest:U1", "rest:bob"}
    assert {t.sender_hash for t in rows(engine, LedgerTurn)} == {
        sender_hash("rest:U1", "test-salt"),
        sender_hash("rest:bob", "test-salt"),
    }


def test_forget_and_purge_reach_what_the_stores_set_aside(
    ledger_store: LedgerTrackerStore, tmp_path: Path
) -> None:
    """`forget` left a person's texts in the quarantine files, and `purge` kept them past
    the retention period: both now cover them, one item at a time."""
    folder = tmp_path / "quarantine"
    conversations = Quarantine(folder / "conversations.jsonl")
    ledger_rows = Quarantine(folder / "ledger.jsonl")
    conversations.keep(
        "conversation",
        "test",
        [
            {"sender_id": "rest:alice", "events": [{"event": "user", "text": "alice's words"}]},
            {"sender_id": "rest:bob", "events": [{"event": "user", "text": "bob's words"}]},
        ],
    )
    ledger_rows.keep("ledger", "test", [{"sender_hash": sender_hash("rest:alice", "test-salt")}])
    engine = ledger_store.ledger.engine

    removed = forget(engine, "alice", salt="test-salt", quarantine_dir=folder)
    assert (removed.quarantined, removed.conversations) == (2, 1)
    assert "alice" not in conversations.path.read_text() + ledger_rows.path.read_text()
    assert [item["sender_id"] for line in conversations.read() for item in line["items"]] == [
        "rest:bob"
    ]
    assert ledger_rows.read() == []  # a line whose items are all forgotten goes with them
    assert stat.S_IMODE(os.stat(conversations.path).st_mode) == 0o600

    kept_before = datetime.now(timezone.utc) + timedelta(seconds=1)
    later = purge(engine, before=kept_before - timedelta(days=1), quarantine_dir=folder)
    assert later.quarantined == 0  # set aside today: within the retention period
    assert purge(engine, before=kept_before, quarantine_dir=folder).quarantined == 1
    assert conversations.read() == []
