"""One SQLAlchemy engine per database, shared by the conversation (tracker) store and the
ledger: the same pool, the same SQLite pragmas and the same PostgreSQL timeouts, so both
wait for a lock the same short time and then treat it as an outage."""

from __future__ import annotations

import threading
import weakref
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import QueuePool

SQLITE_BUSY_TIMEOUT = 2.0
"""Seconds a SQLite call waits for a lock another connection or process holds; then the
call fails and the stores treat it as an outage (keep the rows, retry later)."""
SQLITE_POOL_SIZE = 4
"""SQLite connections kept open (SQLAlchemy 1.4 would open one per session): the store's
database thread, the ledger writer and a few requests (votes, transcripts)."""
POSTGRESQL_OPTIONS = "-c statement_timeout=5000 -c lock_timeout=2000"
"""A PostgreSQL statement blocked on a lock (or running away) fails after seconds too."""
POSTGRESQL_CONNECT_TIMEOUT = 5
"""Seconds to wait for a PostgreSQL server before giving up (an outage)."""

_engines: weakref.WeakValueDictionary[tuple[Any, ...], Engine] = weakref.WeakValueDictionary()
_engines_lock = threading.Lock()


def engine_for(
    url: str | URL,
    *,
    pool_size: int | None = None,
    max_overflow: int | None = None,
    server_options: str = "",
) -> Engine:
    """The `future` engine for a database, one per URL (and options) in a process.

    The tracker store and the ledger write the same file or server from several threads;
    sharing one engine gives them one pool and one set-up per connection. SQLite gets a
    small pool and `sqlite_pragmas`; PostgreSQL gets pre-pinged connections (a restarted
    server leaves them dead) and connect, statement and lock timeouts.

    Args:
        url: the database URL.
        pool_size: PostgreSQL connections kept open (SQLAlchemy's default when None).
        max_overflow: PostgreSQL connections opened beyond the pool when busy.
        server_options: more PostgreSQL server options (say, a `-csearch_path=...`),
            put before the timeouts.
    """
    parsed = make_url(url)
    key = (parsed.render_as_string(hide_password=False), pool_size, max_overflow, server_options)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _build(parsed, pool_size, max_overflow, server_options)
            _engines[key] = engine
        return engine


def _build(url: URL, pool_size: int | None, max_overflow: int | None, options: str) -> Engine:
    backend = url.get_backend_name()
    if backend == "sqlite":
        settings: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
        if url.database not in (None, "", ":memory:"):  # a file: pooled connections
            settings.update(poolclass=QueuePool, pool_size=SQLITE_POOL_SIZE)
        engine = create_engine(url, future=True, **settings)
        event.listen(engine, "connect", sqlite_pragmas)
        return engine
    settings = {"pool_pre_ping": True}
    if backend == "postgresql":
        settings["connect_args"] = {
            "connect_timeout": POSTGRESQL_CONNECT_TIMEOUT,
            "options": f"{options} {POSTGRESQL_OPTIONS}".strip(),
        }
        if pool_size is not None:
            settings["pool_size"] = pool_size
        if max_overflow is not None:
            settings["max_overflow"] = max_overflow
    return create_engine(url, future=True, **settings)


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Set up a new SQLite connection.

    A busy timeout, so a file locked by another process is an outage after seconds rather
    than a long wait; WAL, so the tracker store and the ledger writer share the file
    (readers never block the writer); NORMAL sync, at checkpoints rather than on every
    commit (safe against corruption in WAL mode); foreign keys enforced (votes point at
    turns).
    """
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT * 1000)}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
