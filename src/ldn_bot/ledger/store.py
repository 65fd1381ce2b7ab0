"""Writing the ledger: a salted sender hash, idempotent inserts, and a background writer
so that a slow or unreachable database never delays or breaks a reply."""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, delete, event, select, text
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from ldn_bot.ledger.health import Availability, StoreHealth, describe, is_outage
from ldn_bot.ledger.models import FeedbackVote, LedgerTurn
from ldn_bot.ledger.turns import TurnRecord

logger = logging.getLogger(__name__)

VOTES = ("up", "down")


def sender_hash(sender_id: str, salt: str) -> str:
    """The only form in which the ledger keeps a person's id."""
    return hashlib.sha256(f"{salt}:{sender_id}".encode()).hexdigest()


def article_version(path: Path) -> str:
    """A content hash of the article the answers come from."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


@lru_cache(maxsize=8)
def engine_for(url: str | URL) -> Engine:
    """A `future` engine per database; SQLite gets WAL and a busy timeout, so the tracker
    store and the ledger can write the same file from several threads."""
    url_text = url if isinstance(url, str) else url.render_as_string(hide_password=False)
    is_sqlite = url_text.startswith("sqlite")
    engine = create_engine(
        url,
        future=True,
        pool_pre_ping=not is_sqlite,
        connect_args={"timeout": 30} if is_sqlite else {"connect_timeout": 5},
    )
    if is_sqlite:

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

    return engine


class Ledger:
    """The ledger tables of one database."""

    def __init__(
        self, engine: Engine, *, salt: str, article_version: str, store_text: bool = False
    ) -> None:
        self.engine = engine
        self.salt = salt
        self.article_version = article_version
        self.store_text = store_text

    def hash(self, sender_id: str) -> str:
        return sender_hash(sender_id, self.salt)

    def write(self, records: list[TurnRecord]) -> int:
        """Insert turns, skipping any already recorded (same message id). Returns new rows."""
        written = 0
        with Session(self.engine, future=True) as session:
            for record in records:
                try:
                    with session.begin():
                        session.add(self._row(record))
                    written += 1
                except IntegrityError:  # the turn is in the ledger already
                    session.rollback()
        return written

    def _row(self, record: TurnRecord) -> LedgerTurn:
        return LedgerTurn(
            created_at=record.created_at,
            message_id=record.message_id,
            channel=record.channel,
            sender_hash=self.hash(record.sender_id),
            route=record.route,
            guard_category=record.guard_category,
            guard_rule=record.guard_rule,
            intent=record.intent,
            confidence=record.confidence,
            sentence_ids=",".join(record.sentence_ids),
            model_id=record.model_id,
            article_version=self.article_version,
            user_text=record.text if self.store_text else None,
        )

    def turn_id(self, message_id: str) -> int | None:
        with Session(self.engine, future=True) as session:
            return session.scalar(select(LedgerTurn.id).where(LedgerTurn.message_id == message_id))

    def record_vote(
        self,
        *,
        channel: str,
        sender_id: str,
        bot_index: int,
        vote: str,
        message_id: str | None,
    ) -> None:
        """Store the vote of `sender_id` on its `bot_index`-th bot message, replacing any
        earlier vote on that message (one vote per message: the last counts). It is tied
        to the ledger row of `message_id`'s turn when there is one.

        Raises:
            ValueError: the vote is not "up" or "down", or the index is negative.
        """
        if vote not in VOTES or bot_index < 0:
            raise ValueError(f"vote must be one of {VOTES} on a message index >= 0")
        turn_id = self.turn_id(message_id) if message_id else None
        sender = self.hash(sender_id)
        with Session(self.engine, future=True) as session, session.begin():
            if session.get_bind().dialect.name == "postgresql":
                # Two votes at once on one message: the second waits for the first, then
                # replaces it (SQLite serialises writers by itself).
                key = int(sender[:15], 16) ^ bot_index
                session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
            session.execute(
                delete(FeedbackVote).where(
                    FeedbackVote.sender_hash == sender, FeedbackVote.bot_index == bot_index
                )
            )
            session.add(
                FeedbackVote(
                    created_at=datetime.now(timezone.utc),
                    turn_id=turn_id,
                    channel=channel[:32],
                    sender_hash=sender,
                    bot_index=bot_index,
                    vote=vote,
                )
            )


class LedgerWriter:
    """Queues turns and writes them on a background thread, in batches.

    `submit` never blocks and never raises. While the database is unreachable the writer
    keeps the turns and retries with a growing pause (up to `max_backoff` seconds), however
    long the outage lasts; the queue holds at most `capacity` turns, and only turns
    submitted to a full queue are dropped (counted, and logged). A batch the database
    rejects (a data or SQL error, not an outage) is tried `max_attempts` times, then dropped.
    The outage is logged when it begins and when it ends, not on every attempt.
    """

    def __init__(
        self,
        ledger: Ledger,
        *,
        capacity: int = 10_000,
        max_attempts: int = 5,
        backoff: float = 1.0,
        max_backoff: float = 10.0,
    ) -> None:
        self.ledger = ledger
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.written = 0
        self.dropped = 0
        self.availability = Availability()
        self._queue: queue.Queue[TurnRecord] = queue.Queue(maxsize=capacity)
        self._thread = threading.Thread(target=self._run, name="ledger-writer", daemon=True)
        self._thread.start()

    @property
    def failures(self) -> int:
        """Failed write attempts since the writer started."""
        return self.availability.failures

    def submit(self, record: TurnRecord) -> None:
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            self.dropped += 1
            logger.error("ledger: queue full, turn %s not recorded", record.message_id)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every submitted turn is written (or given up). True when done in time."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._queue.unfinished_tasks

    def health(self) -> StoreHealth:
        return self.availability.snapshot(
            pending=self._queue.unfinished_tasks, dropped=self.dropped
        )

    def stats(self) -> Mapping[str, Any]:
        """Counters and outage state, as `/health` shows them."""
        health = self.health()
        return {
            "written": self.written,
            "failures": health.failures,
            "dropped": health.dropped_events,
            "pending": health.pending_events,
            "available": health.available,
            "last_error": health.last_error,
            "since": health.since,
        }

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < 100:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            self._write(batch)
            for _ in batch:
                self._queue.task_done()

    def _write(self, batch: list[TurnRecord]) -> None:
        rejected = 0
        pause = self.backoff
        while True:
            try:
                self.written += self.ledger.write(batch)
            except (SQLAlchemyError, OSError) as error:
                if is_outage(error):
                    if self.availability.failed(error):
                        logger.error(
                            "ledger: the database is unreachable (%s); turns wait in memory "
                            "(at most %d) and are retried until it is back",
                            describe(error),
                            self._queue.maxsize,
                        )
                else:
                    self._log_recovery(self.availability.rejected(error))
                    rejected += 1
                    logger.error(
                        "ledger: write of %d turn(s) failed (attempt %d/%d): %s",
                        len(batch),
                        rejected,
                        self.max_attempts,
                        describe(error),
                    )
                    if rejected >= self.max_attempts:
                        self.dropped += len(batch)
                        logger.error("ledger: %d turn(s) not recorded", len(batch))
                        return
                time.sleep(pause)
                pause = min(pause * 2, self.max_backoff)
            else:
                self._log_recovery(self.availability.succeeded())
                return

    @staticmethod
    def _log_recovery(outage: float | None) -> None:
        if outage is not None:
            logger.warning("ledger: the database is back after %.0f s", outage)
