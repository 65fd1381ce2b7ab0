"""Rasa's conversation store (its `events` table) as the ledger needs it: finding the turn
behind a bot message, and the privacy controls that delete across both."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    inspect,
    or_,
    select,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ldn_bot.ledger.models import FeedbackVote, LedgerTurn
from ldn_bot.ledger.quarantine import QUARANTINE_FILES, Quarantine
from ldn_bot.ledger.store import sender_hash
from ldn_bot.ledger.turns import ledger_message_id
from ldn_bot.senders import person_ids

logger = logging.getLogger(__name__)

# Rasa's table, declared here only for queries (Rasa creates and owns it).
EVENTS = Table(
    "events",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255)),
    Column("type_name", String(255)),
    Column("timestamp", Float),
    Column("data", Text),
)


def events_of(engine: Engine, sender_id: str) -> list[dict[str, Any]]:
    """The user and bot events of one conversation, all sessions, in order."""
    query = (
        select(EVENTS.c.data)
        .where(EVENTS.c.sender_id == sender_id, EVENTS.c.type_name.in_(("user", "bot")))
        .order_by(EVENTS.c.id)
    )
    with engine.connect() as connection:
        return [json.loads(data) for data in connection.scalars(query)]


def bot_bubbles(events: Iterable[Mapping[str, Any]]) -> int:
    """How many bot bubbles a conversation shows: the web widget shows each reply as one
    bubble, its paragraphs inside it (`ldn_bot.web_bubbles`), as `turn_of_bot_message`
    counts them."""
    return sum(1 for event in events if event.get("event") == "bot")


def turn_of_bot_message(
    sender_id: str, events: Iterable[Mapping[str, Any]], bot_index: int
) -> str | None:
    """The ledger id of the user turn whose reply is the `bot_index`-th bot bubble.

    The web widget shows one bubble per reply (`ldn_bot.web_bubbles`), paragraphs and
    the source line of an answer included.
    """
    message_id: str | None = None
    seen = 0
    for event in events:
        if event.get("event") == "user":
            message_id = ledger_message_id(sender_id, event)
        elif event.get("event") == "bot":
            seen += 1
            if seen > bot_index:
                return message_id
    return None


def answer_of_bot_message(
    sender_id: str,
    events: Iterable[Mapping[str, Any]],
    bot_index: int,
    hidden: Iterable[str] = (),
) -> str | None:
    """The ledger id of the turn whose answer is the `bot_index`-th bot bubble, or None
    when that bubble answers nothing the person sent: a welcome message (a reply to a
    `hidden` message, the widget's own `/greet` when the page opens, or one before any
    user message) or no bubble at all. The widget shows no thumbs under those."""
    hidden = set(hidden)
    message_id: str | None = None
    answered = False
    seen = 0
    for event in events:
        if event.get("event") == "user":
            message_id = ledger_message_id(sender_id, event)
            answered = str(event.get("text") or "").strip() not in hidden
        elif event.get("event") == "bot":
            seen += 1
            if seen > bot_index:
                return message_id if answered else None
    return None


@dataclass(frozen=True)
class Removed:
    """What a privacy command deleted."""

    events: int = 0
    turns: int = 0
    votes: int = 0
    conversations: int = 0
    quarantined: int = 0

    def __str__(self) -> str:
        counts = (
            f"{self.events} conversation event(s), {self.turns} ledger row(s), "
            f"{self.votes} feedback vote(s)"
        )
        if self.quarantined:
            counts += f", {self.quarantined} set-aside item(s)"
        return f"{self.conversations} conversation(s): {counts}" if self.conversations else counts


def conversation_ids(engine: Engine, person: str) -> list[str]:
    """The stored conversations `person` names (`ldn_bot.senders.person_ids`): a
    namespaced id (`rest:alice`) on its channel, a bare id on every channel, a Slack user
    id with every conversation of that user."""
    ids = person_ids(person)
    matches = [EVENTS.c.sender_id.in_(ids.exact)]
    for prefix in ids.prefixes:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        matches.append(EVENTS.c.sender_id.like(f"{escaped}%", escape="\\"))
    query = select(EVENTS.c.sender_id).where(or_(*matches)).distinct()
    with engine.connect() as connection:
        return list(connection.scalars(query))


def forget(
    engine: Engine, person: str, *, salt: str, quarantine_dir: Path | None = None
) -> Removed:
    """Delete a person's conversations, ledger rows and votes, in one transaction, and
    their items in the quarantine files of `quarantine_dir` (what the stores set aside).

    Ledger rows and votes hold only a hash of the sender id, so they are found by the
    hashes of the ids `person` names and of the conversations found in the store."""
    stored = conversation_ids(engine, person)
    senders = sorted({*person_ids(person).exact, *stored})
    hashes = [sender_hash(sender, salt) for sender in senders]
    with Session(engine, future=True) as session, session.begin():
        _erase_deleted_content(session)
        votes = session.execute(delete(FeedbackVote).where(FeedbackVote.sender_hash.in_(hashes)))
        turns = session.execute(delete(LedgerTurn).where(LedgerTurn.sender_hash.in_(hashes)))
        events = session.execute(delete(EVENTS).where(EVENTS.c.sender_id.in_(senders)))
    _checkpoint(engine)
    quarantined = sum(
        kept.forget(senders=senders, hashes=hashes) for kept in _quarantines(quarantine_dir)
    )
    conversations = len(stored) or (1 if turns.rowcount or quarantined else 0)
    return Removed(events.rowcount, turns.rowcount, votes.rowcount, conversations, quarantined)


def _erase_deleted_content(session: Session) -> None:
    """SQLite: overwrite what this transaction deletes with zeros (`secure_delete`), so the
    text does not stay readable in the file's free pages."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("PRAGMA secure_delete = ON"))


