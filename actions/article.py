"""Answering actions. Each one reads the tracker, calls `ldn_bot.answering`, and
turns the result into response names and events; no logic and no wording here."""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from ldn_bot.answering import Turn, answer_turn, fail_closed_turn
from ldn_bot.guard.verdict import Category
from ldn_bot.knowledge.base import knowledge_base
from ldn_bot.routing import ARTICLE_ACTION, CONTEXT_SLOT, conversation_context
from ldn_bot.settings import ARTICLE_PATH

logger = logging.getLogger(__name__)

INTENT_PAYLOAD = re.compile(r"^/\w+$")


class _AnsweringAction(Action, ABC):
    """Shared adapter; abstract so rasa-sdk's executor does not register it."""

    intent_override: str | None = None

    @abstractmethod
    def name(self) -> str:
        """The action's name in `domain.yml`."""

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        message = tracker.latest_message or {}
        text = message.get("text") or ""
        if "guard" not in message and not INTENT_PAYLOAD.match(text.strip()):
            logger.error("no guard verdict in the parse data (NLU guard missing); failing closed")
            return _dispatch(fail_closed_turn("nlu_guard_missing"), dispatcher)
        try:
            turn = answer_turn(
                knowledge_base(ARTICLE_PATH),
                text=text,
                intent=self.intent_override or (message.get("intent") or {}).get("name"),
                last_topic=tracker.get_slot("last_topic"),
                context=_context(tracker),
                unsupported_language=_unsupported_language(message),
            )
        except Exception:  # answer_turn fails closed itself; this covers reading the tracker
            logger.exception("answering action failed; failing closed")
            turn = fail_closed_turn()
        return _dispatch(turn, dispatcher)


class ActionAnswerArticle(_AnsweringAction):
    """Answer an article topic's question from its sentences (every topic's rule)."""

    def name(self) -> str:
        """The action every generated article rule names."""
        return ARTICLE_ACTION


class ActionAnswerMore(_AnsweringAction):
    """Answer "tell me more": the rest of the last topic's sentences."""

    intent_override = "ask_more"

    def name(self) -> str:
        """The action of the `ask_more` rule."""
        return "action_answer_more"


class ActionFallback(_AnsweringAction):
    """Low NLU confidence: the guard still runs, then the best topic by keywords."""

    intent_override = "nlu_fallback"

    def name(self) -> str:
        """The action of the fallback rule."""
        return "action_fallback"


def _dispatch(turn: Turn, dispatcher: CollectingDispatcher) -> list[EventType]:
    for reply in turn.replies:
        dispatcher.utter_message(
            response=reply.response,
            citations=list(reply.citations),
            guard=turn.verdict.as_dict(),
            **reply.params,
        )
    return [SlotSet("last_topic", turn.topic)] if turn.topic else []


def _unsupported_language(message: dict[str, Any]) -> bool:
    """Whether the NLU's language check found a language the assistant does not understand."""
    language = message.get("language")
    return isinstance(language, dict) and language.get("supported") is False


def _context(tracker: Tracker) -> Category | None:
    """The guard context this turn leaves (the `guard_context` slot the NLU guard set), or
    for a conversation from before the slot, the one the last bot reply left."""
    last_bot: dict[str, Any] = next(
        (e for e in reversed(tracker.events) if e.get("event") == "bot"), {}
    )
    last_response = (last_bot.get("metadata") or {}).get("utter_action")
    return conversation_context(tracker.get_slot(CONTEXT_SLOT), last_response)
