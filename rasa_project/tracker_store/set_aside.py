"""What the tracker store cannot store as it is, so that one conversation never holds back
the others: an event whose metadata had to be replaced by a note (`rows`), and the events
of a conversation the database rejects (not an outage) or that cannot be serialised at
all. Each is counted as `poisoned` in `health()`, logged once (the sender's salted hash,
event types, error class; never text) and, for events, kept in the quarantine file
(`ldn_bot.ledger.quarantine`)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from rasa.shared.core.events import Event
from sqlalchemy.exc import SQLAlchemyError

from ldn_bot.ledger.health import describe
from ldn_bot.ledger.quarantine import Quarantine
from rasa_project.tracker_store.rows import METADATA_DROPPED, event_dict

# One logger for the whole store (its lines have always been `rasa_project.tracker_store`).
logger = logging.getLogger(__package__)


class SetAside:
    """Counts, logs and keeps what cannot be stored.

    Args:
        quarantine: the file set-aside events are kept in.
        name: how logs name a conversation (its salted hash, never the id itself).
    """

    def __init__(self, quarantine: Quarantine, *, name: Callable[[str], str]) -> None:
        self.quarantine = quarantine
        self.poisoned = 0
        self._name = name

    def metadata_replaced(self, sender_id: str, event: Event, reason: str) -> None:
        """Note an event stored with its metadata replaced by `{METADATA_DROPPED: reason}`."""
        self.poisoned += 1
        logger.error(
            "conversations: a %r event of %s could not be stored as it was (%s); "
            "stored with its metadata replaced by {%r: %r}",
            event.type_name,
            self._name(sender_id),
            reason,
            METADATA_DROPPED,
            reason,
        )

    def events(self, sender_id: str, events: list[Event], error: BaseException) -> None:
        """Keep a conversation's events that cannot be written in the quarantine file."""
        self.poisoned += 1
        reason = describe(error) if isinstance(error, SQLAlchemyError) else type(error).__name__
        kept = self.quarantine.keep(
            "conversation",
            reason,
            [{"sender_id": sender_id, "events": [event_dict(event) for event in events]}],
        )
        logger.error(
            "conversations: %d event(s) of %s set aside, they cannot be written (%s; "
            "types: %s); %s",
            len(events),
            self._name(sender_id),
            reason,
            ",".join(sorted({event.type_name for event in events})),
            f"kept in {self.quarantine.path}" if kept else "not kept: the file is unwritable",
        )
