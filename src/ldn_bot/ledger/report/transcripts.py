"""The transcripts of the conversations the report links to: each down-voted turn, each
unanswered question and each failure links to its turn in its conversation, which shows
the person's messages (as far as they are kept) and the ledger's decisions per turn."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.engine import Connection

from ldn_bot.ledger.models import FeedbackVote, LedgerTurn
from ldn_bot.ledger.report.labels import labels
from ldn_bot.ledger.report.model import (
    DownVote,
    Failure,
    Question,
    Transcript,
    TranscriptTurn,
    TurnRef,
)
from ldn_bot.ledger.report.queries import conversation_key, kept_texts, period, stream, utc

TRANSCRIPTS_SHOWN = 60  # conversations, the most linked first
TURNS_SHOWN = 40  # per conversation; a longer one shows the turns around linked ones
AROUND = 3  # turns shown before and after a linked turn in a long conversation
_CHUNK = 500  # values per IN (...)
T = TypeVar("T")


@dataclass(frozen=True)
class Linked:
    """The turns the report links to, by conversation anchor."""

    turns: dict[str, set[int]]

    @classmethod
    def of(
        cls,
        questions: Iterable[Question],
        failures: Iterable[Failure],
        down_votes: Iterable[DownVote],
    ) -> Linked:
        """The turns linked from the questions, failures and down votes."""
        refs: list[TurnRef] = [vote.ref for vote in down_votes if vote.ref]
        for question in questions:
            refs += question.refs
        for failure in failures:
            refs += failure.refs
        turns: dict[str, set[int]] = {}
        for ref in refs:
            turns.setdefault(ref.conversation, set()).add(ref.turn_id)
        return cls(turns)


def transcripts(
    connection: Connection,
    linked: Linked,
    since: datetime | None,
    until: datetime | None,
    has_events: bool,
) -> tuple[Transcript, ...]:
    """The transcripts of the linked conversations (their turns in the period), the
    conversations with the most linked turns first."""
    chosen = sorted(linked.turns, key=lambda key: (-len(linked.turns[key]), key))
    chosen = chosen[:TRANSCRIPTS_SHOWN]
    ids = sorted({turn for key in chosen for turn in linked.turns[key]})
    senders: set[str] = set()
    for some_ids in _chunks(ids):
        query = select(LedgerTurn.sender_hash).where(LedgerTurn.id.in_(some_ids))
        senders |= {row.sender_hash for row in connection.execute(query)}
    by_sender: defaultdict[str, list[Any]] = defaultdict(list)
    for chunk in _chunks(sorted(senders)):
        query = period(
            select(
                LedgerTurn.id,
                LedgerTurn.created_at,
                LedgerTurn.message_id,
                LedgerTurn.sender_hash,
                LedgerTurn.route,
                LedgerTurn.intent,
                LedgerTurn.confidence,
                LedgerTurn.guard_category,
                LedgerTurn.guard_rule,
                LedgerTurn.guard_source,
                LedgerTurn.guard_context,
                LedgerTurn.responses,
                LedgerTurn.user_text,
            ).where(LedgerTurn.sender_hash.in_(chunk)),
            LedgerTurn.created_at,
            since,
            until,
        ).order_by(LedgerTurn.created_at, LedgerTurn.id)
        for row in stream(connection, query):
            by_sender[row.sender_hash].append(row)
    rows = [row for found in by_sender.values() for row in found]
    votes = _votes(connection, [row.id for row in rows])
    missing = {row.message_id for row in rows if not row.user_text}
    texts = kept_texts(connection, missing, [utc(row.created_at) for row in rows], has_events)
    shown: dict[str, Transcript] = {}
    for sender, found in by_sender.items():
        key = conversation_key(sender)
        turns = [_turn(row, row.user_text or texts.get(row.message_id), votes) for row in found]
        kept, left_out = _around(turns, linked.turns.get(key, set()))
        shown[key] = Transcript(key, sender[:12], tuple(kept), left_out)
    return tuple(shown[key] for key in chosen if key in shown)


def _turn(row: Any, text: str | None, votes: dict[int, list[int]]) -> TranscriptTurn:
    vocabulary = labels()
    return TranscriptTurn(
        turn_id=row.id,
        at=utc(row.created_at),
        route=row.route,
        intent=row.intent,
        confidence=row.confidence,
        guard_category=row.guard_category,
        guard_rule=row.guard_rule,
        rule_label=vocabulary.rule(row.guard_rule),
        guard_source=row.guard_source,
        source_label=vocabulary.source(row.guard_source),
        guard_context=row.guard_context,
        text=" ".join(text.split()) if text else None,
        votes=tuple(votes.get(row.id, ())),
        responses=tuple(filter(None, (row.responses or "").split(","))),
        group=vocabulary.group(row.route, row.intent, row.guard_rule, text or "", row.responses),
    )


def _votes(connection: Connection, turn_ids: list[int]) -> dict[int, list[int]]:
    """The votes on each turn, +1 up and -1 down (one per bot message voted on)."""
    votes: defaultdict[int, list[int]] = defaultdict(list)
    for chunk in _chunks(sorted(turn_ids)):
        query = (
            select(FeedbackVote.turn_id, FeedbackVote.vote)
            .where(FeedbackVote.turn_id.in_(chunk))
            .order_by(FeedbackVote.created_at, FeedbackVote.id)
        )
        for row in connection.execute(query):
            votes[row.turn_id].append(1 if row.vote == "up" else -1)
    return votes


def _around(turns: list[TranscriptTurn], linked: set[int]) -> tuple[list[TranscriptTurn], int]:
    """All turns of a short conversation; of a long one, those near a linked turn."""
    if len(turns) <= TURNS_SHOWN:
        return turns, 0
    near: set[int] = set()
    for index, turn in enumerate(turns):
        if turn.turn_id in linked:
            near |= set(range(index - AROUND, index + AROUND + 1))
    kept = [turn for index, turn in enumerate(turns) if index in near]
    return kept, len(turns) - len(kept)


def _chunks(values: Sequence[T]) -> Iterable[Sequence[T]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]