def _checkpoint(engine: Engine) -> None:
    """SQLite: copy the write-ahead log into the database file and empty it, so the
    deleted text does not stay in `-wal` until the next checkpoint. A server using the
    file at the same moment can keep the log from being emptied: then it says so."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        busy, _, _ = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
    if busy:
        logger.warning(
            "the database is in use: its write-ahead log was not emptied; deleted text may "
            "stay in it until the server's next checkpoint"
        )


def _quarantines(folder: Path | None) -> list[Quarantine]:
    """The quarantine files the stores write in `folder` (none when no folder is given)."""
    if folder is None:
        return []
    return [Quarantine(folder / name) for name in QUARANTINE_FILES]


def purge(engine: Engine, *, before: datetime, quarantine_dir: Path | None = None) -> Removed:
    """Delete every conversation event, ledger row and vote older than `before`, and the
    items set aside in the quarantine files of `quarantine_dir` before then."""
    cutoff = before.astimezone(timezone.utc)
    with Session(engine, future=True) as session, session.begin():
        _erase_deleted_content(session)
        votes = session.execute(delete(FeedbackVote).where(FeedbackVote.created_at < cutoff))
        turns = session.execute(delete(LedgerTurn).where(LedgerTurn.created_at < cutoff))
        events = session.execute(delete(EVENTS).where(EVENTS.c.timestamp < cutoff.timestamp()))
    _checkpoint(engine)
    quarantined = sum(
        kept.purge(before=cutoff.timestamp()) for kept in _quarantines(quarantine_dir)
    )
    return Removed(events.rowcount, turns.rowcount, votes.rowcount, quarantined=quarantined)


def purge_preview(
    engine: Engine, *, before: datetime, quarantine_dir: Path | None = None
) -> Removed:
    """What `purge` with the same arguments would delete now, deleting nothing
    (`ldn-bot purge --dry-run`, and the question before a purge)."""
    cutoff = before.astimezone(timezone.utc)
    with Session(engine, future=True) as session:
        votes = session.scalar(
            select(func.count()).select_from(FeedbackVote).where(FeedbackVote.created_at < cutoff)
        )
        turns = session.scalar(
            select(func.count()).select_from(LedgerTurn).where(LedgerTurn.created_at < cutoff)
        )
        events = conversations = 0
        if inspect(engine).has_table(EVENTS.name):  # Rasa creates it with the first message
            old = EVENTS.c.timestamp < cutoff.timestamp()
            events = session.scalar(select(func.count()).select_from(EVENTS).where(old))
            conversations = session.scalar(
                select(func.count(func.distinct(EVENTS.c.sender_id))).where(old)
            )
    quarantined = sum(
        len(line.get("items", []))
        for kept in _quarantines(quarantine_dir)
        for line in kept.read()
        if float(line.get("at") or 0) < cutoff.timestamp()
    )
    return Removed(
        int(events or 0),
        int(turns or 0),
        int(votes or 0),
        conversations=int(conversations or 0),
        quarantined=quarantined,
    )
