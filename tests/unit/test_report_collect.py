"""The ledger report's figures, as `collect` reads them from a real SQLite file: Alembic's
ledger tables, Rasa's `events` table, turns written by `Ledger`, votes by
`Ledger.record_vote`; periods, an empty database, one without ledger tables. Tests taking
`report_engine` read a real SQLite file populated as tests/report_ledger.py describes. The
same report from PostgreSQL is in tests/e2e/test_report_postgresql.py."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from report_ledger import D1, D2, D3, EVIL, TABLE_CAPTIONS, UTC
from sqlalchemy.engine import Engine

from ldn_bot.ledger.engine import engine_for
from ldn_bot.ledger.report import (
    NO_TURN,
    Group,
    Question,
    RouteFeedback,
    collect,
    render_html,
    summary_text,
)
from ldn_bot.ledger.schema import migrate


def _database(path: Path) -> Engine:
    engine = engine_for(f"sqlite:///{path}")
    migrate(engine)
    return engine


def test_collect_counts_days_routes_guard_and_rates(report_engine: Engine) -> None:
    data = collect(report_engine)

    assert (data.turns, data.conversations) == (14, 5)
    assert [(d.day.isoformat(), d.conversations, d.messages) for d in data.days] == [
        ("2025-03-01", 2, 5),
        ("2025-03-02", 3, 5),
        ("2025-03-03", 2, 4),  # 23:59 UTC is still the 3rd
    ]
    assert dict(data.days[1].routes) == {
        "emergency": 1,
        "doctor_referral": 1,
        "article_answer": 1,
        "fallback": 2,
    }
    assert dict(data.routes) == {
        "emergency": 1,
        "doctor_referral": 3,
        "article_answer": 2,
        "out_of_scope": 2,
        "fallback": 5,
        "smalltalk": 1,
    }
    assert data.guard_categories == (("emergency", 1), ("pill_splitting", 1), ("dosing", 2))
    assert [(r.rule, r.category, r.count) for r in data.guard_rules] == [
        ("dosing.how_much", "dosing", 2),
        ("emergency.self_harm", "emergency", 1),
        ("pill_splitting.cut", "pill_splitting", 1),
    ]
    assert data.guard_triggers == 4
    assert data.fallback_rate == pytest.approx(5 / 14)
    assert data.out_of_scope_rate == pytest.approx(2 / 14)
    assert (data.referrals, data.emergencies) == (3, 1)
    assert data.model_ids == (("model-20250301", 14),)
    assert data.article_versions == (("abc", 14),)
    assert data.first_turn == D1 + timedelta(hours=9)
    assert data.last_turn == D3 + timedelta(hours=23, minutes=59)
    assert data.period_text() == "2025-03-01 to 2025-03-03 (UTC)"


def test_unanswered_questions_take_their_text_from_the_conversation_store(
    report_engine: Engine,
) -> None:
    data = collect(report_engine)

    assert data.events_table
    assert data.questions == (
        # two from events, one kept in the ledger; it names LDN: a gap, not off-topic
        Question("What is LDN made of?", 3, "fallback", Group.NOT_COVERED),
        Question("Can I drink coffee?", 2, "out_of_scope", Group.OFF_TOPIC),
        Question(EVIL, 1, "fallback", Group.OFF_TOPIC),
    )
    assert (data.unanswered, data.unanswered_without_text) == (7, 1)


def test_feedback_up_down_per_route_and_down_voted_turns(report_engine: Engine) -> None:
    data = collect(report_engine)

    assert (data.votes_up, data.votes_down) == (4, 2)
    assert data.feedback == (
        RouteFeedback("doctor_referral", 0, 1),
        RouteFeedback("article_answer", 2, 0),
        RouteFeedback("fallback", 0, 1),
        RouteFeedback(NO_TURN, 2, 0),
    )
    assert sorted((v.route, v.intent, v.guard_rule) for v in data.down_votes) == [
        ("doctor_referral", "ask_dosing", "dosing.how_much"),
        ("fallback", "nlu_fallback", None),
    ]


@pytest.mark.parametrize(
    "since",
    [
        datetime(2025, 3, 2, tzinfo=UTC),
        datetime(2025, 3, 2),  # naive: taken as UTC
        datetime(2025, 3, 2, 1, tzinfo=timezone(timedelta(hours=1))),  # the same moment
    ],
)
def test_since_leaves_out_earlier_turns(report_engine: Engine, since: datetime) -> None:
    data = collect(report_engine, since=since)

    assert data.turns == 9
    assert [d.day.isoformat() for d in data.days] == ["2025-03-02", "2025-03-03"]
    assert data.conversations == 5
    assert data.route_count("fallback") == 4 and data.route_count("smalltalk") == 0
    assert [(q.text.lower(), q.count) for q in data.questions] == [
        ("what is ldn made of?", 2),
        (EVIL, 1),  # ties in alphabetical order
        ("can i drink coffee?", 1),
    ]
    assert data.period_text() == "2025-03-02 to 2025-03-03 (UTC)"
    assert (data.votes_up, data.votes_down) == (4, 2)  # votes are cast now, after `since`


def test_until_is_exclusive_and_filters_votes_too(report_engine: Engine) -> None:
    data = collect(report_engine, since=D1, until=D2)

    assert data.turns == 5 and [d.messages for d in data.days] == [5]
    assert [q.count for q in data.questions] == [1, 1]
    assert (data.votes_up, data.votes_down, data.feedback) == (0, 0, ())
    assert data.period_text() == "2025-03-01 to 2025-03-01 (UTC)"


def test_empty_database(tmp_path: Path) -> None:
    engine = _database(tmp_path / "empty.db")  # ledger tables only, no Rasa events table
    try:
        data = collect(engine)
    finally:
        engine.dispose()

    assert data.empty and not data.events_table
    assert (data.turns, data.days, data.questions, data.feedback) == (0, (), (), ())
    assert data.fallback_rate == 0.0
    page = render_html(data)
    assert "No data in this period" in page
    assert "<svg" not in page and page.count("<figure") == 5
    for caption in TABLE_CAPTIONS:
        assert f"<caption>{caption}</caption>" in page
    assert "No unanswered questions about LDN or MS in this period." in page
    assert "No off-topic questions in this period." in page
    assert "No failures in this period." in page
    assert "No feedback votes in this period." in page
    summary = summary_text(data)
    assert "No turns in the ledger for this period." in summary
    assert "Feedback: 0 up, 0 down" in summary


def test_a_period_without_data_is_empty(report_engine: Engine) -> None:
    data = collect(report_engine, since=datetime(2030, 1, 1, tzinfo=UTC))

    assert data.empty
    assert data.period_text() == "since 2030-01-01 (UTC)"
    assert "No data in this period" in render_html(data)


def test_a_database_without_ledger_tables_is_an_actionable_error(tmp_path: Path) -> None:
    engine = engine_for(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        with pytest.raises(RuntimeError, match="no ledger tables"):
            collect(engine)
    finally:
        engine.dispose()
