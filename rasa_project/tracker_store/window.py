"""The window: each recent conversation kept in memory as a tracker of its last `window`
events (slots stay exact: they are state, not history), in a cache of the conversations
used most recently.

The dialogue needs no more history: rules look at the last turn, memoization at three,
the guard and actions at the last reply and the `last_topic` slot. Rasa gets a working
copy it may extend freely; the store remembers how many of its events were already
stored, so a save writes only the new ones.
"""

from __future__ import annotations

import copy
from collections import OrderedDict, deque
from collections.abc import Container
from dataclasses import dataclass

from rasa.shared.core.trackers import DialogueStateTracker

# Attribute set on the trackers the store hands out: how many of their events the store
# has taken charge of (written to the database, or waiting in memory to be written).
_STORED = "_ldn_stored_events"


@dataclass
class Conversation:
    """A conversation as this server last saw it.

    Attributes:
        last_id: the id of its newest stored row; None when not known (the conversation
            was taken up here while the database was unreachable).
        tracker: its windowed tracker, with any events still waiting to be written.
    """

    last_id: int | None
    tracker: DialogueStateTracker


def trim(tracker: DialogueStateTracker, window: int) -> DialogueStateTracker:
    """Keep only the last `window` events of `tracker` (in place), now and as it grows."""
    tracker.events = deque(tracker.events, maxlen=window)
    tracker._max_event_history = window
    return tracker


def windowed(tracker: DialogueStateTracker, window: int) -> DialogueStateTracker:
    """A copy of `tracker` keeping its last `window` events (slots stay exact)."""
    return trim(copy.deepcopy(tracker), window)


def working_copy(windowed: DialogueStateTracker) -> DialogueStateTracker:
    """A tracker Rasa may extend freely: the window's events, the exact slots, all of
    them counted as stored."""
    tracker = copy.deepcopy(windowed)
    tracker.events = deque(tracker.events)
    tracker._max_event_history = None
    mark_stored(tracker)
    return tracker


def stored_count(tracker: DialogueStateTracker) -> int | None:
    """How many of the tracker's events are stored; None for a tracker the store did not
    hand out (Rasa made it elsewhere)."""
    count = getattr(tracker, _STORED, None)
    return count if count is None else int(count)


def mark_stored(tracker: DialogueStateTracker, count: int | None = None) -> None:
    """Note that the tracker's first `count` events (default: all it holds now) are
    stored, or waiting to be."""
    setattr(tracker, _STORED, len(tracker.events) if count is None else count)


class WindowCache:
    """The conversations in memory, the least recently used dropped first beyond `size`
    (never one that `pinned` holds: its events wait to be written)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._conversations: OrderedDict[str, Conversation] = OrderedDict()

    def __contains__(self, sender_id: object) -> bool:
        return sender_id in self._conversations

    def get(self, sender_id: str) -> Conversation | None:
        """The conversation in memory, if any (its place in the order unchanged)."""
        return self._conversations.get(sender_id)

    def pop(self, sender_id: str) -> Conversation | None:
        """Take the conversation out of memory (to read it again, or to forget it)."""
        return self._conversations.pop(sender_id, None)

    def remember(
        self, sender_id: str, conversation: Conversation, *, pinned: Container[str]
    ) -> None:
        """Keep `conversation` as the most recently used one, dropping old ones beyond
        `size` that are not `pinned`."""
        self._conversations[sender_id] = conversation
        while len(self._conversations) > self.size:
            victim = next((key for key in self._conversations if key not in pinned), None)
            if victim is None:
                break
            del self._conversations[victim]

    def written(self, sender_id: str, *, newest_before: int | None, last_id: int) -> None:
        """Rows up to `last_id` were appended to the conversation, whose newest row was
        `newest_before`: move its `last_id` on (its events were applied when they were
        kept), or, when rows were added that this server has not seen, drop it so it is
        read again next time."""
        conversation = self._conversations.get(sender_id)
        if conversation is None:
            return
        if conversation.last_id is not None and conversation.last_id == newest_before:
            conversation.last_id = last_id
        else:
            del self._conversations[sender_id]
