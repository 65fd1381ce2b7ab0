"""The guard decision ledger as the tracker store feeds it: after each save, the turn just
finished becomes one ledger row, handed to a background writer, so a slow or failing
ledger database never delays or breaks a reply."""

from __future__ import annotations

import logging
from collections import OrderedDict

from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import Engine

from ldn_bot.ledger.quarantine import Quarantine
from ldn_bot.ledger.schema import migrate
from ldn_bot.ledger.store import Ledger, LedgerWriter, article_version
from ldn_bot.ledger.turns import TurnRecord, last_turn, turn_record
from ldn_bot.settings import Settings

# One logger for the whole store (its lines have always been `rasa_project.tracker_store`).
logger = logging.getLogger(__package__)

LATEST_TURNS = 1000
"""Conversations whose latest turn record is kept for `latest` (`ldn-bot ask` reads it)."""


def open_ledger(
    engine: Engine, cfg: Settings, *, quarantine: Quarantine
) -> tuple[Ledger, LedgerWriter]:
    """The ledger tables of `engine`, migrated to the latest revision (a failure is
    logged: the writer retries the rows), and their background writer.

    Args:
        engine: the database of the conversations, which holds the ledger too.
        cfg: the settings (salt, article, whether texts are kept).
        quarantine: where the writer keeps rows the database rejects.
    """
    try:
        migrate(engine)
    except Exception:  # the ledger must not keep the assistant from starting
        logger.exception("ledger: schema migration failed; turns will be retried")
    ledger = Ledger(
        engine,
        salt=cfg.salt(),
        article_version=article_version(cfg.article_path),
        store_text=cfg.ledger_text,
    )
    return ledger, LedgerWriter(ledger, quarantine=quarantine)


class TurnRecorder:
    """Hands each finished turn to a ledger writer, and remembers the latest record of
    the last `LATEST_TURNS` conversations."""

    def __init__(self) -> None:
        self._latest: OrderedDict[str, TurnRecord] = OrderedDict()

    def record(self, tracker: DialogueStateTracker, writer: LedgerWriter) -> None:
        """Hand the tracker's last turn to `writer` (nothing when it has no reply yet)."""
        try:
            turn = last_turn(event.as_dict() for event in reversed(tracker.events))
            record = turn_record(tracker.sender_id, turn)
        except Exception:
            logger.exception("ledger: could not read the turn of %r", tracker.sender_id)
            return
        if record is None:
            return
        writer.submit(record)
        self._latest[tracker.sender_id] = record
        while len(self._latest) > LATEST_TURNS:
            self._latest.popitem(last=False)

    def latest(self, sender_id: str) -> TurnRecord | None:
        """The record of the last turn recorded for `sender_id` by this process."""
        return self._latest.get(sender_id)

    def forget(self, sender_id: str) -> None:
        """Drop what this process remembers of `sender_id`'s turns."""
        self._latest.pop(sender_id, None)
