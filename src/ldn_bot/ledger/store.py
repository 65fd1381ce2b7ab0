"""Writing the ledger: a salted sender hash, idempotent inserts, and a background writer
so that a slow or unreachable database never delays or breaks a reply."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ldn_bot.ledger.health import Availability, StoreHealth, describe, is_outage
from ldn_bot.ledger.models import FeedbackVote, LedgerTurn
from ldn_bot.ledger.quarantine import Quarantine
from ldn_bot.ledger.turns import TurnRecord

logger = logging.getLogger(__name__)

VOTES = ("up", "down")


def sender_hash(sender_id: str, salt: str) -> str:
    """The only form in which the ledger keeps a person's id."""
    # surrogatepass: an id with a lone surrogate still has a hash (for the logs).
    return hashlib.sha256(f"{salt}:{sender_id}".encode("utf-8", "surrogatepass")).hexdigest()


def article_version(path: Path) -> str:
    """A content hash of the article the answers come from."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


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
        """The salted hash the ledger keeps instead of the sender id."""
        return sender_hash(sender_id, self.salt)

    def write(
        self, records: list[TurnRecord], *, on_written: Callable[[], None] | None = None
    ) -> int:
        """Insert turns, skipping any already recorded (same message id). Returns new rows;
        `on_written` is called after each (so a caller counts them even when a later row
        raises).

        Raises the database's error for a row it rejects for another reason.
        """
        written = 0
        with Session(self.engine, future=True) as session:
            for record in records:
                try:
                    with session.begin():
                        session.add(self._row(record))
                    written += 1
                    if on_written is not None:
                        on_written()
                except IntegrityError:
                    session.rollback()
                    if self.turn_id(record.message_id) is None:
                        raise  # not a duplicate: a row the database refuses
        return written

    def kept_form(self, record: TurnRecord) -> dict[str, Any]:
        """A turn as the quarantine file keeps it: as the ledger would (hashed sender,
        the text only when the ledger stores texts)."""
        kept = dataclasses.asdict(record)
        kept["created_at"] = record.created_at.isoformat()
        kept["sender_hash"] = self.hash(kept.pop("sender_id"))
        if not self.store_text:
            kept.pop("text")
        return kept

    def _row(self, record: TurnRecord) -> LedgerTurn:
        return LedgerTurn(
            created_at=record.created_at,
            message_id=record.message_id,
            channel=record.channel,
            sender_hash=self.hash(record.sender_id),
            route=record.route,
            guard_category=record.guard_category,
            guard_rule=record.guard_rule,
            guard_source=record.guard_source,
            guard_context=record.guard_context,
            intent=record.intent,
            confidence=record.confidence,
            sentence_ids=",".join(record.sentence_ids),
            responses=_joined(record.responses, 255),
            model_id=record.model_id,
            article_version=self.article_version,
            user_text=record.text if self.store_text else None,
        )

    def turn_id(self, message_id: str) -> int | None:
        """The ledger row of a user message, if it was written."""
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


def _joined(names: tuple[str, ...], limit: int) -> str | None:
    """Names, comma-separated, as many whole ones as fit in a column of `limit` characters."""
    joined = ""
    for name in names:
        candidate = f"{joined},{name}" if joined else name
        if len(candidate) > limit:
            break
        joined = candidate
    return joined or None


class LedgerWriter:
    """Queues turns and writes them on a background thread, in batches.

    `submit` never blocks and never raises. While the database is unreachable the writer
    keeps the turns and retries with a growing pause (up to `max_backoff` seconds), however
    long the outage lasts; the queue holds at most `capacity` turns, and only turns
    submitted to a full queue are dropped (counted, and logged). A batch the database
    rejects (a data or SQL error, anything but an outage) is written again row by row: the
    rows it takes are written, a row it rejects alone is set aside (logged, counted as
    poisoned, kept in the `quarantine` file), so one bad row never blocks the others.
    The outage is logged when it begins and when it ends, not on every attempt. `close`
    (at exit) writes what it can and keeps the rest in the quarantine file, with a log line.
    """

    def __init__(
        self,
        ledger: Ledger,
        *,
        capacity: int = 10_000,
        backoff: float = 1.0,
        max_backoff: float = 10.0,
        quarantine: Quarantine | None = None,
    ) -> None:
        self.ledger = ledger
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.quarantine = quarantine
        self.written = 0
        self.dropped = 0
        self.poisoned = 0
        self.availability = Availability()
        self._queue: queue.Queue[TurnRecord] = queue.Queue(maxsize=capacity)
        self._batch: list[TurnRecord] = []  # what the thread is writing now
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="ledger-writer", daemon=True)
        self._thread.start()

    @property
    def failures(self) -> int:
        """Failed write attempts since the writer started."""
        return self.availability.failures

    def submit(self, record: TurnRecord) -> None:
        """Queue a turn for the writer thread (counted as dropped when the queue is full)."""
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

    def close(self, timeout: float = 10.0) -> int:
        """At exit: wait up to `timeout` seconds for the queue to be written, then keep what
        is left in the quarantine file and log its count. Returns that count."""
        if self._closed:
            return 0
        self._closed = True
        if self.flush(timeout):
            return 0
        left = list(self._batch)
        while True:
            try:
                left.append(self._queue.get_nowait())
            except queue.Empty:
                break
        kept = self._keep_aside(left, "not written at exit (database unavailable)")
        logger.error(
            "ledger: %d turn(s) not written at exit (%s); %s",
            len(left),
            self.availability.last_error or "database unavailable",
            self._where(kept, "they are lost"),
        )
        return len(left)

    def health(self) -> StoreHealth:
        """What /health says of the ledger: available, pending, dropped, poisoned."""
        return self.availability.snapshot(
            pending=self._queue.unfinished_tasks, dropped=self.dropped, poisoned=self.poisoned
        )

    def stats(self) -> Mapping[str, Any]:
        """Counters and outage state, as `/health` shows them."""
        health = self.health()
        return {
            "written": self.written,
            "failures": health.failures,
            "dropped": health.dropped_events,
            "poisoned": health.poisoned,
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
            self._batch = batch
            try:
                self._write(batch)
            except Exception as error:  # the last line: the thread must never die
                logger.exception("ledger: unexpected failure writing %d turn(s)", len(batch))
                self._set_aside(batch, error)
            self._batch = []
            for _ in batch:
                self._queue.task_done()

    def _write(self, batch: list[TurnRecord]) -> None:
        remaining = batch
        pause = self.backoff
        while remaining:
            try:
                self.ledger.write(remaining, on_written=self._count_written)
            except Exception as error:
                if not is_outage(error):
                    self._log_recovery(self.availability.rejected(error))
                    logger.error(
                        "ledger: the database rejected a batch of %d turn(s) (%s); "
                        "writing them one by one",
                        len(remaining),
                        describe(error),
                    )
                    remaining = self._write_each(remaining)
                    if not remaining:
                        return
                else:
                    self._outage(error)
                time.sleep(pause)
                pause = min(pause * 2, self.max_backoff)
            else:
                self._log_recovery(self.availability.succeeded())
                return

    def _count_written(self) -> None:
        self.written += 1

    def _write_each(self, records: list[TurnRecord]) -> list[TurnRecord]:
        """Write `records` one at a time, setting aside each the database rejects. Returns
        those not tried because the database became unreachable meanwhile."""
        for index, record in enumerate(records):
            try:
                self.ledger.write([record], on_written=self._count_written)
            except Exception as error:
                if is_outage(error):
                    self._outage(error)
                    return records[index:]
                self._set_aside([record], error)
        return []

    def _set_aside(self, records: list[TurnRecord], error: BaseException) -> None:
        """Count, log (no text: the message ids and the error) and keep poisoned rows."""
        self.poisoned += len(records)
        kept = self._keep_aside(records, describe(error))
        logger.error(
            "ledger: %d turn(s) set aside, the database rejects them (%s): %s; %s",
            len(records),
            describe(error),
            ", ".join(record.message_id for record in records[:10]),
            self._where(kept, "not kept (no quarantine file)"),
        )

    def _where(self, kept: bool, otherwise: str) -> str:
        return f"kept in {self.quarantine.path}" if kept and self.quarantine else otherwise

    def _keep_aside(self, records: list[TurnRecord], reason: str) -> bool:
        if self.quarantine is None or not records:
            return False
        try:
            items = [self.ledger.kept_form(record) for record in records]
        except Exception:  # a record too odd to describe: keep what can be kept
            items = [{"message_id": str(record.message_id)} for record in records]
        return self.quarantine.keep("ledger", reason, items)

    def _outage(self, error: BaseException) -> None:
        if self.availability.failed(error):
            logger.error(
                "ledger: the database is unreachable (%s); turns wait in memory "
                "(at most %d) and are retried until it is back",
                describe(error),
                self._queue.maxsize,
            )

    @staticmethod
    def _log_recovery(outage: float | None) -> None:
        if outage is not None:
            logger.warning("ledger: the database is back after %.0f s", outage)
