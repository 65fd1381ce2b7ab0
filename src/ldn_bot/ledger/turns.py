"""A bot turn read from Rasa's serialised events (plain dicts): the ledger's row, before
the sender is hashed. Pure functions, so they are tested without Rasa."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ldn_bot.guard.verdict import PRIORITY, Category
from ldn_bot.routing import response_name, route_for

Event = Mapping[str, Any]


@dataclass(frozen=True)
class TurnRecord:
    """What one user message got: the facts the ledger keeps about a turn."""

    message_id: str
    created_at: datetime
    channel: str
    sender_id: str
    route: str
    guard_category: str
    guard_rule: str | None
    intent: str | None
    confidence: float | None
    sentence_ids: tuple[str, ...] = ()
    model_id: str | None = None
    # What decided the guard's verdict (`ldn_bot.guard.conversation.Source`: the message,
    # the window of the user's messages, the dose context) and the context the turn was in.
    guard_source: str | None = None
    guard_context: str | None = None
    # The names of the responses the turn sent, in order ("utter_cannot_answer_now" tells a
    # failure from a fallback, which share the fallback route).
    responses: tuple[str, ...] = ()
    text: str = field(default="", repr=False)


def last_turn(events: Iterable[Event]) -> list[Event]:
    """The events of the latest turn: the last user message and everything after it.

    `events` is read from the end (a tracker's deque reversed is cheap), so the cost does
    not grow with the length of the conversation.
    """
    turn: list[Event] = []
    for event in events:
        turn.append(event)
        if event.get("event") == "user":
            return turn[::-1]
    return []


def turn_record(sender_id: str, turn: Sequence[Event]) -> TurnRecord | None:
    """The ledger row for a turn (`last_turn`'s result), or None when it has no reply yet."""
    if not turn or turn[0].get("event") != "user":
        return None
    user = turn[0]
    bots = [event for event in turn[1:] if event.get("event") == "bot"]
    if not bots:
        return None
    parse = user.get("parse_data") or {}
    intent = parse.get("intent") or {}
    metadata = [event.get("metadata") or {} for event in bots]
    responses = tuple(name for name in map(response_name, metadata) if name)
    route = route_for(response_name(meta) for meta in metadata)
    category, rule = _strongest_verdict(
        [parse.get("guard") or {}, *(m.get("guard") or {} for m in metadata)]
    )
    sentence_ids: list[str] = []
    for meta in metadata:
        for unit in meta.get("citations") or []:
            if isinstance(unit, str) and unit not in sentence_ids:
                sentence_ids.append(unit)
    confidence = intent.get("confidence")
    guard: Mapping[str, Any] = parse.get("guard") or {}
    if not isinstance(guard, Mapping):
        guard = {}
    return TurnRecord(
        message_id=ledger_message_id(sender_id, user),
        created_at=datetime.fromtimestamp(float(user.get("timestamp") or 0), tz=timezone.utc),
        channel=str(user.get("input_channel") or "unknown")[:32],
        sender_id=sender_id,
        route=route.value,
        guard_category=category,
        guard_rule=rule,
        intent=intent.get("name"),
        confidence=None if confidence is None else round(float(confidence), 4),
        sentence_ids=tuple(sentence_ids),
        model_id=(user.get("metadata") or {}).get("model_id"),
        guard_source=_short(guard.get("source"), 16),
        guard_context=_short(guard.get("context"), 32),
        responses=responses,
        text=_storable(str(user.get("text") or "")),
    )


def _short(value: object, limit: int) -> str | None:
    """A short text column's value: None, or the value as text, cut to the column's size."""
    return None if value is None else _storable(str(value))[:limit]


def _storable(text: str) -> str:
    """Text every database stores: PostgreSQL refuses NUL, UTF-8 lone surrogates."""
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")


def ledger_message_id(sender_id: str, user: Event) -> str:
    """The id of a turn: the user message's id, or for a message without one an id derived
    from who, when and what (so saving the same turn twice still makes one row)."""
    if user.get("message_id"):
        return str(user["message_id"])
    key = f"{sender_id}\x00{user.get('timestamp')}\x00{user.get('text')}"
    return "h-" + hashlib.sha256(key.encode()).hexdigest()[:30]


def _strongest_verdict(verdicts: Iterable[Mapping[str, Any]]) -> tuple[str, str | None]:
    """The strongest category any guard reported in the turn (NLU guard or action guard)."""
    best: tuple[str, str | None] = (Category.NONE.value, None)
    rank = {category.value: index for index, category in enumerate(PRIORITY)}
    for verdict in verdicts:
        category = verdict.get("category")
        if category in rank and rank[category] < rank.get(best[0], len(rank)):
            best = (category, verdict.get("rule"))
    return best
