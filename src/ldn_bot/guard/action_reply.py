"""What the action server may say: response names and article sentence ids, nothing else.

Rasa lets a custom action's reply carry its own `text`, buttons, custom JSON,
images and attachments, and any event (a `BotUttered` is sent as it is). Whoever
answers on the action port could then make the bot say anything. The project's
actions only ever name a `domain.yml` response, the article units they quote and
the guard verdict, so anything else in a reply is refused as a whole.

`refusal()` checks one reply against a `ReplyContract` (plain data, built from the
domain and the knowledge base) and says what it refused, or None when the reply is
exactly what the project's actions send.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ldn_bot.guard.verdict import Category
from ldn_bot.knowledge.base import KnowledgeBase

SESSION_START = "action_session_start"
DISCLAIMER = "utter_disclaimer"
ARTICLE_ANSWER = "utter_article_answer"

# What rasa-sdk's `dispatcher.utter_message(response=...)` always sends, empty.
_EMPTY_WHEN_NAMED: dict[str, Any] = {
    "text": None,
    "buttons": [],
    "elements": [],
    "custom": {},
    "image": None,
    "attachment": None,
}
_ITEM_KEYS = frozenset({"response", "template", "citations", "guard", *_EMPTY_WHEN_NAMED})
_PARAMS = {ARTICLE_ANSWER: frozenset({"answer", "source"})}
_RULE_ID = re.compile(r"^[a-z][a-z0-9_.]{0,63}$")
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")
_CATEGORIES = frozenset(category.value for category in Category)
_MAX_ITEMS = 10
_MAX_EVENTS = 10


@dataclass(frozen=True)
class ReplyContract:
    """Everything an action-server reply may name.

    Attributes:
        responses: the domain's response names.
        citations: the article unit ids (`s..`, `r..`, `citation`).
        answers: every (answer, source, citations) an article answer can have; an
            `utter_article_answer` must be one of them verbatim, so its template
            values carry no text of the action server's choosing.
        slot_values: the slots an action may set, with the values each may take.
    """

    responses: frozenset[str]
    citations: frozenset[str]
    answers: frozenset[tuple[str, str, tuple[str, ...]]]
    slot_values: Mapping[str, frozenset[str]]

    @classmethod
    def build(
        cls, kb: KnowledgeBase, *, responses: Iterable[str], slots: Iterable[str]
    ) -> ReplyContract:
        """The contract for a domain (its response and slot names) and the article."""
        answers = list(kb.possible_answers())
        slot_values = {"last_topic": frozenset(kb.topics)}
        return cls(
            responses=frozenset(responses),
            citations=frozenset(unit for answer in answers for unit in answer.citations),
            answers=frozenset((a.text, a.source, a.citations) for a in answers),
            slot_values={name: values for name, values in slot_values.items() if name in slots},
        )


def refusal(action: str, reply: Any, contract: ReplyContract) -> str | None:
    """Why `action`'s reply is refused, or None when it may be used (never raises:
    a reply it cannot read is refused)."""
    try:
        return _refusal(action, reply, contract)
    except Exception:
        return "a reply that could not be read"


def _refusal(action: str, reply: Any, contract: ReplyContract) -> str | None:
    if not isinstance(reply, Mapping):
        return "a reply that is not an object"
    unknown = set(reply) - {"events", "responses"}
    if unknown:
        return f"unknown reply keys {sorted(unknown)}"
    items, events = reply.get("responses", []), reply.get("events", [])
    if not isinstance(items, list) or not isinstance(events, list):
        return "responses or events that are not lists"
    if len(items) > _MAX_ITEMS or len(events) > _MAX_EVENTS:
        return f"{len(items)} responses and {len(events)} events (too many)"
    for index, item in enumerate(items):
        reason = _item_refusal(item, contract)
        if reason is not None:
            return f"responses[{index}]: {reason}"
    if action == SESSION_START:
        return _session_start_refusal(items, events)
    for index, event in enumerate(events):
        reason = _event_refusal(event, contract)
        if reason is not None:
            return f"events[{index}]: {reason}"
    return None


def _item_refusal(item: Any, contract: ReplyContract) -> str | None:
    if not isinstance(item, Mapping):
        return "not an object"
    name = item.get("response")
    if not isinstance(name, str) or name not in contract.responses:
        return f"unknown response name {_shown(name)}"
    params = _PARAMS.get(name, frozenset())
    unknown = set(item) - _ITEM_KEYS - params
    if unknown:
        return f"unknown keys {sorted(map(str, unknown))[:5]}"
    for key, empty in _EMPTY_WHEN_NAMED.items():
        if key in item and item[key] != empty:
            return f"free {key} (only response names are accepted)"
    if item.get("template", name) != name:
        return "a template that is not the response"
    citations = item.get("citations", [])
    if not isinstance(citations, list) or not all(
        isinstance(unit, str) and unit in contract.citations for unit in citations
    ):
        return "unknown citations"
    if "guard" in item and not _is_verdict(item["guard"]):
        return "a malformed guard verdict"
    if params:
        answer, source = item.get("answer"), item.get("source")
        if not isinstance(answer, str) or not isinstance(source, str):
            return f"{name} values that are not text"
        if (answer, source, tuple(citations)) not in contract.answers:
            return f"{name} values that are not the article's text for its citations"
    elif citations:
        return f"citations on {name}"
    return None


def _is_verdict(value: Any) -> bool:
    if not isinstance(value, Mapping) or set(value) != {"category", "rule", "rules"}:
        return False
    rules = value["rules"]
    return (
        value["category"] in _CATEGORIES
        and (value["rule"] is None or _is_rule_id(value["rule"]))
        and isinstance(rules, list)
        and len(rules) <= 16
        and all(_is_rule_id(rule) for rule in rules)
    )


def _is_rule_id(value: Any) -> bool:
    return isinstance(value, str) and _RULE_ID.match(value) is not None


def _event_refusal(event: Any, contract: ReplyContract) -> str | None:
    if not isinstance(event, Mapping):
        return "not an object"
    kind = event.get("event")
    if kind != "slot":
        return f"a {_shown(kind)} event (only slots are accepted)"
    if not set(event) <= {"event", "timestamp", "name", "value"} or not _is_timestamp(event):
        return "unknown keys in a slot event"
    name, value = event.get("name"), event.get("value")
    if name not in contract.slot_values:
        return f"slot {_shown(name)} may not be set"
    if value is not None and (
        not isinstance(value, str) or value not in contract.slot_values[str(name)]
    ):
        return f"a value for {name} that is not known"
    return None


def _session_start_refusal(items: list[Any], events: list[Any]) -> str | None:
    """Session start sends exactly the disclaimer, `SessionStarted`, `action_listen`."""
    if [item.get("response") for item in items] != [DISCLAIMER]:
        return "a session start without exactly the disclaimer"
    if any(item.get("citations") or "guard" in item for item in items):
        return "citations or a verdict on the disclaimer"
    if len(events) != 2 or not all(isinstance(event, Mapping) for event in events):
        return "session start events that are not SessionStarted, action_listen"
    started, listen = events
    if (
        dict(started, timestamp=None) != {"event": "session_started", "timestamp": None}
        or not _is_timestamp(started)
        or {key: listen.get(key) for key in ("event", "name")}
        != {"event": "action", "name": "action_listen"}
        or not set(listen) <= {"event", "name", "policy", "confidence", "timestamp"}
        or any(listen.get(key) is not None for key in ("policy", "confidence"))
        or not _is_timestamp(listen)
    ):
        return "session start events that are not SessionStarted, action_listen"
    return None


def _is_timestamp(event: Mapping[str, Any]) -> bool:
    value = event.get("timestamp")
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def _shown(value: Any) -> str:
    """A refused name for the log: shown only when it looks like a name, so the log
    never repeats text of the action server's choosing."""
    if isinstance(value, str) and _NAME.match(value):
        return repr(value)
    return "(not a name)"
