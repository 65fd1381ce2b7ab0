"""The actions through rasa-sdk's real contract: a `Tracker` in, events and
response names out (as rasa-sdk's own tests do)."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.article import ActionAnswerArticle, ActionAnswerMore, ActionFallback
from actions.session import ActionSessionStart

NO_GUARD = {"category": "none", "rule": None, "rules": []}


def tracker(
    text: str,
    intent: str | None,
    *,
    guard: dict[str, Any] | None = NO_GUARD,
    slots: dict[str, Any] | None = None,
    events: list[dict[str, Any]] | None = None,
) -> Tracker:
    latest: dict[str, Any] = {"text": text, "intent": {"name": intent, "confidence": 0.9}}
    if guard is not None:
        latest["guard"] = guard
    return Tracker(
        "user-1", slots or {"last_topic": None}, latest, events or [], False, None, {}, None
    )


def run(action: Any, trk: Tracker) -> tuple[list[str], list[dict[str, Any]], list[Any]]:
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, trk, {})
    return [m["response"] for m in dispatcher.messages], dispatcher.messages, events


def test_article_question_gets_verbatim_answer_with_citations() -> None:
    responses, messages, events = run(
        ActionAnswerArticle(), tracker("what is naltrexone approved for?", "ask_fda_approval")
    )
    assert responses == ["utter_article_answer"]
    assert messages[0]["citations"] == ["s08", "s09"]
    assert messages[0]["answer"].startswith("The Food and Drug Administration (FDA) have approved")
    assert "Medical News Today" in messages[0]["source"]
    assert events == [SlotSet("last_topic", "fda_approval")]


def test_second_key_refers_a_dose_question_even_under_an_article_intent() -> None:
    responses, _, events = run(
        ActionAnswerArticle(), tracker("what is LDN and how much should I take?", "ask_naltrexone")
    )
    assert responses == ["utter_dosing_referral"]
    assert events == []


def test_second_key_refers_pill_splitting() -> None:
    responses, _, _ = run(ActionFallback(), tracker("can i crush it", "nlu_fallback"))
    assert responses == ["utter_pill_splitting_referral"]


def test_missing_nlu_guard_fails_closed() -> None:
    responses, _, _ = run(ActionAnswerArticle(), tracker("what is MS?", "ask_ms", guard=None))
    assert responses == ["utter_dosing_referral"]


def test_quick_reply_payload_needs_no_nlu_guard() -> None:
    responses, _, _ = run(ActionAnswerArticle(), tracker("/ask_ms", "ask_ms", guard=None))
    assert responses == ["utter_article_answer"]


def test_lost_list_is_announced_not_invented() -> None:
    responses, _, _ = run(ActionAnswerArticle(), tracker("side effects?", "ask_side_effects"))
    assert responses == ["utter_article_answer", "utter_missing_side_effects_list"]


def test_tell_me_more_continues_the_last_topic() -> None:
    responses, messages, events = run(
        ActionAnswerMore(), tracker("tell me more", "ask_more", slots={"last_topic": "study_2017"})
    )
    assert responses == ["utter_article_answer"]
    assert messages[0]["citations"] == ["s24", "s25", "s26"]
    assert events == [SlotSet("last_topic", "study_2017")]


def test_tell_me_more_without_a_topic_asks_for_one() -> None:
    responses, _, _ = run(ActionAnswerMore(), tracker("tell me more", "ask_more"))
    assert responses == ["utter_ask_topic_first"]


def test_follow_up_after_a_referral_is_referred() -> None:
    referral = {
        "event": "bot",
        "text": "...",
        "metadata": {"utter_action": "utter_dosing_referral"},
    }
    responses, _, _ = run(
        ActionAnswerMore(), tracker("and at night?", "ask_more", events=[referral])
    )
    assert responses == ["utter_dosing_referral"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("thrombocytopenia platelets??", "utter_article_answer"),
        ("blorp zzz", "utter_fallback"),
    ],
)
def test_fallback_tries_keywords_then_says_it_did_not_understand(text: str, expected: str) -> None:
    responses, _, _ = run(ActionFallback(), tracker(text, "nlu_fallback"))
    assert responses == [expected]


def test_session_start_sends_the_disclaimer_first() -> None:
    responses, _, events = run(ActionSessionStart(), tracker("", None))
    assert responses == ["utter_disclaimer"]
    assert isinstance(events[0], dict) and events[0] == SessionStarted()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("does ldn help hashimotos thyroid", "utter_not_covered"),
        ("who won the football", "utter_out_of_scope"),
    ],
)
def test_fallback_respects_the_article_scope(text: str, expected: str) -> None:
    responses, _, _ = run(ActionFallback(), tracker(text, "nlu_fallback"))
    assert responses == [expected]


def test_action_fails_closed_when_the_tracker_is_broken() -> None:
    broken = tracker("what is ms", "ask_ms")
    broken.events = None  # type: ignore[assignment]
    responses, _, _ = run(ActionAnswerArticle(), broken)
    assert responses == ["utter_dosing_referral"]
