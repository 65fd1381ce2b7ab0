"""A guard decision ledger turn read from Rasa's events: its route, intent, guard rule and
article sentences, only the latest turn, and which bot message belongs to which turn and
can be voted on."""

from __future__ import annotations

import uuid
from typing import Any

from ldn_bot.ledger.conversations import (
    answer_of_bot_message,
    turn_of_bot_message,
)
from ldn_bot.ledger.turns import last_turn, turn_record


def user(text: str, intent: str, guard: dict | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "event": "user",
        "text": text,
        "timestamp": 1_790_000_000.0,
        "message_id": extra.pop("message_id", uuid.uuid4().hex),
        "input_channel": "rest",
        "parse_data": {
            "intent": {"name": intent, "confidence": 0.91234},
            "guard": guard or {"category": "none", "rule": None},
        },
        "metadata": {"model_id": "m1"},
        **extra,
    }


def bot(response: str, text: str = "reply", **metadata: Any) -> dict[str, Any]:
    return {"event": "bot", "text": text, "metadata": {"utter_action": response, **metadata}}


def test_an_article_turn_records_route_intent_and_sentences() -> None:
    events = [
        user("what is LDN?", "ask_ldn"),
        {"event": "action", "name": "action_answer_article"},
        bot("utter_article_answer", citations=["s10", "s11"]),
        bot("utter_article_answer", citations=["s11", "s12"]),
    ]
    record = turn_record("me", last_turn(reversed(events)))
    assert record is not None
    assert (record.route, record.intent, record.confidence) == ("article_answer", "ask_ldn", 0.9123)
    assert record.sentence_ids == ("s10", "s11", "s12")
    assert (record.guard_category, record.guard_rule, record.model_id) == ("none", None, "m1")
    assert record.channel == "rest"


def test_a_referral_turn_records_the_rule_that_fired() -> None:
    guard = {"category": "dosing", "rule": "dosing.how_much"}
    record = turn_record(
        "me", [user("how much?", "ask_dosing", guard), bot("utter_dosing_referral")]
    )
    assert record is not None
    assert (record.route, record.guard_category, record.guard_rule) == (
        "doctor_referral",
        "dosing",
        "dosing.how_much",
    )


def test_the_strongest_verdict_of_the_turn_is_recorded() -> None:
    """The fallback action runs the guard again; a stronger verdict there wins."""
    nlu = {"category": "personal_advice", "rule": "personal.should_i"}
    action = {"category": "emergency", "rule": "emergency.overdose"}
    record = turn_record(
        "me", [user("?", "nlu_fallback", nlu), bot("utter_emergency", guard=action)]
    )
    assert record is not None and record.guard_rule == "emergency.overdose"


def test_the_output_guard_stand_in_counts_as_a_referral() -> None:
    record = turn_record(
        "me", [user("x", "ask_ldn"), bot("utter_article_answer", output_guard=True)]
    )
    assert record is not None and record.route == "doctor_referral"


def test_a_turn_without_a_reply_is_not_recorded() -> None:
    assert turn_record("me", [user("x", "ask_ldn")]) is None
    assert turn_record("me", []) is None


def test_only_the_latest_turn_is_read() -> None:
    first, second = user("a", "greet"), user("b", "ask_ldn")
    events = [first, bot("utter_greet"), second, bot("utter_article_answer")]
    assert last_turn(reversed(events))[0] is second


def test_a_bot_message_index_maps_to_its_turn_an_answer_and_its_source_one_bubble() -> None:
    events = [
        user("/greet", "greet", message_id="t0"),
        bot("utter_disclaimer", "disclaimer"),
        bot("utter_greet", "hello"),
        user("what is LDN?", "ask_ldn", message_id="t1"),
        bot("utter_article_answer", "answer\n\n📄 Source: s1"),
        user("thanks", "thank", message_id="t2"),
        bot("utter_thanks", "welcome"),
    ]
    assert [turn_of_bot_message("me", events, index) for index in range(5)] == [
        "t0", "t0", "t1", "t2", None,
    ]  # fmt: skip


def test_only_bot_messages_that_answer_a_person_can_be_voted_on() -> None:
    events = [
        bot("utter_disclaimer", "disclaimer"),  # session start: before any message
        user("/greet", "greet", message_id="t0"),  # the widget's, on page open
        bot("utter_greet", "hello"),
        user("what is LDN?", "ask_ldn", message_id="t1"),
        bot("utter_article_answer", "answer\n\n📄 Source: s1"),
        user("hi", "greet", message_id="t2"),  # typed small talk is an answer
        bot("utter_greet", "hello"),
    ]
    answers = [answer_of_bot_message("me", events, index, hidden={"/greet"}) for index in range(5)]
    assert answers == [None, None, "t1", "t2", None]
