"""Conversations to save through the ledger's tracker store, and the rows they leave in
its database: what the ledger's store, privacy and writer tests share. The `ledger_store`
fixture (tests/conftest.py) is the store they save into."""

from __future__ import annotations

from typing import Any

from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session


def conversation(
    sender: str, turns: list[tuple[str, str, str]], start: float
) -> DialogueStateTracker:
    """A tracker with one (text, intent, response) turn after another."""
    tracker = DialogueStateTracker(sender, slots=[])
    for index, (text_, intent, response) in enumerate(turns):
        stamp = start + index
        guard = {"category": "dosing", "rule": "dosing.how_much"} if intent == "ask_dosing" else {}
        tracker.update(
            UserUttered(
                text_,
                intent={"name": intent, "confidence": 0.9},
                parse_data={"intent": {"name": intent, "confidence": 0.9}, "guard": guard},
                input_channel="rest",
                timestamp=stamp,
                metadata={"model_id": "m1"},
            )
        )
        tracker.update(ActionExecuted(response, timestamp=stamp))
        tracker.update(BotUttered("reply", metadata={"utter_action": response}, timestamp=stamp))
        tracker.update(ActionExecuted("action_listen", timestamp=stamp))
    return tracker


def rows(engine: Engine, model: Any) -> list[Any]:
    """Every row of `model` in the database, in the order they were written."""
    with Session(engine, future=True) as session:
        return list(session.scalars(select(model).order_by(model.id)))
