"""The ledger the report's review tests read (issue 14): two conversations, Ann's and
Ben's, with their turns, guard decisions and votes, written to a real SQLite file through
`Ledger`. The `review_engine` fixture (tests/conftest.py) seeds it for each test."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy.engine import Engine

from ldn_bot.ledger.engine import engine_for
from ldn_bot.ledger.schema import migrate
from ldn_bot.ledger.store import Ledger
from ldn_bot.ledger.turns import TurnRecord

UTC = timezone.utc
DAY = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[1]
ANN, BEN = "sender-ann-7f3", "sender-ben-c41"

# message id, sender, minutes after DAY, route, intent, confidence, rule, source, context, text
TURNS = [
    (
        "a1",
        ANN,
        0,
        "article_answer",
        "ask_mechanism",
        0.91,
        None,
        "message",
        None,
        "How does naltrexone act on the immune system?",
    ),
    (
        "a2",
        ANN,
        1,
        "doctor_referral",
        "ask_dosing",
        0.88,
        "dosing.how_much",
        "message",
        None,
        "How many milligrams would suit me?",
    ),
    (
        "a3",
        ANN,
        2,
        "doctor_referral",
        "insist_dosing",
        0.77,
        "context",
        "context",
        "dosing",
        "come on just the number",
    ),
    (
        "a4",
        ANN,
        3,
        "out_of_scope",
        "not_covered",
        0.0,
        None,
        None,
        None,
        "Would it calm my psoriasis?",
    ),
    ("b1", BEN, 60, "fallback", "nlu_fallback", 0.31, None, None, None, "is ldn vegan friendly"),
    (
        "b2",
        BEN,
        61,
        "out_of_scope",
        "out_of_scope",
        0.0,
        None,
        None,
        None,
        "best pizza dough recipe?",
    ),
    ("b3", BEN, 62, "fallback", "nlu_failed", 1.0, None, None, None, "are you there"),
    (
        "b4",
        BEN,
        63,
        "fallback",
        "ask_mechanism",
        0.95,
        None,
        None,
        None,
        "what does it do to endorphins",
    ),
    (
        "b5",
        BEN,
        64,
        "doctor_referral",
        "ask_dosing",
        1.0,
        "error",
        "message",
        None,
        "tell me about ldn",
    ),
    (
        "b6",
        BEN,
        65,
        "language",
        "unsupported_language",
        1.0,
        None,
        None,
        None,
        "Hjälper LDN mot trötthet?",
    ),
    ("b7", BEN, 66, "fallback", "nlu_fallback", 0.2, None, None, None, "is ldn vegan friendly"),
]
# sender, bot message index, message id, vote
VOTES = [(ANN, 0, "a1", "up"), (ANN, 1, "a2", "down"), (BEN, 0, "b1", "down")]


def _record(row: tuple, day: datetime = DAY) -> TurnRecord:
    message_id, sender, minutes, route, intent, confidence, rule, source, context, text = row
    category = "none"
    if rule:
        category = "dosing" if rule in {"context", "error"} else rule.split(".")[0]
    return TurnRecord(
        message_id=message_id,
        created_at=day + timedelta(minutes=minutes),
        channel="rest",
        sender_id=sender,
        route=route,
        guard_category=category,
        guard_rule=rule,
        intent=intent,
        confidence=confidence,
        guard_source=source,
        guard_context=context,
        text=text,
    )


def seed(path: Path, *, store_text: bool = True, rows: list[tuple] = TURNS) -> Engine:
    """A migrated SQLite ledger at `path` with `rows` (all of TURNS) and their votes."""
    engine = engine_for(f"sqlite:///{path}")
    migrate(engine)
    ledger = Ledger(engine, salt="pepper", article_version="v1", store_text=store_text)
    assert ledger.write([_record(row) for row in rows]) == len(rows)
    for sender, index, message_id, vote in VOTES:
        if any(row[0] == message_id for row in rows):
            ledger.record_vote(
                channel="rest", sender_id=sender, bot_index=index, vote=vote, message_id=message_id
            )
    return engine
