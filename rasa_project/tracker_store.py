"""Rasa's SQL tracker store, made to cost the same at message 200 as at message 1, plus the
guard decision ledger.

Rasa's `SQLTrackerStore` reads every event of the session and replays it on each message,
counts them all again on each save, and the whole tracker is then sent to the action
server with every custom action call: the cost of a turn grows with the conversation.
This store keeps each recent conversation in memory as a tracker of its last `window`
events (slots stay exact: they are state, not history), catches up on each retrieve with
only the rows added since (so several servers sharing the database stay consistent), and
saves only the events added since it was handed out. The dialogue needs no more history:
rules look at the last turn, memoization at three, the guard and actions at the last
reply and the `last_topic` slot.

After each save the turn just finished becomes one ledger row, handed to a background
writer: a slow or failing ledger database never delays or breaks a reply.

The store also survives its database going away. Rasa wraps every store in a
`FailSafeTrackerStore` that, on the first error, switches for good to an in-memory store
(nothing is stored again, even once the database is back). So this store raises no
database error to Rasa: events it could not write wait in memory, in order, and are
written exactly once when the database answers again (on a later save, or a retry every
`retry_every` seconds); meanwhile conversations continue from the in-memory window, and
a conversation not in memory starts afresh. `health()` tells how it is going.

Every database call runs on one worker thread, never on Rasa's event loop, and so does
everything that touches the store's memory (the cache and the waiting events), so they
stay consistent without locks: a database that is slow or locked by another process
(SQLite waits at most `SQLITE_BUSY_TIMEOUT` seconds, then it is an outage) delays the
turns that wait for it, not the server (`/health` and other conversations keep being
answered).

One conversation that cannot be written never holds back the others: an event that
cannot be serialised (say, metadata nested 980 levels deep) is stored with its metadata
replaced by a note, and a conversation whose rows the database rejects (not an outage)
is set aside: logged once (sender hash, event types, error class), counted as
`poisoned` in `health()` and kept in the quarantine file (`ldn_bot.ledger.quarantine`).
At exit, what is still waiting is written or, if it cannot be, kept there too, with a
log line giving its count.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import copy
import json
import logging
import time
import weakref
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs, ensure_schema_exists
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy.exc import SQLAlchemyError

from ldn_bot.ledger.conversations import Removed, forget
from ldn_bot.ledger.engine import engine_for
from ldn_bot.ledger.health import Availability, StoreHealth, describe, is_outage
from ldn_bot.ledger.quarantine import CONVERSATIONS_FILE, LEDGER_FILE, Quarantine, plain
from ldn_bot.ledger.schema import migrate
from ldn_bot.ledger.store import Ledger, LedgerWriter, article_version
from ldn_bot.ledger.turns import TurnRecord, last_turn, turn_record
from ldn_bot.settings import settings

logger = logging.getLogger(__name__)

# Attribute set on the trackers this store hands out: how many of their events the store
# has taken charge of (written to the database, or waiting in memory to be written).
_STORED = "_ldn_stored_events"

# What a database call may raise when the database is down or refuses a write.
_DATABASE_ERRORS = (SQLAlchemyError, OSError)
# What serialising an odd event may raise (deep nesting, values JSON cannot hold).
_SERIALISING_ERRORS = (RecursionError, ValueError, TypeError)
# Marker put in place of metadata that could not be serialised.
METADATA_DROPPED = "ldn_bot_metadata_dropped"

# Deepest nesting an event may have (the channels allow 8 levels of metadata; Rasa's own
# events have a few): deeper ones would break `copy.deepcopy` of the conversation.
MAX_EVENT_DEPTH = 64

_T = TypeVar("_T")


class SchemaMissing(SQLAlchemyError):
    """The configured PostgreSQL schema does not exist (an outage until it is created)."""


class _TooDeep(ValueError):
    """An event nested more than `MAX_EVENT_DEPTH` levels."""


@dataclass
class _Conversation:
    """A conversation as this server last saw it: a windowed tracker (with any events still
    waiting to be written) and the id of its newest stored row, None when not known (the
    conversation was taken up here while the database was unreachable)."""

    last_id: int | None
    tracker: DialogueStateTracker


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
        rasa_engine: sa.engine.Engine = self.engine  # type: ignore[has-type]
        self.engine = shared_engine(rasa_engine.url)
        rasa_engine.dispose()  # Rasa's own engine only created the `events` table
        self.sessionmaker = sa.orm.sessionmaker(bind=self.engine)
        self.window = int(window)
        self.cache_size = int(cache_size)
        self.retry_every = float(retry_every)
        self.max_pending = int(max_pending)
        self._cache: OrderedDict[str, _Conversation] = OrderedDict()
        # Events not yet written, per conversation, in order, with their serialised form;
        # conversations in the order their first waiting event arrived. Empty whenever the
        # database is available.
        self._pending: OrderedDict[str, list[tuple[Event, str]]] = OrderedDict()
        self._pending_count = 0
        self._dropped = 0
        self._poisoned = 0
        # The one thread that runs database calls and touches the memory above.
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="conversations-db")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._overflowing = False  # max_pending reached during this outage (logged once)
        self._availability = Availability()
        self._next_attempt = 0.0  # time.monotonic() before which an outage is not retried
        self._retry: asyncio.TimerHandle | None = None
        self._retry_loop: asyncio.AbstractEventLoop | None = None
        self._turns: OrderedDict[str, TurnRecord] = OrderedDict()
        cfg = settings()
        folder = Path(quarantine_dir) if quarantine_dir else cfg.quarantine_dir
        self.quarantine = Quarantine(folder / CONVERSATIONS_FILE)
        try:
            migrate(self.engine)
        except Exception:  # the ledger must not keep the assistant from starting
            logger.exception("ledger: schema migration failed; turns will be retried")
        self.ledger = Ledger(
            self.engine,
            salt=cfg.salt(),
            article_version=article_version(cfg.article_path),
            store_text=cfg.ledger_text,
        )
        self.ledger_writer = LedgerWriter(self.ledger, quarantine=Quarantine(folder / LEDGER_FILE))
        self._closed = False
        # At exit (after the worker threads are joined): write or keep what still waits.
        atexit.register(_close_at_exit, weakref.ref(self))

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

    async def _in_worker(self, function: Callable[..., _T], *args: Any) -> _T:
        """Run `function(*args)` on the database thread; the event loop stays free."""
        self._loop = asyncio.get_running_loop()
        return await self._loop.run_in_executor(self._worker, partial(function, *args))

    # --- reading ---------------------------------------------------------------------------

    def init_tracker(self, sender_id: str) -> DialogueStateTracker:
        """A new conversation's tracker: nothing of it is stored yet."""
        tracker = super().init_tracker(sender_id)
        setattr(tracker, _STORED, 0)
        return tracker

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The conversation, caught up with the database; during an outage, as this server
        last saw it (None, so a fresh start, when it is not in memory)."""
        return await self._in_worker(self._retrieve_now, sender_id)

    def _retrieve_now(self, sender_id: str) -> DialogueStateTracker | None:
        try:
            return self._retrieve_windowed(sender_id)
        except Exception:  # the last line: an error here would make Rasa drop the store
            logger.exception(
                "conversations: could not read conversation %s; it starts afresh",
                self._sender(sender_id),
            )
            if sender_id not in self._pending:
                self._cache.pop(sender_id, None)
            return None

    def _retrieve_windowed(self, sender_id: str) -> DialogueStateTracker | None:
        usable = self._database_usable()  # first, as it may write this conversation's events
        conversation = self._cache.pop(sender_id, None)
        if usable:
            try:
                if conversation is None or conversation.last_id is None:
                    conversation = self._load(sender_id)
                else:
                    self._catch_up(sender_id, conversation)
            except _DATABASE_ERRORS as error:
                self._failed(error)
        if conversation is None:
            return None
        self._remember(sender_id, conversation)
        return self._working_copy(conversation.tracker)

    async def retrieve_full_tracker(self, conversation_id: str) -> DialogueStateTracker | None:
        """Every event of every session (the HTTP API's tracker and story routes): Rasa's
        read, on the database thread."""
        return await self._in_worker(self._retrieve_full_now, conversation_id)

    def _retrieve_full_now(self, conversation_id: str) -> DialogueStateTracker | None:
        return asyncio.run(SQLTrackerStore.retrieve_full_tracker(self, conversation_id))

    async def keys(self) -> Iterable[str]:
        """Every conversation id, read on the database thread."""
        return await self._in_worker(self._keys_now)

    def _keys_now(self) -> Iterable[str]:
        return asyncio.run(SQLTrackerStore.keys(self))

    def _load(self, sender_id: str) -> _Conversation | None:
        """The conversation since its last session start, from the database (a cache miss)."""
        with self.session_scope() as session:
            rows = self._event_query(session, sender_id, fetch_events_from_all_sessions=False)
            rows = rows.with_entities(self.SQLEvent.id, self.SQLEvent.data).all()
        if not rows:
            return None
        tracker = DialogueStateTracker.from_dict(
            sender_id, [json.loads(row.data) for row in rows], self.domain.slots
        )
        tracker.events = deque(tracker.events, maxlen=self.window)
        tracker._max_event_history = self.window
        return _Conversation(last_id=rows[-1].id, tracker=tracker)

    def _catch_up(self, sender_id: str, conversation: _Conversation) -> None:
        """Apply the rows another server (or process) added since this one last looked."""
        with self.session_scope() as session:
            rows = (
                session.query(self.SQLEvent.id, self.SQLEvent.data)
                .filter(
                    self.SQLEvent.sender_id == sender_id,
                    self.SQLEvent.id > conversation.last_id,
                )
                .order_by(self.SQLEvent.id)
                .all()
            )
        for row in rows:
            event = Event.from_parameters(json.loads(row.data))
            if event is not None:
                conversation.tracker.update(event)
            conversation.last_id = row.id

    def _windowed(self, tracker: DialogueStateTracker) -> DialogueStateTracker:
        """A copy of `tracker` keeping its last `window` events (slots stay exact)."""
        windowed = copy.deepcopy(tracker)
        windowed.events = deque(windowed.events, maxlen=self.window)
        windowed._max_event_history = self.window
        return windowed

    def _working_copy(self, windowed: DialogueStateTracker) -> DialogueStateTracker:
        """A tracker Rasa may extend freely: the window's events, the exact slots."""
        tracker = copy.deepcopy(windowed)
        tracker.events = deque(tracker.events)
        tracker._max_event_history = None
        setattr(tracker, _STORED, len(tracker.events))
        return tracker

    def _remember(self, sender_id: str, conversation: _Conversation) -> None:
        self._cache[sender_id] = conversation
        while len(self._cache) > self.cache_size:
            # The least recently used conversation that has nothing waiting to be written.
            victim = next((key for key in self._cache if key not in self._pending), None)
            if victim is None:
                break
            del self._cache[victim]

    # --- writing ---------------------------------------------------------------------------

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Write the events added since the tracker was handed out; during an outage keep
        them in memory, to be written with the first successful save or retry."""
        stored = getattr(tracker, _STORED, None)
        if stored is None:
            await self._in_worker(self._save_counting, tracker)
        else:
            await self.stream_events(tracker)
            new_events = list(tracker.events)[stored:]
            if new_events:
                await self._in_worker(self._save_now, tracker, new_events)
            setattr(tracker, _STORED, len(tracker.events))
        self._record_turn(tracker)

    def _save_now(self, tracker: DialogueStateTracker, new_events: list[Event]) -> None:
        try:
            self._keep(tracker, new_events)
            if self._database_usable():
                self._write_pending()
            if tracker.sender_id in self._pending and tracker.sender_id not in self._cache:
                self._remember(tracker.sender_id, _Conversation(None, self._windowed(tracker)))
        except Exception as error:  # the last line: an error here would make Rasa drop the store
            logger.exception("conversations: unexpected failure saving a turn")
            self._set_aside(tracker.sender_id, new_events, error)

    def _save_counting(self, tracker: DialogueStateTracker) -> None:
        """Rasa's own save, for a tracker this store did not hand out (it counts the stored
        rows to find the new events). During an outage nothing tells which of its events
        are stored, so none can be kept: they are counted as dropped."""
        self._cache.pop(tracker.sender_id, None)
        if self._database_usable():
            try:
                asyncio.run(SQLTrackerStore.save(self, tracker))  # on this thread, not the loop
                return
            except _DATABASE_ERRORS as error:
                self._failed(error)
        self._dropped += len(tracker.events)
        logger.error(
            "conversations: %d event(s) of %s not stored (database unavailable)",
            len(tracker.events),
            self._sender(tracker.sender_id),
        )

    def _keep(self, tracker: DialogueStateTracker, events: list[Event]) -> None:
        """Apply `events` to the conversation in memory and queue them for writing (unless
        `max_pending` events wait already: then they are dropped, and counted).

        Each event is serialised here, once: one that cannot be (metadata nested too deep,
        a value JSON cannot hold) is queued with its metadata replaced by a note, or, if
        even that fails, set aside, so it can never stop the queue.
        """
        conversation = self._cache.get(tracker.sender_id)
        serialised: list[tuple[Event, str]] = []
        unserialisable: list[Event] = []
        error: BaseException | None = None
        for event in events:
            try:
                serialised.append((event, self._serialised(tracker.sender_id, event)))
            except _SERIALISING_ERRORS as failure:
                unserialisable.append(event)
                error = failure
                continue
            if conversation is not None:
                conversation.tracker.update(event)
        if unserialisable and error is not None:
            self._set_aside(tracker.sender_id, unserialisable, error)
        if not serialised:
            return
        if self._pending_count + len(serialised) <= self.max_pending:
            self._pending.setdefault(tracker.sender_id, []).extend(serialised)
            self._pending_count += len(serialised)
            return
        if not self._overflowing:
            logger.error(
                "conversations: %d events wait for the database already; "
                "further events are not stored",
                self._pending_count,
            )
            self._overflowing = True
        self._dropped += len(serialised)

    def _serialised(self, sender_id: str, event: Event) -> str:
        """`event` as its row's JSON; metadata that cannot be serialised, or is nested more
        than `MAX_EVENT_DEPTH` levels (it would serialise on a shallow stack, then break
        every later copy of the conversation), is replaced (in the event itself, so the
        dialogue's copy no longer holds it either) and logged."""
        try:
            return _event_json(event)
        except _SERIALISING_ERRORS as error:
            reason = str(error) if isinstance(error, _TooDeep) else type(error).__name__
            event.metadata = {METADATA_DROPPED: reason}
            parse_data = getattr(event, "parse_data", None)  # a user message's holds it too
            if isinstance(parse_data, dict) and "metadata" in parse_data:
                parse_data["metadata"] = event.metadata
            text = _event_json(event)  # still failing: the caller sets the event aside
            self._poisoned += 1
            logger.error(
                "conversations: a %r event of %s could not be stored as it was (%s); "
                "stored with its metadata replaced by {%r: %r}",
                event.type_name,
                self._sender(sender_id),
                reason,
                METADATA_DROPPED,
                reason,
            )
            return text

    def _set_aside(self, sender_id: str, events: list[Event], error: BaseException) -> None:
        """A conversation's events that cannot be written, for a reason other than an
        outage: count, log once (no text) and keep them in the quarantine file; the
        conversation is read again from the database next time."""
        self._poisoned += 1
        if sender_id not in self._pending:
            self._cache.pop(sender_id, None)
        reason = describe(error) if isinstance(error, SQLAlchemyError) else type(error).__name__
        kept = self.quarantine.keep(
            "conversation",
            reason,
            [{"sender_id": sender_id, "events": [_event_dict(event) for event in events]}],
        )
        logger.error(
            "conversations: %d event(s) of %s set aside, they cannot be written (%s; "
            "types: %s); %s",
            len(events),
            self._sender(sender_id),
            reason,
            ",".join(sorted({event.type_name for event in events})),
            f"kept in {self.quarantine.path}" if kept else "not kept: the file is unwritable",
        )

    def _sender(self, sender_id: str) -> str:
        """How logs name a conversation: its salted hash, never the id itself."""
        return f"sender {self.ledger.hash(sender_id)[:12]}"

    # --- outages ---------------------------------------------------------------------------

    def health(self) -> StoreHealth:
        """Whether the database is reachable, and what waits in memory to be written."""
        return self._availability.snapshot(
            pending=self._pending_count, dropped=self._dropped, poisoned=self._poisoned
        )

    def _database_usable(self) -> bool:
        """Whether this call may use the database: yes while it is available; during an
        outage only every `retry_every` seconds, once the waiting events are written (so
        they keep their place before anything newer)."""
        if self._availability.available:
            return True
        if time.monotonic() < self._next_attempt:
            return False
        return self._write_pending()

    def _write_pending(self) -> bool:
        """Write the waiting events, a conversation per transaction, each in order.

        Returns False, keeping all that is not written, when the database is unreachable.
        A conversation whose rows the database rejects (not an outage: retrying would
        fail the same way) is set aside, so it cannot hold back the others.
        """
        written = 0
        try:
            if not self._pending and not self._availability.available:
                with self.session_scope() as session:
                    session.execute(sa.text("SELECT 1"))
            while self._pending:
                sender_id, events = next(iter(self._pending.items()))
                try:
                    self._insert(sender_id, events)
                    written += len(events)
                except Exception as error:
                    if is_outage(error):
                        raise
                    if isinstance(error, _DATABASE_ERRORS):
                        self._failed(error)
                    del self._pending[sender_id]
                    self._pending_count -= len(events)
                    self._set_aside(sender_id, [event for event, _ in events], error)
                    continue
                del self._pending[sender_id]
                self._pending_count -= len(events)
        except _DATABASE_ERRORS as error:
            self._failed(error)
            return False
        self._overflowing = False
        outage = self._availability.succeeded()
        if outage is not None:
            logger.warning(
                "conversations: the database is back after %.0f s; %d waiting event(s) stored",
                outage,
                written,
            )
        return True

    def _insert(self, sender_id: str, events: list[tuple[Event, str]]) -> None:
        """Append `events` to the conversation in one transaction; keep the cache in step."""
        rows = [self._row(sender_id, event, data) for event, data in events]
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
        conversation = self._cache.get(sender_id)
        if conversation is None:
            return
        if conversation.last_id is not None and conversation.last_id == newest:
            conversation.last_id = max(ids)  # its events were applied when they were kept
        else:  # rows were added that this server has not seen: read it again next time
            del self._cache[sender_id]

    def _failed(self, error: BaseException) -> None:
        """Note a failed database call: log an outage once, and retry it later."""
        if not is_outage(error):
            self._availability.rejected(error)
            logger.error("conversations: the database refused a request: %s", describe(error))
            return
        if self._availability.failed(error):
            logger.error(
                "conversations: the database is unreachable (%s); replies continue, and "
                "new events are kept in memory until it is back",
                describe(error),
            )
        self._next_attempt = time.monotonic() + self.retry_every
        self._schedule_retry()

    def _schedule_retry(self) -> None:
        """Try again in `retry_every` seconds even if no message arrives meanwhile (a
        timer on Rasa's event loop; the attempt itself runs on the database thread)."""
        loop = self._loop
        if loop is None or loop.is_closed():  # no event loop seen yet: the next call retries
            return
        try:
            loop.call_soon_threadsafe(self._arm_retry, loop)
        except RuntimeError:  # the loop is closing
            return

    def _arm_retry(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._retry is not None and self._retry_loop is loop:
            return
        self._retry_loop = loop
        self._retry = loop.call_later(self.retry_every, self._retry_now)

    def _retry_now(self) -> None:
        self._retry = None
        try:
            self._worker.submit(self._retry_on_worker)
        except RuntimeError:  # shutting down: close() writes or keeps what waits
            return

    def _retry_on_worker(self) -> None:
        if not self._availability.available and not self._database_usable():
            self._schedule_retry()  # not due yet (a save tried meanwhile): wait again

    # --- exit ------------------------------------------------------------------------------

    def write_waiting(self, timeout: float = 10.0) -> bool:
        """One attempt, on the database thread, to write the events kept in memory during
        an outage; True when nothing waits any more."""
        if not self._pending:
            return True
        try:
            return bool(self._worker.submit(self._write_pending).result(timeout))
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
        try:
            left = self._worker.submit(self._close_now).result(timeout)
        except RuntimeError:  # interpreter exit: the worker is joined, run it here
            left = self._close_now()
        self._worker.shutdown(wait=False)
        self.ledger_writer.close(timeout)
        return left

    def _close_now(self) -> int:
        if self._pending:
            self._next_attempt = 0.0
            self._write_pending()
        if not self._pending:
            return 0
        count, conversations = self._pending_count, len(self._pending)
        kept = self.quarantine.keep(
            "conversation",
            f"not written at exit ({self._availability.last_error or 'database unavailable'})",
            [
                {"sender_id": sender_id, "events": [_event_dict(e) for e, _ in events]}
                for sender_id, events in self._pending.items()
            ],
        )
        logger.error(
            "conversations: %d event(s) of %d conversation(s) not written at exit (%s); %s",
            count,
            conversations,
            self._availability.last_error or "database unavailable",
            f"kept in {self.quarantine.path}" if kept else "they are lost",
        )
        if not kept:
            self._dropped += count
        self._pending.clear()
        self._pending_count = 0
        return count

    def _row(self, sender_id: str, event: Event, serialised: str) -> Any:
        data = event.as_dict()
        return self.SQLEvent(
            sender_id=sender_id,
            type_name=event.type_name,
            timestamp=data.get("timestamp"),
            intent_name=(data.get("parse_data") or {}).get("intent", {}).get(INTENT_NAME_KEY),
            action_name=data.get("name"),
            data=serialised,
        )

    def _record_turn(self, tracker: DialogueStateTracker) -> None:
        try:
            turn = last_turn(event.as_dict() for event in reversed(tracker.events))
            record = turn_record(tracker.sender_id, turn)
        except Exception:
            logger.exception("ledger: could not read the turn of %r", tracker.sender_id)
            return
        if record is None:
            return
        self.ledger_writer.submit(record)
        self._turns[tracker.sender_id] = record
        while len(self._turns) > 1000:
            self._turns.popitem(last=False)

    async def forget(self, sender_id: str, salt: str) -> Removed:
        """`ldn-bot forget` for one conversation (the web page's "Delete this
        conversation"), on the database thread, so no write of it lands afterwards: what
        waits is written first, then its events, ledger rows, votes and set-aside items
        are deleted, and this server's memory of it is dropped."""
        return await self._in_worker(self._forget_now, sender_id, salt)

    def _forget_now(self, sender_id: str, salt: str) -> Removed:
        if not self._database_usable():  # during an outage: nothing is deleted
            raise SQLAlchemyError("the database is unavailable")
        self.ledger_writer.flush(2.0)
        removed = forget(
            self.ledger.engine,
            sender_id,
            salt=salt,
            quarantine_dir=self.quarantine.path.parent,
        )
        self._cache.pop(sender_id, None)
        self._turns.pop(sender_id, None)
        return removed

    def latest_turn(self, sender_id: str) -> TurnRecord | None:
        """The ledger record of the last turn saved for `sender_id` by this process."""
        return self._turns.get(sender_id)


def _event_json(event: Event) -> str:
    """The event's row JSON; `_TooDeep` (checked without recursion) before serialising."""
    data = event.as_dict()
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_EVENT_DEPTH:
            raise _TooDeep(f"nested more than {MAX_EVENT_DEPTH} levels")
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, (list, tuple)):
            stack.extend((item, depth + 1) for item in value)
    return json.dumps(data)


def _event_dict(event: Event) -> Any:
    """An event as the quarantine file keeps it (always serialisable)."""
    try:
        return plain(event.as_dict())
    except Exception:  # an event too odd even to describe
        return {"event": getattr(event, "type_name", "?"), "unreadable": True}


def _close_at_exit(store_ref: weakref.ReferenceType[LedgerTrackerStore]) -> None:
    store = store_ref()
    if store is not None:
        store.close()


def shared_engine(url: sa.engine.URL) -> sa.engine.Engine:
    """The engine the ledger uses for `url` (`ldn_bot.ledger.engine`), with the PostgreSQL
    settings Rasa reads from the environment (`POSTGRESQL_SCHEMA`, `SQL_POOL_SIZE`,
    `SQL_MAX_OVERFLOW`) as Rasa's own engine would have them."""
    rasa = create_engine_kwargs(url)
    if not rasa:  # not PostgreSQL
        return engine_for(url)
    return engine_for(
        url,
        pool_size=rasa.get("pool_size"),
        max_overflow=rasa.get("max_overflow"),
        server_options=rasa.get("connect_args", {}).get("options", ""),
    )


def ledger_store(agent: Any) -> LedgerTrackerStore | None:
    """The agent's `LedgerTrackerStore` (Rasa wraps every store in a `FailSafeTrackerStore`)."""
    store = getattr(agent, "tracker_store", None)
    store = getattr(store, "_tracker_store", store)
    return store if isinstance(store, LedgerTrackerStore) else None
