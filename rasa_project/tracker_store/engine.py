"""The tracker store's database engine: the one the ledger uses for the same database
(`ldn_bot.ledger.engine`, one pool and one SQLite set-up for both), with the PostgreSQL
settings Rasa reads from the environment, as Rasa's own engine would have them."""

from __future__ import annotations

from rasa.core.tracker_store import create_engine_kwargs
from sqlalchemy.engine import URL, Engine

from ldn_bot.ledger.engine import engine_for


def shared_engine(url: URL) -> Engine:
    """The shared engine for `url`; on PostgreSQL with Rasa's `POSTGRESQL_SCHEMA` (a
    search path, kept alongside the core's timeouts), `SQL_POOL_SIZE` and
    `SQL_MAX_OVERFLOW`."""
    rasa = create_engine_kwargs(url)
    if not rasa:  # not PostgreSQL
        return engine_for(url)
    return engine_for(
        url,
        pool_size=rasa.get("pool_size"),
        max_overflow=rasa.get("max_overflow"),
        server_options=rasa.get("connect_args", {}).get("options", ""),
    )
