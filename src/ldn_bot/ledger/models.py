"""The ledger's tables. Rasa pins SQLAlchemy 1.4, so columns are declared 1.4-style and
used 2.0-style (`future=True` engines, `Session` per unit of work, `select()`)."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import declarative_base

Base = declarative_base()


class LedgerTurn(Base):  # type: ignore[misc,valid-type]
    """One bot turn: what the guard decided and what was served. Never updated.

    The person is only a salted hash; raw text is kept only when the option is on.
    """

    __tablename__ = "ledger_turns"

    id = Column(Integer, primary_key=True)
    created_at = Column(DateTime(timezone=True), nullable=False, index=True)
    message_id = Column(String(64), nullable=False, unique=True)
    channel = Column(String(32), nullable=False)
    sender_hash = Column(String(64), nullable=False, index=True)
    route = Column(String(32), nullable=False)
    guard_category = Column(String(32), nullable=False)
    guard_rule = Column(String(128))
    guard_source = Column(String(16))  # message | window | context: what decided
    guard_context = Column(String(32))  # the dose context the turn was in, if any
    intent = Column(String(64))
    confidence = Column(Float)
    sentence_ids = Column(String(255), nullable=False, default="")
    responses = Column(String(255))  # the responses sent, comma-separated (None: before 0003)
    model_id = Column(String(64))
    article_version = Column(String(16), nullable=False)
    user_text = Column(Text)


class FeedbackVote(Base):  # type: ignore[misc,valid-type]
    """A thumbs up or down on one bot message, tied to the turn that produced it."""

    __tablename__ = "ledger_votes"

    id = Column(Integer, primary_key=True)
    created_at = Column(DateTime(timezone=True), nullable=False, index=True)
    turn_id = Column(Integer, ForeignKey("ledger_turns.id", ondelete="SET NULL"), index=True)
    channel = Column(String(32), nullable=False)
    sender_hash = Column(String(64), nullable=False, index=True)
    bot_index = Column(Integer, nullable=False)
    vote = Column(String(8), nullable=False)
