"""`LedgerTrackerStore`: what Rasa calls (retrieve, save, keys, forget), each on the
store's database thread, put together from the window, catch-up, the outage buffer and
the ledger recorder of this package, on the database engine the ledger shares."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import weakref
from collections.abc import Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore, ensure_schema_exists
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from ldn_bot.ledger.conversations import Removed, forget
from ldn_bot.ledger.health import StoreHealth
from ldn_bot.ledger.quarantine import CONVERSATIONS_FILE, LEDGER_FILE, Quarantine
from ldn_bot.ledger.turns import TurnRecord
from ldn_bot.settings import settings
from rasa_project.tracker_store.catch_up import catch_up, load
from rasa_project.tracker_store.database_thread import DatabaseThread
from rasa_project.tracker_store.engine import shared_engine
from rasa_project.tracker_store.ledger_turns import TurnRecorder, open_ledger
from rasa_project.tracker_store.outage import DATABASE_ERRORS, OutageBuffer, Waiting
from rasa_project.tracker_store.rows import SERIALISING_ERRORS, event_row, storable_json
from rasa_project.tracker_store.set_aside import SetAside
from rasa_project.tracker_store.window import (
    Conversation,
    WindowCache,
    mark_stored,
    stored_count,
    windowed,
    working_copy,
)

# One logger for the whole store (its lines have always been `rasa_project.tracker_store`).
logger = logging.getLogger(__package__)


class SchemaMissing(SQLAlchemyError):
    """The configured PostgreSQL schema does not exist (an outage until it is created)."""


class LedgerTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` with windowed, incremental reads and one ledger row per bot turn.

    Args (from `endpoints.yml`, besides `SQLTrackerStore`'s):
        window: events of history the dialogue sees (default 60, about ten turns).
        cache_size: conversations kept in memory (least recently used dropped first;
            never one with events waiting to be written).
        retry_every: seconds between attempts to reach the database during an outage.
        max_pending: events kept in memory during an outage; later ones are dropped
            (counted in `health()` and logged).
        quarantine_dir: where set-aside items are kept (default `var/quarantine`).
    """

    def __init__(
        self,
        domain: Domain | None = None,
        host: str | None = None,
        dialect: str = "sqlite",
        db: str = "rasa.db",
        event_broker: EventBroker | None = None,
        window: int = 60,
        cache_size: int = 2000,
        retry_every: float = 5.0,
        max_pending: int = 50_000,
        quarantine_dir: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(domain, dialect, host, db=db, event_broker=event_broker, **kwargs)
        rasa_engine: Engine = self.engine  # type: ignore[has-type]
        self.engine = shared_engine(rasa_engine.url)
        rasa_engine.dispose()  # Rasa's own engine only created the `events` table
        self.sessionmaker = sa.orm.sessionmaker(bind=self.engine)
        self.window = int(window)
        self._cache = WindowCache(int(cache_size))
        self._thread = DatabaseThread()
        self._outage = OutageBuffer(
            self._thread,
            insert=self._insert,
            probe=self._probe,
            set_aside=self._set_aside,
            retry_every=float(retry_every),
            max_pending=int(max_pending),
        )
        cfg = settings()
        folder = Path(quarantine_dir) if quarantine_dir else cfg.quarantine_dir
        self.quarantine = Quarantine(folder / CONVERSATIONS_FILE)
        self._aside = SetAside(self.quarantine, name=self._sender)
        self.ledger, self.ledger_writer = open_ledger(
            self.engine, cfg, quarantine=Quarantine(folder / LEDGER_FILE)
        )
        self._turns = TurnRecorder()
        self._closed = False
        # At exit (after the worker threads are joined): write or keep what still waits.
        atexit.register(_close_at_exit, weakref.ref(self))

    @property
    def retry_every(self) -> float:
        """Seconds between attempts to reach the database during an outage."""
        return self._outage.retry_every

    @retry_every.setter
    def retry_every(self, value: float) -> None:
        self._outage.retry_every = value

    @property
    def max_pending(self) -> int:
        """Events kept in memory during an outage."""
        return self._outage.max_pending

    @max_pending.setter
    def max_pending(self, value: int) -> None:
        self._outage.max_pending = value

    @contextlib.contextmanager
    def session_scope(self) -> Iterator[sa.orm.Session]:
        """Rasa's session scope without its exit: Rasa answers any `ValueError` raised
        inside it (meant for a missing PostgreSQL schema) with `print_error_and_exit`, so
        one conversation the database cannot hold (a sender id with a lone surrogate
        raises `UnicodeEncodeError`) would end the whole server. Here an error stays an
        exception, the failure of the call that raised it."""
        session = self.sessionmaker()
        try:
            try:
                ensure_schema_exists(session)
            except ValueError as error:
                raise SchemaMissing(f"the PostgreSQL schema {error} does not exist") from error
            yield session
        finally:
            session.close()

    # --- reading ---------------------------------------------------------------------------

    def init_tracker(self, sender_id: str) -> DialogueStateTracker:
        """A new conversation's tracker: nothing of it is stored yet."""
        tracker = super().init_tracker(sender_id)
        mark_stored(tracker, 0)
        return tracker

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The conversation, caught up with the database; during an outage, as this server
        last saw it (None, so a fresh start, when it is not in memory)."""
        return await self._thread.run(self._retrieve_now, sender_id)

    def _retrieve_now(self, sender_id: str) -> DialogueStateTracker | None:
        try:
            return self._retrieve_windowed(sender_id)
        except Exception:  # the last line: an error here would make Rasa drop the store
            logger.exception(
                "conversations: could not read conversation %s; it starts afresh",
                self._sender(sender_id),
            )
            if sender_id not in self._outage:
                self._cache.pop(sender_id)
            return None

    def _retrieve_windowed(self, sender_id: str) -> DialogueStateTracker | None:
        usable = self._outage.usable()  # first, as it may write this conversation's events
        conversation = self._cache.pop(sender_id)
        if usable:
            try:
                if conversation is None or conversation.last_id is None:
                    conversation = load(self, sender_id, self.window)
                else:
                    catch_up(self, sender_id, conversation)
            except DATABASE_ERRORS as error:
                self._outage.failed(error)
        if conversation is None:
            return None
        self._cache.remember(sender_id, conversation, pinned=self._outage)
        return working_copy(conversation.tracker)

    async def retrieve_full_tracker(self, conversation_id: str) -> DialogueStateTracker | None:
        """Every event of every session (the HTTP API's tracker and story routes): Rasa's
        read, on the database thread."""
        return await self._thread.run(self._retrieve_full_now, conversation_id)

    def _retrieve_full_now(self, conversation_id: str) -> DialogueStateTracker | None:
        return asyncio.run(SQLTrackerStore.retrieve_full_tracker(self, conversation_id))

    async def keys(self) -> Iterable[str]:
        """Every conversation id, read on the database thread."""
        return await self._thread.run(self._keys_now)

    def _keys_now(self) -> Iterable[str]:
        return asyncio.run(SQLTrackerStore.keys(self))

    # --- writing ---------------------------------------------------------------------------

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Write the events added since the tracker was handed out; during an outage keep
        them in memory, to be written with the first successful save or retry. Then hand
        the turn to the ledger."""
        stored = stored_count(tracker)
        if stored is None:
            await self._thread.run(self._save_counting, tracker)
        else:
            await self.stream_events(tracker)
            new_events = list(tracker.events)[stored:]
            if new_events:
                await self._thread.run(self._save_now, tracker, new_events)
            mark_stored(tracker)
        self._turns.record(tracker, self.ledger_writer)

    def _save_now(self, tracker: DialogueStateTracker, new_events: list[Event]) -> None:
        sender_id = tracker.sender_id
        try:
            self._keep(tracker, new_events)
            if self._outage.usable():
                self._outage.write_all()
            if sender_id in self._outage and sender_id not in self._cache:
                conversation = Conversation(None, windowed(tracker, self.window))
                self._cache.remember(sender_id, conversation, pinned=self._outage)
        except Exception as error:  # the last line: an error here would make Rasa drop the store
            logger.exception("conversations: unexpected failure saving a turn")
            self._set_aside(sender_id, new_events, error)

    def _save_counting(self, tracker: DialogueStateTracker) -> None:
        """Rasa's own save, for a tracker this store did not hand out (it counts the stored
        rows to find the new events). During an outage nothing tells which of its events
        are stored, so none can be kept: they are counted as dropped."""
        self._cache.pop(tracker.sender_id)
        if self._outage.usable():
            try:
                asyncio.run(SQLTrackerStore.save(self, tracker))  # on this thread, not the loop
                return
            except DATABASE_ERRORS as error:
                self._outage.failed(error)
        self._outage.dropped += len(tracker.events)
        logger.error(
            "conversations: %d event(s) of %s not stored (database unavailable)",
            len(tracker.events),
            self._sender(tracker.sender_id),
        )

    def _keep(self, tracker: DialogueStateTracker, events: list[Event]) -> None:
        """Apply `events` to the conversation in memory and queue them for writing.

        Each event is serialised here, once: one that cannot be (metadata nested too deep,
        a value JSON cannot hold) is queued with its metadata replaced by a note, or, if
        even that fails, set aside, so it can never stop the queue.
        """
        conversation = self._cache.get(tracker.sender_id)
        serialised: list[Waiting] = []
        unserialisable: list[Event] = []
        error: BaseException | None = None
        for event in events:
            try:
                serialised.append((event, self._serialised(tracker.sender_id, event)))
            except SERIALISING_ERRORS as failure:
                unserialisable.append(event)
                error = failure
                continue
            if conversation is not None:
                conversation.tracker.update(event)
        if unserialisable and error is not None:
            self._set_aside(tracker.sender_id, unserialisable, error)
        if serialised:
            self._outage.add(tracker.sender_id, serialised)

    def _serialised(self, sender_id: str, event: Event) -> str:
        """`event` as its row's JSON, its metadata replaced (and set aside) when it cannot
        be stored as it is (`rows.storable_json`)."""
        text, reason = storable_json(event)
        if reason is not None:
            self._aside.metadata_replaced(sender_id, event, reason)
        return text

    def _insert(self, sender_id: str, events: list[Waiting]) -> None:
        """Append `events` to the conversation in one transaction; keep the cache in step."""
        rows = [event_row(self.SQLEvent, sender_id, event, data) for event, data in events]
        with self.session_scope() as session:
            newest = (
                session.query(sa.func.max(self.SQLEvent.id))
                .filter(self.SQLEvent.sender_id == sender_id)
                .scalar()
            )
            session.add_all(rows)
            session.flush()
            ids = [row.id for row in rows]
            session.commit()
        self._cache.written(sender_id, newest_before=newest, last_id=max(ids))

    def _probe(self) -> None:
        with self.session_scope() as session:
            session.execute(sa.text("SELECT 1"))

    def _set_aside(self, sender_id: str, events: list[Event], error: BaseException) -> None:
        """A conversation's events that cannot be written, for a reason other than an
        outage: set aside (`set_aside`); the conversation is read again from the database
        next time."""
        if sender_id not in self._outage:
            self._cache.pop(sender_id)
        self._aside.events(sender_id, events, error)

    def _sender(self, sender_id: str) -> str:
        """How logs name a conversation: its salted hash, never the id itself."""
        return f"sender {self.ledger.hash(sender_id)[:12]}"

    # --- health, forgetting and exit -------------------------------------------------------

    def health(self) -> StoreHealth:
        """Whether the database is reachable, and what waits in memory to be written."""
        return self._outage.health(poisoned=self._aside.poisoned)

    async def forget(self, sender_id: str, salt: str) -> Removed:
        """`ldn-bot forget` for one conversation (the web page's "Delete this
        conversation"), on the database thread, so no write of it lands afterwards: what
        waits is written first, then its events, ledger rows, votes and set-aside items
        are deleted, and this server's memory of it is dropped."""
        return await self._thread.run(self._forget_now, sender_id, salt)

    def _forget_now(self, sender_id: str, salt: str) -> Removed:
        if not self._outage.usable():  # during an outage: nothing is deleted
            raise SQLAlchemyError("the database is unavailable")
        self.ledger_writer.flush(2.0)
        removed = forget(
            self.ledger.engine,
            sender_id,
            salt=salt,
            quarantine_dir=self.quarantine.path.parent,
        )
        self._cache.pop(sender_id)
        self._turns.forget(sender_id)
        return removed

    def latest_turn(self, sender_id: str) -> TurnRecord | None:
        """The ledger record of the last turn saved for `sender_id` by this process."""
        return self._turns.latest(sender_id)

    def write_waiting(self, timeout: float = 10.0) -> bool:
        """One attempt, on the database thread, to write the events kept in memory during
        an outage; True when nothing waits any more."""
        if not self._outage:
            return True
        try:
            return bool(self._thread.submit(self._outage.write_all).result(timeout))
        except Exception:  # a timeout, or the worker already shut down: close() keeps them
            logger.exception("conversations: the events waiting could not be written")
            return False

    def close(self, timeout: float = 10.0) -> int:
        """Write what still waits (one last attempt), keep what cannot be written in the
        quarantine file with a log line giving its count, and flush the ledger writer
        the same way. Returns the number of events not written. Called at exit."""
        if self._closed:
            return 0
        self._closed = True
        close_now = partial(self._outage.keep_at_exit, self.quarantine)
        try:
            left = self._thread.submit(close_now).result(timeout)
        except RuntimeError:  # interpreter exit: the worker is joined, run it here
            left = close_now()
        self._thread.shutdown()
        self.ledger_writer.close(timeout)
        return left


def _close_at_exit(store_ref: weakref.ReferenceType[LedgerTrackerStore]) -> None:
    store = store_ref()
    if store is not None:
        store.close()


def ledger_store(agent: Any) -> LedgerTrackerStore | None:
    """The agent's `LedgerTrackerStore` (Rasa wraps every store in a `FailSafeTrackerStore`)."""
    store = getattr(agent, "tracker_store", None)
    store = getattr(store, "_tracker_store", store)
    return store if isinstance(store, LedgerTrackerStore) else None
