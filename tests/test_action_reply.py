"""What the action server may say (`ldn_bot.guard.action_reply`): exactly what the
project's actions send is accepted, and anything else (free text, buttons, custom JSON,
attachments, events, unknown names, text smuggled in template values) is refused."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
import yaml
from hypothesis import assume, given
from hypothesis import strategies as st
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from strategies import fuzz

from actions.article import ActionAnswerArticle, ActionAnswerMore, ActionFallback
from actions.session import ActionSessionStart
from ldn_bot.guard.action_reply import ReplyContract, refusal
from ldn_bot.knowledge.base import KnowledgeBase
from ldn_bot.settings import Settings

DOSE = "take 4.5 mg at bedtime; cut a 50 mg tablet in half"
NO_GUARD = {"category": "none", "rule": None, "rules": []}


@pytest.fixture(scope="module")
def contract(cfg: Settings, kb: KnowledgeBase) -> ReplyContract:
    domain = yaml.safe_load(cfg.domain_path.read_text(encoding="utf-8"))
    return ReplyContract.build(kb, responses=domain["responses"], slots=domain["slots"])


def reply_of(action: Any, text: str, intent: str | None, last_topic: str | None = None) -> Any:
    """The JSON the action server sends for one run (as rasa-sdk's executor builds it)."""
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "guard": NO_GUARD}
    tracker = Tracker("u", {"last_topic": last_topic}, latest, [], False, None, {}, None)
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, tracker, {})
    return {"events": events, "responses": dispatcher.messages}


def every_real_reply(kb: KnowledgeBase) -> list[tuple[str, Any]]:
    replies = [("action_session_start", reply_of(ActionSessionStart(), "", None))]
    for topic in kb.topics.values():
        replies.append(("action_answer_article", reply_of(ActionAnswerArticle(), "", topic.intent)))
        replies.append(("action_answer_more", reply_of(ActionAnswerMore(), "more", None, topic.id)))
    replies += [
        ("action_answer_article", reply_of(ActionAnswerArticle(), "how much do I take?", None)),
        ("action_answer_more", reply_of(ActionAnswerMore(), "more", None)),
        ("action_fallback", reply_of(ActionFallback(), "qwerty", None)),
        ("action_fallback", reply_of(ActionFallback(), "what are the risks of ldn", None)),
        # answers fitted to the question quote more of the topic (regression: the contract
        # refused them, and the rasa side replaced a correct answer with a referral)
        (
            "action_answer_article",
            reply_of(ActionAnswerArticle(), "does it make you bleed", "ask_side_effects"),
        ),
        (
            "action_answer_article",
            reply_of(ActionAnswerArticle(), "what did the 2017 study find", "ask_effectiveness"),
        ),
        (
            "action_answer_article",
            reply_of(ActionAnswerArticle(), "is it proven then", "ask_off_label"),
        ),
    ]
    return replies


def test_every_reply_the_projects_actions_send_is_accepted(
    kb: KnowledgeBase, contract: ReplyContract
) -> None:
    replies = every_real_reply(kb)
    assert len(replies) > 40
    refused = [(action, refusal(action, reply, contract)) for action, reply in replies]
    assert [r for r in refused if r[1] is not None] == []


def article_reply(kb: KnowledgeBase) -> Any:
    return reply_of(ActionAnswerArticle(), "", kb.topics["safety"].intent)


