"""Slack events coming in: which are a person asking (and where to answer them), how
Slack's markup is read back as typed, and the ledger that sees each delivery once."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fake_slack import BOT_ID, BOT_USER, event_callback

from ldn_bot.slack import clean_incoming, triage_event
from ldn_bot.slack_events import MemoryEventLedger

# --- triage and text ---------------------------------------------------------------------


def _event(**kwargs: Any) -> dict[str, Any]:
    defaults: dict[str, Any] = {"user": "U1", "channel": "D1", "ts": "1.000100", "event_id": "Ev1"}
    return event_callback(kwargs.pop("text", "what is LDN?"), **{**defaults, **kwargs})


def test_a_direct_message_is_answered_in_the_dm_not_in_a_thread() -> None:
    delivery = triage_event(_event())
    assert not isinstance(delivery, str)
    assert (delivery.channel, delivery.thread_ts, delivery.text) == ("D1", None, "what is LDN?")
    assert delivery.dedup_keys == ("event:Ev1", "message:D1:1.000100")


def test_a_mention_is_answered_in_the_thread_of_the_message() -> None:
    delivery = triage_event(
        _event(kind="app_mention", channel="C1", text=f"<@{BOT_USER}> what is LDN?")
    )
    assert not isinstance(delivery, str)
    assert (delivery.channel, delivery.thread_ts, delivery.text) == (
        "C1",
        "1.000100",
        "what is LDN?",
    )


def test_a_mention_inside_a_thread_stays_in_that_thread() -> None:
    delivery = triage_event(_event(kind="app_mention", channel="C1", thread_ts="0.5"))
    assert not isinstance(delivery, str) and delivery.thread_ts == "0.5"


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"bot_id": BOT_ID}, "bot"),
        ({"user": BOT_USER}, "own"),
        ({"subtype": "message_changed"}, "subtype"),
        ({"subtype": "bot_message"}, "subtype"),
        ({"channel": "C9", "channel_type": "channel"}, "without a mention"),
        ({"kind": "reaction_added"}, "event type"),
    ],
)
def test_events_that_are_not_a_person_asking_are_ignored(overrides: dict, reason: str) -> None:
    verdict = triage_event(_event(**overrides))
    assert isinstance(verdict, str) and reason in verdict


@pytest.mark.parametrize(
    "overrides",
    [
        {"user": "U1\ud800"},
        {"channel": "D1\ud800"},
        {"user": "U1\x00"},
        {"channel": "D" * 65},
        {"ts": "1.1\ud800"},
        {"thread_ts": "1.0\n"},
    ],
    ids=["surrogate-user", "surrogate-channel", "nul-user", "long-channel", "ts", "thread_ts"],
)
def test_events_whose_ids_are_not_slack_ids_are_ignored(overrides: dict) -> None:
    assert triage_event(_event(**overrides)) == "ids that are not Slack ids"


def test_messages_in_the_configured_channel_are_answered_without_a_mention() -> None:
    event = _event(channel="C9", channel_type="channel")
    assert not isinstance(triage_event(event, answer_channel="C9"), str)


def test_slack_markup_in_questions_is_read_as_the_person_typed_it() -> None:
    text = f"<@{BOT_USER}> is <https://example.org|this> true &amp; safe &lt;3 <#C1|ms-chat>"
    assert clean_incoming(text, [BOT_USER]) == "is this true & safe <3 #ms-chat"


# --- the event ledger ----------------------------------------------------------------------


def test_the_event_ledger_sees_each_delivery_once_by_any_of_its_keys() -> None:
    ledger = MemoryEventLedger()
    assert ledger.first_time(["event:E1", "message:C:1"])
    assert not ledger.first_time(["event:E1", "message:C:1"])  # a retry
    assert not ledger.first_time(["event:E2", "message:C:1"])  # the same message, other event
    assert ledger.first_time(["event:E3", "message:C:2"])


def test_the_event_ledger_forgets_after_its_ttl() -> None:
    ledger = MemoryEventLedger(ttl=0.01)
    assert ledger.first_time(["event:E1"])
    time.sleep(0.02)
    assert ledger.first_time(["event:E2"])
    assert ledger.first_time(["event:E1"])
