"""The ledger the report's tests read: three days of March 2025 in one database, with
Rasa's `events` table as its SQLTrackerStore creates it, the turns `Ledger` wrote (a text
kept in the events, in the ledger or nowhere) and votes. The `report_engine` fixture
(tests/conftest.py) populates a SQLite file with it for each test."""

from __future__ import annotations

import json
from ast import literal_eval
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, insert
from sqlalchemy.engine import Engine

from ldn_bot.ledger.schema import migrate
from ldn_bot.ledger.store import Ledger
from ldn_bot.ledger.turns import TurnRecord

UTC = timezone.utc
D1, D2, D3 = (datetime(2025, 3, day, tzinfo=UTC) for day in (1, 2, 3))
EVIL = "<script>alert(1)</script>"

# Rasa's `events` table as its SQLTrackerStore creates it.
RASA = MetaData()
RASA_EVENTS = Table(
    "events",
    RASA,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)

# One row per turn: message id, day of March 2025 and UTC time, sender, route, guard rule
# (its category is the part before the dot), where the text is kept, the text.
TURNS_TABLE = r"""
m01 1 09:00 alice article_answer  -                   events  'What is LDN?'
m02 1 09:01 alice fallback        -                   events  'What is LDN made of?'
m03 1 09:02 alice doctor_referral dosing.how_much     events  'How much?'
m04 1 14:00 bob   smalltalk       -                   events  'hi'
m05 1 14:01 bob   out_of_scope    -                   events  '  Can I   drink coffee? '
m06 2 10:00 alice fallback        -                   events  'what is ldn\nmade of?'
m07 2 11:00 bob   emergency       emergency.self_harm events  'help'
m08 2 12:00 carol doctor_referral pill_splitting.cut  events  'cut?'
m09 2 12:01 carol article_answer  -                   events  'side effects?'
m10 2 12:02 carol fallback        -                   events  '<script>alert(1)</script>'
m11 3 23:59 dave  doctor_referral dosing.how_much     events  'dose?'
m12 3 08:00 dave  out_of_scope    -                   events  'Can I drink coffee?'
m13 3 08:05 dave  fallback        -                   ledger  'What is LDN made of?'
m14 3 08:10 erin  fallback        -                   nowhere 'lost'
"""
INTENTS = {
    "article_answer": "ask_article",
    "fallback": "nlu_fallback",
    "doctor_referral": "ask_dosing",
    "smalltalk": "greet",
    "out_of_scope": "out_of_scope",
    "emergency": "emergency",
}


@dataclass(frozen=True)
class Turn:
    message_id: str
    at: datetime
    sender: str
    route: str
    rule: str | None
    kept: str
    text: str

    @property
    def intent(self) -> str:
        return INTENTS[self.route]


def _turns(table: str) -> list[Turn]:
    turns = []
    for line in table.strip().splitlines():
        message_id, day, time, sender, route, rule, kept, literal = line.split(maxsplit=7)
        at = datetime.fromisoformat(f"2025-03-{int(day):02d}T{time}+00:00")
        rule_or_none = None if rule == "-" else rule
        turns.append(Turn(message_id, at, sender, route, rule_or_none, kept, literal_eval(literal)))
    return turns


TURNS = _turns(TURNS_TABLE)
# sender, message id voted on, vote
VOTES = [
    ("alice", "m01", "up"),
    ("alice", "m02", "down"),
    ("carol", "m09", "up"),
    ("dave", "m11", "down"),
    ("erin", None, "up"),
    ("bob", "m-not-in-ledger", "up"),
]
TABLE_CAPTIONS = [
    "Turns per day",
    "Guard triggers by rule",
    "About LDN or MS, not covered by the article (top 20)",
    "Off-topic or in another language (top 20)",
    "Failures: the bot failed, it did not fall back",
    "Feedback by route",
    "Down-voted turns, latest first",
    "Totals summary",
]


def _record(turn: Turn) -> TurnRecord:
    return TurnRecord(
        message_id=turn.message_id,
        created_at=turn.at,
        channel="rest",
        sender_id=turn.sender,
        route=turn.route,
        guard_category=turn.rule.split(".")[0] if turn.rule else "none",
        guard_rule=turn.rule,
        intent=turn.intent,
        confidence=0.9,
        sentence_ids=("s1",) if turn.route == "article_answer" else (),
        model_id="model-20250301",
        text=turn.text,
    )


def _event(sender: str, kind: str, moment: datetime, **data: object) -> dict[str, object]:
    payload = {"event": kind, "timestamp": moment.timestamp(), **data}
    return {
        "sender_id": sender,
        "type_name": kind,
        "timestamp": moment.timestamp(),
        "intent_name": None,
        "action_name": None,
        "data": json.dumps(payload),
    }


def populate(engine: Engine) -> None:
    """Three days of conversations: Rasa's events, the ledger rows, and votes."""
    migrate(engine)
    RASA.create_all(engine)
    events = [_event("noise", "action", D1, name="action_listen")]
    for turn in TURNS:
        if turn.kept == "events":
            events.append(
                _event(
                    turn.sender,
                    "user",
                    turn.at,
                    text=turn.text,
                    message_id=turn.message_id,
                    input_channel="rest",
                    parse_data={"intent": {"name": turn.intent, "confidence": 0.9}},
                )
            )
        events.append(_event(turn.sender, "bot", turn.at, text="What is LDN made of?"))
    events.append(_event("frank", "user", D3, text="unrelated", message_id="m99"))
    with engine.begin() as connection:
        connection.execute(insert(RASA_EVENTS), events)

    ledger = Ledger(engine, salt="s", article_version="abc")
    keeping_text = Ledger(engine, salt="s", article_version="abc", store_text=True)
    assert ledger.write([_record(row) for row in TURNS if row.kept != "ledger"]) == 13
    assert keeping_text.write([_record(row) for row in TURNS if row.kept == "ledger"]) == 1
    for bot_index, (sender, message_id, vote) in enumerate(VOTES):
        # Each vote on its own bot message: a second vote on one message replaces the first.
        ledger.record_vote(
            channel="rest", sender_id=sender, bot_index=bot_index, vote=vote, message_id=message_id
        )
