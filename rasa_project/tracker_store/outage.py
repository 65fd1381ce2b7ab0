"""The outage buffer: events kept in memory while the database is away, written exactly
once, in order, when it answers again.

Rasa wraps every store in a `FailSafeTrackerStore` that, on the first error, switches for
good to an in-memory store (nothing is stored again, even once the database is back). So
the tracker store raises no database error to Rasa: events it could not write wait here,
per conversation, in order, and are written on a later save, or by a retry every
`retry_every` seconds. A conversation whose rows the database rejects (not an outage:
retrying would fail the same way) is set aside, so it cannot hold back the others. All of
it runs on the store's database thread.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable

from rasa.shared.core.events import Event
from sqlalchemy.exc import SQLAlchemyError

from ldn_bot.ledger.health import Availability, StoreHealth, describe, is_outage
from ldn_bot.ledger.quarantine import Quarantine
from rasa_project.tracker_store.database_thread import DatabaseThread
from rasa_project.tracker_store.rows import event_dict

# One logger for the whole store (its lines have always been `rasa_project.tracker_store`).
logger = logging.getLogger(__package__)

DATABASE_ERRORS = (SQLAlchemyError, OSError)
"""What a database call may raise when the database is down or refuses a write."""

Waiting = tuple[Event, str]
"""An event waiting to be written, with its row's JSON (serialised once, when kept)."""


class OutageBuffer:
    """The events waiting for the database, whether it is available, and when to try it
    again.

    Args:
        thread: the store's database thread (retries run there).
        insert: writes one conversation's waiting events in one transaction.
        probe: a trivial query, to see whether the database answers again.
        set_aside: keeps the events of a conversation the database rejects elsewhere.
        retry_every: seconds between attempts to reach the database during an outage.
        max_pending: events kept during an outage; later ones are dropped (counted).
    """

    def __init__(
        self,
        thread: DatabaseThread,
        *,
        insert: Callable[[str, list[Waiting]], None],
        probe: Callable[[], None],
        set_aside: Callable[[str, list[Event], BaseException], None],
        retry_every: float,
        max_pending: int,
    ) -> None:
        self.thread = thread
        self.retry_every = retry_every
        self.max_pending = max_pending
        self._insert = insert
        self._probe = probe
        self._set_aside = set_aside
        # Conversations in the order their first waiting event arrived; empty whenever
        # the database is available.
        self._pending: OrderedDict[str, list[Waiting]] = OrderedDict()
        self._count = 0
        self.dropped = 0
        self._overflowing = False  # max_pending reached during this outage (logged once)
        self.availability = Availability()
        self._next_attempt = 0.0  # time.monotonic() before which an outage is not retried

    def __contains__(self, sender_id: object) -> bool:
        return sender_id in self._pending

    def __bool__(self) -> bool:
        return bool(self._pending)

    def health(self, *, poisoned: int) -> StoreHealth:
        """Whether the database is reachable, and what waits in memory to be written."""
        return self.availability.snapshot(
            pending=self._count, dropped=self.dropped, poisoned=poisoned
        )

    def add(self, sender_id: str, events: list[Waiting]) -> None:
        """Queue a conversation's events for writing, after those already waiting; drop
        them (counted, logged once per outage) when `max_pending` events wait already."""
        if self._count + len(events) <= self.max_pending:
            self._pending.setdefault(sender_id, []).extend(events)
            self._count += len(events)
            return
        if not self._overflowing:
            logger.error(
                "conversations: %d events wait for the database already; "
                "further events are not stored",
                self._count,
            )
            self._overflowing = True
        self.dropped += len(events)

    def usable(self) -> bool:
        """Whether a call may use the database now: yes while it is available; during an
        outage only every `retry_every` seconds, once the waiting events are written (so
        they keep their place before anything newer)."""
        if self.availability.available:
            return True
        if time.monotonic() < self._next_attempt:
            return False
        return self.write_all()

    def write_all(self) -> bool:
        """Write the waiting events, a conversation per transaction, each in order.

        Returns False, keeping all that is not written, when the database is unreachable.
        A conversation whose rows the database rejects is set aside.
        """
        written = 0
        try:
            if not self._pending and not self.availability.available:
                self._probe()
            while self._pending:
                sender_id, events = next(iter(self._pending.items()))
                try:
                    self._insert(sender_id, events)
                    written += len(events)
                except Exception as error:
                    if is_outage(error):
                        raise
                    if isinstance(error, DATABASE_ERRORS):
                        self.failed(error)
                    self._remove(sender_id)
                    self._set_aside(sender_id, [event for event, _ in events], error)
                    continue
                self._remove(sender_id)
        except DATABASE_ERRORS as error:
            self.failed(error)
            return False
        self._overflowing = False
        outage = self.availability.succeeded()
        if outage is not None:
            logger.warning(
                "conversations: the database is back after %.0f s; %d waiting event(s) stored",
                outage,
                written,
            )
        return True

    def failed(self, error: BaseException) -> None:
        """Note a failed database call: log an outage once, and retry it later."""
        if not is_outage(error):
            self.availability.rejected(error)
            logger.error("conversations: the database refused a request: %s", describe(error))
            return
        if self.availability.failed(error):
            logger.error(
                "conversations: the database is unreachable (%s); replies continue, and "
                "new events are kept in memory until it is back",
                describe(error),
            )
        self._next_attempt = time.monotonic() + self.retry_every
        self.thread.run_later(self.retry_every, self._retry)

    def keep_at_exit(self, quarantine: Quarantine) -> int:
        """At exit: one last attempt to write what waits, then keep what is left in the
        quarantine file, with a log line giving its count. Returns that count."""
        if self._pending:
            self._next_attempt = 0.0
            self.write_all()
        if not self._pending:
            return 0
        count, conversations = self._count, len(self._pending)
        reason = self.availability.last_error or "database unavailable"
        kept = quarantine.keep(
            "conversation",
            f"not written at exit ({reason})",
            [
                {"sender_id": sender_id, "events": [event_dict(e) for e, _ in events]}
                for sender_id, events in self._pending.items()
            ],
        )
        logger.error(
            "conversations: %d event(s) of %d conversation(s) not written at exit (%s); %s",
            count,
            conversations,
            reason,
            f"kept in {quarantine.path}" if kept else "they are lost",
        )
        if not kept:
            self.dropped += count
        self._pending.clear()
        self._count = 0
        return count

    def _remove(self, sender_id: str) -> None:
        self._count -= len(self._pending.pop(sender_id))

    def _retry(self) -> None:
        """The timer's attempt, on the database thread."""
        if not self.availability.available and not self.usable():
            self.thread.run_later(self.retry_every, self._retry)  # not due yet: wait again
