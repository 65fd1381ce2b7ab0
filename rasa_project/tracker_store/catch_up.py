"""Reading a conversation from the database: on a cache miss its window since the last
session start, on a hit only the rows added since this server last looked (by another
server or process sharing the database), so several servers stay consistent while each
read costs the same at message 200 as at message 1."""

from __future__ import annotations

import json

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_project.tracker_store.window import Conversation, trim


def load(store: SQLTrackerStore, sender_id: str, window: int) -> Conversation | None:
    """The conversation since its last session start, its last `window` events kept;
    None when the database holds none of it."""
    with store.session_scope() as session:
        rows = store._event_query(session, sender_id, fetch_events_from_all_sessions=False)
        rows = rows.with_entities(store.SQLEvent.id, store.SQLEvent.data).all()
    if not rows:
        return None
    tracker = DialogueStateTracker.from_dict(
        sender_id, [json.loads(row.data) for row in rows], store.domain.slots
    )
    return Conversation(last_id=rows[-1].id, tracker=trim(tracker, window))


def catch_up(store: SQLTrackerStore, sender_id: str, conversation: Conversation) -> None:
    """Apply to `conversation` the rows added since its `last_id`."""
    sql_event = store.SQLEvent
    with store.session_scope() as session:
        rows = (
            session.query(sql_event.id, sql_event.data)
            .filter(sql_event.sender_id == sender_id, sql_event.id > conversation.last_id)
            .order_by(sql_event.id)
            .all()
        )
    for row in rows:
        event = Event.from_parameters(json.loads(row.data))
        if event is not None:
            conversation.tracker.update(event)
        conversation.last_id = row.id
