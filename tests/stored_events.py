"""Reading back what the conversation store wrote: its event rows, and one sender's texts."""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ldn_bot.ledger.conversations import EVENTS


def stored_rows(engine: Engine) -> list[tuple[int, str, str]]:
    """Every stored event as (id, sender id, JSON data), in the order written."""
    with engine.connect() as connection:
        query = sa.select(EVENTS.c.id, EVENTS.c.sender_id, EVENTS.c.data).order_by(EVENTS.c.id)
        return [tuple(row) for row in connection.execute(query)]


def user_texts(engine: Engine, sender: str) -> list[str]:
    """The texts `sender` sent, in the order stored."""
    return [
        json.loads(data)["text"]
        for _id, row_sender, data in stored_rows(engine)
        if row_sender == sender and json.loads(data)["event"] == "user"
    ]
