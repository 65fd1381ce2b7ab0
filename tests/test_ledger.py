"""The guard decision ledger and the privacy controls, on real SQLite files and a real
PostgreSQL server (started by scripts/services.sh), through Rasa's tracker store."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ldn_bot.ledger.conversations import (
    EVENTS,
    answer_of_bot_message,
    events_of,
    forget,
    purge,
    turn_of_bot_message,
)
from ldn_bot.ledger.engine import engine_for
from ldn_bot.ledger.models import FeedbackVote, LedgerTurn
from ldn_bot.ledger.quarantine import Quarantine
from ldn_bot.ledger.schema import VERSION_TABLE, migrate
from ldn_bot.ledger.store import Ledger, LedgerWriter, sender_hash
from ldn_bot.ledger.turns import TurnRecord, last_turn, turn_record
from ldn_bot.settings import Settings
from rasa_project.tracker_store import LedgerTrackerStore

# --- a turn read from events ---------------------------------------------------------------


def user(text: str, intent: str, guard: dict | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "event": "user",
        "text": text,
        "timestamp": 1_790_000_000.0,
        "message_id": extra.pop("message_id", uuid.uuid4().hex),
        "input_channel": "rest",
        "parse_data": {
            "intent": {"name": intent, "confidence": 0.91234},
            "guard": guard or {"category": "none", "rule": None},
        },
        "metadata": {"model_id": "m1"},
        **extra,
    }


def bot(response: str, text: str = "reply", **metadata: Any) -> dict[str, Any]:
    return {"event": "bot", "text": text, "metadata": {"utter_action": response, **metadata}}


def test_an_article_turn_records_route_intent_and_sentences() -> None:
    events = [
        user("what is LDN?", "ask_ldn"),
        {"event": "action", "name": "action_answer_article"},
        bot("utter_article_answer", citations=["s10", "s11"]),
        bot("utter_article_answer", citations=["s11", "s12"]),
    ]
    record = turn_record("me", last_turn(reversed(events)))
    assert record is not None
    assert (record.route, record.intent, record.confidence) == ("article_answer", "ask_ldn", 0.9123)
    assert record.sentence_ids == ("s10", "s11", "s12")
    assert (record.guard_category, record.guard_rule, record.model_id) == ("none", None, "m1")
    assert record.channel == "rest"


def test_a_referral_turn_records_the_rule_that_fired() -> None:
    guard = {"category": "dosing", "rule": "dosing.how_much"}
    record = turn_record(
        "me", [user("how much?", "ask_dosing", guard), bot("utter_dosing_referral")]
    )
    assert record is not None
    assert (record.route, record.guard_category, record.guard_rule) == (
        "doctor_referral",
        "dosing",
        "dosing.how_much",
    )


def test_the_strongest_verdict_of_the_turn_is_recorded() -> None:
    """The fallback action runs the guard again; a stronger verdict there wins."""
    nlu = {"category": "personal_advice", "rule": "personal.should_i"}
    action = {"category": "emergency", "rule": "emergency.overdose"}
    record = turn_record(
        "me", [user("?", "nlu_fallback", nlu), bot("utter_emergency", guard=action)]
    )
    assert record is not None and record.guard_rule == "emergency.overdose"


def test_the_output_guard_stand_in_counts_as_a_referral() -> None:
    record = turn_record(
        "me", [user("x", "ask_ldn"), bot("utter_article_answer", output_guard=True)]
    )
    assert record is not None and record.route == "doctor_referral"


def test_a_turn_without_a_reply_is_not_recorded() -> None:
    assert turn_record("me", [user("x", "ask_ldn")]) is None
    assert turn_record("me", []) is None


def test_only_the_latest_turn_is_read() -> None:
    first, second = user("a", "greet"), user("b", "ask_ldn")
    events = [first, bot("utter_greet"), second, bot("utter_article_answer")]
    assert last_turn(reversed(events))[0] is second


def test_a_bot_message_index_maps_to_its_turn_an_answer_and_its_source_one_bubble() -> None:
    events = [
        user("/greet", "greet", message_id="t0"),
        bot("utter_disclaimer", "disclaimer"),
        bot("utter_greet", "hello"),
        user("what is LDN?", "ask_ldn", message_id="t1"),
        bot("utter_article_answer", "answer\n\n📄 Source: s1"),
        user("thanks", "thank", message_id="t2"),
        bot("utter_thanks", "welcome"),
    ]
    assert [turn_of_bot_message("me", events, index) for index in range(5)] == [
        "t0", "t0", "t1", "t2", None,
    ]  # fmt: skip


def test_only_bot_messages_that_answer_a_person_can_be_voted_on() -> None:
    events = [
        bot("utter_disclaimer", "disclaimer"),  # session start: before any message
        user("/greet", "greet", message_id="t0"),  # the widget's, on page open
        bot("utter_greet", "hello"),
        user("what is LDN?", "ask_ldn", message_id="t1"),
        bot("utter_article_answer", "answer\n\n📄 Source: s1"),
        user("hi", "greet", message_id="t2"),  # typed small talk is an answer
        bot("utter_greet", "hello"),
    ]
    answers = [answer_of_bot_message("me", events, index, hidden={"/greet"}) for index in range(5)]
    assert answers == [None, None, "t1", "t2", None]


# --- the ledger in a real database -----------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'conversations.sqlite'}"
        return
    url = request.getfixturevalue("pg_redis")["LDN_BOT_DATABASE_URL"]
    with create_engine(url, future=True).begin() as connection:
        for table in ("ledger_votes", "ledger_turns", VERSION_TABLE, "events"):
            connection.execute(text(f"DROP TABLE IF EXISTS {table} CASCADE"))
    yield url


@pytest.fixture
def store(database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> LedgerTrackerStore:
    monkeypatch.setenv("LDN_BOT_SALT", "test-salt")
    return LedgerTrackerStore(
        Domain.empty(), host=database_url, quarantine_dir=str(tmp_path / "quarantine")
    )


def conversation(
    sender: str, turns: list[tuple[str, str, str]], start: float
) -> DialogueStateTracker:
    """A tracker with one (text, intent, response) turn after another."""
    tracker = DialogueStateTracker(sender, slots=[])
    for index, (text_, intent, response) in enumerate(turns):
        stamp = start + index
        guard = {"category": "dosing", "rule": "dosing.how_much"} if intent == "ask_dosing" else {}
        tracker.update(
            UserUttered(
                text_,
                intent={"name": intent, "confidence": 0.9},
                parse_data={"intent": {"name": intent, "confidence": 0.9}, "guard": guard},
                input_channel="rest",
                timestamp=stamp,
                metadata={"model_id": "m1"},
            )
        )
        tracker.update(ActionExecuted(response, timestamp=stamp))
        tracker.update(BotUttered("reply", metadata={"utter_action": response}, timestamp=stamp))
        tracker.update(ActionExecuted("action_listen", timestamp=stamp))
    return tracker


async def save_turn_by_turn(store: LedgerTrackerStore, tracker: DialogueStateTracker) -> None:
    """Save after every turn, as Rasa does after each message."""
    partial = DialogueStateTracker(tracker.sender_id, slots=[])
    for event in tracker.events:
        partial.update(event)
        if isinstance(event, ActionExecuted) and event.action_name == "action_listen":
            await store.save(partial)


def rows(engine: Engine, model: Any) -> list[Any]:
    with Session(engine, future=True) as session:
        return list(session.scalars(select(model).order_by(model.id)))


def test_each_bot_turn_is_one_ledger_row_with_a_salted_sender(store: LedgerTrackerStore) -> None:
    tracker = conversation(
        "person-1",
        [
            ("hello", "greet", "utter_greet"),
            ("how much LDN?", "ask_dosing", "utter_dosing_referral"),
        ],
        time.time(),
    )
    asyncio.run(save_turn_by_turn(store, tracker))
    asyncio.run(store.save(tracker))  # saved again: still one row per turn
    assert store.ledger_writer.flush()
    turns = rows(store.ledger.engine, LedgerTurn)
    assert [(t.route, t.guard_category, t.guard_rule) for t in turns] == [
        ("smalltalk", "none", None),
        ("doctor_referral", "dosing", "dosing.how_much"),
    ]
    assert {t.sender_hash for t in turns} == {sender_hash("person-1", "test-salt")}
    assert all(t.user_text is None and t.article_version and t.model_id == "m1" for t in turns)
    raw = json.dumps([[str(v) for v in vars(t).values()] for t in turns])
    assert "person-1" not in raw and "how much LDN" not in raw


def test_user_text_is_kept_only_when_switched_on(store: LedgerTrackerStore) -> None:
    store.ledger = Ledger(store.ledger.engine, salt="s", article_version="v", store_text=True)
    store.ledger_writer = LedgerWriter(store.ledger)
    asyncio.run(store.save(conversation("p", [("what is MS?", "ask_ms", "utter_x")], time.time())))
    assert store.ledger_writer.flush()
    assert [t.user_text for t in rows(store.ledger.engine, LedgerTurn)] == ["what is MS?"]


def test_the_ledger_records_which_context_decided_a_turn(store: LedgerTrackerStore) -> None:
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
    asyncio.run(store.save(tracker))
    assert store.ledger_writer.flush()
    [turn] = rows(store.ledger.engine, LedgerTurn)
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


def test_migrations_are_idempotent_and_at_head(store: LedgerTrackerStore) -> None:
    migrate(store.ledger.engine)
    migrate(store.ledger.engine)
    with store.ledger.engine.connect() as connection:
        assert connection.scalar(text(f"SELECT version_num FROM {VERSION_TABLE}")) == "0003"


def test_the_tracker_store_and_the_ledger_share_one_engine_set_up_once(
    store: LedgerTrackerStore,
) -> None:
    """They opened one database with two engines and two different SQLite set-ups."""
    assert store.ledger.engine is store.engine
    with store.engine.connect() as connection:
        setting = connection.exec_driver_sql
        if store.engine.dialect.name == "sqlite":
            assert engine_for(store.engine.url) is store.engine  # `ldn-bot forget`'s too
            assert setting("PRAGMA journal_mode").scalar() == "wal"
            assert setting("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert setting("PRAGMA foreign_keys").scalar() == 1
            assert setting("PRAGMA busy_timeout").scalar() == 2000
        else:
            assert setting("SHOW statement_timeout").scalar() == "5s"
            assert setting("SHOW lock_timeout").scalar() == "2s"


def test_votes_are_tied_to_the_turn_of_the_message(store: LedgerTrackerStore) -> None:
    tracker = conversation(
        "web-1", [("what is LDN?", "ask_ldn", "utter_article_answer")], time.time()
    )
    asyncio.run(store.save(tracker))
    assert store.ledger_writer.flush()
    engine = store.ledger.engine
    message_id = turn_of_bot_message("web-1", events_of(engine, "web-1"), 0)
    store.ledger.record_vote(
        channel="web", sender_id="web-1", bot_index=0, vote="up", message_id=message_id
    )
    [vote] = rows(engine, FeedbackVote)
    [turn] = rows(engine, LedgerTurn)
    assert (vote.turn_id, vote.vote, vote.sender_hash) == (turn.id, "up", turn.sender_hash)
    with pytest.raises(ValueError):
        store.ledger.record_vote(
            channel="web", sender_id="web-1", bot_index=0, vote="meh", message_id=None
        )


def test_forget_deletes_one_persons_data_and_nothing_else(store: LedgerTrackerStore) -> None:
    now = time.time()
    for sender in ("U1_D1", "U1_C9", "U10_D2", "U1", "someone-else"):
        asyncio.run(store.save(conversation(sender, [("hi", "greet", "utter_greet")], now)))
    assert store.ledger_writer.flush()
    engine = store.ledger.engine
    store.ledger.record_vote(
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


def test_purge_deletes_everything_older_than_the_cutoff(store: LedgerTrackerStore) -> None:
    old = (datetime.now(timezone.utc) - timedelta(days=100)).timestamp()
    asyncio.run(store.save(conversation("old", [("hi", "greet", "utter_greet")], old)))
    asyncio.run(store.save(conversation("new", [("hi", "greet", "utter_greet")], time.time())))
    assert store.ledger_writer.flush()
    engine = store.ledger.engine

    removed = purge(engine, before=datetime.now(timezone.utc) - timedelta(days=90))

    assert (removed.events, removed.turns) == (4, 1)
    with Session(engine, future=True) as session:
        assert session.scalar(select(func.count()).select_from(LedgerTurn)) == 1
    assert events_of(engine, "old") == [] and len(events_of(engine, "new")) == 2


# --- writing never breaks a reply ------------------------------------------------------------


def record_of(message_id: str) -> TurnRecord:
    return TurnRecord(
        message_id=message_id,
        created_at=datetime.now(timezone.utc),
        channel="rest",
        sender_id="p",
        route="smalltalk",
        guard_category="none",
        guard_rule=None,
        intent="greet",
        confidence=1.0,
    )


def wait_for_failures(writer: LedgerWriter, count: int) -> None:
    deadline = time.monotonic() + 10
    while writer.failures < count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert writer.failures >= count


def test_a_database_outage_is_counted_and_survived(tmp_path: Path) -> None:
    """However many attempts an outage takes, no turn is dropped (only overflow is)."""
    folder = tmp_path / "not-yet"
    ledger = Ledger(engine_for(f"sqlite:///{folder / 'db.sqlite'}"), salt="s", article_version="v")
    writer = LedgerWriter(ledger, backoff=0.01, max_backoff=0.05)
    writer.submit(record_of("m1"))  # the database cannot be opened: submit returns anyway
    wait_for_failures(writer, 5)  # outages are retried until they end, however many attempts
    stats = writer.stats()
    assert (stats["available"], stats["written"], stats["dropped"], stats["pending"]) == (
        False, 0, 0, 1,
    )  # fmt: skip
    assert str(stats["last_error"]).startswith("OperationalError: unable to open database")

    folder.mkdir()  # the database comes back
    migrate(ledger.engine)
    assert writer.flush(timeout=20)
    assert writer.written == 1 and writer.dropped == 0 and writer.stats()["available"]
    writer.submit(record_of("m2"))
    assert writer.flush()
    assert len(rows(ledger.engine, LedgerTurn)) == 2


def test_during_an_outage_only_turns_beyond_the_queue_capacity_are_dropped(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "not-yet"
    ledger = Ledger(engine_for(f"sqlite:///{folder / 'db.sqlite'}"), salt="s", article_version="v")
    writer = LedgerWriter(ledger, capacity=3, backoff=0.01, max_backoff=0.05)
    writer.submit(record_of("m0"))
    wait_for_failures(writer, 1)  # m0 is the batch being retried; the queue is empty
    for index in range(1, 10):
        writer.submit(record_of(f"m{index}"))
    assert (writer.stats()["pending"], writer.dropped) == (1 + 3, 6)

    folder.mkdir()
    migrate(ledger.engine)
    assert writer.flush(timeout=20)
    assert (writer.written, writer.dropped) == (4, 6)
    stored = [turn.message_id for turn in rows(ledger.engine, LedgerTurn)]
    assert stored == ["m0", "m1", "m2", "m3"]


def test_a_ledger_row_the_database_rejects_is_set_aside_and_the_others_written(
    tmp_path: Path,
) -> None:
    """A row the database refuses (NOT NULL) and one its driver cannot even send (a lone
    surrogate, which raised outside SQLAlchemy and killed the writer thread) are set aside:
    counted, kept in the quarantine file; every other row of their batches is written."""
    ledger = Ledger(
        engine_for(f"sqlite:///{tmp_path / 'db.sqlite'}"),
        salt="s",
        article_version="v",
        store_text=True,
    )
    migrate(ledger.engine)
    quarantine = Quarantine(tmp_path / "quarantine" / "ledger.jsonl")
    writer = LedgerWriter(ledger, backoff=0.01, max_backoff=0.05, quarantine=quarantine)
    refused = replace(record_of("m-refused"), route=None)  # type: ignore[arg-type]
    unsendable = replace(record_of("m-unsendable"), text="a \ud800 b")
    for record in (record_of("m1"), refused, record_of("m2"), unsendable, record_of("m3")):
        writer.submit(record)
    assert writer.flush()
    writer.submit(record_of("m4"))  # the thread is alive and the queue moves
    assert writer.flush()

    stored = [turn.message_id for turn in rows(ledger.engine, LedgerTurn)]
    assert stored == ["m1", "m2", "m3", "m4"]
    stats = writer.stats()
    assert (stats["written"], stats["poisoned"], stats["dropped"], stats["pending"]) == (4, 2, 0, 0)
    kept = [item["message_id"] for line in quarantine.read() for item in line["items"]]
    assert kept == ["m-refused", "m-unsendable"]
    assert all("sender_id" not in item for line in quarantine.read() for item in line["items"])
    assert stat.S_IMODE(os.stat(quarantine.path).st_mode) == 0o600


def test_turns_still_queued_at_exit_are_kept_and_counted_not_dropped_silently(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "never"  # the database never comes back
    ledger = Ledger(engine_for(f"sqlite:///{folder / 'db.sqlite'}"), salt="s", article_version="v")
    quarantine = Quarantine(tmp_path / "quarantine" / "ledger.jsonl")
    writer = LedgerWriter(ledger, backoff=0.01, max_backoff=0.05, quarantine=quarantine)
    for index in range(5):
        writer.submit(record_of(f"m{index}"))
    wait_for_failures(writer, 1)
    assert writer.close(timeout=0.2) == 5
    kept = sorted(item["message_id"] for line in quarantine.read() for item in line["items"])
    assert kept == [f"m{index}" for index in range(5)]
    assert any("5 turn(s) not written at exit" in r.getMessage() for r in caplog.records)


def test_the_salt_file_is_private_and_stable(
    cfg: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LDN_BOT_SALT", raising=False)
    local = replace(cfg, var_dir=tmp_path)
    first = local.salt()
    assert first == local.salt() and len(first) == 64
    assert stat.S_IMODE(os.stat(tmp_path / "salt").st_mode) == 0o600


def test_repeated_votes_on_one_message_keep_only_the_last(store: LedgerTrackerStore) -> None:
    tracker = conversation(
        "socketio:web-2", [("what is LDN?", "ask_ldn", "utter_article_answer")], time.time()
    )
    asyncio.run(store.save(tracker))
    assert store.ledger_writer.flush()
    for n in range(20):
        store.ledger.record_vote(
            channel="socketio",
            sender_id="socketio:web-2",
            bot_index=0,
            vote="up" if n % 2 else "down",
            message_id=None,
        )
    store.ledger.record_vote(
        channel="socketio", sender_id="socketio:other", bot_index=0, vote="down", message_id=None
    )
    votes = rows(store.ledger.engine, FeedbackVote)
    assert sorted(
        (v.sender_hash == store.ledger.hash("socketio:web-2"), v.vote) for v in votes
    ) == [
        (False, "down"),
        (True, "up"),
    ]


def test_forget_takes_a_namespaced_or_a_bare_id(store: LedgerTrackerStore) -> None:
    now = time.time()
    senders = ("rest:alice", "socketio:alice", "slack:U1_D1", "slack:U1_C9", "rest:U1", "rest:bob")
    for sender in senders:
        asyncio.run(store.save(conversation(sender, [("hi", "greet", "utter_greet")], now)))
    assert store.ledger_writer.flush()
    engine = store.ledger.engine

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
    store: LedgerTrackerStore, tmp_path: Path
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
    engine = store.ledger.engine

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
