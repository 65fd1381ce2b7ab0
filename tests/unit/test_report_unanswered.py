"""The report as a review tool (issue 14): unanswered questions are split into gaps about
LDN or MS, off-topic ones and failures (a reply that did not come is a failure), and
every guard rule has a plain-language label. Each test reads a real SQLite ledger seeded
through `Ledger` (tests/review_ledger.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from review_ledger import ANN, DAY, ROOT
from sqlalchemy.engine import Engine

from ldn_bot.ledger.engine import engine_for
from ldn_bot.ledger.report import Group, collect, render_html
from ldn_bot.ledger.report.labels import about_ldn_or_ms, labels
from ldn_bot.ledger.schema import migrate
from ldn_bot.ledger.store import Ledger
from ldn_bot.ledger.turns import turn_record


def test_unanswered_splits_gaps_off_topic_and_failures(review_engine: Engine) -> None:
    data = collect(review_engine)

    gaps = {(q.text, q.count, q.route) for q in data.group(Group.NOT_COVERED)}
    assert gaps == {
        ("is ldn vegan friendly", 2, "fallback"),  # a fallback that names LDN is a gap
        ("Would it calm my psoriasis?", 1, "out_of_scope"),  # not_covered intent
    }
    off_topic = {(q.text, q.route) for q in data.group(Group.OFF_TOPIC)}
    assert off_topic == {
        ("best pizza dough recipe?", "out_of_scope"),
        ("Hjälper LDN mot trötthet?", "language"),
    }
    assert {item.kind: item.count for item in data.failures} == {
        "fail_closed": 1,  # guard rule `error`: referred because the guard failed
        "nlu_failed": 1,
        "no_action_reply": 1,  # an article intent that got "I can't answer that right now"
    }
    assert data.unanswered == 5 and data.failed == 3
    # failures are not fallbacks: of 4 fallback turns, 2 failed
    assert data.route_count("fallback") == 4
    assert data.fallback_rate == pytest.approx(2 / 11)
    page = render_html(data)
    failures = re.search(r'<table class="failures stack">(.*?)</table>', page, flags=re.S)
    assert failures and "fail closed" in failures.group(1)
    assert "action server did not answer" in failures.group(1)


def test_a_reply_that_did_not_come_is_a_failure_whatever_the_intent(tmp_path: Path) -> None:
    """The ledger keeps the turn's responses: "I can't answer that right now" after a
    low-confidence message (the fallback action's server was down) is a failure, and a
    fallback reply to an article intent (the article had nothing) is a fallback."""
    events = [
        {
            "event": "user",
            "text": "ldn and sleep quality?",
            "timestamp": DAY.timestamp(),
            "message_id": "c1",
            "parse_data": {"intent": {"name": "nlu_fallback", "confidence": 0.2}},
        },
        {"event": "bot", "text": "…", "metadata": {"utter_action": "utter_cannot_answer_now"}},
    ]
    down = turn_record(ANN, events)
    assert down is not None and down.responses == ("utter_cannot_answer_now",)
    events[0] = {
        **events[0],
        "message_id": "c2",
        "timestamp": DAY.timestamp() + 60,
        "parse_data": {"intent": {"name": "ask_mechanism", "confidence": 0.9}},
    }
    events[1] = {**events[1], "metadata": {"utter_action": "utter_fallback"}}
    answered = turn_record(ANN, events)
    assert answered is not None and answered.responses == ("utter_fallback",)
    engine = engine_for(f"sqlite:///{tmp_path / 'responses.db'}")
    migrate(engine)
    try:
        Ledger(engine, salt="s", article_version="v", store_text=True).write([down, answered])
        data = collect(engine)
    finally:
        engine.dispose()

    assert [(item.kind, item.count) for item in data.failures] == [("no_action_reply", 1)]
    assert [(q.text, q.group) for q in data.questions] == [
        ("ldn and sleep quality?", Group.NOT_COVERED)
    ]
    turns = {t.text: t for tr in data.transcripts for t in tr.turns}
    assert turns["ldn and sleep quality?"].responses == ("utter_fallback",)
    page = render_html(data)
    assert 'Reply</dt><dd class="responses">utter_cannot_answer_now' in page


@pytest.mark.parametrize(
    ("text", "about"),
    [
        ("could low dose naltrexone interact with my statins", True),
        ("does it cause hair loss", True),  # a not-covered term
        ("any research on relapses", True),  # plural of a domain word
        ("what's the weather tomorrow", False),
        ("how do i bake sourdough", False),  # question words alone are not the domain
        ("ok thanks then", False),
    ],
)
def test_about_ldn_or_ms_reads_the_scope_vocabulary(text: str, about: bool) -> None:
    assert about_ldn_or_ms(text) is about


def test_every_guard_rule_has_a_plain_language_label() -> None:
    rules_dir = ROOT / "src" / "ldn_bot" / "guard" / "rules"
    ids = {
        rule["id"]
        for name, key in (("guard.yml", "rules"), ("leaks.yml", "leaks"))
        for rule in yaml.safe_load((rules_dir / name).read_text(encoding="utf-8"))[key]
    }
    vocabulary = labels()

    assert ids and ids <= set(vocabulary.rules), sorted(ids - set(vocabulary.rules))
    assert vocabulary.rule("dosing.how_much") == "asks how much to take"
    assert vocabulary.rule("a.new_rule") == "a.new_rule"  # unknown ids stay readable
    for rule in vocabulary.failure_rules:
        assert "fail closed" in vocabulary.rules[rule]
    assert set(vocabulary.sources) == {"message", "window", "context"}
