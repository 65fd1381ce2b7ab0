"""Whether a database is reachable, as the writers that depend on it see it.

The conversation store and the ledger writer keep working while their database is down
(they hold what they could not write and retry); this is the small state they keep about
the outage, what `/health` shows of it, and the rule that tells an outage (retry later)
from a database that rejects what it is given (retrying would not help).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exc

# Errors that mean "the database cannot be reached or used right now", not "this row is bad".
_OUTAGE_ERRORS = (
    exc.OperationalError,
    exc.InterfaceError,
    exc.DisconnectionError,
    exc.TimeoutError,
    OSError,
)


def is_outage(error: BaseException) -> bool:
    """True when `error` says the database is unreachable (worth retrying later).

    Connection failures, lost connections, pool timeouts and SQLite's "unable to open" or
    "database is locked" are outages; constraint, data and SQL errors are not.
    """
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, _OUTAGE_ERRORS)


def describe(error: BaseException) -> str:
    """The error class and the first line of the driver's message, at most 200 characters.

    Never SQLAlchemy's full text: it quotes the statement's parameters, which may hold
    what a person wrote.
    """
    cause = error.orig if isinstance(error, exc.DBAPIError) and error.orig else error
    first_line = (str(cause).strip().splitlines() or [""])[0]
    return f"{type(cause).__name__}: {first_line}"[:200]


@dataclass(frozen=True)
class StoreHealth:
    """A snapshot of one store's database, as `/health` reports it.

    Attributes:
        available: the last attempt to use the database succeeded.
        failures: failed attempts since the process started.
        pending_events: what is waiting in memory to be written.
        dropped_events: what will never be written (the memory limit was reached).
        poisoned: items (a conversation's waiting events, a ledger row) set aside because
            they could not be written for a reason other than an outage; each is logged
            and kept in the quarantine file, and the others are written meanwhile.
        last_error: `describe()` of the most recent failure, None if there was none.
        since: when the current outage began (Unix time), None while available.
    """

    available: bool = True
    failures: int = 0
    pending_events: int = 0
    dropped_events: int = 0
    poisoned: int = 0
    last_error: str | None = None
    since: float | None = None

    def as_json(self) -> dict[str, Any]:
        """The fields as a JSON object."""
        return dataclasses.asdict(self)


class Availability:
    """The outage state of one database for one writer.

    `failed` and `succeeded` return True only on a change (an outage begins or ends), so
    the caller logs once per outage rather than once per attempt.
    """

    def __init__(self) -> None:
        self.available = True
        self.failures = 0
        self.last_error: str | None = None
        self.since: float | None = None

    def failed(self, error: BaseException) -> bool:
        """Count a failed attempt. True when it starts an outage."""
        self.failures += 1
        self.last_error = describe(error)
        if not self.available:
            return False
        self.available = False
        self.since = time.time()
        return True

    def rejected(self, error: BaseException) -> float | None:
        """Count an attempt the database refused (it answered, so it is reachable).

        The outage's length in seconds when this ends one.
        """
        self.failures += 1
        self.last_error = describe(error)
        return self.succeeded()

    def succeeded(self) -> float | None:
        """Note a successful attempt. The outage's length in seconds when it ends one."""
        if self.available:
            return None
        began = self.since if self.since is not None else time.time()
        self.available = True
        self.since = None
        return time.time() - began

    def snapshot(self, *, pending: int = 0, dropped: int = 0, poisoned: int = 0) -> StoreHealth:
        """The state now, with the writer's own counts of events and set-aside items."""
        return StoreHealth(
            available=self.available,
            failures=self.failures,
            pending_events=pending,
            dropped_events=dropped,
            poisoned=poisoned,
            last_error=self.last_error,
            since=self.since,
        )
