"""An event as a row of Rasa's `events` table, made safe to store.

An event that cannot be serialised (say, metadata nested 980 levels deep) would stop every
later write of its conversation, and one nested deeper than `MAX_EVENT_DEPTH` would break
every copy of it: its metadata is replaced by a note instead. What cannot be stored at all
is kept in the quarantine file in the form `event_dict` gives.
"""

from __future__ import annotations

import json
from typing import Any

from rasa.shared.core.events import Event
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from ldn_bot.ledger.quarantine import plain

METADATA_DROPPED = "ldn_bot_metadata_dropped"
"""Marker put in place of metadata that could not be serialised."""

MAX_EVENT_DEPTH = 64
"""Deepest nesting an event may have (the channels allow 8 levels of metadata; Rasa's own
events have a few): deeper ones would break `copy.deepcopy` of the conversation."""

SERIALISING_ERRORS = (RecursionError, ValueError, TypeError)
"""What serialising an odd event may raise (deep nesting, values JSON cannot hold)."""


class TooDeep(ValueError):
    """An event nested more than `MAX_EVENT_DEPTH` levels."""


def event_json(event: Event) -> str:
    """The event's row JSON; `TooDeep` (checked without recursion) before serialising."""
    data = event.as_dict()
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_EVENT_DEPTH:
            raise TooDeep(f"nested more than {MAX_EVENT_DEPTH} levels")
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, (list, tuple)):
            stack.extend((item, depth + 1) for item in value)
    return json.dumps(data)


def storable_json(event: Event) -> tuple[str, str | None]:
    """`event` as its row's JSON, and why its metadata was replaced (None if it was not).

    Metadata that cannot be serialised, or is nested more than `MAX_EVENT_DEPTH` levels
    (it would serialise on a shallow stack, then break every later copy of the
    conversation), is replaced by `{METADATA_DROPPED: reason}` in the event itself, so the
    dialogue's copy no longer holds it either.

    Raises:
        RecursionError, ValueError, TypeError: the event cannot be serialised even so.
    """
    try:
        return event_json(event), None
    except SERIALISING_ERRORS as error:
        reason = str(error) if isinstance(error, TooDeep) else type(error).__name__
        event.metadata = {METADATA_DROPPED: reason}
        parse_data = getattr(event, "parse_data", None)  # a user message's holds it too
        if isinstance(parse_data, dict) and "metadata" in parse_data:
            parse_data["metadata"] = event.metadata
        return event_json(event), reason


def event_row(sql_event: Any, sender_id: str, event: Event, serialised: str) -> Any:
    """The `events` row (an instance of Rasa's `SQLEvent` model) for `event`."""
    data = event.as_dict()
    return sql_event(
        sender_id=sender_id,
        type_name=event.type_name,
        timestamp=data.get("timestamp"),
        intent_name=(data.get("parse_data") or {}).get("intent", {}).get(INTENT_NAME_KEY),
        action_name=data.get("name"),
        data=serialised,
    )


def event_dict(event: Event) -> Any:
    """An event as the quarantine file keeps it (always serialisable)."""
    try:
        return plain(event.as_dict())
    except Exception:  # an event too odd even to describe
        return {"event": getattr(event, "type_name", "?"), "unreadable": True}
