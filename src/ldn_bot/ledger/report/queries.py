"""Query helpers shared by the report's collecting modules (SQLite and PostgreSQL alike)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select

from ldn_bot.ledger.conversations import EVENTS
from ldn_bot.ledger.report.model import Counts

_MARGIN = timedelta(hours=1)


def kept_texts(
    connection: Connection, missing: set[str], moments: Sequence[datetime], has_events: bool
) -> dict[str, str]:
    """The text of the user messages `missing` from the ledger, from Rasa's events."""
    if not missing or not has_events or not moments:
        return {}
    # The ledger's time is the user event's own timestamp; the margin is only caution.
    start, end = min(moments) - _MARGIN, max(moments) + _MARGIN
    query = select(EVENTS.c.data).where(
        EVENTS.c.type_name == "user",
        EVENTS.c.timestamp >= start.timestamp(),
        EVENTS.c.timestamp <= end.timestamp(),
    )
    texts: dict[str, str] = {}
    for (data,) in stream(connection, query):
        try:
            event = json.loads(data or "{}")
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        message_id = event.get("message_id")
        if message_id in missing and isinstance(event.get("text"), str):
            texts[message_id] = event["text"]
    return texts


def conversation_key(sender_hash: str) -> str:
    """A conversation's anchor in the page: a prefix of the salted hash, never the id."""
    return f"conv-{sender_hash[:12]}"


def period(query: Select, column: Any, since: datetime | None, until: datetime | None) -> Select:
    """`query` limited to `column` in [since, until), either bound optional."""
    if since is not None:
        query = query.where(column >= since)
    if until is not None:
        query = query.where(column < until)
    return query


def stream(connection: Connection, query: Select) -> Iterator[Any]:
    """Rows in batches (a server-side cursor where the driver has one)."""
    result = connection.execution_options(stream_results=True, yield_per=500).execute(query)
    yield from result


def utc(moment: datetime) -> datetime:
    """Aware UTC. SQLite gives back naive datetimes, which the ledger writes in UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def ranked(counts: Counter[str], order: Sequence[str] = ()) -> Counts:
    """Non-zero counts, in `order` when given, else most frequent first (then by name)."""
    known = [(name, counts[name]) for name in order if counts.get(name)]
    rest = sorted(
        ((name, count) for name, count in counts.items() if name not in order and count),
        key=lambda item: (-item[1], item[0]),
    )
    return tuple(known + rest)
