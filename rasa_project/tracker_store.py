"""Rasa's SQL tracker store, plus the guard decision ledger.

Conversations are stored exactly as Rasa stores them (SQLite by default, PostgreSQL
in production). After each save the turn just finished becomes one ledger row, handed to
a background writer: a slow or failing ledger database never delays or breaks a reply.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from ldn_bot.ledger.schema import migrate
from ldn_bot.ledger.store import Ledger, LedgerWriter, article_version, engine_for
from ldn_bot.ledger.turns import last_turn, turn_record
from ldn_bot.settings import settings

logger = logging.getLogger(__name__)


class LedgerTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` that also records one ledger row per bot turn."""

    def __init__(
        self,
        domain: Domain | None = None,
        host: str | None = None,
        dialect: str = "sqlite",
        db: str = "rasa.db",
        event_broker: EventBroker | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(domain, dialect, host, db=db, event_broker=event_broker, **kwargs)
        cfg = settings()
        engine = engine_for(self.engine.url)
        try:
            migrate(engine)
        except Exception:  # the ledger must not keep the assistant from starting
            logger.exception("ledger: schema migration failed; turns will be retried")
        self.ledger = Ledger(
            engine,
            salt=cfg.salt(),
            article_version=article_version(cfg.article_path),
            store_text=cfg.ledger_text,
        )
        self.ledger_writer = LedgerWriter(self.ledger)

    async def save(self, tracker: DialogueStateTracker) -> None:
        await super().save(tracker)
        try:
            turn = last_turn(event.as_dict() for event in reversed(tracker.events))
            record = turn_record(tracker.sender_id, turn)
        except Exception:
            logger.exception("ledger: could not read the turn of %r", tracker.sender_id)
            return
        if record is not None:
            self.ledger_writer.submit(record)
