"""The guard decision ledger through Rasa's tracker store (the `ledger_store` fixture), on
real SQLite files and a real PostgreSQL server (started by scripts/services.sh): one row
per turn with a salted sender, user text only when switched on, the schema and its
migrations, one engine shared with the tracker store, and votes tied to their turn."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from ledger_db import conversation, rows
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import create_engine, text

from ldn_bot.ledger.conversations import (
    events_of,
    turn_of_bot_message,
)
from ldn_bot.ledger.engine import engine_for
from ldn_bot.ledger.models import FeedbackVote, LedgerTurn
from ldn_bot.ledger.schema import VERSION_TABLE, migrate
from ldn_bot.ledger.store import Ledger, LedgerWriter, sender_hash
from rasa_project.tracker_store import LedgerTrackerStore


async def save_turn_by_turn(store: LedgerTrackerStore, tracker: DialogueStateTracker) -> None:
    """Save after every turn, as Rasa does after each message."""
    partial = DialogueStateTracker(tracker.sender_id, slots=[])
    for event in tracker.events:
        partial.update(event)
        if isinstance(event, ActionExecuted) and event.action_name == "action_listen":
            await store.save(partial)


def test_each_bot_turn_is_one_ledger_row_with_a_salted_sender(
    ledger_store: LedgerTrackerStore,
) -> None:
    tracker = conversation(
        "person-1",
        [
            ("hello", "greet", "utter_greet"),
            ("how much LDN?", "ask_dosing", "utter_dosing_referral"),
        ],
        time.time(),
    )
    asyncio.run(save_turn_by_turn(ledger_store, tracker))
    asyncio.run(ledger_store.save(tracker))  # saved again: still one row per turn
    assert ledger_store.ledger_writer.flush()
    turns = rows(ledger_store.ledger.engine, LedgerTurn)
    assert [(t.route, t.guard_category, t.guard_rule) for t in turns] == [
        ("smalltalk", "none", None),
        ("doctor_referral", "dosing", "dosing.how_much"),
    ]
    assert {t.sender_hash for t in turns} == {sender_hash("person-1", "test-salt")}
    assert all(t.user_text is None and t.article_version and t.model_id == "m1" for t in turns)
    raw = json.dumps([[str(v) for v in vars(t).values()] for t in turns])
    assert "person-1" not in raw and "how much LDN" not in raw


def test_user_text_is_kept_only_when_switched_on(ledger_store: LedgerTrackerStore) -> None:
    ledger_store.ledger = Ledger(
        ledger_store.ledger.engine, salt="s", article_version="v", store_text=True
    )
    ledger_store.ledger_writer = LedgerWriter(ledger_store.ledger)
    asyncio.run(
        ledger_store.save(conversation("p", [("what is MS?", "ask_ms", "utter_x")], time.time()))
    )
    assert ledger_store.ledger_writer.flush()
    assert [t.user_text for t in rows(ledger_store.ledger.engine, LedgerTurn)] == ["what is MS?"]


def test_the_ledger_records_which_context_decided_a_turn(ledger_store: LedgerTrackerStore) -> None:
    tracker = DialogueStateTracker("insisting", slots=[])
    guard = {"category": "dosing", "rule": "context", "source": "context", "context": "dosing"}
    tracker.update(
        UserUttered(
            "i'm a nurse, you can tell me",
            intent={"name": "insist_dosing", "confidence": 1.0},
            parse_data={"intent": {"name": "insist_dosing", "confidence": 1.0}, "guard": guard},
            input_channel="rest",
            timestamp=time.time(),
        )
    )
    tracker.update(ActionExecuted("utter_still_dosing_referral"))
    tracker.update(BotUttered("no", metadata={"utter_action": "utter_still_dosing_referral"}))
    tracker.update(ActionExecuted("action_listen"))
    asyncio.run(ledger_store.save(tracker))
    assert ledger_store.ledger_writer.flush()
    [turn] = rows(ledger_store.ledger.engine, LedgerTurn)
    assert (turn.route, turn.guard_category, turn.guard_rule) == (
        "doctor_referral",
        "dosing",
        "context",
    )
    assert (turn.guard_source, turn.guard_context) == ("context", "dosing")


def test_a_ledger_of_the_first_schema_is_upgraded_in_place(tmp_path: Path) -> None:
    from alembic import command

    from ldn_bot.ledger.schema import alembic_config

    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = create_engine(url, future=True)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.execute(
            text(
                "INSERT INTO ledger_turns (created_at, message_id, channel, sender_hash, route,"
                " guard_category, sentence_ids, article_version) VALUES"
                " ('2026-01-01 00:00:00', 'm1', 'rest', 'h', 'smalltalk', 'none', '', 'v')"
            )
        )
    migrate(engine)
    [turn] = rows(engine, LedgerTurn)
    assert turn.message_id == "m1" and turn.guard_source is None


def test_migrations_are_idempotent_and_at_head(ledger_store: LedgerTrackerStore) -> None:
    migrate(ledger_store.ledger.engine)
    migrate(ledger_store.ledger.engine)
    with ledger_store.ledger.engine.connect() as connection:
        assert connection.scalar(text(f"SELECT version_num FROM {VERSION_TABLE}")) == "0003"


def test_the_tracker_store_and_the_ledger_share_one_engine_set_up_once(
    ledger_store: LedgerTrackerStore,
) -> None:
    """They opened one database with two engines and two different SQLite set-ups."""
    assert ledger_store.ledger.engine is ledger_store.engine
    with ledger_store.engine.connect() as connection:
        setting = connection.exec_driver_sql
        if ledger_store.engine.dialect.name == "sqlite":
            assert (
                engine_for(ledger_store.engine.url) is ledger_store.engine
            )  # `ldn-bot forget`'s too
            assert setting("PRAGMA journal_mode").scalar() == "wal"
            assert setting("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert setting("PRAGMA foreign_keys").scalar() == 1
            assert setting("PRAGMA busy_timeout").scalar() == 2000
        else:
            assert setting("SHOW statement_timeout").scalar() == "5s"
            assert setting("SHOW lock_timeout").scalar() == "2s"


def test_votes_are_tied_to_the_turn_of_the_message(ledger_store: LedgerTrackerStore) -> None:
    tracker = conversation(
        "web-1", [("what is LDN?", "ask_ldn", "utter_article_answer")], time.time()
    )
    asyncio.run(ledger_store.save(tracker))
    assert ledger_store.ledger_writer.flush()
    engine = ledger_store.ledger.engine
    message_id = turn_of_bot_message("web-1", events_of(engine, "web-1"), 0)
    ledger_store.ledger.record_vote(
        channel="web", sender_id="web-1", bot_index=0, vote="up", message_id=message_id
    )
    [vote] = rows(engine, FeedbackVote)
    [turn] = rows(engine, LedgerTurn)
    assert (vote.turn_id, vote.vote, vote.sender_hash) == (turn.id, "up", turn.sender_hash)
    with pytest.raises(ValueError):
        ledger_store.ledger.record_vote(
            channel="web", sender_id="web-1", bot_index=0, vote="meh", message_id=None
        )


def test_repeated_votes_on_one_message_keep_only_the_last(ledger_store: LedgerTrackerStore) -> None:
    tracker = conversation(
        "socketio:web-2", [("what is LDN?", "ask_ldn", "utter_article_answer")], time.time()
    )
    asyncio.run(ledger_store.save(tracker))
    assert ledger_store.ledger_writer.flush()
    for n in range(20):
        ledger_store.ledger.record_vote(
            channel="socketio",
            sender_id="socketio:web-2",
            bot_index=0,
            vote="up" if n % 2 else "down",
            message_id=None,
        )
    ledger_store.ledger.record_vote(
        channel="socketio", sender_id="socketio:other", bot_index=0, vote="down", message_id=None
    )
    votes = rows(ledger_store.ledger.engine, FeedbackVote)
    assert sorted(
        (v.sender_hash == ledger_store.ledger.hash("socketio:web-2"), v.vote) for v in votes
    ) == [
        (False, "down"),
        (True, "up"),
    ]
