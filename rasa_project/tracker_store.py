"""Rasa's SQL tracker store, made to cost the same at message 200 as at message 1, plus the
guard decision ledger.

Rasa's `SQLTrackerStore` reads every event of the session and replays it on each message,
counts them all again on each save, and the whole tracker is then sent to the action
server with every custom action call: the cost of a turn grows with the conversation.
This store keeps each recent conversation in memory as a tracker of its last `window`
events (slots stay exact: they are state, not history), catches up on each retrieve with
only the rows added since (so several servers sharing the database stay consistent), and
saves only the events added since it was handed out. The dialogue needs no more history:
rules look at the last turn, memoization at three, the guard and actions at the last
reply and the `last_topic` slot.

After each save the turn just finished becomes one ledger row, handed to a background
writer: a slow or failing ledger database never delays or breaks a reply.
"""

from __future__ import annotations

import copy
import json
import logging
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from ldn_bot.ledger.schema import migrate
from ldn_bot.ledger.store import Ledger, LedgerWriter, article_version, engine_for
from ldn_bot.ledger.turns import TurnRecord, last_turn, turn_record
from ldn_bot.settings import settings

logger = logging.getLogger(__name__)

# Attribute set on the trackers this store hands out: how many of their events are stored.
_STORED = "_ldn_stored_events"


@dataclass
class _Conversation:
    """A conversation as this server last saw it: its newest row id and a windowed tracker."""

    last_id: int
    tracker: DialogueStateTracker


class LedgerTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` with windowed, incremental reads and one ledger row per bot turn.

    Args (from `endpoints.yml`, besides `SQLTrackerStore`'s):
        window: events of history the dialogue sees (default 60, about ten turns).
        cache_size: conversations kept in memory (least recently used dropped first).
    """

    def __init__(
        self,
        domain: Domain | None = None,
        host: str | None = None,
        dialect: str = "sqlite",
        db: str = "rasa.db",
        event_broker: EventBroker | None = None,
        window: int = 60,
        cache_size: int = 2000,
        **kwargs: Any,
    ) -> None:
        super().__init__(domain, dialect, host, db=db, event_broker=event_broker, **kwargs)
        engine: sa.engine.Engine = self.engine  # type: ignore[has-type]
        if engine.dialect.name == "sqlite":
            # SQLAlchemy 1.4 opens a new SQLite connection per session (NullPool): keep a
            # small pool instead, set up once per connection (WAL, NORMAL sync).
            url = engine.url
            engine.dispose()
            self.engine = sa.create_engine(
                url,
                poolclass=sa.pool.QueuePool,
                pool_size=4,
                connect_args={"check_same_thread": False, "timeout": 30},
            )
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            self.sessionmaker = sa.orm.sessionmaker(bind=self.engine)
        self.window = int(window)
        self.cache_size = int(cache_size)
        self._cache: OrderedDict[str, _Conversation] = OrderedDict()
        self._turns: OrderedDict[str, TurnRecord] = OrderedDict()
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

    # --- reading ---------------------------------------------------------------------------

    def init_tracker(self, sender_id: str) -> DialogueStateTracker:
        """A new conversation's tracker: nothing of it is stored yet."""
        tracker = super().init_tracker(sender_id)
        setattr(tracker, _STORED, 0)
        return tracker

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        conversation = self._cache.pop(sender_id, None)
        if conversation is None:
            conversation = self._load(sender_id)
        else:
            self._catch_up(sender_id, conversation)
        if conversation is None:
            return None
        self._remember(sender_id, conversation)
        return self._working_copy(conversation.tracker)

    def _load(self, sender_id: str) -> _Conversation | None:
        """The conversation since its last session start, from the database (a cache miss)."""
        with self.session_scope() as session:
            rows = self._event_query(session, sender_id, fetch_events_from_all_sessions=False)
            rows = rows.with_entities(self.SQLEvent.id, self.SQLEvent.data).all()
        if not rows:
            return None
        tracker = DialogueStateTracker.from_dict(
            sender_id, [json.loads(row.data) for row in rows], self.domain.slots
        )
        tracker.events = deque(tracker.events, maxlen=self.window)
        tracker._max_event_history = self.window
        return _Conversation(last_id=rows[-1].id, tracker=tracker)

    def _catch_up(self, sender_id: str, conversation: _Conversation) -> None:
        """Apply the rows another server (or process) added since this one last looked."""
        with self.session_scope() as session:
            rows = (
                session.query(self.SQLEvent.id, self.SQLEvent.data)
                .filter(
                    self.SQLEvent.sender_id == sender_id,
                    self.SQLEvent.id > conversation.last_id,
                )
                .order_by(self.SQLEvent.id)
                .all()
            )
        for row in rows:
            event = Event.from_parameters(json.loads(row.data))
            if event is not None:
                conversation.tracker.update(event)
            conversation.last_id = row.id

    def _working_copy(self, windowed: DialogueStateTracker) -> DialogueStateTracker:
        """A tracker Rasa may extend freely: the window's events, the exact slots."""
        tracker = copy.deepcopy(windowed)
        tracker.events = deque(tracker.events)
        tracker._max_event_history = None
        setattr(tracker, _STORED, len(tracker.events))
        return tracker

    def _remember(self, sender_id: str, conversation: _Conversation) -> None:
        self._cache[sender_id] = conversation
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    # --- writing ---------------------------------------------------------------------------

    async def save(self, tracker: DialogueStateTracker) -> None:
        stored = getattr(tracker, _STORED, None)
        if stored is None:  # a tracker this store did not hand out: count what is stored
            await super().save(tracker)
            self._cache.pop(tracker.sender_id, None)
        else:
            await self.stream_events(tracker)
            new_events = list(tracker.events)[stored:]
            if new_events:
                self._append(tracker.sender_id, new_events)
            setattr(tracker, _STORED, len(tracker.events))
        self._record_turn(tracker)

    def _append(self, sender_id: str, events: list[Event]) -> None:
        rows = [self._row(sender_id, event) for event in events]
        with self.session_scope() as session:
            session.add_all(rows)
            session.flush()
            ids = [row.id for row in rows]
            session.commit()
        conversation = self._cache.get(sender_id)
        if conversation is not None and min(ids) > conversation.last_id:
            for event in events:
                conversation.tracker.update(event)
            conversation.last_id = max(ids)
        else:
            self._cache.pop(sender_id, None)

    def _row(self, sender_id: str, event: Event) -> Any:
        data = event.as_dict()
        return self.SQLEvent(
            sender_id=sender_id,
            type_name=event.type_name,
            timestamp=data.get("timestamp"),
            intent_name=data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            action_name=data.get("name"),
            data=json.dumps(data),
        )

    def _record_turn(self, tracker: DialogueStateTracker) -> None:
        try:
            turn = last_turn(event.as_dict() for event in reversed(tracker.events))
            record = turn_record(tracker.sender_id, turn)
        except Exception:
            logger.exception("ledger: could not read the turn of %r", tracker.sender_id)
            return
        if record is None:
            return
        self.ledger_writer.submit(record)
        self._turns[tracker.sender_id] = record
        while len(self._turns) > 1000:
            self._turns.popitem(last=False)

    def latest_turn(self, sender_id: str) -> TurnRecord | None:
        """The ledger record of the last turn saved for `sender_id` by this process."""
        return self._turns.get(sender_id)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets the ledger writer and the tracker store share the file; NORMAL syncs at
    checkpoints rather than on every commit (safe against corruption in WAL mode)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def ledger_store(agent: Any) -> LedgerTrackerStore | None:
    """The agent's `LedgerTrackerStore` (Rasa wraps every store in a `FailSafeTrackerStore`)."""
    store = getattr(agent, "tracker_store", None)
    store = getattr(store, "_tracker_store", store)
    return store if isinstance(store, LedgerTrackerStore) else None
