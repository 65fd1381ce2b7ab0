"""Writing the ledger never breaks a reply: `LedgerWriter` counts and survives a database
outage, drops only turns beyond its queue capacity, sets aside rows the database rejects
and keeps, and counts, the turns still queued at exit. On real SQLite files."""

from __future__ import annotations

import os
import stat
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest
from ledger_db import rows

from ldn_bot.ledger.engine import engine_for
from ldn_bot.ledger.models import LedgerTurn
from ldn_bot.ledger.quarantine import Quarantine
from ldn_bot.ledger.schema import migrate
from ldn_bot.ledger.store import Ledger, LedgerWriter
from ldn_bot.ledger.turns import TurnRecord


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
