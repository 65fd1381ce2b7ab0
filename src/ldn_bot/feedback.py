"""Thumbs up/down on answers, stored with SQLAlchemy in a SQLite file.

Rasa pins SQLAlchemy 1.4, so this is its 2.0-style subset: a `future` engine,
a `Session` per unit of work, `select()`; declarative columns are 1.4 style.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Column, DateTime, Integer, String, create_engine, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, declarative_base

VOTES = ("up", "down")


Base = declarative_base()


class FeedbackVote(Base):  # type: ignore[misc,valid-type]
    """One vote on one bot message. The sender id is stored only as a salted hash."""

    __tablename__ = "feedback_votes"

    id = Column(Integer, primary_key=True)
    created_at = Column(DateTime(timezone=True), nullable=False)
    channel = Column(String(32), nullable=False)
    sender_hash = Column(String(64), index=True, nullable=False)
    message_index = Column(Integer, nullable=False)
    vote = Column(String(8), nullable=False)


def sender_hash(sender_id: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}:{sender_id}".encode()).hexdigest()


@lru_cache(maxsize=4)
def engine_for(path: Path) -> Engine:
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{path}", future=True)
    Base.metadata.create_all(engine)
    return engine


def record_vote(
    engine: Engine, *, channel: str, sender_id: str, message_index: int, vote: str, salt: str
) -> None:
    """Store one vote; raises ValueError on a vote that is not up or down."""
    if vote not in VOTES:
        raise ValueError(f"vote must be one of {VOTES}")
    with Session(engine, future=True) as session, session.begin():
        session.add(
            FeedbackVote(
                created_at=datetime.now(timezone.utc),
                channel=channel,
                sender_hash=sender_hash(sender_id, salt),
                message_index=message_index,
                vote=vote,
            )
        )


def votes(engine: Engine) -> list[FeedbackVote]:
    with Session(engine, future=True) as session:
        return list(session.scalars(select(FeedbackVote).order_by(FeedbackVote.id)))
