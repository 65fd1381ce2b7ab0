"""The ledger report's plain-text summary (`ldn-bot report` in a terminal): its lines, and
text from the database that cannot drive the terminal. Tests taking `report_engine` read
a real SQLite file populated as tests/report_ledger.py describes."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from ldn_bot.ledger.report import (
    Question,
    ReportData,
    collect,
    summary_text,
)


def test_summary_text(report_engine: Engine) -> None:
    summary = summary_text(collect(report_engine))
    lines = summary.splitlines()

    assert 5 <= len(lines) <= 12
    assert lines[0] == "Ledger report, 2025-03-01 to 2025-03-03 (UTC)"
    assert "Turns: 14 in 5 conversation(s)" in lines
    assert "fallback 35.7%" in summary and "article_answer 14.3%" in summary
    assert "Fallback rate: 35.7%, out of scope: 14.3%" in summary
    assert "doctor referrals: 3, emergencies: 1" in summary
    assert (
        "Guard triggers: 4; top rules: dosing.how_much (2), emergency.self_harm (1), "
        "pill_splitting.cut (1)"
    ) in lines
    assert "    3 x What is LDN made of? [fallback]" in lines
    assert "    2 x Can I drink coffee? [out_of_scope]" in lines
    assert lines[-1] == "Feedback: 4 up, 2 down"


def test_summary_text_cannot_drive_the_terminal() -> None:
    typed = "\x1b[2J\x1b]0;owned\x07 hello"
    data = ReportData(
        turns=1, routes=(("fallback", 1),), questions=(Question(typed, 1, "fallback"),)
    )

    summary = summary_text(data)

    assert "\x1b" not in summary and "\x07" not in summary
    assert "\ufffd[2J\ufffd]0;owned\ufffd hello" in summary