def hostile(kb: KnowledgeBase, change: str) -> tuple[str, Any]:
    """A real article reply with one thing changed, as a hostile action server would."""
    reply = copy.deepcopy(article_reply(kb))
    item = reply["responses"][0]
    action = "action_answer_article"
    if change == "free_text":
        reply = {"events": [], "responses": [{"text": DOSE}]}
    elif change == "dose_split_across_messages":
        reply = {"events": [], "responses": [{"text": "Take 4.5"}, {"text": "mg every night."}]}
    elif change == "text_beside_a_response":
        item["text"] = DOSE
    elif change == "button_title":
        item["buttons"] = [{"title": DOSE, "payload": "/ask_safety"}]
    elif change == "button_payload":
        item["buttons"] = [{"title": "More", "payload": DOSE}]
    elif change == "custom_payload":
        item["custom"] = {"blocks": [{"text": {"text": DOSE}}]}
    elif change == "attachment":
        item["attachment"] = {"type": "file", "payload": {"title": DOSE}}
    elif change == "image":
        item["image"] = "https://127.0.0.1/4.5mg.png"
    elif change == "elements":
        item["elements"] = [{"title": DOSE}]
    elif change == "quick_replies":
        item["quick_replies"] = [{"title": DOSE, "payload": "/x"}]
    elif change == "answer_param":
        item["answer"] = DOSE
    elif change == "source_param":
        item["source"] = DOSE
    elif change == "extra_param":
        item["note"] = DOSE
    elif change == "unknown_response":
        item["response"] = item["template"] = "utter_take_this"
    elif change == "response_name_is_text":
        item["response"] = item["template"] = DOSE
    elif change == "unknown_citation":
        item["citations"] = ["s999"]
    elif change == "citations_of_another_answer":
        item["citations"] = ["s01"]
    elif change == "verdict_with_text":
        item["guard"] = {"category": "none", "rule": DOSE, "rules": []}
    elif change == "bot_uttered_event":
        reply["events"].append({"event": "bot", "text": DOSE, "data": {}, "metadata": {}})
    elif change == "user_uttered_event":
        reply["events"].append({"event": "user", "text": DOSE, "parse_data": {}})
    elif change == "other_slot":
        reply["events"].append({"event": "slot", "name": "requested_slot", "value": DOSE})
    elif change == "topic_is_text":
        reply["events"] = [{"event": "slot", "name": "last_topic", "value": DOSE}]
    elif change == "reminder":
        reply["events"].append({"event": "reminder", "intent": "ask_dosing", "date_time": "x"})
    elif change == "unknown_reply_key":
        reply["text"] = DOSE
    elif change == "session_start_without_disclaimer":
        action, reply = "action_session_start", reply_of(ActionSessionStart(), "", None)
        reply["responses"] = []
    elif change == "session_start_with_free_text":
        action, reply = "action_session_start", reply_of(ActionSessionStart(), "", None)
        reply["responses"].append({"text": DOSE})
    elif change == "session_start_with_other_response":
        action, reply = "action_session_start", reply_of(ActionSessionStart(), "", None)
        reply["responses"] = [{"response": "utter_greet", "template": "utter_greet"}]
    elif change == "session_start_with_extra_event":
        action, reply = "action_session_start", reply_of(ActionSessionStart(), "", None)
        reply["events"].append({"event": "slot", "name": "last_topic", "value": "ms"})
    else:
        raise AssertionError(change)
    return action, reply


HOSTILE = [
    "free_text",
    "dose_split_across_messages",
    "text_beside_a_response",
    "button_title",
    "button_payload",
    "custom_payload",
    "attachment",
    "image",
    "elements",
    "quick_replies",
    "answer_param",
    "source_param",
    "extra_param",
    "unknown_response",
    "response_name_is_text",
    "unknown_citation",
    "citations_of_another_answer",
    "verdict_with_text",
    "bot_uttered_event",
    "user_uttered_event",
    "other_slot",
    "topic_is_text",
    "reminder",
    "unknown_reply_key",
    "session_start_without_disclaimer",
    "session_start_with_free_text",
    "session_start_with_other_response",
    "session_start_with_extra_event",
]


@pytest.mark.parametrize("change", HOSTILE)
def test_free_text_from_the_action_server_is_refused(
    kb: KnowledgeBase, contract: ReplyContract, change: str
) -> None:
    action, reply = hostile(kb, change)
    reason = refusal(action, reply, contract)
    assert reason is not None
    assert "4.5" not in reason and not re.search(r"\bmg\b", reason)  # the log never repeats it


@pytest.mark.parametrize("reply", [None, [], "text", {"responses": "x"}, {"events": {}}])
def test_a_reply_that_is_not_the_expected_shape_is_refused(
    contract: ReplyContract, reply: Any
) -> None:
    assert refusal("action_answer_article", reply, contract) is not None


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=30)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=8,
)
ITEM_KEYS = [
    "text",
    "buttons",
    "elements",
    "custom",
    "image",
    "attachment",
    "quick_replies",
    "answer",
    "source",
    "citations",
    "template",
    "response",
    "metadata",
    "json_message",
]


@given(key=st.one_of(st.sampled_from(ITEM_KEYS), st.text(max_size=10)), value=json_values)
@fuzz(300)
def test_any_change_to_what_an_action_sends_is_refused(
    kb: KnowledgeBase, contract: ReplyContract, key: str, value: Any
) -> None:
    reply = copy.deepcopy(article_reply(kb))
    item = reply["responses"][0]
    assume(key not in item or item[key] != value)
    item[key] = value
    assert refusal("action_answer_article", reply, contract) is not None


@given(event=st.dictionaries(st.sampled_from(["event", "name", "value", "text"]), json_values))
@fuzz(200)
def test_any_event_but_a_known_topic_is_refused(
    kb: KnowledgeBase, contract: ReplyContract, event: dict[str, Any]
) -> None:
    assume(not (event.get("event") == "slot" and event.get("value") in (None, *kb.topics)))
    reply = copy.deepcopy(article_reply(kb))
    reply["events"].append(event)
    assert refusal("action_answer_article", reply, contract) is not None
