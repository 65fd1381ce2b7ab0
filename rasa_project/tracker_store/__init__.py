"""Rasa's SQL tracker store, made to cost the same at message 200 as at message 1, plus the
guard decision ledger (`endpoints.yml` names `rasa_project.tracker_store.LedgerTrackerStore`).

Rasa's `SQLTrackerStore` reads every event of the session and replays it on each message,
counts them all again on each save, and the whole tracker is then sent to the action
server with every custom action call: the cost of a turn grows with the conversation.
`LedgerTrackerStore` (`store`) instead, on one database thread (`database_thread`):

- keeps each recent conversation in memory as a tracker of its last `window` events,
  slots exact (`window`), and saves only the events added since it was handed out;
- catches up on each retrieve with only the rows added since, so several servers sharing
  the database stay consistent (`catch_up`);
- raises no database error to Rasa: during an outage events wait in memory and are
  written exactly once, in order, when the database answers again (`outage`); an event
  that cannot be serialised is stored with its metadata replaced by a note (`rows`), and
  a conversation the database rejects is set aside in the quarantine file;
- hands each finished turn to the ledger's background writer (`ledger_turns`);
- shares its engine with the ledger (`ldn_bot.ledger.engine`).
"""

from rasa_project.tracker_store.rows import METADATA_DROPPED
from rasa_project.tracker_store.store import LedgerTrackerStore, ledger_store

__all__ = ["METADATA_DROPPED", "LedgerTrackerStore", "ledger_store"]
