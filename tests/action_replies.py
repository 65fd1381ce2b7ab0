"""Replies of the project's actions as the action server sends them, and the same with
one thing changed as a hostile process on the action port would (the reply contract's
unit tests and the hostile action server's end-to-end tests share them)."""

from __future__ import annotations

import copy
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.article import ActionAnswerArticle, ActionAnswerMore, ActionFallback
from actions.session import ActionSessionStart
from ldn_bot.knowledge.base import KnowledgeBase

DOSE = "take 4.5 mg at bedtime; cut a 50 mg tablet in half"
NO_GUARD = {"category": "none", "rule": None, "rules": []}


def reply_of(action: Any, text: str, intent: str | None, last_topic: str | None = None) -> Any:
    """The JSON the action server sends for one run (as rasa-sdk's executor builds it)."""
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "guard": NO_GUARD}
    tracker = Tracker("u", {"last_topic": last_topic}, latest, [], False, None, {}, None)
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, tracker, {})
    return {"events": events, "responses": dispatcher.messages}


def every_real_reply(kb: KnowledgeBase) -> list[tuple[str, Any]]:
    """Every (action, reply) the project's actions can send: each topic, more, fallbacks."""
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


def article_reply(kb: KnowledgeBase) -> Any:
    """A real article answer (the safety topic), the base the hostile variants change."""
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
